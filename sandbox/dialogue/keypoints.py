"""Key points of a spoken or typed answer to an interview question (追问 after a drill, or a
question of the interview practice bank), and which of them an answer covers.

A key point is what a good answer says ("先核验身份，账户信息只能告诉本人"), written once as the
examiner reads it (``text``) and matched by meaning through one or more claims, each a
proposition of the dialogue package: concept groups that must all appear in one sentence of
the answer, the last group the predicate, its negation understood. "不用核验身份" does not cover
"要先核验身份". Coverage gives the sentence that covers each point, so a candidate sees why.

The file format (a list under ``key_points``)::

    - id: verify-first
      text: 先核验身份再查询，账户信息只能告诉本人
      claim:                       # one claim, or a list of alternative claims
        - text: 要先核验身份
          groups: [[核验, 核实, 验证身份, 确认身份], [先, 之前, 前提, 才能, 必须]]

``key_point_problems`` reports what is wrong with such a list as ``(relative path, message)``
pairs, so each file format can put its own line numbers on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.dialogue.claims import Proposition, match_proposition, proposition_problems

MAX_KEY_POINTS = 12
KEY_POINT_FIELDS = ("id", "text", "claim")


@dataclass(frozen=True)
class KeyPoint:
    """One thing a good answer says, and the claims that recognise it."""

    id: str
    text: str
    claims: tuple[Proposition, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any], default_id: str = "") -> KeyPoint:
        raw = data.get("claim")
        items = raw if isinstance(raw, list) else [raw] if raw else []
        pid = str(data.get("id") or default_id)
        claims = tuple(Proposition.from_dict(item, default_id=f"{pid}-{i + 1}")
                       for i, item in enumerate(items) if isinstance(item, dict))
        return cls(pid, str(data.get("text") or "").strip(), claims)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text,
                "claim": [{"text": p.text, "groups": [list(g) for g in p.groups]} for p in self.claims]}


@dataclass(frozen=True)
class Coverage:
    """Whether an answer covers one key point, and the sentence that does."""

    point: KeyPoint
    evidence: str | None

    @property
    def covered(self) -> bool:
        return self.evidence is not None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.point.id, "text": self.point.text, "covered": self.covered, "evidence": self.evidence}


def parse_key_points(value: Sequence[dict[str, Any]] | None) -> tuple[KeyPoint, ...]:
    """Key points from their file form (already checked with ``key_point_problems``)."""
    return tuple(KeyPoint.from_dict(item, default_id=f"point-{i + 1}")
                 for i, item in enumerate(value or []) if isinstance(item, dict))


def key_point_problems(value: Any) -> list[tuple[tuple, str]]:
    """What is wrong with a ``key_points`` list: missing, empty, unknown fields, duplicate ids,
    claims without concept groups. Paths are relative to the list."""
    if not isinstance(value, list) or not value:
        return [((), "至少需要一个要点（key_points），每个要点含 id、text 和 claim")]
    problems: list[tuple[tuple, str]] = []
    if len(value) > MAX_KEY_POINTS:
        problems.append(((), f"要点不能超过 {MAX_KEY_POINTS} 个"))
    seen: set[str] = set()
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            problems.append(((i,), "每个要点必须是对象，含 id、text 和 claim"))
            continue
        pid = item.get("id")
        if not isinstance(pid, str) or not pid.strip():
            problems.append(((i, "id"), "要点需要 id（英文短标识）"))
        elif pid in seen:
            problems.append(((i, "id"), f"要点 id 重复：{pid}"))
        else:
            seen.add(pid)
        if not isinstance(item.get("text"), str) or not item["text"].strip():
            problems.append(((i, "text"), "要点需要 text（给考官看的要点说明）"))
        if item.get("claim") in (None, [], {}):
            problems.append(((i, "claim"), "要点需要 claim（用来识别回答是否说到这一点的说法）"))
        else:
            problems.extend(((i, "claim") + path, message) for path, message in proposition_problems(item["claim"]))
        for key in sorted(set(item) - set(KEY_POINT_FIELDS)):
            problems.append(((i, key), f"未知字段；可写：{', '.join(KEY_POINT_FIELDS)}"))
    return problems


def cover(answer: str | None, points: Sequence[KeyPoint]) -> list[Coverage]:
    """Each key point with the sentence of ``answer`` that states it (None when none does).

    Questions in the answer state nothing ("要不要先核验身份？" covers no point)."""
    text = answer or ""
    result = []
    for point in points:
        evidence = None
        for claim in point.claims:
            evidence = match_proposition(text, claim, assertions_only=True)
            if evidence:
                break
        result.append(Coverage(point, evidence))
    return result
