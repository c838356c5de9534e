"""Interview practice attempts: a user's answer to a bank question, typed and/or recorded, with
which key points it covers (by meaning, ``sandbox.dialogue.keypoints.cover``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sandbox.clock import Clock
from sandbox.dialogue.keypoints import cover
from sandbox.errors import NotFound, ValidationFailed
from sandbox.interview.bank import Question
from sandbox.interview.models import PracticeAttempt, Recording
from sandbox.interview.recordings import own_unlinked_recording

MAX_ANSWER_CHARS = 4000
MAX_ELAPSED_SECONDS = 3600
HISTORY_LIMIT = 50


def submit_attempt(session: Session, clock: Clock, user_id: int, question: Question, answer: Any,
                   recording_id: Any = None, elapsed_seconds: Any = None) -> PracticeAttempt:
    """Store ``user_id``'s answer to ``question`` with its key-point coverage.

    ``recording_id``: the user's practice recording of this question made before submitting; it
    is linked to the attempt (and deleted with it). A typed answer, a recording or both are needed.
    """
    if answer is None:
        answer = ""
    if not isinstance(answer, str):
        raise ValidationFailed("answer 必须是文字。", details={"field": "answer"})
    text = answer.strip()
    if len(text) > MAX_ANSWER_CHARS:
        raise ValidationFailed(f"回答不能超过 {MAX_ANSWER_CHARS} 个字。", details={"field": "answer"})
    elapsed = None
    if elapsed_seconds is not None:
        if isinstance(elapsed_seconds, bool) or not isinstance(elapsed_seconds, (int, float)) \
                or not 0 <= elapsed_seconds <= MAX_ELAPSED_SECONDS:
            raise ValidationFailed(f"elapsed_seconds 必须是 0–{MAX_ELAPSED_SECONDS} 的数字。",
                                   details={"field": "elapsed_seconds"})
        elapsed = int(round(elapsed_seconds))
    recording = None
    if recording_id is not None:
        if isinstance(recording_id, bool) or not isinstance(recording_id, int):
            raise ValidationFailed("recording_id 必须是整数。", details={"field": "recording_id"})
        recording = own_unlinked_recording(session, recording_id, user_id, question.id)
    if not text and recording is None:
        raise ValidationFailed("请先输入回答或录一段语音。", code="empty_answer", details={"field": "answer"})
    coverage = [c.to_dict() for c in cover(text, question.key_points)]
    attempt = PracticeAttempt(user_id=user_id, question_id=question.id, answer=text,
                              recording_id=recording.id if recording else None, elapsed_seconds=elapsed,
                              coverage=coverage, created_at=clock.now())
    session.add(attempt)
    session.flush()
    if recording is not None:
        recording.practice_id = attempt.id
        session.flush()
    return attempt


def user_attempts(session: Session, user_id: int, question_id: str | None = None) -> list[PracticeAttempt]:
    """The user's latest attempts (newest first), of one question or all."""
    query = select(PracticeAttempt).where(PracticeAttempt.user_id == user_id)
    if question_id is not None:
        query = query.where(PracticeAttempt.question_id == question_id)
    return list(session.scalars(query.order_by(PracticeAttempt.created_at.desc(), PracticeAttempt.id.desc())
                                .limit(HISTORY_LIMIT)))


def own_attempt(session: Session, attempt_id: int, user_id: int) -> PracticeAttempt:
    """The user's own attempt (404 for anyone else's)."""
    attempt = session.get(PracticeAttempt, attempt_id)
    if attempt is None or attempt.user_id != user_id:
        raise NotFound("练习记录不存在。", code="unknown_attempt")
    return attempt


def attempt_recording(session: Session, attempt: PracticeAttempt) -> Recording | None:
    """The recording linked to the attempt, if any."""
    if attempt.recording_id is None:
        return None
    return session.get(Recording, attempt.recording_id)


def attempt_dict(attempt: PracticeAttempt, question: Question | None = None) -> dict[str, Any]:
    """An attempt as the API gives it; with the question, its model answer too."""
    covered = sum(1 for c in attempt.coverage if c.get("covered"))
    body: dict[str, Any] = {"id": attempt.id, "question": attempt.question_id, "answer": attempt.answer,
                            "elapsed_seconds": attempt.elapsed_seconds, "recording_id": attempt.recording_id,
                            "coverage": attempt.coverage, "covered": covered, "total": len(attempt.coverage),
                            "created_at": attempt.created_at.isoformat()}
    if question is not None:
        body["model_answer"] = question.model_answer
    return body
