"""Attempt throttling with growing waits, shared by logins, password changes and the identity check.

A *key* names what is being guessed at from where (``login:acct_ip:alice|10.0.0.7``,
``identity:3:17``...). Each key has a ``Policy``: ``free`` failures are allowed, then
every further attempt waits ``base`` seconds, doubling per failure up to ``cap``;
failures are forgotten ``reset`` after the last one. Whether a key is blocked is
derived from its counter (one fact, one place), never stored.

Attempts are *reserved* before the secret is compared: the counter is raised at once,
under a row lock (``SELECT ... FOR UPDATE`` on PostgreSQL, the write lock on SQLite),
so thirty parallel guesses see thirty increments and cannot all slip through; a
success then takes its own increment back (``release``). This lets the slow password
hash run outside any database lock.

Functions take a session and the clock and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from sandbox.clock import Clock, as_utc
from sandbox.users.models import ThrottleCounter

MAX_DOUBLINGS = 30


@dataclass(frozen=True)
class Policy:
    """How many failures a key may collect and how long it waits afterwards."""

    free: int
    base_seconds: int
    cap_seconds: int
    reset_seconds: int
    growing: bool = True

    def __post_init__(self) -> None:
        if self.reset_seconds < self.cap_seconds:
            raise ValueError("reset must not be shorter than the longest wait")

    def wait_after(self, failures: int) -> int:
        """Seconds an attempt must wait after ``failures`` recent failures (0: go ahead)."""
        if failures < self.free:
            return 0
        if not self.growing:
            return self.cap_seconds
        steps = min(failures - self.free, MAX_DOUBLINGS)
        return min(self.base_seconds * (2 ** steps), self.cap_seconds)


@dataclass
class Reservation:
    """Attempts counted in advance under some keys; ``release`` takes them back on success."""

    keys: list[tuple[str, Policy]] = field(default_factory=list)


class Throttled(Exception):
    """Raised by ``reserve`` while one of the keys must wait; carries the seconds left."""

    def __init__(self, key: str, retry_after: int) -> None:
        super().__init__(key)
        self.key = key
        self.retry_after = retry_after


def _recent(row: ThrottleCounter | None, policy: Policy, now: datetime) -> int:
    if row is None or not row.failures or row.last_failure_at is None:
        return 0
    if (now - as_utc(row.last_failure_at)).total_seconds() > policy.reset_seconds:
        return 0
    return row.failures


def _seconds_left(row: ThrottleCounter | None, policy: Policy, now: datetime) -> int:
    failures = _recent(row, policy, now)
    wait = policy.wait_after(failures)
    if not wait:
        return 0
    until = as_utc(row.last_failure_at) + timedelta(seconds=wait)
    left = (until - now).total_seconds()
    return int(left) + 1 if left > 0 else 0


def _counter_insert(make_insert: Any, failures: int) -> Any:
    statement = make_insert(ThrottleCounter).values(key=bindparam("key"), failures=failures)
    if failures:
        statement = statement.values(last_failure_at=bindparam("now"))
    return statement.on_conflict_do_nothing(index_elements=["key"]).returning(ThrottleCounter.id)


# Built once per dialect: a counter created empty (to be locked and read), or created with the
# attempt already counted (every identity check's first attempt).
_INSERT_EMPTY = {"sqlite": _counter_insert(sqlite_insert, 0), "postgresql": _counter_insert(postgresql_insert, 0)}
_INSERT_COUNTED = {"sqlite": _counter_insert(sqlite_insert, 1), "postgresql": _counter_insert(postgresql_insert, 1)}


def _dialect(session: Session) -> str:
    return "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"


def _insert_missing(session: Session, key: str) -> None:
    session.execute(_INSERT_EMPTY[_dialect(session)], {"key": key})


def _insert_counted(session: Session, key: str, now: datetime) -> bool:
    """Create ``key``'s counter with this attempt counted; False (nothing written) when it exists.

    Inserting takes the new row's lock as ``_locked_row`` would, and a key without a counter
    has no failures to wait for: one statement for the common case (a first attempt, or the
    first since a success cleared the key)."""
    return session.execute(_INSERT_COUNTED[_dialect(session)], {"key": key, "now": now}).first() is not None


def _locked_row(session: Session, key: str) -> ThrottleCounter:
    # populate_existing: another transaction may have changed the row since this session last
    # looked, so the locked read overwrites what the session holds (no second read to refresh).
    query = (select(ThrottleCounter).where(ThrottleCounter.key == key).with_for_update()
             .execution_options(populate_existing=True))
    row = session.scalar(query)
    if row is None:
        _insert_missing(session, key)
        row = session.scalar(query)
    assert row is not None  # inserted just above when missing
    return row


def seconds_left(session: Session, clock: Clock, key: str, policy: Policy) -> int:
    """Seconds ``key`` must still wait (0 when an attempt may go ahead). Reads only."""
    return longest_wait(session, clock, [(key, policy)])


def longest_wait(session: Session, clock: Clock, keys: list[tuple[str, Policy]]) -> int:
    """The longest of ``seconds_left`` over ``keys``, read in one statement."""
    if not keys:
        return 0
    rows = {row.key: row for row in session.scalars(select(ThrottleCounter).where(
        ThrottleCounter.key.in_({key for key, _policy in keys})))}
    now = clock.now()
    return max(_seconds_left(rows.get(key), policy, now) for key, policy in keys)


def failures(session: Session, clock: Clock, key: str, policy: Policy) -> int:
    """Recent failures counted under ``key``. Reads only."""
    row = session.scalar(select(ThrottleCounter).where(ThrottleCounter.key == key))
    return _recent(row, policy, clock.now())


def reserve(session: Session, clock: Clock, keys: list[tuple[str, Policy]]) -> Reservation:
    """Count one attempt under every key, or raise ``Throttled`` (counting nothing).

    Rows are locked in key order, so two reservations never deadlock.
    """
    now = clock.now()
    ordered = sorted(keys, key=lambda kp: kp[0])
    created: list[str] = []  # counters this attempt created, already counted
    rows = []
    for key, policy in ordered:
        if policy.wait_after(0) == 0 and _insert_counted(session, key, now):
            created.append(key)
        else:
            rows.append((key, policy, _locked_row(session, key)))
    waits = [(_seconds_left(row, policy, now), key) for key, policy, row in rows]
    wait, key = max(waits) if waits else (0, "")
    if wait > 0:
        if created:  # counting nothing: the counters this attempt created go again
            session.execute(delete(ThrottleCounter).where(ThrottleCounter.key.in_(created)))
        raise Throttled(key, wait)
    for _key, policy, row in rows:
        row.failures = _recent(row, policy, now) + 1
        row.last_failure_at = now
    session.flush()
    return Reservation(keys=ordered)


def release(session: Session, reservation: Reservation, *, forget: tuple[str, ...] = ()) -> None:
    """The attempt succeeded: take its count back; keys in ``forget`` are cleared entirely."""
    for key, _policy in sorted(reservation.keys, key=lambda kp: kp[0]):
        if key in forget:
            session.execute(delete(ThrottleCounter).where(ThrottleCounter.key == key))
            continue
        row = _locked_row(session, key)
        row.failures = max(row.failures - 1, 0)
    session.flush()


def clear(session: Session, key: str) -> None:
    """Forget every failure under ``key`` (e.g. after an administrator's reset)."""
    session.execute(delete(ThrottleCounter).where(ThrottleCounter.key == key))


def purge(session: Session, clock: Clock, older_than: timedelta) -> int:
    """Delete counters whose last failure is older than ``older_than`` (housekeeping)."""
    cutoff = clock.now() - older_than
    result = session.execute(delete(ThrottleCounter).where(ThrottleCounter.last_failure_at < cutoff)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0
