"""The command line: init, serve, users, db — good paths and bad input."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sandbox.users.services import list_users

BANKDRILL = [sys.executable, "-c", "from sandbox.__main__ import main; main()"]


def run_cli(args, home, env_extra=None, timeout=120, input_text=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKDRILL_")}
    env["BANKDRILL_HOME"] = str(home)
    env.update(env_extra or {})
    return subprocess.run(BANKDRILL + list(args), env=env, capture_output=True, text=True,
                          timeout=timeout, input=input_text)


def test_init_twice_is_idempotent(runner, session):
    users_before = len(list_users(session))
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "已初始化" in result.output
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0 and "已初始化" in result.output
    session.rollback()
    assert len(list_users(session)) == users_before


def test_users_commands(runner, session):
    result = runner.invoke(args=["users", "create", "lisi", "--role", "examiner", "--password", "abc12345x"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "list", "--json"])
    rows = json.loads(result.output)
    assert {"username": "lisi", "role": "examiner", "display_name": "", "active": True} in rows
    result = runner.invoke(args=["users", "token", "lisi"])
    assert result.exit_code == 0 and result.output.strip().startswith("bd_")


@pytest.mark.parametrize("args,message", [
    (["users", "create", "wangwu", "--role", "superuser", "--password", "abc12345x"], "未知角色"),
    (["users", "create", "examiner", "--role", "examiner", "--password", "abc12345x"], "已存在"),
    (["users", "create", "wangwu", "--role", "candidate", "--password", "short1"], "至少需要 8 位"),
    (["users", "create", "wangwu", "--role", "candidate", "--password", "onlyletters"], "字母和数字"),
    (["users", "create", "wangwu", "--role", "candidate", "--password", ""], "不能为空"),
    (["users", "token", "nobody"], "不存在"),
])
def test_user_bad_input_is_one_clear_line_and_creates_nothing(runner, session, args, message):
    before = {u.username for u in list_users(session)}
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("错误：") and message in lines[0], result.output
    session.rollback()
    assert {u.username for u in list_users(session)} == before


def test_unwritable_home_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_cli(["users", "list"], blocker / "home")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("错误：实例目录") and "BANKDRILL_HOME" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_a_clear_error_and_creates_nothing(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tmp_path / "home"
    result = run_cli(["init"], home, {"BANKDRILL_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{port}/nothing"})
    assert result.returncode == 1
    err = result.stderr.strip()
    assert err.startswith("错误：无法连接数据库") and "Traceback" not in err and len(err.splitlines()) == 1
    assert not (home / "bankdrill.sqlite3").exists()


def test_reset_needs_confirmation(tmp_path):
    home = tmp_path / "home"
    assert run_cli(["init", "--no-seed"], home).returncode == 0
    result = run_cli(["init", "--reset"], home, input_text="n\n")
    assert result.returncode == 1 and "已取消" in result.stderr
    result = run_cli(["init", "--reset", "--yes", "--no-seed"], home)
    assert result.returncode == 0 and "已清空" in result.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_serve(home: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKDRILL_")}
    env["BANKDRILL_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    return subprocess.Popen(BANKDRILL + ["serve", "--port", str(port), "--threads", "2"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for_login(port: int, proc: subprocess.Popen, seconds: float = 90) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as resp:
                return resp.read().decode("utf-8")
        except OSError:
            time.sleep(0.3)
    raise AssertionError("server did not answer in time")


@pytest.mark.slow
def test_serve_on_a_fresh_home_seeds_once_and_answers(tmp_path):
    home = tmp_path / "fresh"
    port = _free_port()
    proc = _start_serve(home, port)
    try:
        page = _wait_for_login(port, proc)
        assert "登录" in page
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}/" in out
    assert "演示账号" in out and "candidate1" in out
    assert (home / "demo-logins.txt").exists()
    # A second start finds the instance ready and seeds nothing again.
    proc = _start_serve(home, port)
    try:
        _wait_for_login(port, proc)
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert "已初始化" in out and "密码" not in out


def test_serve_defaults_to_one_worker_thread_and_reports_queueing_once_a_minute(runner):
    import logging

    from sandbox.cli.core import DEFAULT_THREADS, QueueDepthThrottle

    assert DEFAULT_THREADS == 1
    result = runner.invoke(args=["serve", "--help"])
    assert result.exit_code == 0 and "default: 1" in result.output
    now = [100.0]
    throttle = QueueDepthThrottle(interval=60, monotonic=lambda: now[0])

    def record() -> logging.LogRecord:
        return logging.LogRecord("waitress.queue", logging.WARNING, __file__, 1, "Task queue depth is %d", (1,), None)

    assert throttle.filter(record())  # the first one is reported
    assert [throttle.filter(record()) for _ in range(50)] == [False] * 50  # a busy minute: silent
    now[0] += 61
    again = record()
    assert throttle.filter(again) and "50 more" in again.getMessage()  # then one line that counts them
    assert not throttle.filter(record())
