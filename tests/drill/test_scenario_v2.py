"""Scenario format v2: pools, mood effects, lines, identity variants; bad input refused with file:line."""

from __future__ import annotations

import pytest

from sandbox.drill.facts import customer_ids, customer_record, identity_variants, pool_members, record_facts
from sandbox.drill.scenario.errors import ScenarioInvalid
from sandbox.drill.scenario.parse import parse_scenario

BASE = """\
id: pool-demo
version: 1
title: 客户池示例
summary: 一位客户咨询信用卡账单。
difficulty: 初级
persona: [青年]
tags: [示例]
time_limit: 300
brief: 接待客户。
expected_outcome: 告知账单金额。
facts: {}
contacts:
  - key: main
    CUSTOMER
    channel: 文字
    patience: 60
EXTRA
    opening:
      - 你好，我想问下这个月信用卡要还多少？
    needs:
      - id: amount
        ask: [这个月要还多少？]
        met_by: {fact: bill_amount}
        answer: 您本期账单金额是{bill_amount}元。
RULES
reference_run:
  - op: say
    text: 您好。
  - op: finish
checks:
  - id: amount
    type: reply_fact
    fact: bill_amount
    dimension: 专业适配
    points: 10
    title: 告知账单金额
"""


def scenario(customer: str = "customer: C001", extra: str = "", rules: str = "") -> str:
    return BASE.replace("CUSTOMER", customer).replace("EXTRA\n", extra).replace("RULES\n", rules)


def errors_of(text: str) -> list[str]:
    with pytest.raises(ScenarioInvalid) as info:
        parse_scenario(text, "pool-demo.yaml", customer_ids())
    return [str(e) for e in info.value.errors]


def test_a_v2_contact_with_a_pool_mood_effects_and_lines_parses():
    text = scenario("customer_pool: {segment: [青年, 普通], has: [bill]}",
                    "    mood_effects: {empathize: 2, rude: -3, silence: -2}\n"
                    "    lines: {silence: \"喂？{honorific}在听吗？\", term: \"“{term}”我听不懂。\"}\n"
                    "    claims: {name: \"{name_typo}\"}\n")
    spec = parse_scenario(text, "pool-demo.yaml", customer_ids())
    contact = spec.contacts[0]
    assert contact.customer_pool == {"segment": ["青年", "普通"], "has": ["bill"]}
    members = pool_members(contact.customer_pool)
    assert contact.customer == members[0] and len(members) > 5
    assert contact.mood_effects == {"empathize": 2, "rude": -3, "silence": -2}
    assert contact.lines["silence"].startswith("喂？") and contact.claims == {"name": "{name_typo}"}


def test_persona_is_accepted_as_the_pools_segment():
    spec = parse_scenario(scenario("customer_pool: {persona: 老年, has: [bill]}"), "pool-demo.yaml", customer_ids())
    assert all(customer_record(c)["segment"] == "老年" for c in pool_members(spec.contacts[0].customer_pool))


def test_a_pool_that_matches_nobody_is_refused_with_its_line():
    errs = errors_of(scenario("customer_pool: {segment: 企业, magic: cc_bill}"))
    assert any("pool-demo.yaml:14" in e and "没有匹配任何模拟客户" in e for e in errs), errs


def test_unknown_pool_keys_and_features_are_refused():
    errs = " ".join(errors_of(scenario("customer_pool: {segment: 青年, has: [yacht], colour: red}")))
    assert "yacht" in errs and "colour" in errs


def test_a_need_no_pool_member_can_meet_is_refused():
    # C003 has no credit card: a need for the bill amount could never be met.
    errs = errors_of(scenario("customer: C003"))
    assert any("C003" in e and "永远无法满足" in e for e in errs), errs


def test_a_need_waiting_for_something_the_agent_cannot_do_is_refused():
    text = scenario().replace("met_by: {fact: bill_amount}", "met_by: {op: message.customer}")
    errs = " ".join(errors_of(text))
    assert "不是坐席能做的操作" in errs


def test_rules_that_wait_for_each_other_are_refused():
    rules = ("    rules:\n"
             "      - id: first\n        when: {op: identity.verified, after_rule: second}\n        reply: 好的。\n"
             "      - id: second\n        when: {op: lookup.bill, after_rule: first}\n        reply: 嗯。\n")
    errs = errors_of(scenario(rules=rules))
    assert any("互相等待" in e and "first → second → first" in e for e in errs), errs


