"""One database session per request, the current user, and the runtime accessor."""

from __future__ import annotations

from flask import Flask, g, request, session

from sandbox.users.models import User
from sandbox.users.services import user_for_session, user_for_token

# The request's session and its transactions live in sandbox.web.tx; re-exported for the views.
from sandbox.web.tx import close_request_session, db, discard, end_read, runtime, unit_of_work

__all__ = ["bearer_token", "begin_browser_session", "current_user", "db", "init_request_glue", "runtime",
           "unit_of_work"]


def current_user() -> User | None:
    return g.get("user")


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def _load_user() -> None:
    g.user = None
    g.via_token = False
    if request.endpoint == "static":
        return
    token = bearer_token()
    if token is not None and request.path.startswith("/api/"):
        # Read first; only a token whose last use is stale needs a write (and the write lock).
        s = db()
        g.user = user_for_token(s, runtime().clock, token)
        if s.dirty:
            discard()
            with unit_of_work() as s:
                g.user = user_for_token(s, runtime().clock, token)
        else:
            end_read()
        g.via_token = g.user is not None
        return
    sid = session.get("sid")
    if sid is not None:
        # A server-side session: logout, a password change or deactivation delete it at once.
        user = user_for_session(db(), runtime().clock, sid)
        if user is not None:
            g.user = user
            g.session_sid = sid
        else:
            session.clear()
        end_read()
    elif "uid" in session:
        session.clear()  # a cookie from before server-side sessions: log in again


def begin_browser_session(sid: str) -> None:
    """Point this browser's cookie at the new server-side session ``sid`` (login, password change)."""
    session["sid"] = sid
    session.permanent = False
    g.session_sid = sid


def init_request_glue(app: Flask) -> None:
    app.before_request(_load_user)
    app.teardown_appcontext(close_request_session)

    @app.context_processor
    def _inject() -> dict:
        from sandbox.roles import ROLES
        from sandbox.web.nav import navigation_for

        user = current_user()
        return {"current_user": user, "role_names": ROLES,
                "nav_items": navigation_for(user.role if user else None)}
