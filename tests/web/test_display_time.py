"""One clock on every page: times are stored in UTC and shown in the display zone (北京时间
by default, ``BANKDRILL_TIMEZONE`` otherwise), one format, labelled; no page shows UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from sandbox.app import create_app
from sandbox.errors import ConfigurationError
from sandbox.timefmt import format_time, load_zone
from sandbox.web.display import join_lines
from tests.conftest import strip_tags

# 06:50 UTC is 14:50 in Beijing: a page that shows "06:50" shows UTC.
T = datetime(2026, 11, 28, 6, 50, 0, tzinfo=UTC)
BEIJING, UTC_TEXT = "2026-11-28 14:50", "2026-11-28 06:50"


def text_of(resp) -> str:
    assert resp.status_code == 200, resp.status_code
    return re.sub(r"\s+", " ", strip_tags(resp.get_data(as_text=True)))


@pytest.fixture
def at_t(clock):
    clock.set(T)
    return clock


def test_the_filter_and_its_format():
    zone = load_zone(None)
    assert zone.key == "Asia/Shanghai"
    assert format_time(T, zone) == BEIJING
    assert format_time(T, zone, seconds=True) == BEIJING + ":00"
    assert format_time(T.replace(tzinfo=None), zone) == BEIJING  # SQLite hands back naive UTC
    assert format_time("2026-11-28T06:50:00+00:00", zone) == BEIJING
    assert format_time("2026-11-28T14:50:00+08:00", zone) == BEIJING
    assert format_time(None, zone) == "—"
    assert format_time(T.date(), zone) == "2026-11-28"
    assert format_time(datetime(2026, 12, 31, 17, 0, tzinfo=UTC), zone) == "2027-01-01 01:00"
    assert format_time(T, load_zone("UTC")) == UTC_TEXT
    with pytest.raises(ConfigurationError) as exc:
        load_zone("Mars/Olympus")
    assert exc.value.code == "bad_timezone" and "BANKDRILL_TIMEZONE" in exc.value.message


def test_every_page_with_times_shows_beijing_time(at_t, api, login_as, session):
    examiner, candidate = api("examiner"), api("candidate")
    # a drill (history, report), a round with a fault (detail, print, list), a work order and a handoff
    drill = candidate.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry", "mode": "practice"}).get_json()
    cid = drill["conversations"][0]["id"]
    order = candidate.post("/api/v1/workorders", json={"title": "账单查询回电", "type": "咨询", "category": "信用卡",
                                                       "conversation_id": cid,
                                                       "expected_callback_at": "2026-11-28T16:30"}).get_json()
    handoff = candidate.post(f"/api/v1/conversations/{cid}/handoff", json={
        "queue": "人工坐席", "summary": {"intent": "信用卡", "request": "查账单", "actions_taken": "",
                                       "verification_status": "未核验", "mood": "平静"}}).get_json()
    candidate.post(f"/api/v1/drills/{drill['id']}/finish")
    rnd = examiner.post("/api/v1/rounds", json={"name": "时间测试", "scenarios": ["cc-bill-enquiry"]}).get_json()
    examiner.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"usernames": ["candidate1"]})
    examiner.post(f"/api/v1/rounds/{rnd['id']}/faults", json={"component": "kb", "duration": 90})
    from sandbox.users.services import get_user

    cand_id = get_user(session, "candidate1").id
    admin = login_as("admin")  # logging in at T sets 最近登录
    cand_page, exam_page = login_as("candidate"), login_as("examiner")

    due = format_time(order["due_at"], load_zone(None))  # the list shows the order's 办结时限
    pages = {
        "/drills": cand_page,
        f"/drills/{drill['id']}/report": cand_page,
        "/admin/users": admin,
        "/rounds": exam_page,
        f"/rounds/{rnd['id']}": exam_page,
        f"/rounds/{rnd['id']}/candidates/{cand_id}/print": exam_page,
        f"/workorders/{order['number']}": cand_page,
        f"/handoffs/{handoff['id']}": exam_page,
    }
    for url, client in pages.items():
        text = text_of(client.get(url))
        assert BEIJING in text, url
        assert UTC_TEXT not in text, url
        assert "UTC" not in text, url
        assert "页面中的时间均为北京时间" in text, url
    listed = text_of(cand_page.get("/workorders"))
    assert due in listed and format_time(order["due_at"], load_zone("UTC")) not in listed
    # the fault table shows seconds (a fault may last seconds), the end 90 s later
    detail = text_of(exam_page.get(f"/rounds/{rnd['id']}"))
    assert "2026-11-28 14:50:00" in detail and "2026-11-28 14:51:30" in detail
    # a form's local time is read as Beijing time: 16:30 typed is 16:30 shown
    assert "2026-11-28 16:30" in text_of(cand_page.get(f"/workorders/{order['number']}"))
    # the print page says which clock it uses
    assert f"打印时间：{BEIJING}（北京时间）" in text_of(exam_page.get(f"/rounds/{rnd['id']}/candidates/{cand_id}/print"))


def test_scenario_and_trainer_pages_show_beijing_time(login_as):
    # the seed ran at the template clock's default moment, 2026-11-28 01:00 UTC = 09:00 北京时间
    trainer = login_as("trainer")
    for url in ("/trainer/scenarios/", "/trainer/scenarios/cc-bill-enquiry", "/trainer/articles"):
        text = text_of(trainer.get(url))
        assert "2026-11-28 09:00" in text, url
        assert "2026-11-28 01:00" not in text, url


def test_the_display_zone_is_configurable(tmp_path, template_instance, pg, clock):
    from tests.conftest import _make_app

    clock.set(T)
    app, _ = _make_app(tmp_path, template_instance, pg, clock, TIMEZONE="UTC")
    try:
        client = app.test_client()
        resp = client.get("/login")
        html = resp.get_data(as_text=True)
        assert 'name="display-timezone" content="UTC"' in html
        assert "页面中的时间均为协调世界时（UTC）" in html
        with app.app_context():
            from sandbox.web.display import dt

            assert dt(T) == UTC_TEXT
    finally:
        app.extensions["bankdrill"].dispose()


def test_a_bad_timezone_stops_the_start_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("BANKDRILL_TIMEZONE", "Beijing")
    with pytest.raises(ConfigurationError) as exc:
        create_app({"HOME": str(tmp_path / "home"), "TESTING": True})
    assert "Beijing" in exc.value.message and "Asia/Shanghai" in exc.value.message


def test_no_template_formats_a_datetime_itself():
    from pathlib import Path

    import sandbox

    templates = Path(sandbox.__file__).parent / "templates"
    offenders = [str(p.relative_to(templates)) for p in templates.rglob("*.html")
                 if re.search(r"strftime|_at\[\d|\|(cst|bj)\b", p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_hand_wrapped_briefs_read_as_sentences():
    assert join_lines("请按规范接待：问候、核验身份后再查询，\n准确告知本期账单金额。\n\n第二段\nsecond line") == [
        "请按规范接待：问候、核验身份后再查询，准确告知本期账单金额。", "第二段second line"]
    assert join_lines("call the\nbank") == ["call the bank"]
