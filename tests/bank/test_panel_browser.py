"""The 客户信息 panel in a real browser (Debian chromium through Playwright).

Practice page → open a conversation → the panel refuses nothing until the identity form
is used → SMS code read from the customer's phone page → verified → masked data →
临时挂失 with a confirmation → the status shows 挂失.
"""

from __future__ import annotations

import re
import threading

import pytest
from werkzeug.serving import make_server

from tests.browser_gate import chromium_path
from tests.conftest import _make_app

pytestmark = pytest.mark.browser

LAUNCH_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1", "--no-sandbox"]


@pytest.fixture
def live_server(tmp_path, template_instance, pg, clock):
    app, dbname = _make_app(tmp_path, template_instance, pg, clock)  # CSRF on, as in production
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    thread.join(5)
    app.extensions["bankdrill"].dispose()
    if pg is not None and dbname:
        pg.drop(dbname)


@pytest.fixture
def chromium_browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=LAUNCH_ARGS)
        yield b
        b.close()


def _login(page, base: str, app, username: str) -> None:
    page.goto(base + "/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', app.config["TEST_PASSWORDS"][username])
    page.click('button[type="submit"]')
    page.wait_for_url(base + "/")


def test_practice_panel_end_to_end(live_server, chromium_browser):
    browser = chromium_browser
    base, app = live_server
    errors: list[str] = []
    context = browser.new_context()
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and "Failed to load resource" not in msg.text else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    _login(page, base, app, "candidate1")
    page.goto(base + "/practice")
    page.click('button[data-action="open"][data-customer="C001"]')
    page.wait_for_url(re.compile(r".*/practice/\d+$"))
    cid = page.url.rsplit("/", 1)[1]
    page.wait_for_selector('[data-role="status"]:has-text("C001")')
    assert page.is_hidden('[data-role="data"]')
    # a wrong answer: no hint which field
    page.fill('input[name="name"]', "某某某")
    page.fill('input[name="id_last6"]', "000000")
    page.fill('input[name="phone_last4"]', "0000")
    page.click('form[data-method="id_phone"] button[type="submit"]')
    page.wait_for_selector('[data-role="identity-message"]:has-text("还可尝试 2 次")')
    # SMS: send; the customer confirms on their own phone (a second tab); the agent never types a code
    page.click('button[role="tab"][data-method="sms"]')
    assert page.locator('form[data-method="sms"] input[name="code"]').count() == 0
    page.click('button[data-action="send-sms"]')
    page.wait_for_selector('[data-role="identity-message"]:has-text("验证短信已发送")')
    phone = context.new_page()
    phone.goto(f"{base}/practice/{cid}/phone")
    assert re.search(r"验证码 \d{6}", phone.inner_text(".phone-inbox"))
    phone.click('[data-action="phone-confirm"]')
    phone.wait_for_selector('[data-role="confirm-message"]:has-text("已确认")')
    phone.close()
    page.bring_to_front()  # a background tab gets no animation frames: clicks would crawl
    page.wait_for_selector('[data-role="profile"] dd', timeout=15000)  # the panel sees the confirmation
    assert page.is_visible('[data-role="data"]')
    text = page.inner_text(".bank-panel")
    assert "990002******" in text and "林**" in text
    assert not re.search(r"\d{16,19}", text.replace("*", "x"))
    # bill detail
    page.click('[data-role="cards"] button:has-text("账单/分期")')
    page.wait_for_selector('[data-role="detail-title"]:has-text("本期账单")')
    assert "8632.50" in page.inner_text('[data-role="detail"]')
    # transactions with a date filter
    page.click('[data-role="accounts"] button:has-text("交易明细")')
    page.wait_for_selector('[data-role="detail-title"]:has-text("交易明细")')
    page.fill('[data-role="range"] input[name="from"]', "2026-11-27")
    page.click('[data-role="range"] button[type="submit"]')
    page.wait_for_timeout(300)
    dates = re.findall(r"2026-\d\d-\d\d \d\d:\d\d", page.inner_text('[data-role="detail"]'))
    assert dates and all(d >= "2026-11-27" for d in dates)
    # freeze with confirmation
    page.click('[data-role="cards"] button:has-text("临时挂失")')
    page.wait_for_selector('[data-role="confirm"]:not([hidden])')
    page.click('button[data-action="confirm-yes"]')
    page.wait_for_selector('[data-role="cards"] .badge:has-text("挂失")')
    assert "临时挂失" in page.inner_text('[data-role="status"]')
    assert not errors, errors
    context.close()


def test_examiner_reveal_button(live_server, chromium_browser):
    browser = chromium_browser
    base, app = live_server
    page = browser.new_page()
    _login(page, base, app, "examiner")
    page.goto(base + "/bank/customers")
    masked = page.inner_text('tr:has-text("C001") .reveal-value >> nth=0')
    assert "*" in masked
    page.click('tr:has-text("C001") button[data-field="id_number"]')
    page.wait_for_selector('tr:has-text("C001") .reveal-value.revealed')
    assert re.fullmatch(r"\d{17}[\dX]", page.inner_text('tr:has-text("C001") .reveal-value.revealed'))
