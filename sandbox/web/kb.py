"""知识库 pages: search with category filter, highlights and paging; the article view."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, render_template, request

from knowledge_base import articles
from knowledge_base.categories import CATEGORIES, PUBLISHED
from knowledge_base.render import markdown_to_html
from knowledge_base.search import SearchResult, get_kb
from knowledge_base.search_log import get_search_log, search_log_row
from sandbox.roles import TRAINER_ROLES
from sandbox.web.request_context import current_user
from sandbox.web.security import any_user
from sandbox.web.tx import db, runtime, unit_of_work

log = logging.getLogger(__name__)
bp = Blueprint("kb", __name__, url_prefix="/kb")

PAGE_SIZE = 10
EDITOR_ROLES = TRAINER_ROLES


def can_see_unpublished() -> bool:
    user = current_user()
    return user is not None and user.role in EDITOR_ROLES


def int_arg(name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(request.args.get(name, default))
    except (TypeError, ValueError):
        return default
    return max(low, min(value, high))


def run_search(query: str, category: str | None, limit: int, page: int, include_unpublished: bool,
               source: str) -> SearchResult:
    """Search, then log it (query, user, result count, time); a failed log never fails a search."""
    result = get_kb(runtime()).search(query, category=category, limit=limit,
                                      offset=(page - 1) * limit, include_unpublished=include_unpublished)
    user = current_user()
    try:  # written in a batch within a second, off the request path (knowledge_base.search_log)
        get_search_log(runtime()).record(search_log_row(
            runtime().clock.now(), query, result.normalised, user.id if user else None, result.total,
            [h.id for h in result.hits], result.took_ms, category=category, source=source))
    except Exception:  # logging is analytics, not the search itself
        log.exception("could not log a knowledge-base search")
    return result


@bp.get("/")
@any_user
def index():
    query = request.args.get("q", "")[:5000]
    category = request.args.get("category") or None
    if category not in CATEGORIES:
        category = None
    page = int_arg("page", 1, 1, 100)
    show_all = can_see_unpublished() and request.args.get("status") == "all"
    result = None
    if query.strip():
        result = run_search(query, category, PAGE_SIZE, page, show_all, "page")
    pages = ((result.total + PAGE_SIZE - 1) // PAGE_SIZE) if result else 0
    return render_template("kb/index.html", query=query, category=category, categories=CATEGORIES,
                           result=result, page=page, pages=pages, show_all=show_all,
                           can_see_unpublished=can_see_unpublished(), published=PUBLISHED)


def load_article(external_id: str, show_all: bool) -> Any:
    return articles.get_article(db(), external_id, published_only=not show_all)


@bp.get("/articles/<external_id>")
@any_user
def article(external_id: str):
    show_all = can_see_unpublished()
    item = load_article(external_id, show_all)
    user = current_user()
    with unit_of_work() as s:
        articles.log_article_opened(s, runtime().clock, item.external_id, user.id if user else None)
    return render_template("kb/article.html", article=item, answer_html=markdown_to_html(item.answer),
                           plain_html=markdown_to_html(item.plain_answer), query=request.args.get("q", "")[:200],
                           published=PUBLISHED)
