"""One database session per request, the current user, and the runtime accessor."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flask import Flask, current_app, g, request, session
from sqlalchemy.orm import Session

from sandbox.accounts.models import User
from sandbox.accounts.services import user_for_session, user_for_token
from sandbox.db import begin_write
from sandbox.runtime import Runtime


def runtime() -> Runtime:
    """The instance's runtime (engine, clock, services)."""
    return current_app.extensions["bankdrill"]


def db() -> Session:
    """This request's session, opened on first use and closed on teardown."""
    if "db" not in g:
        g.db = runtime().session_factory()
    return g.db


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """The request's session; commits when the block succeeds, rolls back when it raises.

    A read transaction still open from earlier in the request is ended first, so the unit of
    work begins as a writer (on SQLite a reader that later writes fails at once when another
    writer committed in between: "database is locked").
    """
    s = db()
    if s.in_transaction() and not (s.new or s.dirty or s.deleted):
        s.commit()
    begin_write(s)
    try:
        yield s
        s.commit()
    except BaseException:
        s.rollback()
        raise


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
            s.rollback()
            with unit_of_work() as s:
                g.user = user_for_token(s, runtime().clock, token)
        else:
            s.commit()  # end the read transaction so a later unit of work can begin as a writer
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
        # End the read transaction so a later unit of work can begin as a writer.
        db().commit()
    elif "uid" in session:
        session.clear()  # a cookie from before server-side sessions: log in again


def begin_browser_session(sid: str) -> None:
    """Point this browser's cookie at the new server-side session ``sid`` (login, password change)."""
    session["sid"] = sid
    session.permanent = False
    g.session_sid = sid


def _close_db(exc: BaseException | None) -> None:
    s = g.pop("db", None)
    if s is not None:
        if exc is not None:
            s.rollback()
        s.close()


def init_request_glue(app: Flask) -> None:
    app.before_request(_load_user)
    app.teardown_appcontext(_close_db)

    @app.context_processor
    def _inject() -> dict:
        from sandbox.roles import ROLES
        from sandbox.web.nav import navigation_for

        user = current_user()
        return {"current_user": user, "role_names": ROLES,
                "nav_items": navigation_for(user.role if user else None)}
