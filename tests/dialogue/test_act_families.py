"""Families of correct agent sentences that scenario writers found misread (none of these
sentences is in the corpus): anti-fraud advice about screen sharing is not asking for a
secret, mid-conversation lines are not closing, talk about renewing an ID is not asking for
identity, and terse impatience is rude or blame, not neutral. Their neighbours still read as
before."""

from __future__ import annotations

import pytest

from sandbox.dialogue.corpus import load_corpus
from sandbox.dialogue.reader import read_message
from sandbox.dialogue.rules import asks_for_secret


def _acts(text: str) -> list[str]:
    return read_message(text).acts()


SCREEN_ADVICE = ["请您立即关掉屏幕共享", "先停止屏幕共享，挂断对方电话", "不要给对方开屏幕共享", "马上把屏幕共享关了",
                 "赶紧关闭共享屏幕", "任何人让您共享屏幕都别答应", "把远程协助断开，别再让对方操作",
                 "请卸载对方让您装的远程控制软件", "不要按对方说的打开屏幕共享功能", "阿姨，先把那个屏幕共享停了"]
MID_CONVERSATION = ["欢迎咨询", "大约三分钟后回来答复您", "前面还有一位客户", "需要一次还清", "说过了吧", "在这天之前还上就行",
                    "咱们一步步来", "输的时候别让旁人看见", "阿姨，我多问一句", "这个意见我会如实记下来", "欢迎来电咨询",
                    "我再多问您一句", "咱们先来看第一步", "别急，咱们一项一项弄"]
ID_RENEWAL = ["身份证到期后需要更新", "您的身份证有效期快到了，到期后要更新一下", "身份证换了新证，要在手机银行里重新上传"]
IMPATIENT = ["这都不会？", "我管不了", "别催", "说了多少遍了", "你自己看吧", "跟你说不清", "急什么", "这事我管不着", "催什么催",
             "别一直催了", "跟您解释不清楚", "急有什么用", "你着什么急"]


def test_none_of_these_sentences_is_in_the_corpus():
    texts = {e.text for e in load_corpus()}
    assert texts.isdisjoint(SCREEN_ADVICE + MID_CONVERSATION + ID_RENEWAL + IMPATIENT)


@pytest.mark.parametrize("text", SCREEN_ADVICE)
def test_screen_sharing_advice_is_not_asking_for_a_secret(text):
    acts = _acts(text)
    assert "ask_secret" not in acts, acts
    assert set(acts) & {"warn_secret", "instruct", "risk_disclosure"}, acts


@pytest.mark.parametrize("text", ["您打开屏幕共享，我帮您看一下", "开个屏幕共享我远程帮您操作", "麻烦您开一下远程协助",
                                  "先别关屏幕共享，我帮您操作", "请开屏幕共享防止被骗"])
def test_asking_for_screen_sharing_is_still_asking_for_a_secret(text):
    assert _acts(text)[0] == "ask_secret"
    assert asks_for_secret(read_message(text).clauses[0].text) is True


@pytest.mark.parametrize("text", MID_CONVERSATION)
def test_mid_conversation_lines_are_not_closing(text):
    assert "closing" not in _acts(text)


@pytest.mark.parametrize("text", ["请问还有其他可以帮您的吗？", "您还有别的问题吗", "祝您生活愉快", "那今天就先到这里，再见",
                                  "感谢您的来电，再见"])
def test_winding_up_is_still_closing(text):
    assert "closing" in _acts(text)


@pytest.mark.parametrize("text", ID_RENEWAL)
def test_id_renewal_is_explained_not_asked(text):
    acts = _acts(text)
    assert "ask_identity" not in acts, acts
    assert set(acts) & {"explain", "inform", "instruct"}, acts


@pytest.mark.parametrize("text", ["请报一下身份证后六位", "麻烦提供一下您的身份证号码后六位", "需要先核实您的身份",
                                  "您的姓名和身份证后六位", "您身份证最后一位是字母X对吧"])
def test_asking_for_identity_is_still_ask_identity(text):
    assert "ask_identity" in _acts(text)


@pytest.mark.parametrize("text", IMPATIENT)
def test_terse_impatience_is_rude_or_blame(text):
    acts = _acts(text)
    assert set(acts) & {"rude", "blame"}, acts


@pytest.mark.parametrize("text", ["我再帮您催一下进度", "您着急的心情我能理解", "我理解您着急，我马上查",
                                  "这个问题我说得不够清楚，我再解释一下"])
def test_their_polite_neighbours_are_not_rude(text):
    acts = _acts(text)
    assert not set(acts) & {"rude", "blame"}, acts
