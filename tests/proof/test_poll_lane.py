"""The poll lane (sandbox.web.poll_lane): a candidate's repeated quiet poll answered before the
Flask app, exactly as the app would answer it, with every other request passed on.

The whole suite runs with QUIET_POLL_CHECK, under which each answer of the lane is compared with
the app's answer to the same request; the tests here show that the lane does answer (its count
moves), by whom it lets itself be asked (a token, a browser session, each checked afresh), what
it leaves to the app, and that the comparison catches a lane that drifts from the app."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.exc import OperationalError

import sandbox.web.poll_lane as poll_lane_module
from sandbox.users.models import ApiToken, User
from sandbox.users.services import SESSION_MAX_AGE
from sandbox.users.token_use import get_token_use_writer
from sandbox.web.poll_lane import PollLane
from tests.proof.test_poll_memo import statements_of

NO_CHECK = {"WTF_CSRF_ENABLED": False, "QUIET_POLL_CHECK": False}


def lane_of(app) -> PollLane:
    lane = app.wsgi_app
    if not isinstance(lane, PollLane):
        lane = lane.app  # behind ProxyFix when the instance trusts a proxy
    assert isinstance(lane, PollLane)
    return lane


def practice_conversation(client) -> int:
    resp = client.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["conversations"][0]["id"]


def kept_poll(app, client, conv: int, after: int = 10_000):
    """Poll until the answer is kept (the app reads and keeps it), then once more: the lane's."""
    for _ in range(2):
        assert client.get(f"/api/v1/conversations/{conv}/messages?after={after}").status_code == 200
    before = lane_of(app).answered
    resp = client.get(f"/api/v1/conversations/{conv}/messages?after={after}")
    assert resp.status_code == 200, resp.get_json()
    assert lane_of(app).answered == before + 1, "the lane did not answer the repeated quiet poll"
    return resp


def refused(app, client, conv: int) -> None:
    """The caller's next poll is left to the app, which refuses it (401)."""
    resp = passed_on(app, lambda: client.get(f"/api/v1/conversations/{conv}/messages?after=10000"))
    assert resp.status_code == 401, resp.get_json()


def passed_on(app, call):
    """``call()``'s response, asserting the lane left the request to the app."""
    before = lane_of(app).answered
    resp = call()
    assert lane_of(app).answered == before, "the lane answered a request it must leave to the app"
    return resp


# --------------------------------------------------------------------------- what it answers


@pytest.mark.db
def test_a_repeated_token_poll_is_answered_by_the_lane_as_the_app_answers_it(api, app, clock):
    cand = api("candidate")
    conv = practice_conversation(cand)
    full = cand.get(f"/api/v1/conversations/{conv}/messages?after=0").get_json()
    resp = kept_poll(app, cand, conv, after=0)
    assert resp.get_json() == full and full["messages"] and full["drill"]["status"] == "running"
    # The app's headers: JSON, the security headers, nothing cached, no cookie.
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in resp.headers and "Vary" not in resp.headers
    # The clock keeps running in the lane's answers.
    left = resp.get_json()["drill"]["remaining_seconds"]
    clock.advance(5)
    assert kept_poll(app, cand, conv, after=0).get_json()["drill"]["remaining_seconds"] == left - 5


@pytest.mark.db
@pytest.mark.parametrize("app_config", [NO_CHECK])  # the check asks the app too: count without it
def test_the_lane_reads_the_token_and_the_stamp_and_nothing_else(api, app):
    cand = api("candidate")
    conv = practice_conversation(cand)
    kept_poll(app, cand, conv)
    before = lane_of(app).answered
    with statements_of(app) as seen:
        assert cand.get(f"/api/v1/conversations/{conv}/messages?after=10000").status_code == 200
    assert lane_of(app).answered == before + 1
    assert [s for s in seen if s != "BEGIN"] == ["SELECT", "SELECT"], seen  # the token, the stamp
    # Behind the conversation: the new messages too, and nothing else.
    with statements_of(app) as seen:
        assert cand.get(f"/api/v1/conversations/{conv}/messages?after=0").get_json()["messages"]
    assert lane_of(app).answered == before + 2
    assert [s for s in seen if s != "BEGIN"] == ["SELECT"] * 3, seen


