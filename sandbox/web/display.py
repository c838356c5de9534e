"""Display helpers every template shares: the one time filter, the display zone, paragraphs.

- ``{{ value|dt }}`` — a UTC datetime (or ISO string) as ``YYYY-MM-DD HH:MM`` in the
  instance's display zone (``BANKDRILL_TIMEZONE``, default 北京时间); ``|dt(seconds=True)``
  adds seconds. ``cst`` and ``bj`` are older names of the same filter.
- ``display_tz`` in every template: ``{"name": "Asia/Shanghai", "label": "北京时间"}``; the
  base template puts it in a ``<meta>`` for the browser's formatter and labels page footers.
- ``{{ text|paragraphs }}`` — text wrapped by hand in YAML (``|`` blocks) as paragraphs:
  single line breaks inside a Chinese sentence are joined, blank lines separate paragraphs.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from markupsafe import Markup, escape

from sandbox.timefmt import format_time, load_zone, zone_label

_CJK_OR_PUNCT = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def display_zone():
    """The zone this app shows times in (cached on the app)."""
    zone = current_app.extensions.get("bankdrill.zone")
    if zone is None:
        zone = load_zone(current_app.extensions["bankdrill"].settings.timezone)
        current_app.extensions["bankdrill.zone"] = zone
    return zone


def dt(value: Any, seconds: bool = False) -> str:
    """The ``dt`` template filter (see the module docstring)."""
    return format_time(value, display_zone(), seconds=seconds)


def local_input(value: Any) -> Any:
    """A form's ``datetime-local`` value (no zone) read in the display zone, as an aware datetime.

    Aware datetimes, ISO strings with an offset and anything unparsable pass through unchanged
    (the domain reports the bad ones).
    """
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return value
        return parsed.replace(tzinfo=display_zone()).isoformat() if parsed.tzinfo is None else value
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=display_zone())
    return value


def join_lines(text: str) -> list[str]:
    """Paragraphs of ``text`` with hard line breaks removed (no space between CJK characters)."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", (text or "").strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        out = lines[0]
        for line in lines[1:]:
            glue = "" if _CJK_OR_PUNCT.match(out[-1]) or _CJK_OR_PUNCT.match(line[0]) else " "
            out += glue + line
        paragraphs.append(out)
    return paragraphs


def paragraphs(text: str) -> Markup:
    """``join_lines`` as ``<p>`` elements (escaped)."""
    return Markup("").join(Markup("<p>{}</p>").format(escape(p)) for p in join_lines(text))


def init_display(app: Flask) -> None:
    """Register the filters and the ``display_tz`` template variable."""
    app.add_template_filter(dt, "dt")
    app.add_template_filter(dt, "cst")  # older names (work orders, trainer pages)
    app.add_template_filter(dt, "bj")
    app.add_template_filter(paragraphs, "paragraphs")

    @app.context_processor
    def _display() -> dict:
        zone = display_zone()
        return {"display_tz": {"name": zone.key, "label": zone_label(zone)}}
