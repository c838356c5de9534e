"""Recordings of spoken answers: limits, accepted types checked against the file's magic bytes,
storage and who may hear them.

A recording belongs to a drill (an answer to a 追问 after it; ``item`` is "followup:<id>") or to
an interview practice attempt (``item`` is the question id). A practice recording is usually
made before the attempt is submitted: it is then stored with neither drill nor attempt and
linked to the attempt when the answer is submitted (``link_to_attempt``); a newer unlinked
recording of the same question replaces the older one, so nothing unreferenced piles up.

Duration and pauses are measured in the browser (the Web Audio API) and sent as numbers; the
server checks their ranges and the limits. Everything is checked before anything is added,
so a refused recording leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sandbox.clock import Clock
from sandbox.drill.drill_clock import PREPARED
from sandbox.drill.models import Drill
from sandbox.errors import DomainError, NotFound, ValidationFailed
from sandbox.interview.models import PracticeAttempt, Recording

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_SECONDS = 180
# The browser stops at the limit, but a recorder flushes its last chunk a little after the stop.
DURATION_GRACE_MS = 1000
MAX_ITEM_LENGTH = 80
# A pause is at least this long (the widget's rule); used to bound pause_count.
MIN_PAUSE_MS = 1000

# Accepted declared types (parameters such as ";codecs=opus" are dropped) and the container each means.
ACCEPTED_TYPES: dict[str, str] = {
    "audio/webm": "webm",
    "audio/ogg": "ogg",
    "audio/mp4": "mp4",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/mpeg": "mpeg",
}


class RecordingTooLarge(DomainError):
    code = "recording_too_large"
    status = 413


class RecordingTooLong(DomainError):
    code = "recording_too_long"
    status = 422


class BadRecordingType(DomainError):
    code = "bad_recording_type"
    status = 415


@dataclass(frozen=True)
class RecordingLimits:
    """The instance's limits (settings ``RECORDING_MAX_BYTES`` and ``RECORDING_MAX_SECONDS``)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_seconds: int = DEFAULT_MAX_SECONDS


def base_type(declared: str | None) -> str:
    """The declared content type without parameters, lower case ("audio/webm;codecs=opus" → "audio/webm")."""
    return (declared or "").split(";", 1)[0].strip().lower()


