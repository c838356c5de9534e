"""The interview question bank: the seed file loads, and each kind of mistake is reported with
its file:line."""

from __future__ import annotations

import textwrap

import pytest

from sandbox.dialogue.keypoints import cover
from sandbox.errors import NotFound
from sandbox.interview.bank import CATEGORIES, QuestionBankInvalid, load_bank, parse_bank

GOOD_POINTS = """\
    key_points:
      - id: a
        text: 说到耐心
        claim: {text: 我有耐心, groups: [[耐心], [有, 具备]]}
      - id: b
        text: 说到沟通
        claim: {text: 我善于沟通, groups: [[沟通], [善于, 擅长]]}
      - id: c
        text: 说到学习
        claim: {text: 我学得快, groups: [[学习, 学], [快]]}
"""


def _question(qid="q-one", category="岗位认知", time_limit="120", points=GOOD_POINTS, extra=""):
    return (f"  - id: {qid}\n    category: {category}\n    question: 你怎么理解智能客服？\n"
            f"    time_limit: {time_limit}\n" + textwrap.indent(points, "") + f"    model_answer: 我有耐心。\n{extra}")


def _errors(text: str) -> list[str]:
    with pytest.raises(QuestionBankInvalid) as err:
        parse_bank(text, file="questions.yaml")
    return [str(e) for e in err.value.errors]


def test_the_seed_bank_loads_and_every_model_answer_covers_its_own_key_points():
    bank = load_bank()
    assert bank.questions and {q.category for q in bank.questions} <= set(CATEGORIES)
    intro = bank.get("self-intro")
    assert intro.time_limit == 60 and intro.countdown
    for q in bank.questions:
        assert 3 <= len(q.key_points) <= 6
        missed = [c.point.id for c in cover(q.model_answer, q.key_points) if not c.covered]
        assert not missed, (q.id, missed)
    with pytest.raises(NotFound):
        bank.get("no-such-question")


def test_a_valid_file_parses():
    bank = parse_bank("questions:\n" + _question())
    assert [q.id for q in bank.questions] == ["q-one"] and len(bank.questions[0].key_points) == 3


def test_unknown_category_with_its_line():
    errors = _errors("questions:\n" + _question(category="闲聊"))
    assert errors == ["questions.yaml:3: questions[0].category: 未知类别 '闲聊'；"
                      "可选：自我介绍 岗位认知 隐私保护 效率与质量 压力"]


@pytest.mark.parametrize("category,limit,fragment", [("岗位认知", "30", "90–180"), ("岗位认知", "200", "90–180"),
                                                      ("岗位认知", "一分钟", "整数秒"), ("自我介绍", "90", "60 秒")])
def test_bad_time_limit_with_its_line(category, limit, fragment):
    errors = _errors("questions:\n" + _question(category=category, time_limit=limit))
    assert len(errors) == 1 and errors[0].startswith("questions.yaml:5: questions[0].time_limit:") and fragment in errors[0]


def test_missing_or_too_few_key_points_with_their_line():
    errors = _errors("questions:\n" + _question(points="    key_points: []\n"))
    assert errors[0].startswith("questions.yaml:6: questions[0].key_points:")
    no_claim = GOOD_POINTS.replace("        claim: {text: 我学得快, groups: [[学习, 学], [快]]}\n", "")
    errors = _errors("questions:\n" + _question(points=no_claim))
    assert errors == ["questions.yaml:13: questions[0].key_points[2].claim: 要点需要 claim（用来识别回答是否说到这一点的说法）"]
    two = GOOD_POINTS.split("      - id: c")[0]
    errors = _errors("questions:\n" + _question(points=two))
    assert errors == ["questions.yaml:6: questions[0].key_points: 要点应为 3–6 个（现有 2 个）"]


def test_duplicate_ids_and_unknown_fields_with_their_lines():
    text = "questions:\n" + _question() + _question(extra="    hint: 多练\n")
    errors = _errors(text)
    assert errors[0].startswith("questions.yaml:17: questions[1].id: id 重复：q-one")
    assert errors[1].startswith("questions.yaml:32: questions[1].hint: 未知字段")


def test_yaml_syntax_and_top_level_shape():
    assert _errors("questions: [\n")[0].startswith("questions.yaml:")
    assert _errors("- id: x\n") == ["questions.yaml:1: questions: 顶层必须是 questions: 后跟至少一道题的列表"]
