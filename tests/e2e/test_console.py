"""A candidate plays the credit-card bill scenario through the agent console, like a person would."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_candidate_plays_the_bill_scenario_in_the_console(page, live_server, browser_login, clock, drill_facts):
    browser_login(page, "candidate")
    page.goto(f"{live_server}/drills")
    page.click('button[data-scenario="cc-bill-enquiry"]')
    page.wait_for_url(re.compile(r".*/drills/\d+$"))
    facts = drill_facts(int(page.url.rsplit("/", 1)[1]))  # this drill's own customer
    expect(page.locator("#messages")).to_contain_text("信用卡")
    expect(page.locator("#countdown")).to_have_text(re.compile(r"0[78]:\d\d"))

    reply = page.locator("#reply")
    reply.fill("您好，很高兴为您服务！请提供您的姓名、身份证后六位和手机尾号，核实身份后为您查询。")
    reply.press("Enter")
    expect(page.locator("#messages")).to_contain_text(facts["name"])

    # 智能识别 suggests credit-card articles for the customer's question.
    expect(page.locator("#assist")).to_contain_text("信用卡")

    # 知识库 search with a colloquial query.
    page.keyboard.press("Control+k")
    page.fill("#kb-q", "信用卡账单怎么查")
    page.press("#kb-q", "Enter")
    expect(page.locator("#kb-results li.suggestion").first).to_be_visible()

    # 客户信息: verify identity, then the bill.
    page.click('.tab[data-tab="customer"]')
    panel = page.locator("#customer-panels .bank-panel").first
    panel.locator('input[name="name"]').fill(facts["name"])
    panel.locator('input[name="id_last6"]').fill(facts["id_last6"])
    panel.locator('input[name="phone_last4"]').fill(facts["phone_last4"])
    panel.locator('form[data-method="id_phone"] button[type=submit]').click()
    expect(panel.locator('[data-role="data"]')).to_be_visible()
    expect(panel).to_contain_text("信用卡")
    expect(page.locator("#messages")).to_contain_text("麻烦帮我查一下")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console.png"))

    reply.fill(f"您本期账单金额为{facts['bill_amount']}元，最低还款额{facts['bill_minimum']}元，到期还款日是12月15日。"
               "最低还款就是这个月至少要还的钱，只还最低额剩余部分会计利息。您可以通过手机银行App还款，也可以设置自动还款。请问还有其他可以帮您的吗？")
    reply.press("Enter")
    expect(page.locator("#messages")).to_contain_text("谢谢")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#finish-btn")
    page.wait_for_url(re.compile(r".*/report$"))
    total = float(page.locator("#report-total").inner_text())
    assert total >= 60
    expect(page.locator("svg.radar")).to_be_visible()
    expect(page.locator("svg.timeline")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-report.png"), full_page=True)