@pytest.mark.db
@pytest.mark.parametrize("app_config", [NO_CHECK])
def test_on_postgresql_the_lane_reads_outside_any_transaction(api, app):
    """PostgreSQL: the lane's statements run in autocommit (no BEGIN and ROLLBACK round trips),
    on their own engine; SQLite: in the app's usual sessions."""
    runtime = app.extensions["bankdrill"]
    cand = api("candidate")
    conv = practice_conversation(cand)
    kept_poll(app, cand, conv)
    reads = runtime.autocommit_reads
    if runtime.engine.dialect.name == "sqlite":
        assert reads is runtime.session_factory and runtime.engines() == [runtime.engine]
        return
    lane_engine = runtime.engines()[1]
    assert lane_engine is not runtime.engine
    seen: dict[str, list[str]] = {"main": [], "lane": []}
    listeners = []
    for name, engine in (("main", runtime.engine), ("lane", lane_engine)):
        listener = (lambda bucket: lambda conn, cursor, stmt, *a: bucket.append(stmt.split()[0].upper()))(seen[name])
        event.listen(engine, "before_cursor_execute", listener)
        listeners.append((engine, listener))
    try:
        before = lane_of(app).answered
        assert cand.get(f"/api/v1/conversations/{conv}/messages?after=10000").status_code == 200
        assert lane_of(app).answered == before + 1
    finally:
        for engine, listener in listeners:
            event.remove(engine, "before_cursor_execute", listener)
    assert seen == {"main": [], "lane": ["SELECT", "SELECT"]}
    with reads() as s:
        assert s.connection().connection.dbapi_connection.autocommit is True


@pytest.mark.db
def test_a_browser_session_poll_is_answered_with_the_cookie_vary_header(app, login_as):
    browser = login_as("candidate")
    conv = practice_conversation(browser)
    through_app = browser.get(f"/api/v1/conversations/{conv}/messages?after=0")
    resp = kept_poll(app, browser, conv, after=0)
    assert resp.get_json() == through_app.get_json()
    assert "Cookie" in resp.headers.get("Vary", "") and "Set-Cookie" not in resp.headers
    assert sorted(resp.headers.items()) == sorted(through_app.headers.items())


# --------------------------------------------------------------------------- who may ask


@pytest.mark.db
def test_a_revoked_token_and_a_deactivated_user_are_refused_by_the_very_next_poll(api, app, runtime):
    cand = api("candidate")
    conv = practice_conversation(cand)
    kept_poll(app, cand, conv)
    with runtime.transaction() as s:
        s.execute(update(ApiToken).values(last_used_at=None))  # untouched by what follows
        token_id = s.scalar(select(ApiToken.id).order_by(ApiToken.id.desc()))
        s.delete(s.get(ApiToken, token_id))
    refused(app, cand, conv)

    again = api("candidate")
    kept_poll(app, again, conv)
    with runtime.transaction() as s:
        s.execute(update(User).where(User.username == "candidate1").values(active=False))
    refused(app, again, conv)


@pytest.mark.db
def test_a_logged_out_or_expired_browser_session_is_refused(app, login_as, clock):
    browser = login_as("candidate")
    conv = practice_conversation(browser)
    kept_poll(app, browser, conv)
    assert browser.post("/logout").status_code in (302, 303)
    refused(app, browser, conv)

    browser = login_as("candidate")
    kept_poll(app, browser, conv)
    clock.advance((SESSION_MAX_AGE + timedelta(minutes=1)).total_seconds())
    refused(app, browser, conv)


@pytest.mark.db
def test_someone_else_never_gets_the_kept_answer(api, app, login_as):
    cand = api("candidate")
    conv = practice_conversation(cand)
    kept_poll(app, cand, conv)
    other = api("candidate2")
    assert passed_on(app, lambda: other.get(f"/api/v1/conversations/{conv}/messages?after=0")).status_code == 403
    examiner = api("examiner")  # staff may watch: through the app, as the customer side sees it
    watched = passed_on(app, lambda: examiner.get(f"/api/v1/conversations/{conv}/messages?after=0"))
    assert watched.status_code == 200 and watched.get_json()["messages"]
    anonymous = app.test_client()
    assert passed_on(app, lambda: anonymous.get(f"/api/v1/conversations/{conv}/messages")).status_code == 401
    forged = app.test_client()
    forged.set_cookie("bankdrill_session", "eyJzaWQiOiJ4In0.forged.signature")
    assert passed_on(app, lambda: forged.get(f"/api/v1/conversations/{conv}/messages")).status_code == 401


@pytest.mark.db
def test_a_session_cookie_holding_more_than_the_login_is_left_to_the_app(app, login_as):
    browser = login_as("candidate")
    conv = practice_conversation(browser)
    kept_poll(app, browser, conv)
    serializer = app.session_interface.get_signing_serializer(app)
    data = serializer.loads(browser.get_cookie("bankdrill_session").value)
    browser.set_cookie("bankdrill_session", serializer.dumps({**data, "_permanent": True}))
    resp = passed_on(app, lambda: browser.get(f"/api/v1/conversations/{conv}/messages?after=10000"))
    assert resp.status_code == 200


@pytest.mark.db
def test_a_stale_token_use_is_recorded_by_the_lane_too(api, app, runtime, session, clock):
    cand = api("candidate")
    conv = practice_conversation(cand)
    kept_poll(app, cand, conv)
    clock.advance(61)  # the token's last use is now stale; the drill is still quiet
    kept_poll(app, cand, conv)
    get_token_use_writer(runtime).flush()
    session.rollback()
    assert session.scalar(select(ApiToken.last_used_at).order_by(ApiToken.id.desc())) == clock.now()


# --------------------------------------------------------------------------- what it leaves to the app


