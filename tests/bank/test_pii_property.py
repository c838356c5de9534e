"""Property: a card, ID or mobile number, in any spelling, never comes back in clear.

Numbers: cards of 16–19 digits (Luhn-valid or not), ID numbers (valid or wrong check
character, ``X`` included), mobile numbers. Spellings: ASCII, full-width, Chinese numerals
or a mix; no separator, spaces, dashes, dots, underscores, ``、``, full-width space or dash,
zero-width space, new lines, in natural or random groups; letters glued on either side.

The pure function is checked on many examples; the app path sends the numbers as drill
replies, free-practice messages, work-order text, handoff summaries and roster names, and
reads back every answer, page and export, normalised (digits folded, separators dropped)
before searching.
"""

from __future__ import annotations

import csv
import io
import itertools
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.bank.masking import find_clear_pii, id_check_digit, redact
from tests.bank.pii_helpers import assert_no_clear, compact

FULL_WIDTH = {**{str(d): chr(0xFF10 + d) for d in range(10)}, "X": "Ｘ"}
CHINESE = {"0": "〇零", "1": "一幺", "2": "二", "3": "三", "4": "四", "5": "五", "6": "六", "7": "七", "8": "八",
           "9": "九", "X": "X"}
SEPARATORS = ["", " ", "-", ".", "_", "、", "\u3000", "－", " - ", "\u200b", "\n", "  "]
NATURAL_GROUPS = {"card": [4, 4, 4, 4, 3], "id_number": [6, 8, 4], "phone": [3, 4, 4]}
PREFIXES = ["", "卡号", "card", "No", "ID:", "号码是", "tel"]
SUFFIXES = ["", "x", "号", "。", "abc", "，谢谢"]
DIGITS = "0123456789"


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str(-total % 10)


@st.composite
def numbers(draw) -> tuple[str, str]:
    """``(kind, canonical digits)``: a card, an ID number or a mobile number."""
    kind = draw(st.sampled_from(["card", "id_number", "phone"]))
    if kind == "card":
        body = draw(st.text(DIGITS, min_size=15, max_size=18))
        last = _luhn_digit(body) if draw(st.booleans()) else draw(st.sampled_from(DIGITS))
        return kind, body + last
    if kind == "id_number":
        first17 = (draw(st.sampled_from("123456789")) + draw(st.text(DIGITS, min_size=5, max_size=5))
                   + draw(st.dates(date(1930, 1, 1), date(2010, 12, 31))).strftime("%Y%m%d")
                   + draw(st.text(DIGITS, min_size=3, max_size=3)))
        right = id_check_digit(first17)
        check = right if draw(st.booleans()) else draw(st.sampled_from([c for c in DIGITS + "X" if c != right]))
        return kind, first17 + check
    return kind, "1" + draw(st.sampled_from("3456789")) + draw(st.text(DIGITS, min_size=9, max_size=9))


@st.composite
def spelled(draw) -> tuple[str, str, str]:
    """``(kind, canonical digits, the number as written in a message)``."""
    kind, digits = draw(numbers())
    style = draw(st.sampled_from(["ascii", "full_width", "chinese", "mixed"]))
    chars = []
    for ch in digits:
        s = draw(st.sampled_from(["ascii", "full_width", "chinese"])) if style == "mixed" else style
        if s == "full_width":
            chars.append(FULL_WIDTH[ch])
        elif s == "chinese":
            chars.append(draw(st.sampled_from(CHINESE[ch])))
        else:
            chars.append(ch if ch != "X" else draw(st.sampled_from("Xx")))
    sep = draw(st.sampled_from(SEPARATORS))
    sizes = NATURAL_GROUPS[kind] if draw(st.booleans()) else draw(st.lists(st.integers(1, 6), min_size=19,
                                                                           max_size=19))
    groups, pos = [], 0
    for size in sizes:
        if pos < len(chars):
            groups.append("".join(chars[pos:pos + size]))
            pos += size
    if pos < len(chars):
        groups.append("".join(chars[pos:]))
    text = draw(st.sampled_from(PREFIXES)) + sep.join(groups) + draw(st.sampled_from(SUFFIXES))
    return kind, digits, text


