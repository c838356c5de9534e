"""Masking rules on free text: every spelling of a full number is found and masked; ordinary
numbers (amounts, dates, work-order numbers, tails) stay as they are."""

from __future__ import annotations

import pytest

from sandbox.bank.masking import Clear, find_clear_pii, luhn_valid, redact, redact_data

# (text as an attacker or a careless agent writes it, the redacted text)
SPELLINGS = [
    ("9900 0217 4985 3816", "990002******3816"),
    ("440106-19960417-0956", "4401**********0956"),
    ("187-8035-0292", "187****0292"),
    ("card9900021749853816x", "card990002******3816x"),
    ("１８７８０３５０２９２", "187****0292"),
    ("一八七八〇三五〇二九二", "187****0292"),
    ("幺八七 八〇三五 〇二九二", "187****0292"),
    ("１８７－８０３５－０２９２", "187****0292"),
    ("187.8035.0292", "187****0292"),
    ("187_8035_0292", "187****0292"),
    ("187、8035、0292", "187****0292"),
    ("1 8 7 8 0 3 5 0 2 9 2", "187****0292"),
    ("187\u200b8035\u200b0292", "187****0292"),
    ("187\u30008035\u30000292", "187****0292"),
    ("187 - 8035 - 0292", "187****0292"),
    ("tel18780350292end", "tel187****0292end"),
    ("+86 187 8035 0292", "+86187****0292"),
    ("+8618780350292", "+86187****0292"),
    ("卡号9900021749853817（校验位不对也要遮住）", "卡号990002******3817（校验位不对也要遮住）"),
    ("990002174985381", "990002174985381"),  # 15 digits and no birth date: not a number we mask
    ("6222 0202 0000 1234 567", "622202*********4567"),
    ("身份证11010519491231002X已登记", "身份证1101**********002X已登记"),
    ("身份证11010519491231002x", "身份证1101**********002X"),
    ("440106 19960417 095X", "4401**********095X"),
    ("４４０１０６１９９６０４１７０９５Ｘ", "4401**********095X"),
    ("440106199604170951", "4401**********0951"),  # wrong check digit: masked all the same
    ("老身份证 110105491231002", "老身份证 1101*******1002"),
    ("卡号 9900 0217 4985 3816 2026 年办的", "卡号 990002******3816 2026 年办的"),
    ("13812345678 13987654321", "138****5678 139****4321"),
]

ORDINARY = [
    "您本期账单 8632.50 元，最低还款 863.25 元，到期日 2026-12-15。",
    "已为您创建工单 WO20261128-0001，2026 年 12 月 15 日前回电。",
    "工单 WO20261128-0001 2026年12月处理；WO20261128-0002 同步跟进。",
    "身份证后六位 170956，手机尾号 0292，卡号尾号 3816。",
    "交易日期 2026-12-15 2026-12-16，金额 8632.50 1200.00 300.00 45.00。",
    "您的卡号尾号1234，手机号138****5678。",
    "流水号 20260831000001",
    "服务器 192.168.100.10 在 2026-11-28T10:15:00.123456+08:00 记录",
    "客服热线 95588，信用卡中心 400-820-8820。",
    "二〇二六年十二月十五日前还款一千二百元。",
]


@pytest.mark.parametrize("text,expected", SPELLINGS)
def test_every_spelling_is_masked(text, expected):
    assert redact(text) == expected
    assert redact(expected) == expected  # masking a masked text changes nothing


@pytest.mark.parametrize("text,expected", SPELLINGS)
def test_detection_finds_what_redaction_masks(text, expected):
    found = find_clear_pii(text)
    assert bool(found) == (text != expected)
    for _kind, masked in found:
        assert masked in redact(text)
    assert find_clear_pii(redact(text)) == []


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_numbers_stay_readable(text):
    assert redact(text) == text
    assert find_clear_pii(text) == []


def test_checksum_does_not_matter():
    valid, invalid = "9900021749853816", "9900021749853817"
    assert luhn_valid(valid) and not luhn_valid(invalid)
    assert find_clear_pii(valid) == [("card", "990002******3816")]
    assert find_clear_pii(invalid) == [("card", "990002******3817")]


def test_kinds_and_display_formats():
    assert find_clear_pii("卡 6200001234561234 身份证 11010519491231002X 手机 13812345678") == [
        ("card", "620000******1234"), ("id_number", "1101**********002X"), ("phone", "138****5678")]


def test_redact_data_walks_json_and_leaves_clear_values_and_numbers():
    data = {"a": ["卡号 9900 0217 4985 3816", {"b": "187-8035-0292"}], "n": 13812345678, "ok": "8632.50",
            "reveal": Clear("13812345678"), "t": ("１８７８０３５０２９２",)}
    out = redact_data(data)
    assert out == {"a": ["卡号 990002******3816", {"b": "187****0292"}], "n": 13812345678, "ok": "8632.50",
                   "reveal": "13812345678", "t": ("187****0292",)}
    clean = {"x": ["nothing here"], "y": 1}
    assert redact_data(clean) is clean  # nothing copied when nothing changed
