"""The search log written in batches off the request path (knowledge_base/search_log.py)."""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from knowledge_base.models import SearchLog
from knowledge_base.search_log import SearchLogWriter, flush_search_log, get_search_log, search_log_row
from sandbox.users.models import User


@pytest.fixture
def app_config() -> dict:
    # A beat long enough that nothing is written unless the test flushes or closes.
    return {"WTF_CSRF_ENABLED": False, "SEARCH_LOG_INTERVAL": 3600}


def _rows(runtime) -> list[SearchLog]:
    with runtime.transaction() as s:
        rows = list(s.scalars(select(SearchLog).order_by(SearchLog.id)))
        s.expunge_all()
        return rows


def _row(runtime, query: str, user_id: int | None = None) -> dict:
    return search_log_row(runtime.clock.now(), query, query, user_id, 1, ["CC-001"], 0.5, source="api")


def test_a_search_answers_before_its_log_row_is_written_and_flush_writes_it(runtime, api):
    before = len(_rows(runtime))
    resp = api("candidate").get("/api/v1/kb/search?q=信用卡年费")
    assert resp.status_code == 200
    assert len(_rows(runtime)) == before  # not written by the request
    flush_search_log(runtime)
    rows = _rows(runtime)
    assert len(rows) == before + 1 and rows[-1].query == "信用卡年费" and rows[-1].source == "api"
    assert rows[-1].user_id is not None and rows[-1].result_count >= 1


def test_the_background_thread_writes_within_its_interval(runtime):
    writer = SearchLogWriter(runtime.transaction, interval=0.05)
    try:
        writer.record(_row(runtime, "挂失"))
        deadline = time.monotonic() + 10
        while writer.written < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [r.query for r in _rows(runtime)][-1:] == ["挂失"]
    finally:
        writer.close()


def test_a_clean_shutdown_loses_nothing(runtime):
    writer = get_search_log(runtime)
    for i in range(5):
        writer.record(_row(runtime, f"关机前{i}"))
    runtime.dispose()  # what `bankdrill serve` does on Ctrl+C or SIGTERM
    assert [r.query for r in _rows(runtime)][-5:] == [f"关机前{i}" for i in range(5)]


def test_a_row_the_database_refuses_does_not_hold_back_the_others(runtime):
    with runtime.transaction() as s:
        missing_user = (s.scalar(select(func.max(User.id))) or 0) + 1000
    writer = SearchLogWriter(runtime.transaction, interval=3600)
    try:
        writer.record(_row(runtime, "好行1"))
        writer.record(_row(runtime, "坏行", user_id=missing_user))  # a foreign key to nobody
        writer.record(_row(runtime, "好行2"))
        assert writer.flush() == 2
        assert [r.query for r in _rows(runtime)][-2:] == ["好行1", "好行2"] and writer.dropped == 1
    finally:
        writer.close()


def test_rows_wait_while_the_database_is_away_and_go_in_order_when_it_is_back(runtime):
    away = {"now": True}

    @contextmanager
    def transaction():
        if away["now"]:
            raise ConnectionError("database unavailable")
        with runtime.transaction() as s:
            yield s

    writer = SearchLogWriter(transaction, interval=3600)
    try:
        writer.record(_row(runtime, "先"))
        writer.record(_row(runtime, "后"))
        for _ in range(2):  # two beats while it is away: nothing written, nothing lost
            with pytest.raises(RuntimeError):
                writer.flush()
        away["now"] = False
        writer.record(_row(runtime, "再后"))
        assert writer.flush() == 3
        assert [r.query for r in _rows(runtime)][-3:] == ["先", "后", "再后"]
    finally:
        writer.close()


def test_memory_is_bounded_while_the_database_is_away(runtime):
    writer = SearchLogWriter(runtime.transaction, interval=3600, max_pending=3)
    try:
        for i in range(5):
            writer.record(_row(runtime, f"第{i}"))
        assert writer.dropped == 2
        writer.flush()
        assert [r.query for r in _rows(runtime)][-3:] == ["第2", "第3", "第4"]
    finally:
        writer.close()


def test_the_trainer_analytics_page_counts_the_last_second_searches(runtime, api, login_as):
    api("candidate").get("/api/v1/kb/search?q=翡翠卡没人搜过的问题")
    page = login_as("trainer").get("/trainer/analytics")
    assert page.status_code == 200 and "翡翠卡没人搜过的问题" in page.get_data(as_text=True)


def test_a_row_recorded_after_shutdown_is_written_at_once(runtime):
    writer = SearchLogWriter(runtime.transaction, interval=3600)
    writer.close()
    writer.record(_row(runtime, "关机后"))  # a request that finished after the writer closed
    assert [r.query for r in _rows(runtime)][-1:] == ["关机后"]
