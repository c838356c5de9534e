"""Sessions and tokens that can be ended, login throttling nobody can turn against the real
user, no name enumeration by timing, and the secure-cookie switch — through the real app."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from sandbox.config import load_settings
from sandbox.users import services as accounts
from sandbox.users.models import ApiToken, User
from tests.conftest import _make_app

COOKIE = "bankdrill_session"
ATTACKER, REAL = "10.0.0.66", "10.0.0.7"


def _client(app, ip: str = "127.0.0.1", **environ):
    """A browser at address ``ip`` (extra WSGI environ such as forwarded headers)."""
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": ip, **environ})
    return client


def _login(app, username: str, password: str | None = None, ip: str = "127.0.0.1", client=None):
    client = client or _client(app, ip)
    password = password if password is not None else app.config["TEST_PASSWORDS"][username]
    return client, client.post("/login", data={"username": username, "password": password})


def _logged_in(app, username: str, ip: str = "127.0.0.1"):
    client, resp = _login(app, username, ip=ip)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client


def _with_cookie(app, value: str):
    """A new browser that replays a captured session cookie."""
    client = app.test_client()
    client.set_cookie(COOKIE, value)
    return client


def _me(client, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/api/v1/me", headers=headers).status_code


# --- 15.6 sessions and tokens end when they should -------------------------------------------

def test_a_copied_cookie_stops_working_after_logout(app):
    browser = _logged_in(app, "examiner")
    stolen = browser.get_cookie(COOKIE).value
    assert _me(_with_cookie(app, stolen)) == 200
    browser.post("/logout")
    assert _me(browser) == 401
    assert _me(_with_cookie(app, stolen)) == 401
    assert _with_cookie(app, stolen).get("/").status_code == 302


def test_logout_ends_only_that_browser(app):
    first = _logged_in(app, "trainer")
    second = _logged_in(app, "trainer")
    first.post("/logout")
    assert _me(first) == 401 and _me(second) == 200


def test_a_password_change_ends_every_other_session_and_every_token(app, api_token):
    password = app.config["TEST_PASSWORDS"]["examiner"]
    changer = _logged_in(app, "examiner")
    other = _logged_in(app, "examiner")
    old_cookie = changer.get_cookie(COOKIE).value
    token = api_token("examiner")
    assert _me(other) == 200 and _me(app.test_client(), token) == 200
    resp = changer.post("/api/v1/me/password", json={"old_password": password, "new_password": "brandnew123"})
    assert resp.status_code == 200
    assert resp.get_json() == {"changed": True, "sessions_ended": 2, "tokens_revoked": 1}
    assert _me(changer) == 200  # the person who changed it stays in, under a new session id
    assert changer.get_cookie(COOKIE).value != old_cookie
    assert _me(_with_cookie(app, old_cookie)) == 401
    assert _me(other) == 401
    assert _me(app.test_client(), token) == 401
    assert _login(app, "examiner", password)[1].status_code == 401
    assert _login(app, "examiner", "brandnew123")[1].status_code == 302


def test_a_password_change_through_a_token_revokes_that_token_too(app, api_token):
    password = app.config["TEST_PASSWORDS"]["trainer"]
    token = api_token("trainer")
    browser = _logged_in(app, "trainer")
    resp = app.test_client().post("/api/v1/me/password", headers={"Authorization": f"Bearer {token}"},
                                  json={"old_password": password, "new_password": "brandnew123"})
    assert resp.status_code == 200 and resp.get_json()["tokens_revoked"] == 1
    assert _me(app.test_client(), token) == 401 and _me(browser) == 401


def test_deactivation_ends_sessions_and_tokens_at_once_and_refuses_login(app, runner, api_token, session):
    browser = _logged_in(app, "candidate1")
    token = api_token("candidate1")
    result = runner.invoke(args=["users", "deactivate", "candidate1"])
    assert result.exit_code == 0, result.output
    assert "结束 1 个登录会话" in result.output and "吊销 1 个令牌" in result.output
    assert _me(browser) == 401 and _me(app.test_client(), token) == 401
    # the right password says why; a wrong one says nothing more than usual
    _c, resp = _login(app, "candidate1")
    assert resp.status_code == 403 and "该账号已停用，请联系管理员" in resp.get_data(as_text=True)
    _c, resp = _login(app, "candidate1", "wrong-pass1")
    assert resp.status_code == 401 and "已停用" not in resp.get_data(as_text=True)
    assert "（已停用）" in runner.invoke(args=["users", "list"]).output
    assert runner.invoke(args=["users", "activate", "candidate1"]).exit_code == 0
    assert _login(app, "candidate1")[1].status_code == 302


def test_the_last_active_admin_cannot_be_deactivated(runner, session):
    result = runner.invoke(args=["users", "deactivate", "admin"])
    assert result.exit_code == 1 and "至少需要保留一名启用中的管理员" in result.output
    assert session.scalar(select(User.active).where(User.username == "admin")) is True


def test_tokens_are_listed_and_revoked_one_or_all(app, runner, api_token, session):
    first, second, third = (api_token("examiner") for _ in range(3))
    result = runner.invoke(args=["users", "tokens", "examiner", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["prefix"] for r in rows] == [first[:10], second[:10], third[:10]]
    assert all(first not in result.output for first in (first, second, third))  # never the token itself
    text = runner.invoke(args=["users", "tokens", "examiner"]).output
    assert "编号" in text and first[:10] in text
    result = runner.invoke(args=["users", "tokens", "examiner", "--revoke", str(rows[1]["id"])])
    assert result.exit_code == 0 and "吊销用户 examiner 的 1 个令牌" in result.output
    assert [_me(app.test_client(), t) for t in (first, second, third)] == [200, 401, 200]
    bad = runner.invoke(args=["users", "tokens", "examiner", "--revoke", str(rows[1]["id"])])
    assert bad.exit_code == 1 and "没有编号为" in bad.output
    bad = runner.invoke(args=["users", "tokens", "examiner", "--revoke", "some"])
    assert bad.exit_code == 1 and "只能是令牌编号或 all" in bad.output
    assert runner.invoke(args=["users", "tokens", "nobody"]).exit_code == 1
    result = runner.invoke(args=["users", "tokens", "examiner", "--revoke", "all"])
    assert "2 个令牌" in result.output
    assert [_me(app.test_client(), t) for t in (first, third)] == [401, 401]
    assert "没有 API 令牌" in runner.invoke(args=["users", "tokens", "examiner"]).output


def test_reset_password_on_the_command_line_shows_it_once_and_ends_sessions(app, runner):
    browser = _logged_in(app, "examiner")
    result = runner.invoke(args=["users", "reset-password", "examiner"])
    assert result.exit_code == 0
    new = re.search(r"新密码（只显示这一次）：(\S+)", result.output).group(1)
    assert _me(browser) == 401
    assert _login(app, "examiner", new)[1].status_code == 302


def test_a_cookie_from_before_server_side_sessions_is_not_accepted(app, session):
    admin_id = session.scalar(select(User.id).where(User.username == "admin"))
    client = app.test_client()
    with client.session_transaction() as s:
        s["uid"], s["role"] = admin_id, "admin"
    assert client.get("/admin/users").status_code == 302
    assert _me(client) == 401


def test_a_session_ends_thirty_days_after_login(app, clock):
    browser = _logged_in(app, "trainer")
    clock.advance(days=29)
    assert _me(browser) == 200
    clock.advance(days=1, seconds=1)
    assert _me(browser) == 401


# --- 15.7 throttling that cannot lock the real user out -------------------------------------

def test_an_attackers_failures_from_one_address_do_not_stop_the_right_password_from_another(app):
    attacker = _client(app, ATTACKER)
    answers = [attacker.post("/login", data={"username": "examiner", "password": f"guess{i}xx"}) for i in range(30)]
    assert [r.status_code for r in answers[:5]] == [401] * 5
    assert {r.status_code for r in answers[5:]} == {429}
    assert answers[5].headers["Retry-After"] == "31" and "登录失败次数过多" in answers[5].get_data(as_text=True)
    # the right password from the attacker's address waits (nobody knows it is not the attacker)...
    assert _login(app, "examiner", ip=ATTACKER)[1].status_code == 429
    # ...but the real examiner, elsewhere, gets in at once: no account is ever locked for good
    assert _login(app, "examiner", ip=REAL)[1].status_code == 302


def test_waits_grow_and_end_by_themselves(app, clock):
    client = _client(app, ATTACKER)
    for _ in range(5):
        assert client.post("/login", data={"username": "trainer", "password": "bad-pass1"}).status_code == 401
    assert client.post("/login", data={"username": "trainer", "password": "bad-pass1"}).status_code == 429
    clock.advance(31)
    assert client.post("/login", data={"username": "trainer", "password": "bad-pass1"}).status_code == 401
    wait = client.post("/login", data={"username": "trainer", "password": "bad-pass1"})
    assert wait.status_code == 429 and wait.headers["Retry-After"] == "61"  # doubled
    clock.advance(61)
    assert _login(app, "trainer", ip=ATTACKER)[1].status_code == 302  # and the count starts afresh
    for _ in range(5):
        assert client.post("/login", data={"username": "trainer", "password": "bad-pass1"}).status_code == 401


def test_a_browser_that_logged_in_before_is_not_held_up_by_failures_from_its_own_network(app):
    # the real user and the attacker share one address (an exam room behind NAT)
    mine = _logged_in(app, "examiner", ip=ATTACKER)
    mine.post("/logout")
    attacker = _client(app, ATTACKER)
    for i in range(8):
        attacker.post("/login", data={"username": "examiner", "password": f"guess{i}xx"})
    assert _login(app, "examiner", ip=ATTACKER)[1].status_code == 429  # a fresh browser waits
    assert _login(app, "examiner", ip=ATTACKER, client=mine)[1].status_code == 302  # the known one does not


def test_a_slow_attack_from_many_addresses_holds_up_unknown_browsers_only(app):
    known = _logged_in(app, "admin", ip="10.1.0.1")
    known.post("/logout")
    for n in range(4):
        attacker = _client(app, f"10.9.0.{n}")
        for i in range(5):
            assert attacker.post("/login", data={"username": "admin", "password": f"guess{i}xx"}).status_code == 401
    assert _login(app, "admin", ip="10.2.0.1")[1].status_code == 429  # 20 failures on the account
    assert _login(app, "admin", ip="10.1.0.1", client=known)[1].status_code == 302


def test_one_address_guessing_many_accounts_is_slowed_down(app):
    sprayer = _client(app, ATTACKER)
    for i in range(30):
        assert sprayer.post("/login", data={"username": f"user{i:02d}", "password": "Password1"}).status_code == 401
    assert sprayer.post("/login", data={"username": "user99", "password": "Password1"}).status_code == 429
    assert _login(app, "candidate1", ip=REAL)[1].status_code == 302


def test_parallel_guesses_are_counted_before_the_hash_so_only_five_are_checked(app):
    statuses: list[int] = []

    def guess(i: int) -> None:
        statuses.append(_client(app, ATTACKER).post(
            "/login", data={"username": "examiner", "password": f"guess{i}xx"}).status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [401] * 5 + [429] * 11


def test_an_unknown_name_costs_a_password_hash_like_a_known_one(app, monkeypatch):
    hashed: list[str] = []
    real = accounts.password_matches

    def spy(stored: str, password: str) -> bool:
        hashed.append(stored)
        return real(stored, password)

    monkeypatch.setattr(accounts, "password_matches", spy)
    _client(app, "10.3.0.1").post("/login", data={"username": "nobody-here", "password": "whatever1"})
    assert hashed == [accounts._dummy_hash()]
    # and the time is that of a wrong password for a real name (within a factor of two)
    monkeypatch.setattr(accounts, "password_matches", real)

    def timed(username: str, ip: str) -> float:
        client = _client(app, ip)
        start = time.perf_counter()
        assert client.post("/login", data={"username": username, "password": "wrong-pass1"}).status_code == 401
        return time.perf_counter() - start

    timed("nobody-here", "10.3.0.2")  # warm up
    # Interleaved, the fastest of five each: a busy machine slows a run of one kind, not the other.
    pairs = [(timed("examiner", f"10.4.0.{i}"), timed(f"ghost{i}", f"10.5.0.{i}")) for i in range(5)]
    known, unknown = min(k for k, _ in pairs), min(u for _, u in pairs)
    assert 0.5 < unknown / known < 2, (known, unknown)


def test_checks_of_the_old_password_are_throttled(app, clock):
    password = app.config["TEST_PASSWORDS"]["candidate2"]
    browser = _logged_in(app, "candidate2")
    weak = browser.post("/api/v1/me/password", json={"old_password": "x", "new_password": "short"})
    assert weak.status_code == 400 and weak.get_json()["error"]["code"] == "weak_password"  # not counted
    for _ in range(5):
        resp = browser.post("/api/v1/me/password", json={"old_password": "nope12345", "new_password": "brandnew123"})
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "bad_credentials"
    resp = browser.post("/api/v1/me/password", json={"old_password": password, "new_password": "brandnew123"})
    assert resp.status_code == 429
    error = resp.get_json()["error"]
    assert error["code"] == "password_check_throttled" and error["retry_after"] == 31 and "原密码" in error["message"]
    clock.advance(31)
    resp = browser.post("/api/v1/me/password", json={"old_password": password, "new_password": "brandnew123"})
    assert resp.status_code == 200


def test_accounts_locked_by_the_old_scheme_log_in(app, runtime, clock):
    with runtime.transaction() as s:
        user = accounts.get_user(s, "admin")
        user.failed_logins, user.locked_until = 9, clock.now() + timedelta(minutes=15)
    assert _login(app, "admin")[1].status_code == 302


def test_migration_0008_lifts_the_old_hard_locks(empty_database):
    from sqlalchemy import text

    from sandbox.db import make_engine
    from sandbox.migrate import upgrade

    upgrade(empty_database, "trainer_0001")
    engine = make_engine(empty_database)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO users (id, username, display_name, role, password_hash, active, "
                              "failed_logins, locked_until, created_at) VALUES (1, 'old', '', 'admin', 'x', "
                              ":t, 9, '2030-01-01 00:00:00', '2026-01-01 00:00:00')"), {"t": True})
        upgrade(empty_database)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT failed_logins, locked_until FROM users WHERE id = 1")).one()
        assert tuple(row) == (0, None)
    finally:
        engine.dispose()


@pytest.fixture
def make_app(tmp_path, template_instance, pg, clock):
    """``make_app(**config)``: another app on a copy of the seeded instance (disposed afterwards)."""
    made = []

    def _make(**config):
        app, dbname = _make_app(tmp_path / f"app{len(made)}", template_instance, pg, clock, **config)
        made.append((app, dbname))
        return app

    yield _make
    for app, dbname in made:
        app.extensions["bankdrill"].dispose()
        if pg is not None and dbname:
            pg.drop(dbname)


def test_behind_a_trusted_proxy_the_forwarded_address_is_throttled(make_app):
    app = make_app(TRUSTED_PROXIES=1, WTF_CSRF_ENABLED=False)
    attacker = _client(app, HTTP_X_FORWARDED_FOR=ATTACKER)
    for _ in range(6):
        attacker.post("/login", data={"username": "examiner", "password": "bad-pass1"})
    real = _client(app, HTTP_X_FORWARDED_FOR=REAL)
    password = app.config["TEST_PASSWORDS"]["examiner"]
    assert real.post("/login", data={"username": "examiner", "password": password}).status_code == 302


def test_without_a_trusted_proxy_a_forwarded_address_is_ignored(app):
    for i in range(6):
        _client(app, HTTP_X_FORWARDED_FOR=f"10.7.0.{i}").post(
            "/login", data={"username": "examiner", "password": "bad-pass1"})
    password = app.config["TEST_PASSWORDS"]["examiner"]
    real = _client(app, HTTP_X_FORWARDED_FOR=REAL)
    assert real.post("/login", data={"username": "examiner", "password": password}).status_code == 429


# --- 15.15 the secure-cookie switch and expiring CSRF tokens --------------------------------

def _set_cookies(resp) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in resp.headers.getlist("Set-Cookie")}


def test_secure_cookies_and_hsts_with_the_switch(make_app):
    app = make_app(SECURE_COOKIES=True, WTF_CSRF_ENABLED=False)
    client = _client(app, **{"wsgi.url_scheme": "https"})
    password = app.config["TEST_PASSWORDS"]["admin"]
    resp = client.post("/login", data={"username": "admin", "password": password})
    assert resp.status_code == 302
    cookies = _set_cookies(resp)
    for name in (COOKIE, "bankdrill_device"):
        assert "Secure" in cookies[name] and "HttpOnly" in cookies[name] and "SameSite=Lax" in cookies[name]
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert client.get("/login").headers["Strict-Transport-Security"]


def test_without_the_switch_no_secure_flag_and_no_hsts(app):
    _client_, resp = _login(app, "admin")
    cookies = _set_cookies(resp)
    assert "Secure" not in cookies[COOKIE] and "HttpOnly" in cookies[COOKIE]
    assert "Strict-Transport-Security" not in resp.headers


def test_the_switch_is_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BANKDRILL_SECURE_COOKIES", "1")
    assert load_settings({"HOME": str(tmp_path / "a")}).secure_cookies is True
    monkeypatch.setenv("BANKDRILL_SECURE_COOKIES", "0")
    assert load_settings({"HOME": str(tmp_path / "b")}).secure_cookies is False
    monkeypatch.setenv("BANKDRILL_TRUSTED_PROXIES", "many")
    from sandbox.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="BANKDRILL_TRUSTED_PROXIES"):
        load_settings({"HOME": str(tmp_path / "c")})


def test_csrf_tokens_expire_after_eight_hours(make_app, monkeypatch):
    from itsdangerous.timed import TimestampSigner

    app = make_app(WTF_CSRF_ENABLED=True)
    assert app.config["WTF_CSRF_TIME_LIMIT"] == 8 * 3600
    password = app.config["TEST_PASSWORDS"]["admin"]

    def login_after(seconds: int) -> int:
        client = app.test_client()
        html = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        real = TimestampSigner.get_timestamp
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) + seconds)
        try:
            return client.post("/login", data={"username": "admin", "password": password,
                                               "csrf_token": token}).status_code
        finally:
            monkeypatch.setattr(TimestampSigner, "get_timestamp", real)

    assert login_after(7 * 3600) == 302  # an exam day long
    assert login_after(8 * 3600 + 60) == 400


def test_tokens_keep_only_a_prefix_and_a_hash(session, api_token):
    token = api_token("examiner")
    row = session.scalar(select(ApiToken).order_by(ApiToken.id.desc()).limit(1))
    assert row.prefix == token[:10] and token not in row.token_hash
