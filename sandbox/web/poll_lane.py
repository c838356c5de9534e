"""The poll lane: a candidate's repeated quiet poll answered in front of the Flask app.

A room of candidates polls its conversations on one beat; most polls find nothing new, and the
server process already keeps the last answer (``sandbox.web.poll_memo``) while the drill's
stamp says nothing changed (``sandbox.drill.quiet``). Answering such a poll costs two short
selects (on PostgreSQL outside any transaction: ``Runtime.autocommit_reads``), but going
through Flask (request and app contexts, the session cookie, URL matching, every hook) cost as
much again as the poll itself: measured under the herd, a bare token check behind waitress
answered at 0.5 ms of server CPU where ``/api/v1/health`` through Flask took 0.9.

So this WSGI middleware answers exactly one kind of request itself:
``GET /api/v1/conversations/<id>/messages[?after=<n>]`` whose caller (a Bearer token, or the
browser's session cookie, checked as the app checks them: ``token_holder``/``session_holder``)
is the user whose last quiet poll of that conversation the memo keeps, while that answer still
holds (``poll_answer.kept_answer``). The body is built by the same function as the app's view and
written by the app's JSON provider (redaction included), with the app's security headers and the
``Vary: Cookie`` Flask adds for a cookie session. Anything else, and any doubt (another query
parameter, an unusual cookie, a database error), goes to the app, which answers as always.

Keeping it right: with ``QUIET_POLL_CHECK`` (the whole test suite runs with it) every answer of
the lane is compared with the app's answer to the same request (status, headers, body), so a
hook, header or rule added to the app and missing here fails the tests that poll.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, Response
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.http import parse_cookie

from sandbox.users.services import session_holder, token_holder
from sandbox.users.token_use import get_token_use_writer
from sandbox.web.poll_answer import kept_answer
from sandbox.web.poll_memo import memo_of
from sandbox.web.request_context import bearer_from_header
from sandbox.web.security import add_security_headers

if TYPE_CHECKING:
    from sandbox.runtime import Runtime

# The app's view of the URL below (its role check is the lane's too).
POLL_ENDPOINT = "api.messages_list"
_PATH = re.compile(r"/api/v1/conversations/([1-9][0-9]{0,17})/messages")
_QUERY = re.compile(r"(?:after=(0|[1-9][0-9]{0,17}))?")
# A session cookie holding anything else (flashed messages, say) is left to Flask, and so is a
# permanent session (Flask sends its cookie again on every request).
_PLAIN_SESSION_KEYS = frozenset({"sid", "csrf_token", "_permanent"})

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class PollLane:
    """WSGI middleware: the kept quiet poll answered before the app; everything else passed on."""

    def __init__(self, app: Flask, inner: WSGIApp) -> None:
        self.app = app
        self.inner = inner
        self._answered = 0
        self._lock = threading.Lock()

    @property
    def answered(self) -> int:
        """How many polls the lane has answered (the tests and benchmarks read it)."""
        return self._answered

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET":
            path = _PATH.fullmatch(environ.get("PATH_INFO") or "")
            query = _QUERY.fullmatch(environ.get("QUERY_STRING") or "") if path else None
            if path and query:
                response = self._answer(environ, int(path[1]), int(query[1] or 0))
                if response is not None:
                    with self._lock:
                        self._answered += 1
                    return response(environ, start_response)
        return self.inner(environ, start_response)

    def _answer(self, environ: dict[str, Any], conversation_id: int, after: int) -> Response | None:
        runtime: Runtime = self.app.extensions["bankdrill"]
        memo = memo_of(runtime)
        if memo.get(conversation_id) is None:
            return None  # nothing kept: no database work here
        try:
            with runtime.autocommit_reads() as session:
                caller = self._caller(session, runtime, environ)
                if caller is None or caller[1] not in self._allowed_roles():
                    return None
                user_id, _role, via_cookie = caller
                body, _stamp = kept_answer(session, memo, conversation_id, after, user_id, runtime.clock.now())
        except SQLAlchemyError:
            return None  # the app answers, and reports the failure its own way
        if body is None:
            return None
        response = self.app.json.response(body)
        add_security_headers(self.app, response.headers, personal=True)
        if via_cookie:
            response.vary.add("Cookie")  # what Flask adds when a request read its session cookie
        if self.app.config.get("QUIET_POLL_CHECK"):
            self._check(environ, response)
        return response

    def _allowed_roles(self) -> frozenset[str]:
        """The roles the app's view of this URL lets through (its ``roles_required``)."""
        return getattr(self.app.view_functions[POLL_ENDPOINT], "allowed_roles", frozenset())

    def _caller(self, session: Session, runtime: Runtime, environ: dict[str, Any]) -> tuple[int, str, bool] | None:
        """``(user id, role, via the session cookie)`` of the request's caller, as the app would
        find them (``request_context._load_user``): a Bearer token wins on the API; otherwise the
        browser session named by the session cookie. None: no caller, or one left to the app."""
        token = bearer_from_header(environ.get("HTTP_AUTHORIZATION", ""))
        if token is not None:
            row = token_holder(session, runtime.clock, token, get_token_use_writer(runtime).record_use)
            return (int(row.id), str(row.role), False) if row is not None else None
        sid = self._cookie_sid(environ)
        if sid is None:
            return None
        holder = session_holder(session, runtime.clock, sid)
        return (*holder, True) if holder is not None else None

    def _cookie_sid(self, environ: dict[str, Any]) -> str | None:
        """The server-side session id in the request's signed session cookie, read with Flask's
        own serializer; None when there is none or the cookie holds more than the app's login."""
        interface = self.app.session_interface
        if type(interface) is not SecureCookieSessionInterface:
            return None
        serializer = interface.get_signing_serializer(self.app)
        value = parse_cookie(environ.get("HTTP_COOKIE", "")).get(interface.get_cookie_name(self.app))
        if serializer is None or not value:
            return None
        try:
            data = serializer.loads(value, max_age=int(self.app.permanent_session_lifetime.total_seconds()))
        except BadSignature:
            return None
        if not isinstance(data, dict) or not set(data) <= _PLAIN_SESSION_KEYS or data.get("_permanent"):
            return None
        sid = data.get("sid")
        return sid if isinstance(sid, str) and sid else None

    def _check(self, environ: dict[str, Any], response: Response) -> None:
        """QUIET_POLL_CHECK: the lane's answer must be the app's answer to the same request."""
        seen: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            seen["status"], seen["headers"] = status, headers

        chunks = self.inner(dict(environ), start_response)
        try:
            app_body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        mine = sorted((k, v) for k, v in response.get_wsgi_headers(environ).to_wsgi_list() if k != "Content-Length")
        theirs = sorted((k, v) for k, v in seen["headers"] if k != "Content-Length")
        lane_body, full_body = json.loads(response.get_data()), json.loads(app_body)
        # The two answers are a moment apart: on a running clock the time left may differ by a
        # tick, so it is compared within a second and the rest exactly.
        lefts = [one["drill"].pop("remaining_seconds") for one in (lane_body, full_body)
                 if isinstance(one.get("drill"), dict)]
        clock_agrees = len(lefts) != 2 or abs(lefts[0] - lefts[1]) <= 1
        if seen["status"] != response.status or mine != theirs or lane_body != full_body or not clock_agrees:
            raise AssertionError(f"the poll lane's answer differs from the app's: {response.status} {mine} "
                                 f"{lane_body!r} != {seen['status']} {theirs} {full_body!r}")
