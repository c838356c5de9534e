"""A candidate practises the self-introduction: the 60-second countdown, a recording made with
Chromium's fake microphone, saved and played back, then a typed answer and its key points."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.media import AUDIO_DURATION as DURATION

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_candidate_records_and_types_the_self_introduction(page, live_server, browser_login):
    browser_login(page, "candidate")
    page.goto(f"{live_server}/practice/interview")
    page.click('a[data-question="self-intro"]')
    page.wait_for_url(re.compile(r".*/practice/interview/self-intro$"))
    countdown = page.locator("#answer-countdown")
    expect(countdown).to_have_text("60 秒")
    expect(page.locator("#answer-text")).to_be_disabled()  # input opens with 开始作答
    expect(page.locator(".transcriber-note")).to_contain_text("语音识别")

    page.click("#start-answer")
    expect(countdown).to_have_text(re.compile(r"^5\d 秒$"), timeout=5000)
    expect(page.locator("#answer-text")).to_be_enabled()

    toggle = page.locator(".recorder-toggle")
    toggle.click()
    expect(toggle).to_have_text("停止")
    expect(page.locator(".recorder-clock")).to_have_text(re.compile(r"剩余 5\d 秒"))
    page.wait_for_timeout(2500)
    toggle.click()
    audio = page.locator(".recorder-result audio")
    expect(audio).to_be_visible(timeout=10000)
    expect(page.locator(".recorder-result .recording-stats")).to_contain_text(re.compile(r"时长 \d+ 秒，停顿 \d+ 次"))
    duration = audio.evaluate(DURATION)
    assert duration and 1.0 < duration < 10, duration

    page.fill("#answer-text", "我叫小王，金融专业毕业，在银行网点实习过半年。我性格比较有耐心，也善于倾听和沟通。")
    page.click("#submit-answer")
    result = page.locator("#answer-result")
    expect(result).to_be_visible()
    expect(result.locator('li[data-point="service-traits"]')).to_contain_text("✔")
    expect(result.locator('li[data-point="service-traits"] .evidence')).to_contain_text("耐心")
    expect(result.locator('li[data-point="motivation"]')).to_contain_text("✘")
    expect(result.locator('[data-role="score"]')).to_have_text("2 / 5")
    expect(page.locator("#result-model")).not_to_be_empty()
    played = result.locator("#result-recording audio")
    expect(played).to_be_visible()
    assert played.evaluate(DURATION) > 0
    expect(page.locator("#answer-text")).to_be_disabled()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "interview-practice.png"), full_page=True)

    page.goto(f"{live_server}/practice/interview")
    expect(page.locator("#interview-history")).to_contain_text("2 / 5")


def test_the_countdown_stops_input_at_zero(page, live_server, browser_login):
    browser_login(page, "candidate")
    page.goto(f"{live_server}/practice/interview/self-intro")
    # Fast-forward the page's clock: the countdown reads Date.now().
    page.evaluate("""() => { const real = Date.now.bind(Date); let shift = 0;
        Date.now = () => real() + shift; window.__skip = (s) => { shift += s * 1000; }; }""")
    page.click("#start-answer")
    page.locator(".recorder-toggle").click()
    expect(page.locator(".recorder-toggle")).to_have_text("停止")
    page.evaluate("window.__skip(61)")
    expect(page.locator("#answer-countdown")).to_have_text("0 秒")
    expect(page.locator("#answer-text")).to_be_disabled()
    expect(page.locator(".recorder-toggle")).to_be_disabled()
    expect(page.locator(".recorder-result audio")).to_be_visible(timeout=10000)  # what was said is kept
