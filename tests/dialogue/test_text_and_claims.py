"""Normalisation, clause splitting and claims: numbers in every spelling, facts bound to
their slot, propositions read with negation."""

from __future__ import annotations

import pytest

from sandbox.dialogue.claims import (
    FORBIDDEN_CLAIMS,
    Proposition,
    claims_in,
    match_proposition,
    read_fact,
    wrong_propositions,
)
from sandbox.dialogue.text import chinese_number, normalise, split_clauses


@pytest.mark.parametrize("raw,expected", [
    ("9900 0217 4985 3816", "9900021749853816"), ("187-8035-0292", "18780350292"),
    ("１８７８０３５０２９２", "18780350292"), ("一八七八〇三五〇二九二", "18780350292"),
    ("賬單金額", "账单金额"), ("8,632.50元", "8632.50元"), ("2026-12-15", "2026-12-15"),
])
def test_normalise_makes_numbers_and_script_plain(raw, expected):
    assert expected in normalise(raw)


@pytest.mark.parametrize("raw,value", [("八千六百三十二", 8632), ("八千六", 8600), ("两万", 20000), ("三点五", 3.5),
                                       ("一百零五", 105), ("两千零五十", 2050)])
def test_chinese_numbers(raw, value):
    assert chinese_number(raw) == value


def test_clauses_split_at_sentences_and_substantial_commas_keep_conditions_whole():
    clauses = [c.text for c in split_clauses("您好，很高兴为您服务！如果只还最低还款额，剩下的部分要按天计息，也会影响免息期。")]
    assert [c.replace(",", "，") for c in clauses] == ["您好", "很高兴为您服务", "如果只还最低还款额，剩下的部分要按天计息",
                                                       "也会影响免息期"]


SLOTS = ["bill_amount", "bill_minimum", "bill_due_date"]


def test_values_bind_to_their_own_slot():
    said = "您本期账单金额为8,632.50元，到期还款日是12月15日。最低还款额863.25元"
    claims = {(c.slot, str(c.value)) for c in claims_in(said, SLOTS)}
    assert ("bill_amount", "8632.50") in claims and ("bill_minimum", "863.25") in claims
    assert ("bill_due_date", "(None, 12, 15)") in claims


@pytest.mark.parametrize("text", ["系统数据：8632.50、2026-12-15、863.25", "8632.50", "数据 8632.50 863.25 12-15"])
def test_a_number_dump_states_nothing(text):
    reading = read_fact(text, "bill_amount", "8632.50")
    assert not reading.right and not reading.stated


@pytest.mark.parametrize("text", ["您这期要还八千六百三十二块五", "本期应还8632元5角", "账单是 8,632.50 元"])
def test_amounts_in_other_words_are_stated(text):
    assert read_fact(text, "bill_amount", "8632.50").stated


@pytest.mark.parametrize("text", ["您本期账单是8623.50元", "账单大概8000元或者9000元吧"])
def test_a_wrong_or_hedged_value_is_a_wrong_claim(text):
    reading = read_fact(text, "bill_amount", "8632.50")
    assert reading.wrong and not reading.stated


def test_dates_compare_by_day():
    assert read_fact("请在12月15号之前还款", "bill_due_date", "2026-12-15").stated
    assert read_fact("最后还款日是12月16日", "bill_due_date", "2026-12-15").wrong


@pytest.mark.parametrize("text,wrong", [
    ("只还最低的话，剩下的部分同样免息，不产生任何利息", True),
    ("只还最低还款额不会产生利息", True),
    ("只还最低还款额的话剩余部分不享受免息，会按日计息", False),
    ("如果只还最低的，剩下没还的钱要按天算利息", False),
    ("临时挂失是长期有效的", True), ("临时挂失只有5天有效，之后要去网点办正式挂失", False),
    ("分期没有任何手续费", True), ("分期每期要收手续费", False),
    ("您把测评选高一点就能买了", True), ("风险测评要如实填写", False),
])
def test_forbidden_claims_are_read_with_negation(text, wrong):
    assert bool(wrong_propositions(text, FORBIDDEN_CLAIMS)) is wrong


def test_a_required_proposition_matches_paraphrases_in_its_polarity():
    prop = Proposition("m", "只还最低还款额会产生利息", (("最低", "只还一部分"), ("利息", "计息", "免息")))
    assert match_proposition("只还最低的话，剩下的钱不享受免息期，要算利息。", prop)
    assert match_proposition("只还一部分的话，没还的部分会计息", prop)
    assert not match_proposition("只还最低的话，剩下的同样免息。", prop)
