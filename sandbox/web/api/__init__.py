"""The JSON API under /api/v1. One module per resource; all share this blueprint."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request

from sandbox import __version__
from sandbox.errors import ValidationFailed
from sandbox.users.services import (
    hash_password,
    password_matches,
    replace_password,
    reserve_password_check,
    start_session,
    validate_password,
)
from sandbox.web.request_context import begin_browser_session, current_user
from sandbox.web.security import any_user, csrf, public
from sandbox.web.tx import runtime, unit_of_work

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
    """Change one's own password: ``{"old_password", "new_password"}``.

    Checks of the old password are throttled (429 ``password_check_throttled``). On success
    every session and API token of the user ends; a browser session continues under a
    new session id, so only the person who changed it stays logged in.
    """
    data = json_body()
    new_password = str(data.get("new_password") or "")
    validate_password(new_password)  # a weak new password is refused without counting an attempt
    clock = runtime().clock
    with unit_of_work() as s:
        user = s.merge(current_user())
        reservation = reserve_password_check(s, clock, user)
    if not password_matches(user.password_hash, str(data.get("old_password") or "")):
        raise ValidationFailed("原密码不正确。", code="bad_credentials")  # the reserved attempt stays counted
    new_hash = hash_password(new_password)
    sid = None
    with unit_of_work() as s:
        user = s.merge(user)
        result = replace_password(s, clock, user, new_hash, reservation)
        if g.get("session_sid"):
            sid = start_session(s, clock, user)
    if sid:
        begin_browser_session(sid)
    return jsonify({"changed": True, **result})
