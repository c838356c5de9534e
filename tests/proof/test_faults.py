"""Faults: a killed server process, a deleted search index, PostgreSQL going away for a while."""

from __future__ import annotations

import shutil
import time
from datetime import datetime
from urllib.parse import quote

import pytest
from sqlalchemy import select

from sandbox.app import create_app
from sandbox.devtools.pgcluster import PrivateCluster, pg_bin
from sandbox.drill.models import ConversationMessage, DrillEvent
from sandbox.instance import initialise
from tests.conftest import identity_from_reply
from tests.proof.servers import Server
from workorders.models import WorkOrder

SCENARIO = "cc-bill-enquiry"


def _verify_body(server, conv: int, token: str) -> dict:
    """Verification with what the simulated customer said when asked (a fresh identity per drill)."""
    _, body = server.call("GET", f"/api/v1/conversations/{conv}/messages", None, token)
    said = " ".join(m["text"] or "" for m in body["messages"] if m["speaker"] == "customer")
    return {"method": "id_phone", **identity_from_reply(said)}


@pytest.mark.slow
@pytest.mark.db
def test_sigkill_mid_drill_loses_nothing_and_the_clock_kept_running(app, api_token):
    token = api_token("candidate")
    runtime = app.extensions["bankdrill"]
    home, url = str(runtime.settings.home), runtime.settings.database_url
    runtime.dispose()  # the test's own connections go; the server processes own the instance now
    server = Server(home, url).start()
    try:
        status, drill = server.call("POST", "/api/v1/drills", {"scenario": SCENARIO}, token)
        assert status == 201, drill
        conv = drill["conversations"][0]["id"]
        c = f"/api/v1/conversations/{conv}"
        assert server.call("POST", f"{c}/messages", {"text": "您好，请提供姓名、身份证后六位和手机尾号。"}, token)[0] == 201
        assert server.call("POST", f"{c}/identity/verify", _verify_body(server, conv, token), token)[1]["verified"] is True
        assert server.call("GET", f"{c}/cards", None, token)[0] == 200
        status, order = server.call("POST", "/api/v1/workorders",
                                    {"category": "信用卡", "title": "账单咨询", "conversation_id": conv}, token)
        assert status == 201
        before = server.call("GET", f"{c}/messages", None, token)[1]["messages"]

        server.kill()
        killed_at = time.time()
        server = Server(home, url, server.port).start()  # a real restart takes wall time: the gap
        status, state = server.call("GET", f"/api/v1/drills/{drill['id']}", None, token)
        assert status == 200 and state["status"] == "running"
        assert state["deadline"] == drill["deadline"]  # the deadline is the server's, stored
        expected = (datetime.fromisoformat(drill["deadline"]).timestamp() - time.time())
        assert abs(state["remaining_seconds"] - expected) < 2
        assert state["remaining_seconds"] <= drill["remaining_seconds"] - (time.time() - killed_at) + 1
        after = server.call("GET", f"{c}/messages", None, token)[1]["messages"]
        assert after[:len(before)] == before
        assert [m["seq"] for m in after] == list(range(1, len(after) + 1))
        status, again = server.call("GET", f"/api/v1/workorders/{order['number']}", None, token)
        assert status == 200 and again["conversation_id"] == conv
        status, posted = server.call("POST", f"{c}/messages", {"text": "好的，我这边继续为您查询。"}, token)
        assert status == 201 and posted["message"]["seq"] == len(after) + 1
        # Verification survived too: the lookup still answers without a new check.
        assert server.call("GET", f"{c}/cards", None, token)[0] == 200
    finally:
        server.stop()
    app2 = create_app({"HOME": home, "DATABASE_URL": url, "TESTING": True})
    with app2.extensions["bankdrill"].session_factory() as s:
        types = list(s.scalars(select(DrillEvent.type).where(DrillEvent.drill_id == drill["id"])))
        assert {"drill.started", "message.agent", "identity.verified", "lookup.cards", "workorder.created"} <= set(types)
        assert s.scalar(select(WorkOrder.id).where(WorkOrder.number == order["number"])) is not None
    app2.extensions["bankdrill"].dispose()


def test_deleting_the_search_index_while_serving_keeps_search_answering(app, api, runtime, clock):
    from knowledge_base.articles import get_article, save_article

    cand = api("candidate")
    first = cand.get("/api/v1/kb/search?q=信用卡账单").get_json()
    assert first["results"]
    index_dir = runtime.settings.index_dir
    assert index_dir.exists()
    shutil.rmtree(index_dir)
    # Another query (results are cached per query): the index is found missing and rebuilt.
    resp = cand.get("/api/v1/kb/search?q=卡丢了怎么办")
    assert resp.status_code == 200 and resp.get_json()["results"]
    # An edit after the deletion is indexed and found (the index really is back, and writable).
    with runtime.transaction() as s:
        record = get_article(s, "CC-001").to_record()
        record["questions"] = record["questions"] + ["琉璃瓦账单怎么看"]
        save_article(s, clock, record, by="trainer")
    resp = cand.get("/api/v1/kb/search?q=琉璃瓦")
    assert resp.status_code == 200
    assert "CC-001" in [r["id"] for r in resp.get_json()["results"]]
    assert index_dir.exists()
    # Deleted again, mid-serving, between two searches of a running drill's console.
    shutil.rmtree(index_dir)
    resp = cand.get("/api/v1/kb/search?q=最低还款额")
    assert resp.status_code == 200 and resp.get_json()["results"]


