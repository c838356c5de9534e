"""Knowledge-base JSON endpoints: search (same shape as ``bankdrill kb search --json``) and articles."""

from __future__ import annotations

from flask import jsonify, request

from knowledge_base import articles
from knowledge_base.categories import CATEGORIES, PUBLISHED
from knowledge_base.render import markdown_to_html
from sandbox.drill.operations import KB
from sandbox.errors import Forbidden, NotFound
from sandbox.web.api import bp
from sandbox.web.drill_context import drill_gate, kb_pin, log_nothing, recorded, request_conversation_id
from sandbox.web.kb import can_see_unpublished, int_arg, load_article, run_search
from sandbox.web.request_context import current_user
from sandbox.web.security import any_user
from sandbox.web.tx import db, runtime, unit_of_work


def _show_all() -> bool:
    if request.args.get("status") != "all":
        return False
    if not can_see_unpublished():
        raise Forbidden("只有培训师和管理员可以查看未发布的文章。", code="forbidden")
    return True


@bp.get("/kb/search")
@any_user
def kb_search():
    target = drill_gate(request_conversation_id(), KB)  # ?conversation= : a search inside a drill
    show_all = _show_all()
    query = request.args.get("q", "")[:5000]
    category = request.args.get("category") or None
    limit = int_arg("limit", 10, 1, 100)
    page = int_arg("page", 1, 1, 1000)
    result = run_search(query, category, limit, page, show_all, "api")
    body = result.to_dict()
    body.update({"page": page, "limit": limit, "category": category if category in CATEGORIES else None})
    if show_all:
        for item, hit in zip(body["results"], result.hits, strict=True):
            item["status"] = hit.status
    pin = kb_pin(target)
    if pin is not None:
        body["results"] = pinned_results(body["results"], pin)
        body["pinned_at"] = pin.isoformat()
    if target is not None:
        with unit_of_work() as s, recorded(s, target, "kb.search", refusal=log_nothing) as rec:
            rec.set(query=request.args.get("q", ""), results=[r.get("id") for r in body["results"]][:10],
                    total=body.get("total"))
    return jsonify(body)


def pinned_results(results: list[dict], pin) -> list[dict]:
    """Hits as the round's pinned KB had them: later articles dropped, older text shown."""
    from markupsafe import escape

    from knowledge_base.text import markdown_to_plain

    out = []
    for item in results:
        record = articles.record_as_of(db(), item["id"], pin)
        if record is None or record.get("status") != PUBLISHED:
            continue
        if record["title"] != item["title"]:
            item = {**item, "title": record["title"], "category": record["category"],
                    "snippet": str(escape(markdown_to_plain(record["answer"])[:80]))}
        out.append(item)
    return out


@bp.get("/kb/articles/<external_id>")
@any_user
def kb_article(external_id: str):
    target = drill_gate(request_conversation_id(), KB)
    pin = kb_pin(target)
    if pin is not None:
        record = articles.record_as_of(db(), external_id, pin)
        if record is None or record.get("status") != PUBLISHED:
            raise NotFound("文章不存在或未发布。", code="unknown_article")
        body = {**record, "pinned_at": pin.isoformat(), "updated_at": None}
    else:
        article = load_article(external_id, _show_all())
        body = article.to_record()
        body.update({"version": article.version, "updated_at": article.updated_at.isoformat()})
    user = current_user()
    with unit_of_work() as s, recorded(s, target, "kb.open", refusal=log_nothing) as rec:
        articles.log_article_opened(s, runtime().clock, body["id"], user.id if user else None)
        rec.set(article=external_id)
    body.update({"answer_html": markdown_to_html(body["answer"]), "plain_answer_html": markdown_to_html(body["plain_answer"])})
    return jsonify(body)
