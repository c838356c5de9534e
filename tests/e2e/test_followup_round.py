"""追问 in a round, in real browsers: the examiner turns 追问 on for the scenario, the candidate hands
in and answers three items by typing and one aloud (Chromium's fake microphone), the examiner sees
the answers and the recording, marks each item against its key points with a comment, releases the
round, and both report pages show the 追问 section with the marks counted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from sandbox.drill.scenario.files import seeded_scenarios_dir
from sandbox.drill.scenario.store import save_scenario
from tests.e2e.media import AUDIO_DURATION as DURATION

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCENARIO = "cc-bill-enquiry"

# A fourth item added by a trainer: answered aloud in the test.
SPOKEN_ITEM = """
  - id: system-down
    question: 查账单时信用卡系统一直恢复不了，客户又着急，你会怎么处理？
    dimension: 应急处置
    key_points:
      - id: apologise
        text: 先向客户致歉，说明系统暂时故障
        claim:
          text: 向客户致歉
          groups: [[抱歉, 道歉, 致歉, 对不起, 不好意思]]
      - id: ticket
        text: 登记工单，恢复后回电告知
        claim:
          text: 登记工单回电
          groups: [[工单, 登记], [回电, 回访, 联系]]
    model_answer: >-
      我会先向客户致歉，说明信用卡系统暂时故障，再登记工单并留下联系方式，
      系统恢复后由工作人员回电告知账单金额和还款日；客户着急的话，也可以转人工坐席继续跟进。