@pytest.mark.db
@pytest.mark.parametrize("query, status", [
    ("after=abc", 400),          # the app's invalid_after
    ("after=1&after=2", 200),    # the app decides which one counts
    ("after=01", 200),
    ("after=5&x=1", 200),
    ("as=customer", 403),        # the customer side of a drill is not the candidate's to read
])
def test_unusual_queries_are_left_to_the_app(api, app, query, status):
    cand = api("candidate")
    conv = practice_conversation(cand)
    kept_poll(app, cand, conv)
    resp = passed_on(app, lambda: cand.get(f"/api/v1/conversations/{conv}/messages?{query}"))
    assert resp.status_code == status, resp.get_json()
    if status == 400:
        assert resp.get_json()["error"]["code"] == "invalid_after"


@pytest.mark.db
def test_other_paths_and_methods_are_left_to_the_app(api, app):
    cand = api("candidate")
    conv = practice_conversation(cand)
    kept_poll(app, cand, conv)
    assert passed_on(app, lambda: cand.get(f"/api/v1/conversations/{conv}/messages/")).status_code == 404
    assert passed_on(app, lambda: cand.head(f"/api/v1/conversations/{conv}/messages")).status_code == 200
    posted = passed_on(app, lambda: cand.post(f"/api/v1/conversations/{conv}/messages", json={"text": "您好"}))
    assert posted.status_code == 201
    # The post moved the drill's stamp: the next poll is read afresh by the app, and shows it.
    fresh = passed_on(app, lambda: cand.get(f"/api/v1/conversations/{conv}/messages?after=0"))
    assert "您好" in [m["text"] for m in fresh.get_json()["messages"]]


@pytest.mark.db
def test_a_database_error_in_the_lane_leaves_the_poll_to_the_app(api, app, monkeypatch):
    cand = api("candidate")
    conv = practice_conversation(cand)
    kept_poll(app, cand, conv)

    def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("the database went away"))

    monkeypatch.setattr(poll_lane_module, "token_holder", broken)
    resp = passed_on(app, lambda: cand.get(f"/api/v1/conversations/{conv}/messages?after=10000"))
    assert resp.status_code == 200 and resp.get_json()["drill"]["status"] == "running"


@pytest.mark.db
def test_without_the_setting_every_poll_goes_through_the_app(tmp_path, template_instance, pg, clock):
    from tests.conftest import _make_app

    app, dbname = _make_app(tmp_path, template_instance, pg, clock, POLL_LANE=False)
    try:
        assert not isinstance(app.wsgi_app, PollLane)
    finally:
        app.extensions["bankdrill"].dispose()
        if pg is not None and dbname:
            pg.drop(dbname)


# --------------------------------------------------------------------------- the check


@pytest.mark.db
def test_the_check_catches_a_lane_whose_body_drifts_from_the_app(api, app, monkeypatch):
    cand = api("candidate")
    conv = practice_conversation(cand)
    kept_poll(app, cand, conv)
    real = poll_lane_module.kept_answer

    def drifted(*args, **kwargs):
        body, stamp = real(*args, **kwargs)
        if body is not None:
            body = {**body, "mood": "愤怒"}
        return body, stamp

    monkeypatch.setattr(poll_lane_module, "kept_answer", drifted)
    with pytest.raises(AssertionError, match="poll lane"):
        cand.get(f"/api/v1/conversations/{conv}/messages?after=10000")


@pytest.mark.db
def test_the_check_catches_a_lane_that_misses_a_header(api, app, monkeypatch):
    cand = api("candidate")
    conv = practice_conversation(cand)
    kept_poll(app, cand, conv)
    monkeypatch.setattr(poll_lane_module, "add_security_headers", lambda *a, **k: None)
    with pytest.raises(AssertionError, match="poll lane"):
        cand.get(f"/api/v1/conversations/{conv}/messages?after=10000")


@pytest.mark.db
def test_the_lane_lets_through_only_the_roles_the_apps_view_allows(api, app, monkeypatch):
    cand = api("candidate")
    conv = practice_conversation(cand)
    kept_poll(app, cand, conv)
    view = app.view_functions[poll_lane_module.POLL_ENDPOINT]
    monkeypatch.setattr(view, "allowed_roles", frozenset({"examiner"}), raising=False)
    # The view would now refuse a candidate: so does the lane (it leaves the poll to the app).
    resp = passed_on(app, lambda: cand.get(f"/api/v1/conversations/{conv}/messages?after=10000"))
    assert resp.status_code == 200  # the decorator's own closure still holds the real roles


@pytest.mark.db
@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": False, "TRUSTED_PROXIES": 1, "SECURE_COOKIES": True}])
def test_behind_a_trusted_proxy_with_hsts_the_lane_still_answers_as_the_app(api, app):
    assert not isinstance(app.wsgi_app, PollLane)  # ProxyFix is outermost, the lane inside it
    cand = api("candidate")
    conv = practice_conversation(cand)
    resp = kept_poll(app, cand, conv)  # compared with the app's answer, header by header
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
