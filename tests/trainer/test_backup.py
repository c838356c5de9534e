"""``bankdrill backup`` / ``restore``: a whole-instance round trip, and refusals."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC

import pytest
from sqlalchemy import func, select

from knowledge_base import articles
from knowledge_base.search import get_kb
from sandbox import backup as backups
from sandbox.app import create_app
from sandbox.batch_writer import flush_batch_writers
from sandbox.db import import_all_models
from sandbox.drill.models import Drill
from sandbox.exam.models import Round
from sandbox.migrate import head_revision
from sandbox.users.models import User
from tests.kb.helpers import save
from workorders.models import WorkOrder

# Changed by the restore itself: the KB version is bumped so every process reloads.
BUMPED = {"kb_state", "kb_changes"}


def _dump(engine) -> dict[str, list[tuple]]:
    """Every table's rows, in primary-key order, as comparable tuples."""
    out = {}
    with engine.connect() as conn:
        for table in import_all_models().sorted_tables:
            order = list(table.primary_key.columns)
            out[table.name] = [tuple(row) for row in conn.execute(table.select().order_by(*order))]
    return out


def _make_activity(api, runtime):
    """A finished drill with a report, a work order, an edited article and a search."""
    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()
    conv = drill["conversations"][0]["id"]
    cand.post(f"/api/v1/conversations/{conv}/messages", json={"text": "您好，请问有什么可以帮您？"})
    assert cand.post(f"/api/v1/drills/{drill['id']}/finish").status_code == 200
    resp = cand.post("/api/v1/workorders", json={
        "type": "投诉", "category": "信用卡", "priority": "高", "queue": "信用卡中心", "title": "账单多扣年费",
        "description": "客户称本期账单多扣了 200 元年费。", "customer_id": "C003", "customer_name": "张三丰"})
    assert resp.status_code == 201, resp.get_json()
    save(runtime, "BK-1", "备份测试文章", answer="含二进制向量与 JSON 的文章。", questions=["备份问法"])
    save(runtime, "BK-1", "备份测试文章（第二版）", answer="第二版。", questions=["备份问法"])
    cand.get("/api/v1/kb/search?q=备份测试")
    flush_batch_writers(runtime)  # search-log rows and token uses are written within a second; the dump reads them
    return drill["id"]


