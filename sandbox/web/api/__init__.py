"""The JSON API under /api/v1. One module per resource; all share this blueprint."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request

from sandbox import __version__
from sandbox.errors import ValidationFailed
from sandbox.web.glue import current_user
from sandbox.web.security import any_user, csrf, public

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def _csrf_for_cookie_sessions() -> None:
    # Bearer-token clients carry no cookie, so CSRF cannot touch them; browser
    # sessions calling the API must send the page's token in X-CSRFToken.
    # Anonymous callers get their 401 from the role check, not a CSRF 400.
    if (request.method not in ("GET", "HEAD", "OPTIONS") and not g.get("via_token")
            and g.get("user") is not None and current_app.config.get("WTF_CSRF_ENABLED", True)):
        csrf.protect()


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 with code ``malformed_json``."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed("请求体必须是 JSON 对象。", code="malformed_json")
    return data


@bp.get("/health")
@public
def health():
    return jsonify({"status": "ok", "version": __version__})


@bp.get("/me")
@any_user
def me():
    user = current_user()
    return jsonify({"username": user.username, "role": user.role, "display_name": user.label})
