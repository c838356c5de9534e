"""The Flask application factory. Domain packages never import this module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from sandbox.config import load_settings
from sandbox.runtime import Runtime


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web app for one instance.

    ``config`` may carry ``HOME``, ``DATABASE_URL``, ``SECRET_KEY``, ``TESTING``,
    ``DEMO_MODE``, ``SECURE_COOKIES``, ``TRUSTED_PROXIES`` and ``CLOCK`` (an object with
    ``now()``); any other upper-case key is copied into ``app.config``.
    """
    config = dict(config or {})
    clock = config.pop("CLOCK", None)
    settings = load_settings(config)
    app = Flask(__name__, instance_path=str(settings.home), instance_relative_config=False)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="bankdrill_session",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        # A form's CSRF token lasts an exam day; an older page must be reloaded.
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        HSTS_ENABLED=settings.secure_cookies,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    app.config.update({k: v for k, v in settings.extra.items() if k.isupper()})
    if app.config.get("POLL_LANE", True):
        from sandbox.web.poll_lane import PollLane

        # The repeated quiet poll answered before Flask (sandbox.web.poll_lane); POLL_LANE=False
        # sends every request through the app (benchmarks compare the two).
        app.wsgi_app = PollLane(app, app.wsgi_app)  # type: ignore[method-assign]
    if settings.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,  # type: ignore[method-assign]
                                x_proto=settings.trusted_proxies, x_host=settings.trusted_proxies)
    runtime = Runtime(settings, clock=clock)
    from sandbox.drill.gateway import BankConversationGateway

    runtime.services["conversation_gateway"] = BankConversationGateway()
    app.extensions["bankdrill"] = runtime
    app.extensions["bankdrill.factory"] = create_app  # for throwaway copies (sandbox.web.rehearse)

    from sandbox.web import register_web

    register_web(app)

    from sandbox.cli import register_commands

    register_commands(app)
    return app