def test_unknown_acts_mood_effects_and_lines_are_refused():
    rules = "    rules:\n      - id: odd\n        when: {act: flatter}\n        reply: 哈哈。\n"
    errs = " ".join(errors_of(scenario(extra="    mood_effects: {charm: 2, rude: -9}\n    lines: {farewell: 再见}\n",
                                       rules=rules)))
    assert "flatter" in errs and "charm" in errs and "-3 到 3" in errs and "farewell" in errs


def test_a_silence_rule_beside_needs_is_refused():
    rules = "    rules:\n      - id: waiting\n        when: {silence: 60}\n        reply: 还在吗？\n        once: false\n"
    errs = errors_of(scenario(rules=rules))
    assert any("silence" in e and "议程" in e for e in errs), errs


def test_literal_placeholders_are_checked_in_claims_and_rule_phrases():
    rules = "    rules:\n      - id: leak\n        when: {said_any: [\"{phone_tail}\"]}\n        reply: 哦。\n"
    errs = " ".join(errors_of(scenario(extra="    claims: {name: \"{nickname}\"}\n", rules=rules)))
    assert "{nickname}" in errs and "{phone_tail}" in errs


def test_a_need_without_an_answer_is_refused():
    errs = errors_of(scenario().replace("        answer: 您本期账单金额是{bill_amount}元。\n", ""))
    assert any("answer" in e for e in errs), errs


def test_identity_variants_of_a_name_and_numbers():
    v = identity_variants("黄卫东", "男", "440106197501193474", "13800004261")
    assert v["name_misheard"] == "王卫东" and v["honorific"] == "黄先生" and v["title"] == "先生"
    assert v["name_typo"] == "黄伟东" and v["phone_last4_wrong"] == "4216"
    assert v["id_last6_spoken"] == "一九三四七四" and v["id_last6_dropped"] == "19344"
    assert identity_variants("刘晓雯", "女", "44010619900101056X", "13900002631")["id_last6_spoken"].endswith("叉")
    facts = record_facts(customer_record("C012"))
    assert facts["name_typo"] == "刘小雯" and facts["phone_last4_wrong"] == "2613"


FOLLOWUPS = """\
followups:
  - id: verify-first
    question: 为什么先核验身份再查询？
    dimension: 职业素养
    key_points:
      - id: privacy
        text: 账户信息只能告诉本人
        claim:
          text: 账户信息只能告诉本人
          groups: [[账户信息, 隐私], [本人], [告诉, 透露]]
    model_answer: 账户信息属于隐私，只能告诉核实过的本人。
"""


def test_followups_parse_with_their_key_points():
    spec = parse_scenario(scenario() + FOLLOWUPS, "pool-demo.yaml", customer_ids())
    item = spec.followup("verify-first")
    assert item.dimension == "职业素养" and item.key_points[0].id == "privacy"
    assert item.to_dict(with_answers=False) == {"id": "verify-first", "question": "为什么先核验身份再查询？",
                                                "dimension": "职业素养"}


def test_a_followup_without_key_points_or_with_an_unknown_dimension_is_refused_with_its_line():
    text = scenario() + FOLLOWUPS.replace("职业素养", "口才").replace("""    key_points:
      - id: privacy
        text: 账户信息只能告诉本人
        claim:
          text: 账户信息只能告诉本人
          groups: [[账户信息, 隐私], [本人], [告诉, 透露]]
""", "    key_points: []\n")
    errors = errors_of(text)
    first_line = text.splitlines().index("followups:") + 1
    assert any(f"pool-demo.yaml:{first_line + 3}: followups[0].dimension" in e and "口才" in e for e in errors), errors
    assert any(f"pool-demo.yaml:{first_line + 4}: followups[0].key_points" in e and "至少需要一个要点" in e
               for e in errors), errors


def test_a_key_point_claim_without_groups_is_refused():
    errors = errors_of(scenario() + FOLLOWUPS.replace("groups: [[账户信息, 隐私], [本人], [告诉, 透露]]", "groups: []"))
    assert any("followups[0].key_points[0].claim.groups" in e for e in errors), errors
