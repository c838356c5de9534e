"""Injectable clocks: every drill deadline, SLA and code expiry reads one of these.

Also the one definition of the bank's business time zone: ``BEIJING`` (UTC+8; China has had
no daylight saving since 1991) and ``local_iso``. Bank days, statement dates, work-order
numbers and export stamps use Beijing time whatever the instance's *display* zone is; the
display zone (``BANKDRILL_TIMEZONE``, default Asia/Shanghai) is read by ``sandbox.config``
through ``sandbox.timefmt.load_zone`` and only changes how pages print times.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol, overload

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


class Clock(Protocol):
    """Anything that can tell the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to; for tests and rehearsals."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            self._now = self._now.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float = 0, **kwargs: float) -> datetime:
        """Move the clock forward by ``seconds`` (plus any timedelta keyword arguments)."""
        with self._lock:
            self._now = self._now + timedelta(seconds=seconds, **kwargs)
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when if when.tzinfo else when.replace(tzinfo=UTC)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """Databases such as SQLite hand back naive datetimes; we store UTC, so label them."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def local_iso(moment: datetime) -> str:
    """An aware datetime as Beijing-time ISO 8601 (``2026-11-28T09:00:00+08:00``)."""
    return moment.astimezone(BEIJING).isoformat()
