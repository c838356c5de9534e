"""Files that hold every full number and the password hashes are the owner's only (issue 15, item 14):
the instance folder 0700; the SQLite database, its -wal and -shm files, backups and pending
KB uploads 0600."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from sandbox.app import create_app
from sandbox.clock import FixedClock
from tests.kb.helpers import record

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_instance_folder_and_its_sqlite_files_are_private(tmp_path):
    home = tmp_path / "fresh" / "instance"
    app = create_app({"HOME": str(home), "TESTING": True, "CLOCK": FixedClock()})
    runtime = app.extensions["bankdrill"]
    try:
        with runtime.engine.begin() as conn:  # a write in WAL mode creates -wal and -shm
            conn.execute(text("CREATE TABLE probe (x INTEGER)"))
            conn.execute(text("INSERT INTO probe VALUES (1)"))
        db = home / "bankdrill.sqlite3"
        assert mode(home) == 0o700
        assert mode(db) == 0o600
        for suffix in ("-wal", "-shm"):
            companion = Path(f"{db}{suffix}")
            assert companion.exists() and mode(companion) == 0o600, suffix
        assert mode(home / "secret_key") == 0o600
    finally:
        runtime.dispose()


def test_an_existing_instance_made_with_loose_modes_is_tightened_on_start(tmp_path):
    home = tmp_path / "old"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    (home / "secret_key").write_text("k" * 64, encoding="utf-8")
    db = home / "bankdrill.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE probe (x INTEGER)")
    conn.commit()
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        os.chmod(path, 0o644)
    app = create_app({"HOME": str(home), "TESTING": True, "CLOCK": FixedClock()})
    try:
        assert mode(home) == 0o700
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            assert mode(path) == 0o600, path.name
    finally:
        conn.close()
        app.extensions["bankdrill"].dispose()


def test_backups_are_written_private_even_over_a_loose_leftover(runner, tmp_path):
    target = tmp_path / "backups" / "b.zip"
    target.parent.mkdir()
    leftover = Path(f"{target}.part")
    leftover.write_bytes(b"stale")
    os.chmod(leftover, 0o644)
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert mode(target) == 0o600 and not leftover.exists()


def test_a_pending_kb_upload_is_kept_private(login_as, runtime):
    data = (json.dumps(record("MODE-1", "权限测试文章"), ensure_ascii=False) + "\n").encode("utf-8")
    resp = login_as("trainer").post("/trainer/import", data={"file": (io.BytesIO(data), "kb.jsonl"), "fmt": ""},
                                    content_type="multipart/form-data")
    assert resp.status_code == 200 and "确认导入" in resp.get_data(as_text=True)
    folder = runtime.settings.home / "trainer_uploads"
    files = list(folder.iterdir())
    assert mode(folder) == 0o700 and len(files) == 2
    assert all(mode(f) == 0o600 for f in files)


def test_opening_a_second_engine_keeps_the_locks_this_process_holds(tmp_path):
    """make_engine tightens an existing database file's mode without opening it: close() on any
    descriptor of the file drops every POSIX lock the process holds on it, so SQLite's locks of
    the process's other connections would stop protecting them from other processes."""
    import subprocess
    import sys

    from sandbox.db import make_engine

    db = tmp_path / "locks.sqlite3"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN")
    holder.execute("SELECT * FROM t").fetchall()  # a read transaction: a SHARED lock on the file
    writer = [sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=0.2); "
              "c.execute('INSERT INTO t VALUES (1)'); c.commit()", str(db)]
    try:
        refused = subprocess.run(writer, capture_output=True, text=True, timeout=30)
        assert refused.returncode != 0 and "locked" in refused.stderr  # the lock holds
        engine = make_engine(f"sqlite:///{db}")  # a second engine in this process, same file
        again = subprocess.run(writer, capture_output=True, text=True, timeout=30)
        assert again.returncode != 0 and "locked" in again.stderr, "the read's lock was dropped"
        engine.dispose()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert mode(db) == 0o600
