"""The request's user: who is logged in (a server-side session cookie, or a bearer token on
/api/), the browser session a login starts, and the hooks that set both up for each request.

The request's database session and its transactions live in ``sandbox.web.tx``.
"""

from __future__ import annotations

from flask import Flask, g, request, session

from sandbox.users.models import User
from sandbox.users.services import user_for_session, user_for_token
from sandbox.users.token_use import get_token_use_writer
from sandbox.web.tx import close_request_session, db, end_read, runtime


def current_user() -> User | None:
    """The user of this request (None: anonymous)."""
    return g.get("user")


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    return bearer_from_header(request.headers.get("Authorization", ""))


def bearer_from_header(header: str) -> str | None:
    """The token of an ``Authorization`` header's value when it is a Bearer one (also the poll lane's)."""
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
        # A read only: a stale last use of the token is queued and written off the request. The
        # read goes on into the view (one transaction, one connection checkout per request); a
        # view that writes ends it first (``unit_of_work``).
        g.user = user_for_token(db(), runtime().clock, token, record_use=get_token_use_writer(runtime()).record_use)
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


def init_request_context(app: Flask) -> None:
    """Load the user before each request, close its database session after, and give templates
    the user and their navigation."""
    app.before_request(_load_user)
    app.teardown_appcontext(close_request_session)

    @app.context_processor
    def _inject() -> dict:
        from sandbox.roles import ROLES
        from sandbox.web.nav import navigation_for

        user = current_user()
        return {"current_user": user, "role_names": ROLES,
                "nav_items": navigation_for(user.role if user else None)}
