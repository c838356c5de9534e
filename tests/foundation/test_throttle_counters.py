"""Attempt counters (sandbox.users.throttle): what a reservation writes, in how many statements,
and that a refused one counts nothing, including under counters it would have created."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from sandbox.clock import as_utc
from sandbox.users import throttle
from sandbox.users.models import ThrottleCounter

POLICY = throttle.Policy(free=3, base_seconds=60, cap_seconds=600, reset_seconds=900)


def _counters(runtime) -> dict[str, tuple[int, object]]:
    with runtime.session_factory() as s:
        return {row.key: (row.failures, as_utc(row.last_failure_at) if row.last_failure_at else None)
                for row in s.scalars(select(ThrottleCounter).where(ThrottleCounter.key.like("t:%")))}


def _reserve(runtime, *keys: str, times: int = 1, advance: float = 0) -> throttle.Reservation:
    """``times`` reservations under ``keys``, each in its own transaction, ``advance`` seconds apart."""
    for _ in range(times):
        with runtime.transaction() as s:
            reservation = throttle.reserve(s, runtime.clock, [(key, POLICY) for key in keys])
        runtime.clock.advance(advance)
    return reservation


def _statements(runtime, action) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    event.listen(runtime.engine, "before_cursor_execute", record)
    try:
        with runtime.transaction() as s:
            action(s)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", record)
    return [s for s in seen if "throttle_counters" in s]


@pytest.mark.db
def test_a_first_attempt_creates_its_counter_already_counted_in_one_statement(runtime):
    clock = runtime.clock
    statements = _statements(runtime, lambda s: throttle.reserve(s, clock, [("t:first", POLICY)]))
    assert len(statements) == 1 and statements[0].startswith("INSERT INTO throttle_counters")
    assert _counters(runtime) == {"t:first": (1, clock.now())}
    # A second attempt finds the counter and raises it under its lock.
    clock.advance(5)
    _reserve(runtime, "t:first")
    assert _counters(runtime) == {"t:first": (2, clock.now())}


@pytest.mark.db
def test_a_refused_reservation_counts_nothing_even_under_the_counters_it_created(runtime):
    clock = runtime.clock
    _reserve(runtime, "t:busy", times=POLICY.free)
    before = _counters(runtime)
    assert before["t:busy"][0] == POLICY.free
    with runtime.transaction() as s:
        with pytest.raises(throttle.Throttled) as refused:
            throttle.reserve(s, clock, [("t:a-fresh", POLICY), ("t:busy", POLICY), ("t:z-fresh", POLICY)])
    assert refused.value.key == "t:busy" and refused.value.retry_after == POLICY.base_seconds + 1
    assert _counters(runtime) == before  # no counter for the fresh keys, the busy one unchanged
    # Once the wait is over, the same reservation counts under all three.
    clock.advance(POLICY.base_seconds + 1)
    reservation = _reserve(runtime, "t:z-fresh", "t:busy", "t:a-fresh")
    assert [key for key, _ in reservation.keys] == ["t:a-fresh", "t:busy", "t:z-fresh"]
    assert {k: v[0] for k, v in _counters(runtime).items()} == {"t:a-fresh": 1, "t:busy": 4, "t:z-fresh": 1}
    with runtime.transaction() as s:
        throttle.release(s, reservation, forget=("t:a-fresh",))
    assert {k: v[0] for k, v in _counters(runtime).items()} == {"t:busy": 3, "t:z-fresh": 0}


@pytest.mark.db
def test_the_longest_wait_of_several_keys_is_read_in_one_statement(runtime):
    clock = runtime.clock
    _reserve(runtime, "t:long", times=POLICY.free, advance=1)
    _reserve(runtime, "t:short")
    keys = [("t:short", POLICY), ("t:long", POLICY), ("t:none", POLICY)]
    waits: list[int] = []
    statements = _statements(runtime, lambda s: waits.append(throttle.longest_wait(s, clock, keys)))
    assert len(statements) == 1
    with runtime.session_factory() as s:
        each = [throttle.seconds_left(s, clock, key, policy) for key, policy in keys]
    assert each[0] == 0 and each[2] == 0 and each[1] > 0
    assert waits == [max(each)]
    with runtime.session_factory() as s:
        assert throttle.longest_wait(s, clock, []) == 0
