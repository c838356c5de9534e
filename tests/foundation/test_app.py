"""The factory, the instance folder, login and the error answers."""

from __future__ import annotations

import os
import stat

import pytest

from sandbox.app import create_app
from sandbox.clock import FixedClock


def test_factory_honours_test_config(tmp_path):
    clock = FixedClock()
    app = create_app({"HOME": str(tmp_path / "h"), "TESTING": True, "CLOCK": clock,
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", "SOME_FLAG": 7})
    runtime = app.extensions["bankdrill"]
    assert app.testing
    assert app.config["SOME_FLAG"] == 7
    assert runtime.clock is clock
    assert runtime.settings.home == (tmp_path / "h").resolve()
    assert str(runtime.engine.url).endswith("x.sqlite3")
    runtime.dispose()


def test_environment_selects_home_and_database(tmp_path, monkeypatch):
    monkeypatch.setenv("BANKDRILL_HOME", str(tmp_path / "envhome"))
    monkeypatch.setenv("BANKDRILL_DATABASE_URL", "postgresql://u@127.0.0.1:9/db")
    app = create_app()
    runtime = app.extensions["bankdrill"]
    assert runtime.settings.home == (tmp_path / "envhome").resolve()
    # The plain URL people copy is served by psycopg 3.
    assert runtime.settings.database_url.startswith("postgresql+psycopg://")
    runtime.dispose()


def test_secret_key_is_generated_private_and_stable(tmp_path):
    home = tmp_path / "h"
    first = create_app({"HOME": str(home)})
    key_file = home / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    second = create_app({"HOME": str(home)})
    assert first.secret_key == second.secret_key and len(first.secret_key) >= 32
    other = create_app({"HOME": str(tmp_path / "other")})
    assert other.secret_key != first.secret_key
    for a in (first, second, other):
        a.extensions["bankdrill"].dispose()


@pytest.mark.db
def test_database_enforces_foreign_keys_and_sqlite_uses_wal(runtime, clock):
    from sqlalchemy.exc import IntegrityError

    from sandbox.users.models import ApiToken

    if runtime.settings.is_sqlite:
        with runtime.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    with pytest.raises(IntegrityError):
        with runtime.transaction() as s:
            s.add(ApiToken(user_id=999999, token_hash="x" * 64, prefix="x", created_at=clock.now()))


@pytest.mark.db
def test_login_succeeds_and_bad_password_is_refused(app):
    client = app.test_client()
    password = app.config["TEST_PASSWORDS"]["candidate1"]
    resp = client.post("/login", data={"username": "candidate1", "password": "wrong-pass1"})
    assert resp.status_code == 401
    assert "用户名或密码错误" in resp.get_data(as_text=True)
    assert client.get("/").status_code == 302
    resp = client.post("/login", data={"username": "candidate1", "password": password})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "考生一号" in page and "考生" in page


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(app):
    client = app.test_client()
    resp = client.post("/login", data={"username": "nobody", "password": "whatever1"})
    assert resp.status_code == 401
    assert "用户名或密码错误" in resp.get_data(as_text=True)


@pytest.mark.db
def test_five_failures_slow_the_account_down(app, clock):
    client = app.test_client()
    password = app.config["TEST_PASSWORDS"]["examiner"]
    for _ in range(5):
        assert client.post("/login", data={"username": "examiner", "password": "bad-pass1"}).status_code == 401
    # Even the right password is refused while the account cools down.
    resp = client.post("/login", data={"username": "examiner", "password": password})
    assert resp.status_code == 429
    assert "登录失败次数过多" in resp.get_data(as_text=True)
    clock.advance(31)
    assert client.post("/login", data={"username": "examiner", "password": password}).status_code == 302


def test_next_parameter_only_redirects_inside_the_site(app):
    password = app.config["TEST_PASSWORDS"]["admin"]
    client = app.test_client()
    resp = client.post("/login?next=//evil.example/x", data={"username": "admin", "password": password})
    assert resp.headers["Location"] == "/"
    client = app.test_client()
    resp = client.post("/login?next=/admin/users", data={"username": "admin", "password": password})
    assert resp.headers["Location"] == "/admin/users"


def test_logout_ends_the_session(login_as):
    client = login_as("trainer")
    assert client.get("/").status_code == 200
    client.post("/logout")
    assert client.get("/").status_code == 302


def test_session_cookie_is_httponly_and_samesite(app):
    password = app.config["TEST_PASSWORDS"]["admin"]
    resp = app.test_client().post("/login", data={"username": "admin", "password": password})
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_errors_are_json_under_api_and_html_elsewhere(client, login_as):
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404 and resp.get_json() == {
        "error": {"code": "not_found", "message": "请求的内容不存在。"}}
    resp = client.get("/nothing-here")
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    assert "请求的内容不存在" in resp.get_data(as_text=True)
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthenticated"
    candidate = login_as("candidate")
    resp = candidate.get("/admin/users")
    assert resp.status_code == 403 and "无权访问" in resp.get_data(as_text=True)


def test_bearer_token_authenticates_api_only(app, api_token):
    token = api_token("examiner")
    client = app.test_client()
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.get_json()["role"] == "examiner"
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer bd_wrong"}).status_code == 401
    # A token is not a page login.
    assert client.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 302


def test_security_headers(client):
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.db
def test_admin_creates_a_user_in_the_browser_and_bad_input_is_explained(login_as, session):
    from sandbox.users.services import list_users

    admin = login_as("admin")
    before = len(list_users(session))
    resp = admin.post("/admin/users", data={"username": "zhangsan", "role": "candidate",
                                            "password": "short", "display_name": "张三"})
    assert resp.status_code == 400 and "密码至少需要 8 位" in resp.get_data(as_text=True)
    resp = admin.post("/admin/users", data={"username": "zhangsan", "role": "candidate",
                                            "password": "abcd12345", "display_name": "张三"})
    assert resp.status_code == 302
    session.rollback()  # end the read snapshot taken above
    assert len(list_users(session)) == before + 1


def test_many_processes_checking_one_instance_folder_at_once_all_pass(tmp_path):
    """Server processes start together (gunicorn -w 4, several `serve`): each checks that the
    instance folder is writable; with one shared probe file name, one deleted another's probe
    and that server refused to start ("No such file or directory")."""
    import subprocess
    import sys

    home = tmp_path / "shared"
    home.mkdir()
    code = ("import sys, time; from pathlib import Path; from sandbox.config import ensure_home\n"
            "start = float(sys.argv[2])\n"
            "while time.time() < start: pass\n"
            "for _ in range(300): ensure_home(Path(sys.argv[1]))\n")
    start = f"{__import__('time').time() + 1.5}"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(home), start], stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    results = []
    for p in procs:
        _, err = p.communicate(timeout=60)
        results.append((p.returncode, err))
    assert all(rc == 0 for rc, _ in results), [err for _, err in results if err][:1]
    assert not [p for p in home.iterdir() if p.name.startswith(".write-probe")]
