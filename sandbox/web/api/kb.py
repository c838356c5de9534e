"""Knowledge-base JSON endpoints: search (same shape as ``bankdrill kb search --json``) and articles."""

from __future__ import annotations

from flask import jsonify, request

from knowledge_base.categories import CATEGORIES
from knowledge_base.render import markdown_to_html
from sandbox.errors import Forbidden
from sandbox.web.api import bp
from sandbox.web.glue import current_user, runtime, unit_of_work
from sandbox.web.kb import can_see_unpublished, int_arg, load_article, run_search
from sandbox.web.security import any_user
from knowledge_base import services


def _show_all() -> bool:
    if request.args.get("status") != "all":
        return False
    if not can_see_unpublished():
        raise Forbidden("只有培训师和管理员可以查看未发布的文章。", code="forbidden")
    return True


@bp.get("/kb/search")
@any_user
def kb_search():
    show_all = _show_all()
    query = request.args.get("q", "")[:5000]
    category = request.args.get("category") or None
    limit = int_arg("limit", 10, 1, 100)
    page = int_arg("page", 1, 1, 1000)
    result = run_search(query, category, limit, page, show_all, "api")
    body = result.to_dict()
    body.update({"page": page, "limit": limit, "category": category if category in CATEGORIES else None})
    if show_all:
        for item, hit in zip(body["results"], result.hits):
            item["status"] = hit.status
    return jsonify(body)


@bp.get("/kb/articles/<external_id>")
@any_user
def kb_article(external_id: str):
    article = load_article(external_id, _show_all())
    user = current_user()
    with unit_of_work() as s:
        services.log_article_opened(s, runtime().clock, article.external_id, user.id if user else None)
    body = article.to_record()
    body.update({"version": article.version, "updated_at": article.updated_at.isoformat(),
                 "answer_html": markdown_to_html(article.answer),
                 "plain_answer_html": markdown_to_html(article.plain_answer)})
    return jsonify(body)
