"""Issue 16's smaller items, each where it can fail: Chinese labels instead of ids, expired
drills, roster feedback, handoffs of finished drills, the favicon, cached static files, the
second start's message and the demo-login printout, .gitignore."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from sandbox.bank.labels import MAGIC_LABELS, magic_label
from tests.conftest import strip_tags

ROOT = Path(__file__).resolve().parents[2]


def text_of(resp) -> str:
    return re.sub(r"\s+", " ", strip_tags(resp.get_data(as_text=True)))


def flashes(html: str) -> list[str]:
    return re.findall(r'class="flash flash-(\w+)"[^>]*>([^<]*)<', html)


# --- Chinese instead of ids -------------------------------------------------------------------

def test_every_seeded_magic_code_has_a_chinese_name(session):
    from sandbox.bank.models import Customer

    codes = {m for m in session.scalars(select(Customer.magic)) if m}
    assert codes and codes <= set(MAGIC_LABELS)
    assert magic_label("cc_bill") == "信用卡账单查询" and magic_label(None) == "" and magic_label("new_one") == "new_one"


def test_practice_and_customer_pages_show_scenario_names_not_codes(login_as):
    practice = login_as("examiner").get("/practice").get_data(as_text=True)
    assert "信用卡账单查询" in practice and "cc_bill" not in practice
    customers = login_as("examiner").get("/bank/customers").get_data(as_text=True)
    assert "信用卡账单查询" in customers
    # the code stays, small and grey, for people matching the seed documentation
    assert re.search(r'<code class="id"[^>]*>cc_bill</code>', customers)
    assert "cc_bill" not in text_of(login_as("examiner").get("/bank/customers")).replace("cc_bill", "", 1)


def test_error_pages_speak_chinese_and_keep_the_code_small(login_as, client):
    resp = login_as("candidate").get("/admin/users")
    assert resp.status_code == 403
    html = resp.get_data(as_text=True)
    assert "<h1>无权访问</h1>" in html and "您的角色无权访问此内容。" in html
    assert re.search(r'<code class="id"[^>]*>forbidden</code>', html)
    assert text_of(resp).count("forbidden") == 1
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "<h1>页面不存在</h1>" in missing.get_data(as_text=True)


def test_live_board_and_exports_name_scenarios_by_title(api):
    examiner, cand = api("examiner"), api("candidate")
    rnd = examiner.post("/api/v1/rounds", json={"name": "标题测试", "scenarios": ["cc-bill-enquiry"]}).get_json()
    examiner.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"usernames": ["candidate1"]})
    examiner.post(f"/api/v1/rounds/{rnd['id']}/start")
    cand.post("/api/v1/rounds/join", json={"code": rnd["join_code"]})
    assert cand.post(f"/api/v1/rounds/{rnd['id']}/next").status_code == 201
    live = examiner.get(f"/api/v1/rounds/{rnd['id']}/live").get_json()
    current = live["candidates"][0]["current"]
    assert current["scenario"] == "cc-bill-enquiry" and current["scenario_title"] == "信用卡账单查询"
    js = (ROOT / "sandbox/static/js/rounds.js").read_text(encoding="utf-8")
    assert "c.current.scenario_title" in js
    exported = examiner.get(f"/api/v1/rounds/{rnd['id']}/export?format=csv").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(exported)))
    column = rows[0].index("场景")
    assert rows[1][column] == "信用卡账单查询"


# --- expired practice drills --------------------------------------------------------------------

def test_an_expired_practice_drill_is_finished_on_the_history_page(api, login_as, clock):
    drill = api("candidate").post("/api/v1/drills", json={"scenario": "cc-bill-enquiry", "mode": "practice"}).get_json()
    page = login_as("candidate")
    row = re.search(r"<tr>.*?信用卡账单查询.*?</tr>", page.get("/drills").get_data(as_text=True), re.S).group()
    assert "进行中" in row and "继续" in row
    clock.advance(drill["remaining_seconds"] + 1)
    html = page.get("/drills").get_data(as_text=True)
    row = re.search(r"<tr>.*?信用卡账单查询.*?</tr>", html, re.S).group()
    assert "已结束" in row and "查看报告" in row and "进行中" not in row and "继续" not in row
    assert page.get(f"/drills/{drill['id']}/report").status_code == 200


# --- roster -------------------------------------------------------------------------------------

def test_roster_adds_the_known_names_and_lists_the_unknown_ones(api, login_as):
    rnd = api("examiner").post("/api/v1/rounds", json={"name": "名单", "scenarios": ["cc-bill-enquiry"]}).get_json()
    page = login_as("examiner")
    resp = page.post(f"/rounds/{rnd['id']}/roster", data={"usernames": "candidate1\r\nnosuchuser\ntrainer"},
                     follow_redirects=True)
    found = flashes(resp.get_data(as_text=True))
    assert ("success", "已加入 1 名考生（candidate1）。") in found
    assert ("error", "以下用户名不存在：nosuchuser；以下账号不是考生：trainer，未加入名单。") in found
    roster = api("examiner").get(f"/api/v1/rounds/{rnd['id']}").get_json()
    assert roster["candidates"] == 1
    # nothing to add: a clear message, not silence
    resp = page.post(f"/rounds/{rnd['id']}/roster", data={"usernames": "  \n"}, follow_redirects=True)
    assert ("error", "请填写至少一个用户名，或选择 CSV 文件。") in flashes(resp.get_data(as_text=True))
    resp = page.post(f"/rounds/{rnd['id']}/roster", data={"usernames": "nosuchuser"}, follow_redirects=True)
    found = flashes(resp.get_data(as_text=True))
    assert [f for f in found if f[0] == "error"] == [("error", "以下用户名不存在：nosuchuser，未加入名单。")]
    # the API keeps its all-or-nothing contract
    resp = api("examiner").post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"usernames": ["candidate2", "x9"]})
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "unknown_user"


# --- handoffs of finished drills ------------------------------------------------------------------

def test_a_handoff_from_a_finished_drill_leaves_the_human_queue(api, login_as, clock):
    cand, examiner = api("candidate"), api("examiner")
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry", "mode": "practice"}).get_json()
    cid = drill["conversations"][0]["id"]
    handoff = cand.post(f"/api/v1/conversations/{cid}/handoff", json={
        "queue": "人工坐席", "summary": {"intent": "信用卡", "request": "查询本期账单", "actions_taken": "",
                                       "verification_status": "未核验", "mood": "平静"}}).get_json()
    assert [h["id"] for h in examiner.get("/api/v1/handoffs").get_json()["items"]] == [handoff["id"]]
    cand.post(f"/api/v1/drills/{drill['id']}/finish")
    clock.advance(600)  # long past the handoff timeout: it used to sit in the queue as 已超时
    assert examiner.get("/api/v1/handoffs").get_json()["items"] == []
    shown = examiner.get(f"/api/v1/handoffs/{handoff['id']}").get_json()
    assert shown["status"] == "ended" and shown["status_label"] == "会话已结束" and not shown["callback_offer"]
    html = login_as("examiner").get("/handoffs").get_data(as_text=True)
    queue = html.split("最近处理")[0]
    assert "查询本期账单" not in queue and "当前没有等待接入的客户" in queue
    recent = html.split("最近处理")[1]
    assert "查询本期账单" in recent and "会话已结束" in recent and "已超时" not in recent
    resp = examiner.post(f"/api/v1/handoffs/{handoff['id']}/accept")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "handoff_ended"


def test_a_running_drills_handoff_still_times_out_and_can_be_accepted(api, clock):
    cand, examiner = api("candidate"), api("examiner")
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry", "mode": "practice"}).get_json()
    cid = drill["conversations"][0]["id"]
    handoff = cand.post(f"/api/v1/conversations/{cid}/handoff", json={
        "queue": "人工坐席", "summary": {"intent": "信用卡", "request": "查账单", "actions_taken": "",
                                       "verification_status": "未核验", "mood": "平静"}}).get_json()
    clock.advance(150)
    items = examiner.get("/api/v1/handoffs").get_json()["items"]
    assert [(h["id"], h["status"]) for h in items] == [(handoff["id"], "timed_out")]
    assert examiner.post(f"/api/v1/handoffs/{handoff['id']}/accept").get_json()["status"] == "accepted"


# --- favicon, static caching, .gitignore ----------------------------------------------------------

def test_the_favicon_is_served_and_linked(client):
    resp = client.get("/favicon.ico")
    assert resp.status_code == 200 and resp.mimetype == "image/vnd.microsoft.icon"
    assert resp.data[:4] == b"\x00\x00\x01\x00"  # an ICO header
    html = client.get("/login").get_data(as_text=True)
    link = re.search(r'<link rel="icon" href="([^"]+)"', html).group(1)
    with client.get(link) as svg:
        assert svg.status_code == 200 and b"<svg" in svg.data


def test_static_files_are_fingerprinted_and_cached(client):
    html = client.get("/login").get_data(as_text=True)
    css = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]{10})"', html).group(1)
    with client.get(css) as resp:
        assert resp.status_code == 200
        assert "max-age=604800" in resp.headers["Cache-Control"] and "no-store" not in resp.headers["Cache-Control"]


def test_gitignore_keeps_virtualenvs_out():
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert ".venv/" in lines


# --- the command line's words ----------------------------------------------------------------------

def test_a_second_start_does_not_claim_it_applied_migrations(runner):
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "数据库已是最新版本" in result.output and "已应用" not in result.output


def test_a_start_that_migrates_says_so_and_names_demo_roles_in_chinese(empty_database, tmp_path, clock):
    from sandbox.app import create_app
    from sandbox.migrate import head_revision

    app = create_app({"HOME": str(tmp_path / "h"), "DATABASE_URL": empty_database, "TESTING": True, "CLOCK": clock})
    try:
        from sandbox.cli.core import _print_report
        from sandbox.instance import initialise

        report = initialise(app.extensions["bankdrill"], seed=True)
        assert report.created and report.migrated == (None, head_revision())
        out = CliRunner().invoke(_click_wrapper(_print_report, report)).output
        assert "考生" in out and "考官" in out and "培训师" in out and "管理员" in out
        assert not re.search(r"\b(candidate|examiner|trainer|admin)\b\s+\S+\s+密码", out)
        assert re.search(r"考生\s+candidate1\s+密码 \w+", out)
        again = initialise(app.extensions["bankdrill"])
        assert again.migrated is None and not again.created
    finally:
        app.extensions["bankdrill"].dispose()


def _click_wrapper(fn, *args):
    import click

    @click.command()
    def _cmd() -> None:
        fn(*args)

    return _cmd


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
