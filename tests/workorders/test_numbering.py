"""Numbers WO<yyyymmdd>-<seq>: per Beijing day, consecutive, unique under concurrency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.workorders.conftest import order_data
from workorders import creation
from workorders.models import WorkOrder


def _create(runtime, actor, **data) -> str:
    with runtime.transaction() as s:
        return creation.create_order(s, runtime.clock, actor, order_data(**data)).number


@pytest.mark.db
def test_numbers_are_consecutive_per_beijing_day(runtime, clock, actors):
    clock.set(datetime(2026, 11, 28, 15, 59, tzinfo=UTC))  # 23:59 in Beijing
    assert _create(runtime, actors["candidate"]) == "WO20261128-0001"
    assert _create(runtime, actors["examiner"]) == "WO20261128-0002"
    clock.advance(60)  # 00:00 on the 29th in Beijing, still the 28th in UTC
    assert _create(runtime, actors["candidate"]) == "WO20261129-0001"
    assert _create(runtime, actors["candidate"]) == "WO20261129-0002"


@pytest.mark.db
def test_refused_input_takes_no_number(api, runtime, actors):
    assert _create(runtime, actors["candidate"]) == "WO20261128-0001"
    resp = api("candidate").post("/api/v1/workorders", json=order_data(priority="特急"))
    assert resp.status_code == 400
    assert _create(runtime, actors["candidate"]) == "WO20261128-0002"


@pytest.mark.db
def test_fifty_concurrent_creations_get_fifty_consecutive_numbers(runtime, actors):
    """Fifty threads, each with its own session, create one order at the same instant."""
    n = 50
    barrier = threading.Barrier(n)
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    actor = actors["candidate"]

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            with runtime.session_factory() as s, s.begin():
                number = creation.create_order(s, runtime.clock, actor, order_data(title=f"并发 {i}")).number
            with lock:
                numbers.append(number)
        except BaseException as exc:  # collected and asserted below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert len(numbers) == n and len(set(numbers)) == n
    assert sorted(numbers) == [f"WO20261128-{i:04d}" for i in range(1, n + 1)]
    with runtime.transaction() as s:
        stored = list(s.scalars(select(WorkOrder.number)))
    assert sorted(stored) == sorted(numbers)


@pytest.mark.db
def test_concurrent_creation_through_the_api(app, login_as):
    """Twenty clients sharing one login post at once; each request gets its own number."""
    n = 20
    first = login_as("candidate")
    cookie = first.get_cookie("bankdrill_session")
    clients = []
    for _ in range(n):
        c = app.test_client()
        c.set_cookie(cookie.key, cookie.value)
        clients.append(c)
    barrier = threading.Barrier(n)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        barrier.wait(timeout=30)
        resp = clients[i].post("/api/v1/workorders", json=order_data(title=f"接口并发 {i}"))
        with lock:
            results.append((resp.status_code, (resp.get_json() or {}).get("number", "")))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [s for s, _ in results] == [201] * n, results
    assert sorted(num for _, num in results) == [f"WO20261128-{i:04d}" for i in range(1, n + 1)]
