"""Key points of an interview answer: validation and coverage by meaning."""

from sandbox.dialogue.keypoints import cover, key_point_problems, parse_key_points

POINTS = [
    {"id": "verify-first", "text": "先核验身份再查询",
     "claim": [{"text": "要先核验客户身份", "groups": [["身份"], ["核验", "核实", "确认"]]}]},
    {"id": "privacy", "text": "账户信息只能告诉本人",
     "claim": {"text": "账户信息只能告诉本人", "groups": [["账户信息", "个人信息", "隐私"], ["本人"], ["告诉", "透露", "说"]]}},
]


def test_an_answer_covers_the_points_it_states_and_shows_the_sentence():
    answer = "我会先核实客户身份。因为账户信息属于隐私，只能告诉本人。"
    result = {c.point.id: c for c in cover(answer, parse_key_points(POINTS))}
    assert result["verify-first"].evidence == "我会先核实客户身份"
    assert result["privacy"].covered and "只能告诉本人" in (result["privacy"].evidence or "")


def test_negation_and_questions_cover_nothing():
    points = parse_key_points(POINTS)
    assert not cover("这种情况不用核验身份，直接查就行", points)[0].covered
    assert not cover("要不要先核实身份呢？", points)[0].covered
    assert [c.covered for c in cover("", points)] == [False, False]


def test_problems_are_reported_with_their_paths():
    assert key_point_problems([]) == [((), "至少需要一个要点（key_points），每个要点含 id、text 和 claim")]
    problems = dict(key_point_problems([
        {"id": "a", "text": "x", "claim": {"text": "y", "groups": []}},
        {"id": "a", "text": "", "claim": None, "weight": 2},
    ]))
    assert (0, "claim", "groups") in problems
    assert problems[(1, "id")].startswith("要点 id 重复")
    assert (1, "text") in problems and (1, "claim") in problems and (1, "weight") in problems
    assert key_point_problems(POINTS) == []
