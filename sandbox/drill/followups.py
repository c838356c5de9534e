"""Follow-up questions (追问) after a drill: the candidate answers each item of the pinned
scenario once the drill is handed in; the typed text is checked against the item's key points
(``sandbox.dialogue.keypoints``); in a round the examiner marks each key point, with a comment.

Points: each item is worth ``ITEM_POINTS``, shared equally by its key points, and counts in the
rubric dimension the item names. The section has its own total and is shown beside the drill's
dimensions (``combined_dimensions``); the drill's rubric score itself does not change. In
practice the automatic coverage is the mark; in a round only the examiner's marks count (an
answer not yet marked is pending).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sandbox.clock import Clock
from sandbox.dialogue.keypoints import cover
from sandbox.drill import drill_clock
from sandbox.drill.models import Drill, FollowUpAnswer
from sandbox.drill.scenario.model import FollowUp
from sandbox.drill.scenario.store import scenario_spec
from sandbox.drill.scenario.vocabulary import DIMENSIONS
from sandbox.errors import Conflict, NotFound, ValidationFailed
from sandbox.exam.models import Round
from sandbox.interview.models import Recording
from sandbox.users.models import User

ITEM_POINTS = 10.0
MAX_ANSWER_CHARS = 2000
MAX_COMMENT_CHARS = 500


def enabled_in_round(round_items: list[dict[str, Any]], scenario_id: str) -> bool:
    """Whether the examiner asked for 追问 after this scenario of the round."""
    return any(item.get("id") == scenario_id and item.get("followups") for item in round_items)


def drill_followups(session: Session, drill: Drill, round_items: list[dict[str, Any]] | None) -> tuple[FollowUp, ...]:
    """The follow-up items of the drill's pinned scenario version: all of them in practice; in a
    round (``round_items``: the round's pinned scenarios) only when the examiner chose 追问."""
    spec = scenario_spec(session, drill.scenario_id, drill.scenario_version)
    if drill.round_id is not None and not enabled_in_round(round_items or [], drill.scenario_id):
        return ()
    return spec.followups


def items_for(session: Session, drill: Drill) -> tuple[FollowUp, ...]:
    """The follow-up items this drill's candidate answers (see ``drill_followups``)."""
    round_items = None
    if drill.round_id is not None:
        rnd = session.get(Round, drill.round_id)
        round_items = list(rnd.scenarios) if rnd is not None else []
    return drill_followups(session, drill, round_items)


def drill_section(session: Session, drill: Drill, *, reveal: bool) -> dict[str, Any] | None:
    """The drill's 追问 section (None when it has no follow-up questions)."""
    items = items_for(session, drill)
    if not items:
        return None
    answers = answers_of(session, drill.id)
    markers = {row.marked_by for row in answers.values() if row.marked_by}
    names = {u.id: u.label for u in session.scalars(select(User).where(User.id.in_(markers)))} if markers else {}
    data = section(items, answers, in_round=drill.round_id is not None, reveal=reveal, marker_names=names)
    recordings = recordings_of(session, drill.id)
    for row in data["items"]:
        row["recording"] = recordings.get(row["id"])
    return data


def recordings_of(session: Session, drill_id: int) -> dict[str, dict[str, Any]]:
    """The latest spoken answer per item (``followup:<id>`` recordings of the drill)."""
    rows = session.execute(select(Recording.id, Recording.item_key, Recording.duration_ms, Recording.pause_count,
                                  Recording.longest_pause_ms)
                           .where(Recording.drill_id == drill_id, Recording.item_key.like("followup:%"))
                           .order_by(Recording.id))
    out = {}
    for rid, key, duration, pauses, longest in rows:
        out[key.split(":", 1)[1]] = {"id": rid, "duration_s": round(duration / 1000, 1), "pause_count": pauses,
                                     "longest_pause_s": round(longest / 1000, 1),
                                     "url": f"/api/v1/recordings/{rid}/audio"}
    return out


def _item(items: tuple[FollowUp, ...], followup_id: str) -> FollowUp:
    for item in items:
        if item.id == followup_id:
            return item
    raise NotFound("没有这道追问。", code="unknown_followup")


def answers_of(session: Session, drill_id: int) -> dict[str, FollowUpAnswer]:
    rows = session.scalars(select(FollowUpAnswer).where(FollowUpAnswer.drill_id == drill_id))
    return {row.followup_id: row for row in rows}


def _row(session: Session, drill: Drill, followup_id: str) -> FollowUpAnswer:
    row = session.scalar(select(FollowUpAnswer).where(FollowUpAnswer.drill_id == drill.id,
                                                      FollowUpAnswer.followup_id == followup_id))
    if row is None:
        row = FollowUpAnswer(drill_id=drill.id, followup_id=followup_id, answer="", comment="")
        session.add(row)
    return row


def answer(session: Session, clock: Clock, drill: Drill, items: tuple[FollowUp, ...], followup_id: str,
           text: Any, elapsed_seconds: Any = None) -> FollowUpAnswer:
    """Store the candidate's typed answer to one item and its key-point coverage.

    Refused before the drill is handed in, when the text is empty or too long, and once an
    examiner has marked the answer (the mark is about the text the examiner read)."""
    item = _item(items, followup_id)
    if drill.status != drill_clock.FINISHED:
        raise Conflict("交卷后才能回答追问。", code="drill_not_finished")
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed("请先写下你的回答。", code="empty_answer")
    text = text.strip()
    if len(text) > MAX_ANSWER_CHARS:
        raise ValidationFailed(f"回答不能超过 {MAX_ANSWER_CHARS} 字。", code="answer_too_long")
    seconds: float | None = None
    if elapsed_seconds not in (None, ""):
        try:
            seconds = float(elapsed_seconds)
        except (TypeError, ValueError):
            raise ValidationFailed("作答用时必须是秒数。", code="invalid_elapsed") from None
        if not 0 <= seconds <= 24 * 3600:
            raise ValidationFailed("作答用时必须在 0 到 86400 秒之间。", code="invalid_elapsed")
    row = _row(session, drill, followup_id)
    if row.marks is not None:
        raise Conflict("考官已评阅这道追问，不能再修改回答。", code="followup_marked")
    row.answer = text
    row.elapsed_seconds = seconds
    row.answered_at = clock.now()
    row.coverage = [c.to_dict() for c in cover(text, item.key_points)]
    session.flush()
    return row


def mark(session: Session, clock: Clock, drill: Drill, items: tuple[FollowUp, ...], examiner_id: int,
         followup_id: str, marks: Any, comment: Any) -> FollowUpAnswer:
    """The examiner's marks on one item: ``{key point id: covered}`` for every key point, and a
    comment. An item answered aloud in the room and never typed can be marked too."""
    item = _item(items, followup_id)
    if drill.round_id is None:
        raise Conflict("练习中的追问由系统自动对照要点，无需考官评阅。", code="not_a_round_drill")
    if drill.status != drill_clock.FINISHED:
        raise Conflict("考生交卷后才能评阅追问。", code="drill_not_finished")
    if not isinstance(marks, Mapping):
        raise ValidationFailed("评阅结果必须是“要点 → 是否答到”的对象。", code="invalid_marks")
    ids = [p.id for p in item.key_points]
    unknown = sorted(set(marks) - set(ids))
    if unknown:
        raise ValidationFailed(f"没有这些要点：{'、'.join(map(str, unknown))}。", code="unknown_key_point")
    if any(not isinstance(v, bool) for v in marks.values()):
        raise ValidationFailed("每个要点只能标记为答到（true）或未答到（false）。", code="invalid_marks")
    comment = comment.strip() if isinstance(comment, str) else ""
    if len(comment) > MAX_COMMENT_CHARS:
        raise ValidationFailed(f"评语不能超过 {MAX_COMMENT_CHARS} 字。", code="comment_too_long")
    row = _row(session, drill, followup_id)
    row.marks = {pid: bool(marks.get(pid, False)) for pid in ids}
    row.comment = comment
    row.marked_by = examiner_id
    row.marked_at = clock.now()
    session.flush()
    return row


def _points(item: FollowUp, covered: Mapping[str, bool]) -> float:
    n = len(item.key_points)
    got = sum(1 for p in item.key_points if covered.get(p.id))
    return round(ITEM_POINTS * got / n, 1) if n else 0.0


def section(items: tuple[FollowUp, ...], answers: Mapping[str, FollowUpAnswer], *, in_round: bool,
            reveal: bool, marker_names: Mapping[int, str] | None = None) -> dict[str, Any]:
    """The 追问 section of a report: each item with its answer, coverage, marks and points.

    ``reveal`` adds what a candidate may not see during an exam: key points, evidence, the model
    answer and the marks. Points come from the examiner's marks in a round and from the automatic
    coverage in practice; an item without them is pending (``points`` None)."""
    rows = []
    earned = {d: 0.0 for d in DIMENSIONS}
    possible = {d: 0.0 for d in DIMENSIONS}
    for item in items:
        row = answers.get(item.id)
        auto = {c["id"]: bool(c["covered"]) for c in (row.coverage or [])} if row else {}
        evidence = {c["id"]: c.get("evidence") for c in (row.coverage or [])} if row else {}
        marked = row.marks if row is not None and row.marks is not None else None
        basis = marked if in_round else (auto if row is not None and row.answer else None)
        points = None if basis is None else _points(item, basis)
        if points is not None:
            earned[item.dimension] += points
            possible[item.dimension] += ITEM_POINTS
        body: dict[str, Any] = {
            "id": item.id, "question": item.question, "dimension": item.dimension, "max_points": ITEM_POINTS,
            "answer": row.answer if row is not None and row.answer else None,
            "answered_at": row.answered_at.isoformat() if row is not None and row.answered_at else None,
            "elapsed_seconds": row.elapsed_seconds if row is not None else None,
            "marked": marked is not None,
        }
        if reveal:
            body.update(
                points=points, model_answer=item.model_answer,
                comment=row.comment if row is not None and marked is not None else "",
                marked_by=(marker_names or {}).get(row.marked_by or 0) if row is not None else None,
                key_points=[{"id": p.id, "text": p.text, "auto": auto.get(p.id, False),
                             "evidence": evidence.get(p.id),
                             "marked": None if marked is None else bool(marked.get(p.id))}
                            for p in item.key_points])
        rows.append(body)
    scored = [r for r in rows if r.get("points") is not None]
    total = round(sum(r["points"] for r in scored), 1) if reveal else None
    return {"items": rows, "count": len(rows), "answered": sum(1 for r in rows if r["answer"]),
            "marked": sum(1 for r in rows if r["marked"]), "in_round": in_round,
            "total": total, "max_total": ITEM_POINTS * len(scored) if reveal else None,
            "pending": sum(1 for r in rows if reveal and r.get("points") is None),
            "dimensions": {d: {"earned": round(earned[d], 1), "max": possible[d]} for d in DIMENSIONS if possible[d]}
            if reveal else {}}


def combined_dimensions(report_dimensions: Mapping[str, Mapping[str, Any]],
                        followup_dimensions: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The drill's dimensions with the 追问 points added to the dimension each item names."""
    out = {}
    for name in DIMENSIONS:
        base = report_dimensions.get(name) or {"earned": 0.0, "max": 0.0}
        extra = followup_dimensions.get(name) or {"earned": 0.0, "max": 0.0}
        earned = float(base.get("earned") or 0.0) + float(extra["earned"])
        maximum = float(base.get("max") or 0.0) + float(extra["max"])
        out[name] = {"earned": round(earned, 1), "max": maximum,
                     "score": round(100.0 * earned / maximum, 1) if maximum else None}
    return out