@pytest.mark.db
def test_backup_restore_round_trip(app, api, runtime, runner, tmp_path, clock):
    drill_id = _make_activity(api, runtime)
    source = _dump(runtime.engine)
    assert source["drills"] and source["work_orders"] and source["users"] and source["kb_articles"]
    assert source["kb_article_versions"] and source["bank_transactions"] and source["drill_events"]

    first = tmp_path / "first.zip"
    result = runner.invoke(args=["backup", str(first)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(first) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["revision"] == head_revision()
    assert manifest["tables"] == {name: len(rows) for name, rows in source.items()}

    # Restore into a brand-new SQLite instance (from PostgreSQL when the suite runs there).
    other_home = tmp_path / "other"
    other = create_app({"HOME": str(other_home), "DATABASE_URL": f"sqlite:///{other_home / 'db.sqlite3'}",
                        "TESTING": True, "CLOCK": clock, "WTF_CSRF_ENABLED": False})
    try:
        result = other.test_cli_runner().invoke(args=["restore", str(first), "--yes"])
        assert result.exit_code == 0, result.output
        other_runtime = other.extensions["bankdrill"]
        copied = _dump(other_runtime.engine)
        for name, rows in source.items():
            if name not in BUMPED:
                assert copied[name] == rows, name
        with other_runtime.transaction() as s:
            assert articles.get_version(s) == source["kb_state"][0][1] + 1
            drill = s.get(Drill, drill_id)
            assert drill.report and drill.finished_at.tzinfo is not None
            assert s.scalar(select(func.count(WorkOrder.id))) == len(source["work_orders"])
            assert s.scalar(select(User.password_hash).where(User.username == "trainer"))
        # The search index was rebuilt from the restored rows.
        hits = get_kb(other_runtime).search("备份测试文章第二版").hits
        assert hits and hits[0].id == "BK-1"
        # Back the copy up (to restore it over the changed original database below).
        second = tmp_path / "second.zip"
        assert other.test_cli_runner().invoke(args=["backup", str(second)]).exit_code == 0
        # The restored instance can log in with the old passwords.
        client = other.test_client()
        resp = client.post("/login", data={"username": "trainer", "password": app.config["TEST_PASSWORDS"]["trainer"]})
        assert resp.status_code == 302
    finally:
        other.extensions["bankdrill"].dispose()
    save(runtime, "BK-2", "备份之后才写的文章")
    api("candidate").post("/api/v1/workorders", json={"type": "建议", "category": "信用卡", "priority": "低",
                                                       "queue": "人工坐席", "title": "后来的", "description": "后来的工单"})
    result = runner.invoke(args=["restore", str(second)], input="y\n")
    assert result.exit_code == 0, result.output
    back = _dump(runtime.engine)
    for name, rows in source.items():
        if name not in BUMPED:
            assert back[name] == rows, name
    assert "BK-2" not in [h.id for h in get_kb(runtime).search("备份之后才写的文章", include_unpublished=True).hits]
    # Sequences continue after the restored rows (PostgreSQL): a new article and order get fresh ids.
    save(runtime, "BK-3", "恢复之后的新文章")
    assert api("candidate").post("/api/v1/workorders", json={
        "type": "建议", "category": "信用卡", "priority": "低", "queue": "人工坐席", "title": "新的",
        "description": "恢复后新建"}).status_code == 201


def _with_member_changed(source, target, name: str, change):  # type: ignore[no-untyped-def]
    """A copy of the backup ``source`` at ``target`` with the JSON member ``name`` changed."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == name:
                data = json.dumps(change(json.loads(data))).encode()
            dst.writestr(item, data)
    return target


def test_restore_refuses_newer_or_broken_backups(runner, runtime, tmp_path):
    good = tmp_path / "good.zip"
    assert runner.invoke(args=["backup", str(good)]).exit_code == 0
    before = _dump(runtime.engine)

    newer = _with_member_changed(good, tmp_path / "newer.zip", "manifest.json",
                                 lambda manifest: {**manifest, "revision": "future_9999"})
    result = runner.invoke(args=["restore", str(newer), "--yes"])
    assert result.exit_code == 1 and "更新的数据库版本" in result.output

    broken = _with_member_changed(good, tmp_path / "broken.zip", "tables/users.json", lambda body: {
        "columns": [*body["columns"], "shoe_size"], "rows": [row + [42] for row in body["rows"]]})
    result = runner.invoke(args=["restore", str(broken), "--yes"])
    assert result.exit_code == 1 and "shoe_size" in result.output and "未做任何改动" in result.output

    not_zip = tmp_path / "x.zip"
    not_zip.write_bytes(b"hello")
    assert runner.invoke(args=["restore", str(not_zip), "--yes"]).exit_code == 1
    assert runner.invoke(args=["restore", str(tmp_path / "missing.zip"), "--yes"]).exit_code == 1
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "something-else"}))
    assert "不是本系统的备份文件" in runner.invoke(args=["restore", str(foreign), "--yes"]).output
    # Declining the confirmation changes nothing either.
    result = runner.invoke(args=["restore", str(good)], input="n\n")
    assert result.exit_code == 1 and "已取消" in result.output
    assert _dump(runtime.engine) == before
    assert runner.invoke(args=["backup", str(tmp_path / "no-such-dir" / "b.zip")]).exit_code == 1


@pytest.mark.db
def test_a_backup_from_before_the_fault_counter_restores_its_faults_counted(api, runner, runtime, tmp_path):
    """A round's ``faults_version`` of 0 means no fault was ever injected (its drills then read
    none): a backup made before the counter existed (no such column: every round restores at 0)
    gets 1 for each round that has faults, as the migration does."""
    examiner = api("examiner")
    ids = []
    for name in ("有故障", "无故障"):
        rnd = examiner.post("/api/v1/rounds", json={"name": name, "scenarios": ["cc-bill-enquiry"]}).get_json()
        ids.append(rnd["id"])
    assert examiner.post(f"/api/v1/rounds/{ids[0]}/faults", json={"component": "kb"}).status_code == 201
    made = tmp_path / "made.zip"
    assert runner.invoke(args=["backup", str(made)]).exit_code == 0

    def without_counter(body: dict) -> dict:
        at = body["columns"].index("faults_version")
        return {"columns": body["columns"][:at] + body["columns"][at + 1:],
                "rows": [row[:at] + row[at + 1:] for row in body["rows"]]}

    older = _with_member_changed(made, tmp_path / "older.zip", "tables/rounds.json", without_counter)
    result = runner.invoke(args=["restore", str(older), "--yes"])
    assert result.exit_code == 0, result.output
    with runtime.engine.connect() as conn:
        versions = dict(conn.execute(select(Round.id, Round.faults_version).where(Round.id.in_(ids))).all())
    assert versions == {ids[0]: 1, ids[1]: 0}


def test_values_survive_encoding():
    from datetime import date, datetime
    from decimal import Decimal

    cases = [("datetime", datetime(2026, 11, 28, 8, 30, 1, 123456, tzinfo=UTC)), ("date", date(1950, 1, 2)),
             ("decimal", Decimal("12345678.90")), ("bytes", b"\x00\xffabc"), ("json", {"a": [1, "二"]}),
             ("bool", True), ("float", 0.1), ("plain", "文本")]
    for kind, value in cases:
        encoded = backups.encode_value(kind, value)
        json.dumps(encoded)
        assert backups.decode_value(kind, json.loads(json.dumps(encoded))) == value, kind
    naive = backups.encode_value("datetime", datetime(2026, 1, 1, 12, 0))
    assert backups.decode_value("datetime", naive) == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_backup_module_imports_without_flask():
    import subprocess
    import sys

    script = ("import sys, sandbox.backup, knowledge_base.analytics, knowledge_base.editor, knowledge_base.explain\n"
              "bad = [m for m in sys.modules if m == 'flask' or m.startswith(('flask.', 'flask_', 'wtforms'))]\n"
              "assert not bad, bad\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