PG_BIN = pg_bin()


@pytest.mark.slow
@pytest.mark.skipif(PG_BIN is None, reason="needs PostgreSQL server binaries (initdb, pg_ctl): "
                                           "apt-get install postgresql, or set BANKDRILL_TEST_PG_BIN")
def test_postgresql_outage_gives_clear_503s_then_full_recovery(tmp_path, api_token_for):
    cluster = PrivateCluster(PG_BIN).init()
    try:
        home = tmp_path / "home"
        home.mkdir()
        app = create_app({"HOME": str(home), "DATABASE_URL": cluster.url, "TESTING": True,
                          "KB_USE_MODEL": False})
        runtime = app.extensions["bankdrill"]
        initialise(runtime, seed=True)
        token = api_token_for(app, "candidate1")
        client = app.test_client()
        h = {"Authorization": f"Bearer {token}"}
        drill = client.post("/api/v1/drills", json={"scenario": SCENARIO}, headers=h).get_json()
        conv = drill["conversations"][0]["id"]
        c = f"/api/v1/conversations/{conv}"
        assert client.post(f"{c}/messages", json={"text": "您好，请问有什么可以帮您？"}, headers=h).status_code == 201

        cluster.stop()
        during = [
            client.get(f"/api/v1/drills/{drill['id']}", headers=h),
            client.post(f"{c}/messages", json={"text": "这条在数据库停机时发出"}, headers=h),
            client.get(f"{c}/messages", headers=h),
            client.post("/api/v1/workorders", json={"category": "信用卡", "title": "停机时创建"}, headers=h),
        ]
        for resp in during:
            assert resp.status_code == 503, resp.get_data(as_text=True)
            assert resp.get_json()["error"]["code"] == "database_unavailable"
            assert resp.headers["Retry-After"] == "5"
        cluster.start()
        # A client that retries as told (Retry-After: 5) is served again within that window.
        retry_until = time.monotonic() + 5
        state = client.get(f"/api/v1/drills/{drill['id']}", headers=h)
        while state.status_code == 503 and time.monotonic() < retry_until:
            time.sleep(0.1)  # poll interval
            state = client.get(f"/api/v1/drills/{drill['id']}", headers=h)
        assert state.status_code == 200 and state.get_json()["status"] == "running"
        resp = client.post(f"{c}/messages", json={"text": "数据库恢复后继续服务"}, headers=h)
        assert resp.status_code == 201
        msgs = client.get(f"{c}/messages", headers=h).get_json()["messages"]
        assert [m["seq"] for m in msgs] == list(range(1, len(msgs) + 1))
        texts = [m["text"] for m in msgs]
        assert "这条在数据库停机时发出" not in texts and "数据库恢复后继续服务" in texts
        with runtime.session_factory() as s:
            assert s.scalar(select(WorkOrder.id).where(WorkOrder.title == "停机时创建")) is None
            assert s.scalar(select(ConversationMessage.id).where(
                ConversationMessage.text == "这条在数据库停机时发出")) is None
        runtime.dispose()
    finally:
        cluster.destroy()


@pytest.fixture
def api_token_for():
    from sandbox.users.services import get_user, issue_token

    def _token(app, username: str) -> str:
        runtime = app.extensions["bankdrill"]
        with runtime.transaction() as s:
            return issue_token(s, runtime.clock, get_user(s, username))

    return _token


def test_a_failing_searcher_is_replaced_and_the_search_still_answers(app, api, runtime, monkeypatch):
    """A Whoosh read error mid-search (seen once under load) is retried on a new searcher."""
    from knowledge_base.search import get_kb

    kb = get_kb(runtime)
    cand = api("candidate")
    assert cand.get("/api/v1/kb/search?q=信用卡账单").status_code == 200
    broken = kb.lexical_scorer  # the lexical scorer reads the shared searcher's postings
    calls = []
    original = type(broken).search

    def flaky(self, *args, **kwargs):
        calls.append(self)
        if self is broken:
            raise EOFError("simulated torn read")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(broken), "search", flaky)
    resp = cand.get("/api/v1/kb/search?q=卡丢了怎么办")
    assert resp.status_code == 200 and resp.get_json()["results"]
    assert calls[0] is broken and calls[-1] is not broken


@pytest.mark.slow
@pytest.mark.db
def test_stopping_the_server_with_sigterm_writes_the_queued_search_log(app, api_token):
    """Search-log rows wait in memory for their batch; a service manager's stop (SIGTERM) must
    not lose them (knowledge_base/search_log.py)."""
    from knowledge_base.models import SearchLog

    token = api_token("candidate")
    runtime = app.extensions["bankdrill"]
    home, url = str(runtime.settings.home), runtime.settings.database_url
    runtime.dispose()
    server = Server(home, url).start()
    try:
        queries = [f"停机前的检索{i}" for i in range(3)]
        for q in queries:
            assert server.call("GET", "/api/v1/kb/search?q=" + quote(q), None, token)[0] == 200
    finally:
        server.stop()  # SIGTERM at once: the writer's one-second beat has not come yet
    assert server.proc is not None and server.proc.returncode == 0  # a clean stop, not a kill
    check = create_app({"HOME": home, "DATABASE_URL": url, "TESTING": True})
    try:
        with check.extensions["bankdrill"].transaction() as s:
            logged = set(s.scalars(select(SearchLog.query)))
        assert set(queries) <= logged
    finally:
        check.extensions["bankdrill"].dispose()
