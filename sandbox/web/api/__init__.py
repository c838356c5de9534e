"""The JSON API under /api/v1. One module per resource; all share this blueprint."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request

from sandbox import __version__
from sandbox.errors import ValidationFailed
from werkzeug.security import check_password_hash
from sandbox.accounts.services import set_password
from sandbox.web.glue import current_user, unit_of_work
from sandbox.web.security import any_user, csrf, public

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def _csrf_for_cookie_sessions() -> None:
    # Bearer-token clients carry no cookie, so CSRF cannot touch them; browser
    # sessions calling the API must send the page's token in X-CSRFToken.
    # Anonymous callers are left to the view's role check (401), and the check follows
    # WTF_CSRF_ENABLED like the rest of the app (``protect()`` itself ignores it).
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


@bp.post("/me/password")
@any_user
def change_password():
    """Change one's own password: ``{"old_password", "new_password"}``."""
    data = json_body()
    with unit_of_work() as s:
        user = s.merge(current_user())
        if not check_password_hash(user.password_hash, str(data.get("old_password") or "")):
            raise ValidationFailed("原密码不正确。", code="bad_credentials")
        set_password(user, str(data.get("new_password") or ""))
    return jsonify({"changed": True})