CONTEXT = "金额 8632.50 元，{}，到期日 2026-12-15，工单 WO20261128-0001，尾号 0292。"


@settings(max_examples=500, deadline=None)
@given(spelled())
def test_redact_masks_every_spelling_and_nothing_else(sample):
    kind, digits, number = sample
    text = CONTEXT.format(number)
    out = redact(text)
    assert digits not in compact(out), (text, out)
    found = find_clear_pii(text)
    assert len(found) == 1 and found[0][1] in out, (text, found, out)
    assert found[0][0] == kind or (kind == "card" and found[0][0] == "id_number")  # 18 digits read as an ID
    for ordinary in ("8632.50", "2026-12-15", "WO20261128-0001", "尾号 0292"):
        assert ordinary in out
    assert redact(out) == out


def test_no_spelling_comes_back_in_clear_through_the_app(login_as, api):
    cand, examiner = login_as("candidate"), login_as("examiner")
    ex_api = api("examiner")
    rnd = ex_api.post("/api/v1/rounds", json={"name": "脱敏性质测试", "scenarios": ["cc-bill-enquiry"]}).get_json()
    counter = itertools.count(1)

    def ok(resp, numbers, status=200):
        assert resp.status_code == status, (resp.request.path, resp.status_code, resp.get_data(as_text=True)[:300])
        assert_no_clear(resp, numbers)
        return resp

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                     HealthCheck.too_slow])
    @given(st.lists(spelled(), min_size=3, max_size=3))
    def scenario(samples):
        (_, d1, t1), (_, d2, t2), (_, d3, t3) = samples
        nums = [d1, d2, d3]
        n = next(counter)
        drill = ok(cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry", "mode": "practice"}), nums,
                   201).get_json()
        conv = drill["conversations"][0]["id"]
        ok(cand.post(f"/api/v1/conversations/{conv}/messages", json={"text": f"您好，核对一下：{t1}，{t2}"}), nums, 201)
        ok(cand.get(f"/api/v1/conversations/{conv}/messages"), nums)
        wo = ok(cand.post("/api/v1/workorders", json={
            "category": "信用卡", "title": "客户来电", "conversation_id": conv,
            "description": f"客户报了 {t2}，另一个号码 {t3}"}), nums, 201).get_json()["number"]
        handoff = ok(cand.post(f"/api/v1/conversations/{conv}/handoff", json={"queue": "人工坐席", "summary": {
            "intent": f"核对 {t1}", "request": f"客户要求改绑 {t3}"}}), nums, 201).get_json()["id"]
        ok(cand.post(f"/api/v1/drills/{drill['id']}/finish"), nums)
        for client in (cand, examiner):
            ok(client.get(f"/drills/{drill['id']}/report"), nums)
        ok(cand.get(f"/api/v1/drills/{drill['id']}/report"), nums)
        ok(examiner.get(f"/api/v1/drills/{drill['id']}/events"), nums)
        ok(cand.get(f"/api/v1/workorders/{wo}"), nums)
        ok(cand.get(f"/workorders/{wo}"), nums)
        ok(examiner.get(f"/handoffs/{handoff}"), nums)
        ok(examiner.get(f"/api/v1/handoffs/{handoff}"), nums)

        free = ok(cand.post("/api/v1/conversations", json={"customer_id": "C001", "channel": "文字"}), nums,
                  201).get_json()["id"]
        ok(cand.post(f"/api/v1/conversations/{free}/messages", json={"text": f"我的号码 {t3}", "as": "customer"}),
           nums, 201)
        ok(cand.get(f"/api/v1/conversations/{free}/messages?as=customer"), nums)
        ok(examiner.get(f"/api/v1/conversations/{free}/messages"), nums)

        roster = io.StringIO()
        csv.writer(roster).writerow([f"pii{n}", f"王{t1}"[:64]])
        added = ok(ex_api.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"csv": roster.getvalue()}), nums)
        assert added.get_json()["created"][0]["username"] == f"pii{n}"
        for fmt in ("csv", "xlsx"):
            ok(ex_api.get(f"/api/v1/rounds/{rnd['id']}/export?format={fmt}"), nums)
        ok(examiner.get(f"/rounds/{rnd['id']}"), nums)

    scenario()
