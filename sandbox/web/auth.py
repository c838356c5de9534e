"""Login and logout pages, and the device cookie that keeps a known browser out of others' throttling."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from sandbox.errors import DomainError
from sandbox.users.services import complete_login, end_session, reserve_login, verify_login
from sandbox.web.forms import LoginForm
from sandbox.web.request_context import begin_browser_session
from sandbox.web.security import public
from sandbox.web.tx import db, end_read, runtime, unit_of_work

bp = Blueprint("auth", __name__)
log = logging.getLogger("sandbox.security")

DEVICE_COOKIE = "bankdrill_device"
DEVICE_MAX_AGE = 90 * 24 * 3600
DEVICE_NAMES = 8  # accounts remembered per browser (a shared exam-room computer)


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="bankdrill-device")


def _device() -> dict | None:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        data = _device_serializer().loads(raw, max_age=DEVICE_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("n"), str) or not isinstance(data.get("u"), list):
        return None
    return data


def device_nonce_for(username: str | None) -> str | None:
    """The nonce of this browser's device cookie if it logged into ``username`` before."""
    data = _device()
    name = (username or "").strip()
    return data["n"] if data and name in data["u"] else None


def _remember_device(response, username: str):  # type: ignore[no-untyped-def]
    data = _device() or {"n": secrets.token_urlsafe(16), "u": []}
    names = [n for n in data["u"] if n != username][-(DEVICE_NAMES - 1):] + [username]
    value = _device_serializer().dumps({"n": data["n"], "u": names})
    response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_MAX_AGE, httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _log_in(username: str, password: str):  # type: ignore[no-untyped-def]
    """Reserve the attempt, check the password outside any lock, then start the session."""
    clock = runtime().clock
    with unit_of_work() as s:
        reservation = reserve_login(s, clock, username, request.remote_addr, device_nonce_for(username))
    try:
        user = verify_login(db(), username, password)
    finally:
        end_read()  # it wrote nothing
    with unit_of_work() as s:
        sid = complete_login(s, clock, user, reservation)
    return user, sid


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    status = 200
    headers: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            user, sid = _log_in(form.username.data, form.password.data)
        except DomainError as exc:
            flash(exc.message, "error")
            status = exc.status if exc.status in (403, 429) else 401
            if exc.status == 429:
                headers["Retry-After"] = str(exc.details.get("retry_after", 60))
            if exc.code in ("login_throttled", "account_disabled"):
                log.warning("login refused (%s) for %r from %s", exc.code, form.username.data[:64], request.remote_addr)
        else:
            session.clear()
            begin_browser_session(sid)
            response = redirect(_safe_next(request.args.get("next")) or url_for("main.dashboard"))
            return _remember_device(response, user.username)
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status, headers


@bp.route("/logout", methods=["POST"])
@public
def logout():
    sid = session.get("sid")
    if sid:
        with unit_of_work() as s:
            end_session(s, sid)
    session.clear()
    flash("您已退出登录。", "info")
    return redirect(url_for("auth.login"))
