"""Role checks, CSRF and security headers.

Every view declares who may reach it, with ``@roles_required(...)`` or ``@public``;
a test walks the URL map and fails on any view that declares nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, abort, g, redirect, request, url_for
from flask_wtf.csrf import CSRFProtect
from werkzeug.datastructures import Headers

from sandbox.roles import ALL_ROLES

csrf = CSRFProtect()
PUBLIC = "public"


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view as reachable without logging in."""
    view.allowed_roles = PUBLIC  # type: ignore[attr-defined]
    return view


def roles_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let only users holding one of ``roles`` through; others get 401/403 (or the login page)."""
    unknown = set(roles) - set(ALL_ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {unknown}")

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = g.get("user")
            if user is None:
                if is_api_request():
                    abort(401)
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapped

    return decorator


def upload_limit(nbytes: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let this view accept bodies up to ``nbytes`` (above ``MAX_CONTENT_LENGTH``), e.g. a backup upload."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        view.max_upload = nbytes  # type: ignore[attr-defined]
        return view

    return decorator


def any_user(view: Callable[..., Any]) -> Callable[..., Any]:
    """Any logged-in role."""
    return roles_required(*ALL_ROLES)(view)


CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


HSTS = "max-age=31536000; includeSubDomains"


_ALWAYS = (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
           ("Referrer-Policy", "same-origin"))


def add_security_headers(app: Flask, headers: Headers, personal: bool) -> None:
    """The app's security headers on an answer, each unless the view set its own; ``personal``
    (an API answer, or any page of a logged-in user) adds ``Cache-Control: no-store``. Called by
    the app's after-request hook and by the poll lane (``sandbox.web.poll_lane``)."""
    # The names present are read once: werkzeug's own presence check (setdefault) builds an
    # exception for every header that is absent, which was most of this hook's cost.
    present = {name.lower() for name, _ in headers.items()}
    wanted = list(_ALWAYS)
    if app.config.get("HSTS_ENABLED"):
        wanted.append(("Strict-Transport-Security", HSTS))
    if personal:
        wanted.append(("Cache-Control", "no-store"))
    for name, value in wanted:
        if name.lower() not in present:
            headers.add(name, value)


def init_security(app: Flask) -> None:
    @app.before_request
    def _upload_limit() -> None:
        # Before CSRF protection reads the form (registered first, so it runs first).
        limit = getattr(app.view_functions.get(request.endpoint or ""), "max_upload", None)
        if limit:
            request.max_content_length = limit

    csrf.init_app(app)

    @app.after_request
    def _headers(response):  # type: ignore[no-untyped-def]
        add_security_headers(app, response.headers, request.path.startswith("/api/") or g.get("user") is not None)
        return response