def sniff_container(data: bytes) -> str | None:
    """The audio container the bytes start with: webm, ogg, wav, mp4, mpeg, or None."""
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"  # EBML header: WebM / Matroska
    if data[:4] == b"OggS":
        return "ogg"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[4:8] == b"ftyp":
        return "mp4"
    if data[:3] == b"ID3" or (len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mpeg"  # an ID3 tag or an MPEG audio frame sync
    return None


def check_audio(data: bytes, declared: str | None, limits: RecordingLimits) -> str:
    """The accepted content type of ``data``, or the refusal: too large (413), an unaccepted
    type or one the bytes contradict (415), empty (400)."""
    if len(data) > limits.max_bytes:
        raise RecordingTooLarge(f"录音文件过大（{len(data) / 1048576:.1f} MB），上限为 "
                                f"{limits.max_bytes / 1048576:.1f} MB。")
    if not data:
        raise ValidationFailed("录音文件是空的，请重新录制。", code="empty_recording")
    content_type = base_type(declared)
    container = ACCEPTED_TYPES.get(content_type)
    if container is None:
        raise BadRecordingType(f"不支持的录音格式 {content_type or '（未声明）'}；可用 WebM、Ogg、MP4、WAV 或 MP3。",
                               details={"allowed": sorted(ACCEPTED_TYPES)})
    if sniff_container(data) != container:
        raise BadRecordingType(f"录音文件的内容与声明的格式 {content_type} 不符。",
                               details={"allowed": sorted(ACCEPTED_TYPES)})
    return content_type


def check_timing(duration_ms: Any, pause_count: Any, longest_pause_ms: Any, limits: RecordingLimits) -> tuple[int, int, int]:
    """The measured length and pauses as integers in range; over the length limit is a 422."""
    duration = _int_field(duration_ms, "duration_ms", "录音时长")
    pauses = _int_field(pause_count, "pause_count", "停顿次数")
    longest = _int_field(longest_pause_ms, "longest_pause_ms", "最长停顿")
    if duration <= 0:
        raise ValidationFailed("录音时长必须大于 0。", code="validation_failed", details={"field": "duration_ms"})
    if duration > limits.max_seconds * 1000 + DURATION_GRACE_MS:
        raise RecordingTooLong(f"录音时长 {duration / 1000:.0f} 秒，超过上限 {limits.max_seconds} 秒。")
    if pauses < 0 or pauses > duration // MIN_PAUSE_MS:
        raise ValidationFailed("停顿次数不在合理范围内。", details={"field": "pause_count"})
    if longest < 0 or longest > duration or (pauses == 0 and longest > 0) or (pauses > 0 and longest < MIN_PAUSE_MS):
        raise ValidationFailed("最长停顿不在合理范围内。", details={"field": "longest_pause_ms"})
    return duration, pauses, longest


def _int_field(value: Any, field: str, label: str) -> int:
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(f"{label}（{field}）必须是整数。", details={"field": field}) from None
    if abs(number) > 2**31 - 1:
        raise ValidationFailed(f"{label}（{field}）超出范围。", details={"field": field})
    return number


def check_item(item: Any) -> str:
    """The item a recording answers: a follow-up "followup:<id>" or a question id (≤ 80 characters)."""
    text = str(item or "").strip()
    if not text or len(text) > MAX_ITEM_LENGTH or any(ch.isspace() for ch in text):
        raise ValidationFailed(f"item 必须是 1–{MAX_ITEM_LENGTH} 个字符、不含空白（追问为 followup:<id>，练习为题目 id）。",
                               details={"field": "item"})
    return text


def store_recording(session: Session, clock: Clock, owner_id: int, *, data: bytes, content_type: str | None,
                    duration_ms: Any, pause_count: Any, longest_pause_ms: Any, item: Any,
                    drill_id: int | None = None, practice_id: int | None = None,
                    limits: RecordingLimits = RecordingLimits()) -> Recording:
    """Check and add a recording of ``owner_id``'s answer; nothing is added when a check fails.

    ``drill_id``: the owner's own drill (another's is 404). ``practice_id``: the owner's own
    practice attempt. Neither: a practice recording of the question ``item``, linked when the
    attempt is submitted; it replaces the owner's earlier unlinked recording of that item.
    """
    if drill_id is not None and practice_id is not None:
        raise ValidationFailed("drill_id 与 practice_id 只能给一个。", details={"field": "drill_id"})
    checked_type = check_audio(data, content_type, limits)
    duration, pauses, longest = check_timing(duration_ms, pause_count, longest_pause_ms, limits)
    key = check_item(item)
    if drill_id is not None:
        drill = session.get(Drill, drill_id)
        if drill is None or drill.user_id != owner_id or drill.status == PREPARED:
            raise NotFound("演练不存在。", code="unknown_drill")
    elif practice_id is not None:
        attempt = session.get(PracticeAttempt, practice_id)
        if attempt is None or attempt.user_id != owner_id:
            raise NotFound("练习记录不存在。", code="unknown_attempt")
    else:
        session.execute(delete(Recording).where(
            Recording.owner_id == owner_id, Recording.item_key == key,
            Recording.drill_id.is_(None), Recording.practice_id.is_(None)))
    recording = Recording(owner_id=owner_id, drill_id=drill_id, practice_id=practice_id, item_key=key,
                          content_type=checked_type, byte_size=len(data), duration_ms=duration,
                          pause_count=pauses, longest_pause_ms=longest, data=data, created_at=clock.now())
    session.add(recording)
    session.flush()
    return recording


def visible_recording(session: Session, recording_id: int, viewer_id: int, staff: bool) -> Recording:
    """The recording if ``viewer_id`` may hear it: its owner; exam staff (``staff``) for a drill's
    recording. Anyone else gets the same 404 as for a recording that does not exist."""
    recording = session.get(Recording, recording_id)
    if recording is None or not (recording.owner_id == viewer_id or (staff and recording.drill_id is not None)):
        raise NotFound("录音不存在。", code="unknown_recording")
    return recording


def own_unlinked_recording(session: Session, recording_id: int, owner_id: int, item: str) -> Recording:
    """The owner's practice recording of ``item`` not yet linked to an attempt (404 otherwise)."""
    recording = session.scalar(select(Recording).where(
        Recording.id == recording_id, Recording.owner_id == owner_id, Recording.item_key == item,
        Recording.drill_id.is_(None)))
    if recording is None or (recording.practice_id is not None):
        raise NotFound("录音不存在或已用于另一次作答。", code="unknown_recording")
    return recording


def recording_dict(recording: Recording) -> dict[str, Any]:
    """A recording's metadata as the API gives it (the ``url`` is added by the web layer)."""
    return {"id": recording.id, "item": recording.item_key, "content_type": recording.content_type,
            "bytes": recording.byte_size, "duration_s": round(recording.duration_ms / 1000, 1),
            "pause_count": recording.pause_count, "longest_pause_s": round(recording.longest_pause_ms / 1000, 1),
            "drill_id": recording.drill_id, "practice_id": recording.practice_id,
            "created_at": recording.created_at.isoformat()}
