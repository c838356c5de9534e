"""An examiner runs a round for two candidates in two browsers: roster, join code, a KB outage,
a handoff, marking, release and the Excel export."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def new_page(browser, browser_context_args):
    return browser.new_context(**browser_context_args).new_page()


def test_examiner_runs_a_round_with_two_candidates(browser, browser_context_args, live_server, browser_login):
    examiner = new_page(browser, browser_context_args)
    browser_login(examiner, "examiner")
    examiner.goto(f"{live_server}/rounds")
    examiner.fill("input[name=name]", "秋季复面实操第一场")
    examiner.check("input[name=scenarios][value=cc-bill-enquiry]")
    examiner.click("form button.primary")
    examiner.wait_for_url(re.compile(r".*/rounds/\d+$"))
    code = examiner.locator("#join-code").inner_text().strip()
    examiner.fill("textarea[name=usernames]", "candidate1\ncandidate2")
    examiner.click("text=加入名单")
    expect(examiner.locator(".flash-success")).to_contain_text("已加入 2 名考生")
    examiner.click('button[data-action="start"]')
    expect(examiner.locator("#round-status")).to_have_text("进行中")

    candidates = []
    for role in ("candidate1", "candidate2"):
        page = new_page(browser, browser_context_args)
        browser_login(page, role)
        page.goto(f"{live_server}/exam")
        page.fill("input[name=code]", code)
        page.click("text=加入考试")
        page.click("#next-btn")
        page.wait_for_url(re.compile(r".*/drills/\d+$"))
        expect(page.locator("#messages")).to_contain_text("信用卡")
        expect(page.locator(".console-top")).to_contain_text("考试模式")
        candidates.append(page)
    c1, c2 = candidates

    # The examiner takes the KB down for everyone.
    examiner.select_option("select[name=component]", "kb")
    examiner.fill("input[name=message]", "知识库检索服务中断")
    examiner.click("#inject-btn")
    expect(examiner.locator("#faults")).to_contain_text("生效中")
    expect(c1.locator("#system-status")).to_contain_text("知识库检索服务中断", timeout=10000)
    c1.keyboard.press("Control+k")
    c1.fill("#kb-q", "信用卡账单")
    c1.press("#kb-q", "Enter")
    expect(c1.locator("#kb-results")).to_contain_text("暂不可用")

    # Candidate 1 hands the customer off with a summary.
    c1.fill("#reply", "您好，知识库暂时无法使用，我为您转接人工坐席继续办理，请稍候。")
    c1.press("#reply", "Enter")
    c1.click('.tab[data-tab="handoff"]')
    c1.fill("#handoff-form input[name=intent]", "信用卡账单查询")
    c1.fill("#handoff-form textarea[name=request]", "客户想知道本期账单金额和还款日")
    c1.fill("#handoff-form textarea[name=actions_taken]", "已致歉并说明系统故障")
    c1.click("#handoff-form button[type=submit]")
    expect(c1.locator("#handoff-status")).to_contain_text("已转入")

    # The live board shows both candidates working.
    expect(examiner.locator("#live-board")).to_contain_text("candidate2")
    for page in (c1, c2):
        page.once("dialog", lambda d: d.accept())
        page.click("#finish-btn")
        page.wait_for_url(re.compile(r".*/report$"))
        expect(page.locator("body")).to_contain_text("成绩将在考官发布后可见")

    # Marking: adjust one check with a comment, then release and export.
    examiner.reload()
    examiner.click("text=报告与调分 >> nth=0")
    form = examiner.locator("form.adjust-form").first
    form.locator("input[name=points]").fill("0")
    form.locator("input[name=comment]").fill("复核后认定未达标")
    form.locator("button").click()
    expect(examiner.locator(".flash-success")).to_contain_text("已调整分数")
    expect(examiner.locator("#checks")).to_contain_text("考官调整为 0 分：复核后认定未达标")
    expect(examiner.locator("#checks .check-row.adjusted")).to_have_count(1)
    examiner.go_back()
    examiner.goto(examiner.url.split("/drills/")[0] + "/rounds")
    examiner.click("text=秋季复面实操第一场")
    examiner.click('button[data-action="release"]')
    expect(examiner.locator(".flash-success")).to_contain_text("成绩已发布")
    with examiner.expect_download() as info:
        examiner.click("#export-xlsx")
    wb = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    rows = list(wb.active.values)
    assert rows[0][0] == "考生" and len(rows) == 3
    assert {r[1] for r in rows[1:]} == {"candidate1", "candidate2"}

    c1.reload()
    expect(c1.locator("#report-total")).to_be_visible()


def test_a_three_question_round_in_the_examiners_order_ends_on_the_complete_page(
        browser, browser_context_args, live_server, browser_login):
    """The examiner ticks 借记卡丢失 first; the candidate goes through all three questions with
    下一题 only and lands on 本场考试已完成."""
    examiner = new_page(browser, browser_context_args)
    browser_login(examiner, "examiner")
    examiner.goto(f"{live_server}/rounds")
    examiner.fill("input[name=name]", "秋季复面实操第二场")
    for scenario in ("lost-debit-card", "dormant-account", "cc-bill-enquiry"):
        examiner.check(f"input[name=scenarios][value={scenario}]")
    expect(examiner.locator("input[name=order-lost-debit-card]")).to_have_value("1")
    expect(examiner.locator("input[name=order-cc-bill-enquiry]")).to_have_value("3")
    expect(examiner.locator("#order-preview")).to_contain_text("1. 借记卡丢失紧急挂失")
    examiner.click("form button.primary")
    examiner.wait_for_url(re.compile(r".*/rounds/\d+$"))
    expect(examiner.locator("#round-order")).to_have_text(re.compile(
        r"1\. 借记卡丢失紧急挂失.*2\. 久悬账户激活咨询.*3\. 信用卡账单查询"))
    code = examiner.locator("#join-code").inner_text().strip()
    examiner.fill("textarea[name=usernames]", "candidate1")
    examiner.click("text=加入名单")
    examiner.click('button[data-action="start"]')
    expect(examiner.locator("#round-status")).to_have_text("进行中")

    page = new_page(browser, browser_context_args)
    browser_login(page, "candidate1")
    page.goto(f"{live_server}/exam")
    page.fill("input[name=code]", code)
    page.click("text=加入考试")
    expect(page.locator("#exam-index")).to_have_text("第 1 / 3 题")
    expect(page.locator("#next-btn")).to_have_text("开始作答")
    page.click("#next-btn")
    titles = ["借记卡丢失紧急挂失", "久悬账户激活咨询", "信用卡账单查询"]
    for number, title in enumerate(titles, start=1):
        page.wait_for_url(re.compile(r".*/drills/\d+$"))
        expect(page.locator(".scenario-title")).to_have_text(title)
        expect(page.locator("#exam-progress")).to_have_text(f"第 {number} / 3 题")
        expect(page.locator("#round-left")).to_have_text(re.compile(r"\d\d:\d\d"))
        expect(page.locator("#messages li").first).to_be_visible()
        page.once("dialog", lambda d: d.accept())
        page.click("#finish-btn")
        page.wait_for_url(re.compile(r".*/report$"))
        expect(page.locator("#pending-message")).to_contain_text("成绩将在考官发布后可见")
        if number < 3:
            expect(page.locator("#exam-index")).to_have_text(f"第 {number + 1} / 3 题")
            expect(page.locator("#next-btn")).to_have_text("下一题")
            page.click("#next-btn")
    expect(page.locator("#exam-complete")).to_have_text("本场考试已完成")
    expect(page.locator("#next-btn")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("等待考官开考")
