"""Everything that knows Flask: views, forms, request glue, error pages."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

# The largest id a row can have (PostgreSQL INTEGER); bigger numbers in a URL are 404s,
# not overflow errors from the database driver (found by the schemathesis run).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` in URLs: a non-negative integer a database id column can hold."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ID:
            raise NotFound()  # a 404 (no such row), not a 405 from a neighbouring rule
        return number


def register_web(app: Flask) -> None:
    """Attach request glue, security, error handlers and every blueprint."""
    from sandbox.web import admin, api, auth, bank, drills, errors, kb, main, rounds, scenario_library, security, trainer
    from sandbox.web import workorders as workorders_pages
    # API modules add their routes to api.bp when imported (before it is registered).
    from sandbox.web.api import bank as _api_bank  # noqa: F401
    from sandbox.web.api import drills as _api_drills  # noqa: F401
    from sandbox.web.api import kb as _api_kb  # noqa: F401
    from sandbox.web.api import rounds as _api_rounds  # noqa: F401
    from sandbox.web.api import trainer as _api_trainer  # noqa: F401
    from sandbox.web.api import openapi as _api_openapi  # noqa: F401
    from sandbox.web.api import workorders as _api_workorders  # noqa: F401
    from sandbox.web.glue import init_request_glue

    app.url_map.converters["int"] = IdConverter
    init_request_glue(app)
    security.init_security(app)
    errors.init_error_handlers(app)
    for blueprint in (auth.bp, main.bp, admin.bp, drills.bp, rounds.bp, scenario_library.bp, kb.bp, bank.bp,
                      workorders_pages.bp, trainer.bp, api.bp):
        app.register_blueprint(blueprint)
