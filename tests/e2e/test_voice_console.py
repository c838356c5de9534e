"""A voice customer turn can be heard in the console: the browser's Chinese voice, else the
server's espeak-ng clip, else the text as before (issue 18 point 3).

Which voices the browser has is pinned by an init script (Chromium's list depends on the
machine), so each test knows which way the console must go.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from sandbox.drill import speech

pytestmark = pytest.mark.browser

VOICE = "voice-misrecognition"
SAID = "喂，你好，我想查一下我信用卡这个月要还多少钱。"
HEARD = "喂你好我想查一下我信用卡这个月要换多少钱"

NO_BROWSER_VOICES = "Object.defineProperty(window.speechSynthesis, 'getVoices', {value: () => []});"
XIAOXIAO = """
window.__spoken = [];
const xiaoxiao = {name: "Microsoft Xiaoxiao Online", lang: "zh-CN", voiceURI: "xiaoxiao", localService: true,
                  default: false};
const english = {name: "Microsoft Aria", lang: "en-US", voiceURI: "aria", localService: true, default: true};
Object.defineProperty(window.speechSynthesis, 'getVoices', {value: () => [english, xiaoxiao]});
Object.defineProperty(window.speechSynthesis, 'speak',
  {value: (u) => window.__spoken.push({text: u.text, lang: u.lang, voice: u.voice && u.voice.name})});
Object.defineProperty(window.speechSynthesis, 'cancel', {value: () => {}});
window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; } };
"""


def open_voice_drill(page, live_server, browser_login):
    browser_login(page, "candidate")
    page.goto(f"{live_server}/drills")
    page.click(f'button[data-scenario="{VOICE}"]')
    page.wait_for_url(re.compile(r".*/drills/\d+$"))
    first = page.locator("#messages li.msg-customer").first
    expect(first.locator(".m-audio")).to_be_visible()
    return first


@pytest.mark.espeak
def test_a_voice_turn_plays_as_the_servers_espeak_ng_clip(page, live_server, browser_login):
    page.add_init_script(NO_BROWSER_VOICES)
    first = open_voice_drill(page, live_server, browser_login)
    expect(page.locator("#voice-status")).to_have_text("语音播放：服务器合成（espeak-ng）")
    first.get_by_role("button", name="播放客户语音").click()
    player = page.locator("#voice-player")
    expect(player).to_be_visible()
    expect(player).to_have_attribute("src", re.compile(r"/api/v1/conversations/\d+/messages/1/audio$"))
    page.wait_for_function("() => document.getElementById('voice-player').duration > 0", timeout=15000)
    duration = page.evaluate("() => document.getElementById('voice-player').duration")
    assert 1 < duration < 60
    expect(page.locator("#voice-status")).to_have_text("语音播放：服务器合成（espeak-ng）")
    # Heard, not yet read: the transcript still waits for 识别语音.
    expect(page.locator("#messages")).not_to_contain_text(HEARD)
    expect(page.locator("#messages")).not_to_contain_text(SAID)
    first.locator("button.recognize").click()
    expect(page.locator("#messages")).to_contain_text(HEARD)
    expect(page.locator("#messages")).not_to_contain_text(SAID)
    # The recognised turn keeps its 播放 button.
    expect(page.locator("#messages li.msg-customer").first.get_by_role("button", name="播放客户语音")).to_be_visible()


def test_a_voice_turn_plays_through_the_browsers_chinese_voice_when_there_is_one(page, live_server, browser_login):
    page.add_init_script(XIAOXIAO)
    first = open_voice_drill(page, live_server, browser_login)
    expect(page.locator("#voice-status")).to_have_text("语音播放：浏览器中文语音 Microsoft Xiaoxiao Online")
    first.locator("button.recognize").click()  # 识别语音 plays the turn too
    page.wait_for_function("() => window.__spoken.length > 0")
    spoken = page.evaluate("() => window.__spoken")
    assert spoken == [{"text": SAID, "lang": "zh-CN", "voice": "Microsoft Xiaoxiao Online"}]
    expect(page.locator("#messages")).to_contain_text(HEARD)
    expect(page.locator("#voice-player")).to_be_hidden()


def test_without_any_chinese_voice_the_console_says_so_and_shows_text(page, live_server, browser_login, monkeypatch):
    monkeypatch.setattr(speech, "ESPEAK", "no-such-espeak-ng")  # the server has no espeak-ng
    page.add_init_script(NO_BROWSER_VOICES)
    first = open_voice_drill(page, live_server, browser_login)
    label = "本机没有可用的中文语音，客户语音以文字显示"
    expect(page.locator("#voice-status")).to_have_text(label)
    first.get_by_role("button", name="播放客户语音").click()
    expect(page.locator("#voice-status")).to_have_text(label)
    expect(page.locator("#voice-player")).to_be_hidden()
    first.locator("button.recognize").click()
    expect(page.locator("#messages")).to_contain_text(HEARD)
