"""Recordings in the domain: accepted types by magic bytes, limits, nothing half stored, deleted
with the drill or the practice attempt, and carried byte for byte through backup and restore."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from sandbox import backup as backups
from sandbox.drill.models import Drill
from sandbox.errors import NotFound, ValidationFailed
from sandbox.interview import practice
from sandbox.interview.bank import load_bank
from sandbox.interview.models import PracticeAttempt, Recording
from sandbox.interview.recordings import (
    BadRecordingType,
    RecordingLimits,
    RecordingTooLarge,
    RecordingTooLong,
    check_audio,
    check_timing,
    sniff_container,
    store_recording,
    visible_recording,
)
from sandbox.users.services import get_user
from tests.conftest import ROLE_USER
from tests.interview.helpers import MP3_FRAME, MP3_ID3, MP4, OGG, SAMPLES, WAV, WEBM

LIMITS = RecordingLimits(max_bytes=4096, max_seconds=60)


def _tx(session):
    """A write transaction on the test's session (a read left open before it is ended first)."""
    if session.in_transaction():
        session.rollback()
    return session.begin()


def _user_id(session, role: str) -> int:
    return get_user(session, ROLE_USER[role]).id


def _store(session, clock, owner_id: int, **kw):
    args = {"data": WEBM, "content_type": "audio/webm", "duration_ms": 5000, "pause_count": 1,
            "longest_pause_ms": 1200, "item": "self-intro", "limits": LIMITS}
    args.update(kw)
    return store_recording(session, clock, owner_id, **args)


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(Recording))


@pytest.mark.parametrize("data,container", [(WEBM, "webm"), (OGG, "ogg"), (WAV, "wav"), (MP4, "mp4"),
                                            (MP3_ID3, "mpeg"), (MP3_FRAME, "mpeg"), (b"hello world", None),
                                            (b"RIFF\x00\x00\x00\x00AVI ", None), (b"", None)])
def test_the_container_is_read_from_the_magic_bytes(data, container):
    assert sniff_container(data) == container


@pytest.mark.parametrize("declared", sorted(SAMPLES))
def test_every_accepted_type_passes_with_its_own_bytes(declared):
    assert check_audio(SAMPLES[declared], declared + "; codecs=x", LIMITS) == declared


@pytest.mark.parametrize("declared,data", [("audio/webm", OGG), ("audio/ogg", WEBM), ("audio/wav", MP4),
                                           ("audio/mpeg", WEBM), ("audio/mp4", WAV), ("video/webm", WEBM),
                                           ("text/plain", b"hello"), ("", WEBM), (None, WEBM),
                                           ("audio/webm", b"<html>not audio</html>")])
def test_a_type_that_is_not_accepted_or_not_what_the_bytes_are_is_refused_415(declared, data):
    with pytest.raises(BadRecordingType) as err:
        check_audio(data, declared, LIMITS)
    assert err.value.status == 415 and err.value.code == "bad_recording_type"


def test_size_limit_413_and_empty_400():
    check_audio(WEBM + b"\x00" * (4096 - len(WEBM)), "audio/webm", LIMITS)  # exactly at the limit
    with pytest.raises(RecordingTooLarge) as err:
        check_audio(WEBM + b"\x00" * 4096, "audio/webm", LIMITS)
    assert err.value.status == 413 and err.value.code == "recording_too_large"
    with pytest.raises(ValidationFailed) as err:
        check_audio(b"", "audio/webm", LIMITS)
    assert err.value.code == "empty_recording"


def test_length_limit_422_with_a_second_of_grace_and_ranges_checked():
    assert check_timing("60000", "0", "0", LIMITS) == (60000, 0, 0)
    assert check_timing(61000, 3, 2500, LIMITS) == (61000, 3, 2500)
    with pytest.raises(RecordingTooLong) as err:
        check_timing(61001, 0, 0, LIMITS)
    assert err.value.status == 422 and err.value.code == "recording_too_long"
    for bad in [(0, 0, 0), (-5, 0, 0), ("abc", 0, 0), (None, 0, 0), (True, 0, 0), (5000, -1, 0),
                (5000, 6, 1000), (5000, 1, 6000), (5000, 0, 1200), (5000, 2, 500), (5000, 1, "x"), (2**40, 0, 0)]:
        with pytest.raises(ValidationFailed):
            check_timing(*bad, LIMITS)


