"""Redaction on every way out: JSON answers, rendered pages and log records.

The rules live in ``sandbox.bank.masking``; this module only applies ``redact`` where data
leaves the process, so a view that forgets to mask cannot show a full card, ID or mobile
number:

- every JSON answer (``jsonify``, views returning a dict): each string is redacted;
- every ``{{ … }}`` in every template (Jinja ``finalize``), including the SVG charts and
  form fields rendered into a page;
- every log record (a log-record factory: the message, its arguments, the traceback).

A value shown in clear on purpose is wrapped in ``masking.Clear`` (the audited examiner
reveal, a trainer's own scenario source in the editor).
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote, unquote_plus

from flask import Flask, Response
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup

from sandbox.bank.masking import Clear, find_clear_pii, redact, redact_data

_WHITESPACE = re.compile(r"\s")
_URL_TOKEN = re.compile(r"[^\s%+]*[%+]\S*")


class RedactingJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider with every string of a JSON answer redacted before it is written.

    Only answers (``jsonify``, a view returning a dict or list): ``dumps`` itself stays
    exact, because Flask also uses it for the session cookie (the CSRF secret is hex and
    may hold a digit run) and the test client for request bodies.
    """

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if args and kwargs:
            raise TypeError("app.json.response() takes either args or kwargs, not both")
        obj = args[0] if len(args) == 1 else (list(args) if args else (kwargs or None))
        return super().response(redact_data(obj))


def redact_url_text(value: str) -> str:
    """``value`` redacted; in a URL (no spaces, ``%`` or ``+`` in it) also a number hidden by
    the encoding (``?q=9900+0217+4985+3816``, ``%EF%BC%91…``), which is then re-encoded masked."""
    clean = redact(value)
    if ("%" in clean or "+" in clean) and not _WHITESPACE.search(clean):
        decoded = unquote_plus(clean)
        if decoded != clean and find_clear_pii(decoded):
            clean = quote(redact(decoded), safe="/:?#[]@!$&'()*,;=~")
    return clean


def finalize(value: Any) -> Any:
    """Jinja ``finalize``: what ``{{ value }}`` prints, with full numbers masked (Markup stays Markup)."""
    if isinstance(value, str):
        if isinstance(value, Clear):
            return str(value)
        if isinstance(value, Markup):  # HTML built elsewhere (charts, macros): its own {{ }} were finalized
            clean = redact(value)
            return value if clean == value else Markup(clean)
        clean = redact_url_text(value)
        return value if clean == value else clean
    if isinstance(value, int) and not isinstance(value, bool) and value > 10**9:
        text = str(value)
        clean = redact(text)
        return value if clean == text else clean
    return value


def _redacting_factory(previous: Any) -> Any:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: leave it to the handler to report
            return record
        clean = _URL_TOKEN.sub(lambda m: redact_url_text(m.group()), redact(message))  # request lines too
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    factory.redacts = True  # type: ignore[attr-defined]
    return factory


def install_log_redaction() -> None:
    """Redact every log record this process creates (once, whatever the handlers are)."""
    previous = logging.getLogRecordFactory()
    if not getattr(previous, "redacts", False):
        logging.setLogRecordFactory(_redacting_factory(previous))


def init_redaction(app: Flask) -> None:
    """Attach the JSON provider, the template finalizer and the log-record factory to ``app``."""
    ensure_ascii = app.json.ensure_ascii
    app.json = RedactingJSONProvider(app)
    app.json.ensure_ascii = ensure_ascii
    app.jinja_env.finalize = finalize
    install_log_redaction()
