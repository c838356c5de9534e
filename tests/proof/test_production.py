"""Production path: several processes on one database, and upgrades that keep the data."""

from __future__ import annotations

import hashlib
import shutil
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text
from werkzeug.security import check_password_hash, generate_password_hash

from knowledge_base.search import VERSION_TTL_SECONDS
from sandbox.app import create_app
from sandbox.db import import_all_models, make_engine
from sandbox.migrate import alembic_config, check, current_revision, head_revision, upgrade


def _search_ids(client, headers, q):
    resp = client.get(f"/api/v1/kb/search?q={q}", headers=headers)
    assert resp.status_code == 200
    return [r["id"] for r in resp.get_json()["results"]]


def _eventually(check, bound: float = VERSION_TTL_SECONDS + 4) -> bool:
    """``check()`` becomes true within ``bound`` seconds: another process's KB edit is served
    within VERSION_TTL_SECONDS (plus slack for a slow machine)."""
    deadline = time.monotonic() + bound
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.db
def test_two_processes_on_one_database_see_each_others_kb_edits(app, tmp_path, clock, api_token):
    """Two app objects (two server processes), each with its own index folder, one database."""
    from knowledge_base.articles import get_article, save_article

    runtime1 = app.extensions["bankdrill"]
    home2 = tmp_path / "home2"
    shutil.copytree(runtime1.settings.home, home2)
    shutil.rmtree(home2 / runtime1.settings.index_dir.relative_to(runtime1.settings.home), ignore_errors=True)
    app2 = create_app({"HOME": str(home2), "DATABASE_URL": runtime1.settings.database_url, "TESTING": True,
                       "CLOCK": clock})
    runtime2 = app2.extensions["bankdrill"]
    try:
        assert runtime2.settings.index_dir != runtime1.settings.index_dir
        headers = {"Authorization": f"Bearer {api_token('candidate')}"}
        c1, c2 = app.test_client(), app2.test_client()
        # Both processes have searched (their indexes are open and warm) before the edits.
        assert "CC-001" in _search_ids(c1, headers, "信用卡账单")
        assert "CC-001" in _search_ids(c2, headers, "信用卡账单")

        with runtime1.transaction() as s:  # a trainer's save handled by process 1
            record = get_article(s, "CC-001").to_record()
            record["questions"] = record["questions"] + ["琥珀色账单怎么看"]
            save_article(s, clock, record, by="trainer")
        # process 2 catches up by the KB version, within the bound; process 1 at once (its own edit)
        assert "CC-001" in _search_ids(c1, headers, "琥珀色")
        assert _eventually(lambda: "CC-001" in _search_ids(c2, headers, "琥珀色"))

        with runtime2.transaction() as s:  # and the other way round; unpublishing removes it
            record = get_article(s, "CC-001").to_record()
            record["status"] = "已下线"
            save_article(s, clock, record, by="trainer")
        assert "CC-001" not in _search_ids(c2, headers, "琥珀色")
        assert _eventually(lambda: "CC-001" not in _search_ids(c1, headers, "琥珀色"))
    finally:
        runtime2.dispose()


def _first_revision() -> str:
    from alembic.script import ScriptDirectory

    base = ScriptDirectory.from_config(alembic_config("sqlite://")).get_base()
    assert base
    return base


@pytest.mark.db
def test_upgrade_from_the_first_revision_keeps_users_and_tokens(empty_database, tmp_path):
    first = _first_revision()
    upgrade(empty_database, first)
    engine = make_engine(empty_database)
    now = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    token = "bd_upgrade-test-token"
    try:
        assert current_revision(engine) == first
        assert "work_orders" not in inspect(engine).get_table_names()  # really the old schema
        with engine.begin() as conn:
            for i, (name, role) in enumerate([("old_candidate", "candidate"), ("old_examiner", "examiner")], 1):
                conn.execute(text(
                    "INSERT INTO users (id, username, display_name, role, password_hash, active, failed_logins,"
                    " created_at) VALUES (:id, :u, :d, :r, :p, :a, 0, :c)"),
                    {"id": i, "u": name, "d": f"旧用户{i}", "r": role, "p": generate_password_hash("oldpass123"),
                     "a": True, "c": now if engine.dialect.name != "sqlite" else now.replace(tzinfo=None)})
            conn.execute(text("INSERT INTO api_tokens (user_id, token_hash, prefix, created_at) "
                              "VALUES (1, :h, :p, :c)"),
                         {"h": hashlib.sha256(token.encode()).hexdigest(), "p": token[:10],
                          "c": now if engine.dialect.name != "sqlite" else now.replace(tzinfo=None)})
    finally:
        engine.dispose()

    upgrade(empty_database)  # to head, as `bankdrill db upgrade` (or serve/init) does

    engine = make_engine(empty_database)
    try:
        assert current_revision(engine) == head_revision()
        assert set(import_all_models().tables) <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT username, role, display_name, password_hash FROM users "
                                     "ORDER BY id")).all()
        assert [(r[0], r[1], r[2]) for r in rows] == [("old_candidate", "candidate", "旧用户1"),
                                                       ("old_examiner", "examiner", "旧用户2")]
        assert check_password_hash(rows[0][3], "oldpass123")
    finally:
        engine.dispose()
    check(empty_database)  # no drift between the upgraded schema and the models

    # The upgraded database serves: the old token still authenticates on the API.
    home = tmp_path / "upgraded_home"
    home.mkdir()
    app = create_app({"HOME": str(home), "DATABASE_URL": empty_database, "TESTING": True})
    try:
        resp = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200 and resp.get_json()["username"] == "old_candidate"
    finally:
        app.extensions["bankdrill"].dispose()
