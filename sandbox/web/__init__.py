"""Everything that knows Flask: views, forms, the request context and transactions, error pages."""

from __future__ import annotations

import hashlib
from pathlib import Path

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


STATIC_MAX_AGE = 7 * 24 * 3600


def init_static(app: Flask) -> None:
    """Browsers keep CSS/JS for a week; every static URL carries ``?v=`` (a hash of the file), so
    a changed file is fetched again at once. Without this each page load re-requested about ten
    files at the same moment, which is what filled waitress's four threads ("Task queue depth")."""
    if app.config.get("SEND_FILE_MAX_AGE_DEFAULT") is None:
        app.config["SEND_FILE_MAX_AGE_DEFAULT"] = STATIC_MAX_AGE
    stamps: dict[str, tuple[float, str]] = {}
    folder = Path(app.static_folder or "")

    @app.url_defaults
    def _fingerprint(endpoint: str, values: dict) -> None:
        if endpoint != "static" or "v" in values or "filename" not in values:
            return
        name = values["filename"]
        path = folder / name
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return
        known = stamps.get(name)
        if known is None or known[0] != mtime:
            known = (mtime, hashlib.sha256(path.read_bytes()).hexdigest()[:10])
            stamps[name] = known
        values["v"] = known[1]


def register_web(app: Flask) -> None:
    """Attach the request context, security, error handlers and every blueprint."""
    from sandbox.web import (
        admin,
        api,
        auth,
        bank,
        drills,
        errors,
        interview,
        kb,
        main,
        rounds,
        scenario_library,
        security,
        trainer,
    )
    from sandbox.web import workorders as workorders_pages

    # API modules add their routes to api.bp when imported (before it is registered).
    from sandbox.web.api import bank as _api_bank  # noqa: F401
    from sandbox.web.api import drills as _api_drills  # noqa: F401
    from sandbox.web.api import followups as _api_followups  # noqa: F401
    from sandbox.web.api import interview as _api_interview  # noqa: F401
    from sandbox.web.api import kb as _api_kb  # noqa: F401
    from sandbox.web.api import openapi as _api_openapi  # noqa: F401
    from sandbox.web.api import rounds as _api_rounds  # noqa: F401
    from sandbox.web.api import trainer as _api_trainer  # noqa: F401
    from sandbox.web.api import workorders as _api_workorders  # noqa: F401
    from sandbox.web.display import init_display
    from sandbox.web.input_guard import init_input_guard
    from sandbox.web.redaction import init_redaction
    from sandbox.web.request_context import init_request_context

    # The trainer's pages add their routes to trainer.bp when imported (like the API modules).
    from sandbox.web.trainer import articles as _trainer_articles  # noqa: F401
    from sandbox.web.trainer import import_export as _trainer_import_export  # noqa: F401
    from sandbox.web.trainer import search_analytics as _trainer_search_analytics  # noqa: F401
    from sandbox.web.trainer import synonyms as _trainer_synonyms  # noqa: F401

    app.url_map.converters["int"] = IdConverter
    init_redaction(app)
    init_request_context(app)
    init_input_guard(app)
    init_display(app)
    init_static(app)
    security.init_security(app)
    errors.init_error_handlers(app)
    for blueprint in (auth.bp, main.bp, admin.bp, drills.bp, rounds.bp, scenario_library.bp, kb.bp, bank.bp,
                      workorders_pages.bp, trainer.bp, interview.bp, api.bp):
        app.register_blueprint(blueprint)
