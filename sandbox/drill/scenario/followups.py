"""Validation of a scenario's follow-up questions (追问): what the examiner asks after the drill,
the key points a good answer covers, a model answer and the rubric dimension the marks count in."""

from __future__ import annotations

from typing import Any

from sandbox.dialogue.keypoints import key_point_problems, parse_key_points
from sandbox.drill.scenario.errors import Collector
from sandbox.drill.scenario.model import FollowUp
from sandbox.drill.scenario.vocabulary import DIMENSIONS, KEY_SLUG

FOLLOWUP_FIELDS = ("id", "question", "dimension", "key_points", "model_answer")
MAX_FOLLOWUPS = 10
MAX_QUESTION_CHARS = 200
MAX_MODEL_ANSWER_CHARS = 1200


def parse_followups(value: Any, path: tuple, c: Collector) -> tuple[FollowUp, ...]:
    """``followups``: a list of ``{id, question, dimension, key_points, model_answer}``."""
    if value is None:
        return ()
    if not isinstance(value, list):
        c.add(path, "followups（追问）必须是列表")
        return ()
    if len(value) > MAX_FOLLOWUPS:
        c.add(path, f"追问不能超过 {MAX_FOLLOWUPS} 个")
    items: list[FollowUp] = []
    seen: set[str] = set()
    for i, raw in enumerate(value):
        p = path + (i,)
        if not isinstance(raw, dict):
            c.add(p, "每个追问必须是对象，含 id、question、dimension、key_points 和 model_answer")
            continue
        fid = raw.get("id")
        if not isinstance(fid, str) or not KEY_SLUG.match(fid):
            c.add(p + ("id",), "追问 id 必须是小写字母、数字、连字符")
            fid = ""
        elif fid in seen:
            c.add(p + ("id",), f"追问 id 重复：{fid}")
        seen.add(fid)
        question = raw.get("question")
        if not isinstance(question, str) or not question.strip():
            c.add(p + ("question",), "追问需要 question（考官的问题）")
            question = ""
        elif len(question) > MAX_QUESTION_CHARS:
            c.add(p + ("question",), f"问题不能超过 {MAX_QUESTION_CHARS} 字")
        dimension = raw.get("dimension")
        if dimension not in DIMENSIONS:
            c.add(p + ("dimension",), f"维度 {dimension!r} 无效；可选：{'、'.join(DIMENSIONS)}")
        for sub, message in key_point_problems(raw.get("key_points")):
            c.add(p + ("key_points",) + sub, message)
        model_answer = raw.get("model_answer")
        if not isinstance(model_answer, str) or not model_answer.strip():
            c.add(p + ("model_answer",), "追问需要 model_answer（参考答案）")
            model_answer = ""
        elif len(model_answer) > MAX_MODEL_ANSWER_CHARS:
            c.add(p + ("model_answer",), f"参考答案不能超过 {MAX_MODEL_ANSWER_CHARS} 字")
        for key in sorted(set(raw) - set(FOLLOWUP_FIELDS)):
            c.add(p + (key,), f"未知字段；可写：{', '.join(FOLLOWUP_FIELDS)}")
        points = parse_key_points(raw.get("key_points") if isinstance(raw.get("key_points"), list) else [])
        items.append(FollowUp(fid, question.strip(), str(dimension), points, model_answer.strip()))
    return tuple(items)
