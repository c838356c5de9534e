"""/api/v1 recordings of spoken answers and the interview practice bank."""

from __future__ import annotations

import io
from typing import Any

from flask import jsonify, request, send_file, url_for

from sandbox.errors import ValidationFailed
from sandbox.interview import practice
from sandbox.interview.bank import CATEGORIES, load_bank
from sandbox.interview.models import Recording
from sandbox.interview.recordings import (
    RecordingLimits,
    RecordingTooLarge,
    recording_dict,
    store_recording,
    visible_recording,
)
from sandbox.interview.transcribe import default_transcriber, unavailable_note
from sandbox.roles import STAFF_ROLES
from sandbox.web.api import bp, json_body
from sandbox.web.request_context import current_user
from sandbox.web.security import any_user
from sandbox.web.tx import db, runtime, write

# Room for the multipart envelope and the form fields around the file.
MULTIPART_OVERHEAD = 64 * 1024


def recording_limits() -> RecordingLimits:
    """The instance's recording limits (settings)."""
    settings = runtime().settings
    return RecordingLimits(max_bytes=settings.recording_max_bytes, max_seconds=settings.recording_max_seconds)


def recording_json(recording: Recording) -> dict[str, Any]:
    """A recording's metadata with the URL of its audio."""
    return {**recording_dict(recording),
            "url": url_for("api.recordings_audio", recording_id=recording.id)}


def transcriber_json() -> dict[str, Any]:
    """Whether spoken answers are turned into text here, and what the page says when not."""
    transcriber = default_transcriber()
    return {"available": transcriber.available, "name": transcriber.name, "note": unavailable_note(transcriber)}


def _optional_id(name: str) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > 2**31 - 1:
        raise ValidationFailed(f"{name} 必须是正整数。", details={"field": name})
    return int(raw)


@bp.post("/recordings")
@any_user
def recordings_create():
    """Store a spoken answer (multipart: file, duration_ms, pause_count, longest_pause_ms, item,
    and drill_id or practice_id; neither: a practice recording linked when the answer is submitted)."""
    limits = recording_limits()
    if (request.content_length or 0) > limits.max_bytes + MULTIPART_OVERHEAD:
        raise RecordingTooLarge(f"录音文件过大，上限为 {limits.max_bytes / 1048576:.1f} MB。")
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed("请附上录音文件（表单字段 file）。", code="missing_file", details={"field": "file"})
    data = upload.stream.read(limits.max_bytes + 1)
    form = request.form
    drill_id, practice_id = _optional_id("drill_id"), _optional_id("practice_id")
    user_id = current_user().id
    clock = runtime().clock

    def _store(s):
        return store_recording(s, clock, user_id, data=data, content_type=upload.content_type,
                               duration_ms=form.get("duration_ms"), pause_count=form.get("pause_count", 0),
                               longest_pause_ms=form.get("longest_pause_ms", 0), item=form.get("item"),
                               drill_id=drill_id, practice_id=practice_id, limits=limits)

    recording = write(_store)
    return jsonify({"recording": recording_json(recording)}), 201


def _visible(recording_id: int) -> Recording:
    user = current_user()
    return visible_recording(db(), recording_id, user.id, user.role in STAFF_ROLES)


@bp.get("/recordings/<int:recording_id>")
@any_user
def recordings_get(recording_id: int):
    """A recording's metadata: its owner; examiners and admins for a drill's recording; others 404."""
    return jsonify({"recording": recording_json(_visible(recording_id))})


@bp.get("/recordings/<int:recording_id>/audio")
@any_user
def recordings_audio(recording_id: int):
    """The recorded audio (range requests answered, so a player can seek)."""
    recording = _visible(recording_id)
    response = send_file(io.BytesIO(recording.data), mimetype=recording.content_type, conditional=True,
                         etag=f"recording-{recording.id}-{recording.byte_size}", max_age=0,
                         download_name=f"recording-{recording.id}")
    response.headers["Cache-Control"] = "private"
    return response


@bp.get("/interview/questions")
@any_user
def interview_questions():
    """The practice questions (without key points and model answers), by category."""
    bank = load_bank()
    return jsonify({"categories": list(CATEGORIES), "questions": [q.summary() for q in bank.questions],
                    "transcriber": transcriber_json(),
                    "limits": {"max_seconds": runtime().settings.recording_max_seconds,
                               "max_bytes": runtime().settings.recording_max_bytes}})


@bp.post("/interview/questions/<question_id>/attempts")
@any_user
def interview_attempt(question_id: str):
    """Answer a practice question: ``{"answer", "recording_id", "elapsed_seconds"}`` → the key
    points with ✔/✘ and the sentence that covers each, the model answer, the recording."""
    question = load_bank().get(question_id)
    body = json_body()
    user_id = current_user().id
    clock = runtime().clock

    def _submit(s):
        attempt = practice.submit_attempt(s, clock, user_id, question, body.get("answer"),
                                          body.get("recording_id"), body.get("elapsed_seconds"))
        recording = practice.attempt_recording(s, attempt)
        return {**practice.attempt_dict(attempt, question),
                "recording": recording_json(recording) if recording else None}

    return jsonify({"attempt": write(_submit)}), 201