def test_a_refused_recording_leaves_nothing(session, clock):
    owner = _user_id(session, "candidate")
    for kw, error in [({"data": OGG}, BadRecordingType), ({"duration_ms": 999_999}, RecordingTooLong),
                      ({"data": WEBM * 100}, RecordingTooLarge), ({"item": ""}, ValidationFailed),
                      ({"item": "x" * 81}, ValidationFailed), ({"drill_id": 999999}, NotFound),
                      ({"practice_id": 999999}, NotFound)]:
        with _tx(session):
            with pytest.raises(error):
                _store(session, clock, owner, **kw)
    assert _count(session) == 0


def test_only_the_owner_hears_a_practice_recording_and_staff_hear_a_drills(session, clock, api):
    drill_id = api("candidate").post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()["id"]
    owner, other = _user_id(session, "candidate"), _user_id(session, "trainer")
    examiner = _user_id(session, "examiner")
    with _tx(session):
        loose = _store(session, clock, owner).id
        spoken = _store(session, clock, owner, drill_id=drill_id, item="followup:1").id
    assert visible_recording(session, loose, owner, staff=False).id == loose
    assert visible_recording(session, spoken, examiner, staff=True).id == spoken
    for rid, viewer, staff in [(loose, other, False), (loose, examiner, True), (spoken, other, False)]:
        with pytest.raises(NotFound):
            visible_recording(session, rid, viewer, staff)
    with _tx(session), pytest.raises(NotFound):
        _store(session, clock, other, drill_id=drill_id)  # someone else's drill


def test_a_drills_recordings_are_deleted_with_the_drill(session, clock, api):
    drill_id = api("candidate").post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()["id"]
    owner = _user_id(session, "candidate")
    with _tx(session):
        _store(session, clock, owner, drill_id=drill_id, item="followup:1")
        _store(session, clock, owner, drill_id=drill_id, item="followup:2")
        kept = _store(session, clock, owner).id
    assert _count(session) == 3
    with _tx(session):
        session.execute(delete(Drill).where(Drill.id == drill_id))
    assert session.scalars(select(Recording.id)).all() == [kept]


def test_a_practice_recording_is_linked_on_submit_replaced_before_and_deleted_with_its_attempt(session, clock):
    owner = _user_id(session, "candidate")
    question = load_bank().get("self-intro")
    with _tx(session):
        _store(session, clock, owner)
        second = _store(session, clock, owner).id  # a new take replaces the unlinked first one
    assert session.scalars(select(Recording.id)).all() == [second]
    with _tx(session):
        attempt = practice.submit_attempt(session, clock, owner, question, "我有耐心，善于沟通。", second, 40)
    assert attempt.recording_id == second and session.get(Recording, second).practice_id == attempt.id
    with _tx(session), pytest.raises(NotFound):  # already used by an attempt
        practice.submit_attempt(session, clock, owner, question, "再来一次", second, 10)
    with _tx(session):
        _store(session, clock, owner, practice_id=attempt.id, item="self-intro")  # added to the attempt later
        session.execute(delete(PracticeAttempt).where(PracticeAttempt.id == attempt.id))
    assert _count(session) == 0


def test_recording_bytes_round_trip_through_backup_and_restore(app, runtime, session, clock, api, tmp_path):
    drill_id = api("candidate").post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()["id"]
    owner = _user_id(session, "candidate")
    payload = WEBM + bytes(range(256)) * 8
    with _tx(session):
        rid = _store(session, clock, owner, drill_id=drill_id, data=payload, item="followup:1").id
        attempt = practice.submit_attempt(session, clock, owner, load_bank().get("self-intro"), "我有耐心。")
    path = tmp_path / "backup.zip"
    info = backups.backup(runtime.engine, path, clock.now())
    assert info.tables["recordings"] == 1 and info.tables["interview_attempts"] == 1
    with _tx(session):
        session.execute(delete(Recording))
        session.execute(delete(PracticeAttempt))
    backups.restore(runtime.engine, path)
    session.expire_all()
    restored = session.get(Recording, rid)
    assert restored is not None and restored.data == payload and restored.byte_size == len(payload)
    assert restored.drill_id == drill_id and restored.content_type == "audio/webm"
    assert session.get(PracticeAttempt, attempt.id).coverage == attempt.coverage
