"""How times are shown to people: one zone (Beijing time unless configured), one format.

Everything is stored and computed in UTC; only display converts. The web layer registers
``format_time`` as the ``dt`` template filter and ships the zone to the browser, whose one
formatter (``BankDrill.fmtTime`` in ``static/js/app.js``) prints the same format.

``BANKDRILL_TIMEZONE`` (or the ``TIMEZONE`` setting) takes an IANA zone name, e.g.
``Asia/Shanghai`` (the default) or ``Asia/Hong_Kong``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox.errors import ConfigurationError

DEFAULT_TIMEZONE = "Asia/Shanghai"
FORMAT = "%Y-%m-%d %H:%M"
FORMAT_SECONDS = "%Y-%m-%d %H:%M:%S"
EMPTY = "—"
# Names people use for a zone; any other zone is labelled with its IANA name.
ZONE_LABELS = {"Asia/Shanghai": "北京时间", "Asia/Chongqing": "北京时间", "PRC": "北京时间",
               "Asia/Hong_Kong": "香港时间", "Asia/Macau": "澳门时间", "Asia/Taipei": "台北时间",
               "UTC": "协调世界时（UTC）", "Etc/UTC": "协调世界时（UTC）"}


def load_zone(name: str | None) -> ZoneInfo:
    """The zone called ``name`` (default Beijing time); a clear error for an unknown name."""
    name = (name or DEFAULT_TIMEZONE).strip() or DEFAULT_TIMEZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(f"时区“{name}”无效；BANKDRILL_TIMEZONE 应为 IANA 时区名，例如 Asia/Shanghai。",
                                 code="bad_timezone") from exc


def zone_label(zone: ZoneInfo) -> str:
    """``北京时间`` for Asia/Shanghai; otherwise ``时区 <name>``."""
    return ZONE_LABELS.get(zone.key, f"时区 {zone.key}")


def to_datetime(value: datetime | str) -> datetime:
    """An aware datetime from a datetime (naive means UTC, as stored) or an ISO 8601 string."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def format_time(value: datetime | date | str | None, zone: ZoneInfo, *, seconds: bool = False) -> str:
    """``YYYY-MM-DD HH:MM`` (with ``seconds``: ``:SS``) in ``zone``; ``—`` for no value.

    A ``date`` (no time of day) is shown as ``YYYY-MM-DD``; a string that is not ISO 8601
    is shown as it is rather than failing the page.
    """
    if value is None or value == "":
        return EMPTY
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    try:
        moment = to_datetime(value)
    except (TypeError, ValueError):
        return str(value)
    return moment.astimezone(zone).strftime(FORMAT_SECONDS if seconds else FORMAT)
