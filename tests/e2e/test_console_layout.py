"""The 坐席工作台 at the screen sizes exam rooms use: nothing overflows sideways, no table cell
is squeezed below two characters, no short label wraps one character per line; the splitter
resizes the tools pane and remembers it; KB articles open in a drawer with rendered Markdown;
an examiner watching a drill sees the candidate's 客户信息, read-only."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from sandbox.bank.masking import mask_name

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Every way the console can overflow, measured in the page.
LAYOUT_PROBLEMS = r"""
() => {
  const bad = [];
  const name = (n) => n.tagName.toLowerCase() + (n.id ? "#" + n.id : "")
    + (n.className && typeof n.className === "string" ? "." + n.className.trim().replace(/\s+/g, ".") : "");
  const visible = (n) => n.offsetParent !== null || getComputedStyle(n).position === "fixed";
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth) bad.push("page scrolls sideways: " + doc.scrollWidth + " > " + doc.clientWidth);
  if (doc.scrollHeight > doc.clientHeight + 1) bad.push("page scrolls down: " + doc.scrollHeight + " > " + doc.clientHeight);
  // Sideways scrolling anywhere in the console.
  document.querySelectorAll("#console, #console *").forEach((n) => {
    if (!visible(n)) return;
    const ox = getComputedStyle(n).overflowX;
    if ((ox === "auto" || ox === "scroll" || ox === "hidden") && n.scrollWidth > n.clientWidth + 1) {
      bad.push("overflows sideways: " + name(n) + " " + n.scrollWidth + " > " + n.clientWidth);
    }
  });
  // Anything sticking out of its pane (clipped or not).
  document.querySelectorAll("#console .queue, #console .chat, #console .tools").forEach((pane) => {
    const box = pane.getBoundingClientRect();
    pane.querySelectorAll("*").forEach((n) => {
      if (!visible(n)) return;
      const r = n.getBoundingClientRect();
      if (r.width > 0 && (r.right > box.right + 1 || r.left < box.left - 1)) {
        bad.push("sticks out of " + name(pane) + ": " + name(n));
      }
    });
  });
  // Table cells at least two characters wide.
  document.querySelectorAll("#console td, #console th").forEach((c) => {
    if (!visible(c)) return;
    const cs = getComputedStyle(c);
    const inner = c.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    if (inner < 2 * parseFloat(cs.fontSize) - 0.5) {
      bad.push("cell narrower than two characters: " + c.textContent.trim().slice(0, 20));
    }
  });
  // Short labels and values (2–12 characters, alone in a box: a cell, a badge, a button, a tab)
  // broken one character per line (借/记/卡). Words inside flowing text may wrap as text does.
  const walker = document.createTreeWalker(document.getElementById("console"), NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const t = walker.currentNode;
    const text = t.textContent.trim();
    const box = t.parentElement;
    if (text.length < 2 || text.length > 12 || !box || !visible(box)) continue;
    if (getComputedStyle(box).display === "inline" || box.textContent.trim() !== text) continue;
    const range = document.createRange();
    range.selectNodeContents(t);
    const tops = new Set(Array.from(range.getClientRects()).filter((r) => r.width > 0).map((r) => Math.round(r.top)));
    if (tops.size > 1 && tops.size >= text.replace(/\s/g, "").length) bad.push("one character per line: " + text);
  }
  return bad;
}
"""


def problems(page) -> list[str]:
    return page.evaluate(LAYOUT_PROBLEMS)


def start_bill_drill(page, live_server) -> None:
    page.goto(f"{live_server}/drills")
    page.click('button[data-scenario="cc-bill-enquiry"]')
    page.wait_for_url(re.compile(r".*/drills/\d+$"))
    expect(page.locator("#messages")).to_contain_text("信用卡")


def verify_in_panel(page, facts: dict) -> None:
    page.click('.tab[data-tab="customer"]')
    panel = page.locator("#customer-panels .bank-panel").first
    panel.locator('input[name="name"]').fill(facts["name"])
    panel.locator('input[name="id_last6"]').fill(facts["id_last6"])
    panel.locator('input[name="phone_last4"]').fill(facts["phone_last4"])
    panel.locator('form[data-method="id_phone"] button[type=submit]').click()
    expect(panel.locator('[data-role="data"]')).to_be_visible()
    expect(panel.locator('[data-role="cards"] .bp-item')).to_have_count(1)


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["1280x720", "1920x1080"])
def test_every_console_tab_fits_the_screen(browser, browser_context_args, live_server, browser_login, size,
                                           drill_facts):
    width, height = size
    context = browser.new_context(**{**browser_context_args, "viewport": {"width": width, "height": height}})
    page = context.new_page()
    browser_login(page, "candidate")
    start_bill_drill(page, live_server)
    seen = {}

    def check(label: str) -> None:
        page.wait_for_timeout(150)
        found = problems(page)
        seen[label] = found
        if found or os.environ.get("BANKDRILL_SCREENSHOTS"):
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"layout-{width}-{label}.png"))

    check("assist")
    page.click('.tab[data-tab="kb"]')
    page.fill("#kb-q", "信用卡账单怎么查")
    page.press("#kb-q", "Enter")
    expect(page.locator("#kb-results li.suggestion").first).to_be_visible()
    check("kb")
    page.locator("#kb-results li.suggestion").first.get_by_role("button", name="查看").click()
    expect(page.locator("#kb-article")).to_be_visible()
    check("kb-article")
    page.click("#kb-article-close")

    page.click('.tab[data-tab="customer"]')
    check("customer-identity")
    verify_in_panel(page, drill_facts(int(page.url.rsplit("/", 1)[1])))
    check("customer")
    panel = page.locator("#customer-panels .bank-panel").first
    # Each detail view, and the tools pane must not scroll sideways when a card is clicked.
    for button, title in (("账单/分期", "本期账单"), ("卡片状态", "卡片状态"), ("交易明细", "交易明细")):
        scope = '[data-role="accounts"]' if button == "交易明细" else '[data-role="cards"]'
        panel.locator(scope).get_by_role("button", name=button).click()
        expect(panel.locator('[data-role="detail-title"]')).to_contain_text(title)
        assert page.locator(".tools .tab-panel:not([hidden])").evaluate("n => n.scrollLeft") == 0
        check("customer-" + title)

    page.click('.tab[data-tab="orders"]')
    check("orders")
    page.click('.tab[data-tab="handoff"]')
    check("handoff")
    page.click("#brief-toggle")
    expect(page.locator("#brief-panel")).to_be_visible()
    check("brief")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{width}x{height}.png"))
    assert not any(seen.values()), {k: v for k, v in seen.items() if v}
    context.close()


def test_the_splitter_resizes_the_tools_pane_and_remembers_it(browser, browser_context_args, live_server,
                                                               browser_login):
    context = browser.new_context(**{**browser_context_args, "viewport": {"width": 1440, "height": 900}})
    page = context.new_page()
    browser_login(page, "candidate")
    start_bill_drill(page, live_server)
    tools = page.locator("#tools")
    before = tools.bounding_box()["width"]
    handle = page.locator("#tools-splitter").bounding_box()
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 60, y, steps=4)
    page.mouse.move(x - 120, y, steps=4)
    page.mouse.up()
    after = tools.bounding_box()["width"]
    assert after == pytest.approx(before + 120, abs=6)
    assert int(page.evaluate("localStorage.getItem('bankdrill.console.toolsWidth')")) == pytest.approx(after, abs=1)
    page.reload()
    expect(page.locator("#messages")).to_contain_text("信用卡")
    assert page.locator("#tools").bounding_box()["width"] == pytest.approx(after, abs=1)
    # Dragging past the chat's minimum stops there: nothing overflows.
    handle = page.locator("#tools-splitter").bounding_box()
    page.mouse.move(handle["x"] + 4, handle["y"] + 100)
    page.mouse.down()
    page.mouse.move(10, handle["y"] + 100, steps=6)
    page.mouse.up()
    assert page.locator(".chat").bounding_box()["width"] >= 318
    assert not problems(page)
    # Keyboard: the arrow keys move it; a double click restores the default.
    page.focus("#tools-splitter")
    width = page.locator("#tools").bounding_box()["width"]
    page.keyboard.press("ArrowRight")
    assert page.locator("#tools").bounding_box()["width"] == pytest.approx(width - 20, abs=1)
    page.dblclick("#tools-splitter")
    assert page.evaluate("localStorage.getItem('bankdrill.console.toolsWidth')") is None
    assert page.locator("#tools").bounding_box()["width"] == pytest.approx(before, abs=1)
    context.close()


def test_kb_article_opens_in_a_drawer_with_rendered_markdown(browser, browser_context_args, live_server,
                                                            browser_login):
    context = browser.new_context(**{**browser_context_args, "viewport": {"width": 1280, "height": 720}})
    page = context.new_page()
    browser_login(page, "candidate")
    start_bill_drill(page, live_server)
    page.keyboard.press("Control+k")
    page.fill("#kb-q", "最低还款额是什么")
    page.press("#kb-q", "Enter")
    results = page.locator("#kb-results li.suggestion")
    expect(results.first).to_be_visible()
    assert results.count() >= 5  # the article used to be drawn below all of these
    hit = results.filter(has_text="最低还款额是什么")
    hit.get_by_role("button", name="查看").click()
    drawer = page.locator("#kb-article")
    expect(drawer).to_be_visible()
    expect(page.locator("#kb-article-title")).to_contain_text("最低还款额")
    # Where the eye is: the drawer's top is in the upper part of the screen, inside the tools pane.
    box, tools = drawer.bounding_box(), page.locator("#tools").bounding_box()
    assert box["y"] < 200 and box["y"] + box["height"] <= 720
    assert box["x"] >= tools["x"] - 1 and box["x"] + box["width"] <= tools["x"] + tools["width"] + 1
    answer = drawer.locator('[data-part="answer"]')
    expect(answer.locator("strong").first).to_have_text("最低还款额")
    assert "**" not in answer.inner_text()
    # The same sanitiser as the article page: an article's HTML never carries a script.
    assert answer.locator("script").count() == 0
    expect(page.locator("#kb-article-close")).to_be_focused()
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    # From 智能识别 too, and the close button closes it.
    page.click('.tab[data-tab="assist"]')
    page.locator("#assist li.suggestion").first.get_by_role("button", name="查看").click()
    expect(drawer).to_be_visible()
    page.click("#kb-article-close")
    expect(drawer).to_be_hidden()
    context.close()


def test_examiner_watching_a_drill_sees_the_candidates_customer_info_read_only(
        browser, browser_context_args, live_server, browser_login, api, app, drill_facts):
    from sandbox.bank.models import AuditEntry, IdentityCheck
    from sandbox.drill.models import DrillEvent
    from sandbox.users.services import get_user
    from tests.conftest import ROLE_USER

    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry", "mode": "practice"}).get_json()
    facts = drill_facts(drill["id"])
    cid = drill["conversations"][0]["id"]

    context = browser.new_context(**{**browser_context_args, "viewport": {"width": 1280, "height": 720}})
    page = context.new_page()
    failures: list[str] = []
    page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    browser_login(page, "examiner")
    page.goto(f"{live_server}/drills/{drill['id']}")
    expect(page.locator(".console-top")).to_contain_text("旁观")
    page.click('.tab[data-tab="customer"]')
    panel = page.locator("#customer-panels .bank-panel").first
    expect(panel.locator('[data-role="identity-message"]')).to_contain_text("考生尚未完成客户身份核验")
    expect(panel.locator('form[data-method="id_phone"]')).to_be_hidden()

    # The candidate verifies the customer: the examiner's panel follows (polled) without a reload.
    resp = cand.post(f"/api/v1/conversations/{cid}/identity/verify",
                     json={"method": "id_phone", "name": facts["name"], "id_last6": facts["id_last6"],
                           "phone_last4": facts["phone_last4"]})
    assert resp.get_json()["verified"] is True
    with app.extensions["bankdrill"].session_factory() as s:
        touched = s.scalar(select(IdentityCheck.last_activity_at).where(IdentityCheck.conversation_id == cid))
    expect(panel.locator('[data-role="profile"]')).to_contain_text(mask_name(facts["name"]), timeout=10000)
    expect(panel.locator('[data-role="cards"]')).to_contain_text("白金")
    expect(panel.get_by_role("button", name="临时挂失")).to_have_count(0)
    panel.locator('[data-role="cards"]').get_by_role("button", name="账单/分期").click()
    expect(panel.locator('[data-role="detail"]')).to_contain_text(facts["bill_amount"])
    assert not failures, failures
    assert not problems(page)

    with app.extensions["bankdrill"].session_factory() as s:
        examiner = get_user(s, ROLE_USER["examiner"])
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.conversation_id == cid,
                                                       AuditEntry.user_id == examiner.id)))
        # Audited as the examiner's lookups; the candidate's verification timer was not touched.
        assert {"profile", "accounts", "cards", "bill"} <= {r.action for r in rows}
        assert all(r.allowed for r in rows)
        after = s.scalar(select(IdentityCheck.last_activity_at).where(IdentityCheck.conversation_id == cid))
        assert after == touched
        # The drill's log holds the candidate's operations only.
        lookups = s.scalars(select(DrillEvent.type).where(DrillEvent.drill_id == drill["id"],
                                                          DrillEvent.type.like("lookup.%"))).all()
        assert lookups == []
    context.close()


def test_the_console_and_the_work_order_pages_show_the_same_beijing_time(browser, browser_context_args, live_server,
                                                                         browser_login):
    # A browser in another zone still shows the instance's display zone (北京时间).
    context = browser.new_context(**{**browser_context_args, "timezone_id": "America/New_York"})
    page = context.new_page()
    browser_login(page, "candidate")
    assert page.evaluate("BankDrill.fmtTime('2026-11-28T06:50:00Z')") == "2026-11-28 14:50"
    assert page.evaluate("BankDrill.fmtTime('2026-11-28T06:50:05+00:00', true)") == "2026-11-28 14:50:05"
    assert page.evaluate("BankDrill.fmtTime(null)") == "—"
    start_bill_drill(page, live_server)
    page.click('.tab[data-tab="orders"]')
    page.fill(".wo-panel input[name=title]", "客户要求回电说明账单")
    page.select_option(".wo-panel select[name=category]", "信用卡")
    page.click(".wo-panel button[type=submit]")
    item = page.locator(".wo-panel .wo-item").first
    expect(item).to_contain_text("北京时间")
    shown = re.search(r"时限 (\d{4}-\d\d-\d\d \d\d:\d\d)", item.inner_text()).group(1)
    page.goto(f"{live_server}/workorders")
    assert shown in page.locator(".wo-table").inner_text()
    context.close()


def test_forms_are_prefilled_after_verification_and_the_brief_closes(browser, browser_context_args, live_server,
                                                                     browser_login, drill_facts):
    page = browser.new_context(**browser_context_args).new_page()
    browser_login(page, "candidate")
    start_bill_drill(page, live_server)
    expect(page.locator("#assist li.suggestion").first).to_be_visible()
    intent = page.locator("#assist > p strong").first.inner_text()
    assert intent and intent != "未识别"
    page.click('.tab[data-tab="orders"]')
    assert page.locator(".wo-panel input[name=customer_id]").input_value() == ""  # not before verification
    verify_in_panel(page, drill_facts(int(page.url.rsplit("/", 1)[1])))
    page.click('.tab[data-tab="orders"]')
    expect(page.locator(".wo-panel input[name=customer_id]")).to_have_value(re.compile(r"^D\d+-1$"))
    page.click('.tab[data-tab="handoff"]')
    expect(page.locator("#handoff-form input[name=intent]")).to_have_value(intent)
    expect(page.locator("#handoff-form select[name=verification_status]")).to_have_value("已核验")
    # what the candidate typed is never overwritten
    page.fill("#handoff-form input[name=intent]", "账单查询及还款方式")
    page.click('.tab[data-tab="customer"]')
    page.locator("#customer-panels .bank-panel").first.locator('[data-action="refresh"]').click()
    page.click('.tab[data-tab="handoff"]')
    expect(page.locator("#handoff-form input[name=intent]")).to_have_value("账单查询及还款方式")

    # 任务说明: a panel with a close button, the brief as whole sentences (no hard line breaks)
    page.click("#brief-toggle")
    brief = page.locator("#brief-panel")
    expect(brief).to_be_visible()
    text = brief.locator("p").first.inner_text()
    assert "\n" not in text and "查询，准确告知" in text
    page.click("#brief-close")
    expect(brief).to_be_hidden()
    page.click("#brief-toggle")
    page.keyboard.press("Escape")
    expect(brief).to_be_hidden()


def test_smart_assist_stops_suggesting_during_a_bot_outage(browser, browser_context_args, live_server,
                                                            browser_login, api):
    examiner, cand = api("examiner"), api("candidate")
    rnd = examiner.post("/api/v1/rounds", json={"name": "故障", "scenarios": ["cc-bill-enquiry"]}).get_json()
    examiner.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"usernames": ["candidate1"]})
    examiner.post(f"/api/v1/rounds/{rnd['id']}/start")
    cand.post("/api/v1/rounds/join", json={"code": rnd["join_code"]})
    drill = cand.post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
    page = browser.new_context(**browser_context_args).new_page()
    browser_login(page, "candidate")
    page.goto(f"{live_server}/drills/{drill['id']}")
    expect(page.locator("#assist li.suggestion").first).to_be_visible()
    fault = examiner.post(f"/api/v1/rounds/{rnd['id']}/faults",
                          json={"component": "bot", "message": "智能识别服务中断"}).get_json()
    expect(page.locator("#assist")).to_contain_text("智能识别服务异常", timeout=10000)
    expect(page.locator("#assist li.suggestion")).to_have_count(0)
    examiner.post(f"/api/v1/rounds/{rnd['id']}/faults/{fault['id']}/restore")
    expect(page.locator("#assist li.suggestion").first).to_be_visible(timeout=10000)
