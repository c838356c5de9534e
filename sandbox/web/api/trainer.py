"""Trainer JSON endpoints: the live, sanitised preview of an article's Markdown."""

from __future__ import annotations

from flask import jsonify

from sandbox.errors import ValidationFailed
from sandbox.web.api import bp, json_body
from sandbox.web.trainer import TRAINER_ROLES, preview_html
from sandbox.web.security import roles_required


@bp.post("/trainer/preview")
@roles_required(*TRAINER_ROLES)
def trainer_preview():
    """``{"markdown": "..."}`` → ``{"html": "..."}`` rendered by knowledge_base.render (nh3 allow-list)."""
    text = json_body().get("markdown", "")
    if not isinstance(text, str):
        raise ValidationFailed("markdown 必须是字符串。", code="invalid_markdown")
    return jsonify({"html": preview_html(text)})
