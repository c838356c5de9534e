"""Everything that knows Flask: views, forms, request glue, error pages."""

from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    """Attach request glue, security, error handlers and every blueprint."""
    from sandbox.web import api, auth, errors, main, security
    from sandbox.web import workorders as workorders_pages
    from sandbox.web.api import workorders as _workorders_api  # noqa: F401
    from sandbox.web.glue import init_request_glue

    init_request_glue(app)
    security.init_security(app)
    errors.init_error_handlers(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(main.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(workorders_pages.bp)