"""

TYPED = {
    "why-verify": "账单金额属于客户的账户信息，只能告诉核实过的本人，所以我会先核验身份再查询。"
                  "我会请客户报姓名、身份证后六位和预留手机号后四位。我绝不会要客户的密码和验证码。",
    "minimum-explained": "只要到期前还够最低还款额，就不算逾期，不影响征信。但剩下没还的部分不享受免息，要按日计息。",
    "concise-young": "我会直接告诉他本期账单金额、最低还款额和还款日三个数，简单明了。",
}


def new_page(browser, browser_context_args):
    return browser.new_context(**browser_context_args).new_page()


def add_spoken_item(runtime, clock) -> None:
    text = (seeded_scenarios_dir() / f"{SCENARIO}.yaml").read_text(encoding="utf-8")
    assert text.rstrip().splitlines()[-1].startswith("    model_answer:")  # followups: is the last list
    with runtime.transaction() as s:
        save_scenario(s, clock, text.rstrip("\n") + "\n" + SPOKEN_ITEM.lstrip("\n"))


def test_candidate_answers_followups_typed_and_aloud_and_the_examiner_marks_them(
        browser, browser_context_args, live_server, browser_login, runtime, clock):
    add_spoken_item(runtime, clock)

    examiner = new_page(browser, browser_context_args)
    browser_login(examiner, "examiner")
    examiner.goto(f"{live_server}/rounds")
    examiner.fill("input[name=name]", "追问复面")
    examiner.check(f"input[name=scenarios][value={SCENARIO}]")
    expect(examiner.locator(f"input[name=followups-{SCENARIO}]")).to_be_checked()
    examiner.click("form button.primary")
    examiner.wait_for_url(re.compile(r".*/rounds/\d+$"))
    round_url = examiner.url
    code = examiner.locator("#join-code").inner_text().strip()
    examiner.fill("textarea[name=usernames]", "candidate1")
    examiner.click("text=加入名单")
    examiner.click('button[data-action="start"]')
    expect(examiner.locator("#round-status")).to_have_text("进行中")

    cand = new_page(browser, browser_context_args)
    browser_login(cand, "candidate1")
    cand.goto(f"{live_server}/exam")
    cand.fill("input[name=code]", code)
    cand.click("text=加入考试")
    cand.click("#next-btn")
    cand.wait_for_url(re.compile(r".*/drills/\d+$"))
    report_url = cand.url + "/report"
    cand.fill("#reply", "您好，这里是信用卡客服，请问有什么可以帮您？")
    cand.press("#reply", "Enter")
    cand.once("dialog", lambda d: d.accept())
    cand.click("#finish-btn")
    cand.wait_for_url(re.compile(r".*/report$"))

    section = cand.locator("#followups")
    expect(section.locator("article.followup")).to_have_count(4)
    expect(section).to_contain_text("提交后由考官评阅")
    expect(section.locator(".key-points")).to_have_count(0)  # no key points before release
    expect(section.locator(".model-answer")).to_have_count(0)

    for item, text in TYPED.items():
        card = cand.locator(f"#followup-{item}")
        card.locator("textarea").fill(text)
        card.locator("button[type=submit]").click()
        cand.wait_for_load_state()
        expect(cand.locator(f"#followup-{item}")).to_have_class(re.compile(r"\banswered\b"))
        expect(cand.locator(f"#followup-{item} textarea")).to_have_value(text)

    spoken = cand.locator("#followup-system-down")
    toggle = spoken.locator(".recorder-toggle")
    toggle.click()
    expect(toggle).to_have_text("停止")
    cand.wait_for_timeout(2500)
    toggle.click()
    expect(spoken.locator(".recorder-status")).to_contain_text("录音已保存", timeout=10000)
    own = spoken.locator(".recorder-result audio")
    assert own.evaluate(DURATION) > 1.0

    # The examiner's view of the drill: typed answers, the recording, pre-ticked points.
    examiner.goto(report_url)
    for item, text in TYPED.items():
        expect(examiner.locator(f"#followup-{item} .answer-text")).to_have_text(text)
    spoken_card = examiner.locator("#followup-system-down")
    expect(spoken_card.locator(".answer-text")).to_have_text("口头作答，请听录音")
    heard = spoken_card.locator(".followup-recording audio")
    expect(heard).to_be_visible()
    assert heard.evaluate(DURATION) > 1.0
    expect(spoken_card.locator(".followup-recording")).to_contain_text(re.compile(r"录音 \d+(\.\d)? 秒"))
    first = examiner.locator("#followup-why-verify .mark-form")
    for point in ("privacy", "method", "no-secret"):
        expect(first.locator(f"input[name=point-{point}]")).to_be_checked()  # the automatic coverage
    minimum = examiner.locator("#followup-minimum-explained .mark-form")
    expect(minimum.locator("input[name=point-advice]")).not_to_be_checked()

    def mark(item: str, ticks: dict[str, bool], comment: str) -> None:
        form = examiner.locator(f"#followup-{item} .mark-form")
        for point, on in ticks.items():
            form.locator(f"input[name=point-{point}]").set_checked(on)
        form.locator("input[name=comment]").fill(comment)
        form.locator("button[type=submit]").click()
        expect(examiner.locator(".flash-success")).to_contain_text("已保存追问评阅")

    mark("why-verify", {"privacy": True, "method": True, "no-secret": True}, "三点都答到了")
    mark("minimum-explained", {"not-overdue": True, "interest": True, "advice": False}, "没有建议全额还款")
    mark("concise-young", {"concise": True, "channel": False, "autopay": False}, "只答了一半")
    mark("system-down", {"apologise": True, "ticket": True}, "录音里致歉并登记回电")
    expect(examiner.locator("#followup-system-down li[data-point=ticket]")).to_contain_text("✔")
    expect(examiner.locator("#followup-system-down li[data-point=ticket]")).to_contain_text("考官判定")
    expect(examiner.locator(".followup-total")).to_contain_text("追问得分 30 / 40")

    examiner.goto(round_url)
    examiner.click('button[data-action="release"]')
    expect(examiner.locator(".flash-success")).to_contain_text("成绩已发布")

    cand.goto(report_url)
    section = cand.locator("#followups")
    expect(section.locator(".followup-total")).to_contain_text("追问得分 30 / 40")
    expect(cand.locator("#followup-minimum-explained .adjust-note")).to_contain_text("没有建议全额还款")
    expect(cand.locator("#followup-minimum-explained li[data-point=advice]")).to_contain_text("✘")
    expect(cand.locator("#followup-system-down li[data-point=apologise]")).to_contain_text("✔")
    expect(cand.locator("#followup-system-down .followup-recording audio")).to_be_visible()
    expect(section.locator("textarea")).to_have_count(0)  # marked answers are locked
    expect(section).not_to_contain_text("请逐题作答")
    expect(cand.locator("body")).to_contain_text("应急处置")
    ARTIFACTS.mkdir(exist_ok=True)
    cand.screenshot(path=str(ARTIFACTS / "followup-round.png"), full_page=True)
