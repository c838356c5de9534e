"""Trainer tools (培训师): the article editor with versions, import/export, synonyms and
search analytics. Trainers and admins only.

Every save bumps the KB version inside its transaction (``knowledge_base.articles``);
after the commit this process catches its search service up at once, so a search right
after the save sees the edit (other processes catch up on their next search).

One blueprint; its pages are in ``articles``, ``import_export``, ``synonyms`` and
``search_analytics`` (each adds its routes to ``bp`` when imported, before the blueprint is
registered).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint

from knowledge_base.search import get_kb
from sandbox.roles import TRAINER_ROLES
from sandbox.web.request_context import current_user
from sandbox.web.security import roles_required
from sandbox.web.tx import runtime

log = logging.getLogger(__name__)
bp = Blueprint("trainer", __name__, url_prefix="/trainer")

trainer_only = roles_required(*TRAINER_ROLES)


def current_username() -> str:
    """The acting trainer's username, as article versions record who saved them."""
    user = current_user()
    return user.username if user else ""


def catch_up() -> None:
    """Bring this process's search service to the committed KB version (never fails the request)."""
    try:
        get_kb(runtime()).sync()
    except Exception:  # the next search retries; the save itself is committed
        log.exception("knowledge base search did not catch up after a trainer change")


def int_arg(value: Any, default: int) -> int:
    """``value`` as an integer (a query or form argument); ``default`` when it is not one."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
