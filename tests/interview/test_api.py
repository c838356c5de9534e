"""/api/v1/recordings and /api/v1/interview: shapes, every refusal, who may hear what, CSRF."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from sandbox.interview.models import Recording
from tests.interview.helpers import MP4, OGG, WAV, WEBM, upload_form


def _post(client, **kw):
    return client.post("/api/v1/recordings", data=upload_form(**kw), content_type="multipart/form-data")


def _stored(runtime) -> int:
    with runtime.session_factory() as s:
        return s.scalar(select(func.count()).select_from(Recording))


def test_upload_answers_201_with_the_recording_and_serves_its_bytes(api):
    cand = api("candidate")
    resp = _post(cand)
    assert resp.status_code == 201, resp.get_json()
    rec = resp.get_json()["recording"]
    assert {k: rec[k] for k in ("item", "content_type", "bytes", "duration_s", "pause_count", "longest_pause_s")} == {
        "item": "self-intro", "content_type": "audio/webm", "bytes": len(WEBM), "duration_s": 12.0,
        "pause_count": 2, "longest_pause_s": 1.5}
    assert rec["url"] == f"/api/v1/recordings/{rec['id']}/audio"
    meta = cand.get(f"/api/v1/recordings/{rec['id']}")
    assert meta.status_code == 200 and meta.get_json()["recording"]["id"] == rec["id"]
    audio = cand.get(rec["url"])
    assert audio.status_code == 200 and audio.data == WEBM
    assert audio.mimetype == "audio/webm" and audio.headers["Cache-Control"] == "private"
    part = cand.get(rec["url"], headers={"Range": "bytes=0-3"})
    assert part.status_code == 206 and part.data == WEBM[:4]


@pytest.mark.parametrize("data,declared,expected", [(OGG, "audio/ogg", "audio/ogg"), (WAV, "audio/x-wav", "audio/x-wav"),
                                                    (MP4, "audio/mp4", "audio/mp4")])
def test_other_containers_are_accepted(api, data, declared, expected):
    resp = _post(api("candidate"), data=data, content_type=declared)
    assert resp.status_code == 201 and resp.get_json()["recording"]["content_type"] == expected


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": False, "RECORDING_MAX_BYTES": 2048, "RECORDING_MAX_SECONDS": 30}


@pytest.mark.parametrize("kw,status,code", [
    ({"data": WEBM + b"\x00" * 4000}, 413, "recording_too_large"),
    ({"duration_ms": 45_000}, 422, "recording_too_long"),
    ({"content_type": "audio/ogg"}, 415, "bad_recording_type"),
    ({"content_type": "application/octet-stream"}, 415, "bad_recording_type"),
    ({"data": b"MZ\x90\x00 not audio", "content_type": "audio/webm"}, 415, "bad_recording_type"),
    ({"data": b""}, 400, "empty_recording"),
    ({"duration_ms": "<omit>"}, 400, "validation_failed"),
    ({"duration_ms": "soon"}, 400, "validation_failed"),
    ({"pause_count": 99}, 400, "validation_failed"),
    ({"item": "<omit>"}, 400, "validation_failed"),
    ({"drill_id": "abc"}, 400, "validation_failed"),
    ({"drill_id": 999999}, 404, "unknown_drill"),
    ({"practice_id": 999999}, 404, "unknown_attempt"),
    ({"drill_id": 1, "practice_id": 1}, 400, "validation_failed"),
])
def test_every_bad_upload_is_refused_with_its_code_and_nothing_is_stored(api, runtime, kw, status, code):
    resp = _post(api("candidate"), **kw)
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["error"]["code"] == code
    assert resp.get_json()["error"]["message"]
    assert _stored(runtime) == 0


def test_a_request_without_the_file_is_400(api):
    resp = api("candidate").post("/api/v1/recordings", data={"duration_ms": "1000", "item": "x"})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "missing_file"


def test_nobody_but_the_owner_hears_a_practice_recording(api):
    rec = _post(api("candidate")).get_json()["recording"]
    for role in ("trainer", "examiner", "admin", "candidate2"):
        for url in (f"/api/v1/recordings/{rec['id']}", rec["url"]):
            resp = api(role).get(url)
            assert resp.status_code == 404, (role, url)
            assert resp.get_json()["error"]["code"] == "unknown_recording"
    assert api("candidate").get("/api/v1/recordings/999999").status_code == 404


def test_examiners_and_admins_hear_a_drills_recording_others_do_not(api):
    cand = api("candidate")
    drill_id = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}).get_json()["id"]
    resp = _post(cand, drill_id=drill_id, item="followup:1")
    assert resp.status_code == 201
    rec = resp.get_json()["recording"]
    assert rec["drill_id"] == drill_id
    for role, status in (("examiner", 200), ("admin", 200), ("trainer", 404), ("candidate2", 404)):
        assert api(role).get(rec["url"]).status_code == status, role
    # someone else cannot attach a recording to this drill
    assert _post(api("candidate2"), drill_id=drill_id).status_code == 404


def test_no_auth_is_401(client):
    assert client.get("/api/v1/recordings/1").status_code == 401
    assert client.get("/api/v1/recordings/1/audio").status_code == 401
    assert client.get("/api/v1/interview/questions").status_code == 401
    resp = client.post("/api/v1/recordings", data=upload_form(), content_type="multipart/form-data")
    assert resp.status_code == 401
    assert client.post("/api/v1/interview/questions/self-intro/attempts", json={"answer": "x"}).status_code == 401


def test_questions_list_holds_no_answers_and_says_no_recogniser_is_installed(api):
    body = api("candidate").get("/api/v1/interview/questions").get_json()
    assert body["categories"][0] == "自我介绍"
    intro = next(q for q in body["questions"] if q["id"] == "self-intro")
    assert intro == {"id": "self-intro", "category": "自我介绍", "question": intro["question"], "time_limit": 60,
                     "countdown": True}
    assert body["transcriber"]["available"] is False and "语音识别" in body["transcriber"]["note"]
    assert body["limits"] == {"max_seconds": 30, "max_bytes": 2048}


def test_an_attempt_gives_the_coverage_with_evidence_the_model_answer_and_links_the_recording(api, login_as):
    cand = api("candidate")
    rec = _post(cand).get_json()["recording"]
    resp = cand.post("/api/v1/interview/questions/self-intro/attempts", json={
        "answer": "我叫小王，学的是金融专业，在银行实习过。我性格比较有耐心，也善于沟通。", "recording_id": rec["id"],
        "elapsed_seconds": 48})
    assert resp.status_code == 201, resp.get_json()
    attempt = resp.get_json()["attempt"]
    marks = {c["id"]: c for c in attempt["coverage"]}
    assert marks["service-traits"]["covered"] and "耐心" in marks["service-traits"]["evidence"]
    assert not marks["motivation"]["covered"] and marks["motivation"]["evidence"] is None
    assert attempt["covered"] == 3 and attempt["total"] == 5 and attempt["elapsed_seconds"] == 48
    assert attempt["model_answer"] and attempt["recording"]["practice_id"] == attempt["id"]
    # the attempt's page shows the marks and the playback
    page = login_as("candidate").get(f"/practice/interview/attempts/{attempt['id']}").get_data(as_text=True)
    assert "✔" in page and "✘" in page and rec["url"] in page and "参考回答" in page
    assert login_as("candidate2").get(f"/practice/interview/attempts/{attempt['id']}").status_code == 404
    # the list page lists it
    listing = login_as("candidate").get("/practice/interview").get_data(as_text=True)
    assert re.search(r"3 / 5", listing) and "自我介绍" in listing


@pytest.mark.parametrize("body,status,code", [
    ({}, 400, "empty_answer"),
    ({"answer": "   "}, 400, "empty_answer"),
    ({"answer": 12}, 400, "validation_failed"),
    ({"answer": "好" * 4001}, 400, "validation_failed"),
    ({"answer": "好", "elapsed_seconds": -1}, 400, "validation_failed"),
    ({"answer": "好", "elapsed_seconds": "十秒"}, 400, "validation_failed"),
    ({"answer": "好", "recording_id": "1"}, 400, "validation_failed"),
    ({"answer": "好", "recording_id": 999999}, 404, "unknown_recording"),
])
def test_bad_attempts_are_refused(api, body, status, code):
    resp = api("candidate").post("/api/v1/interview/questions/self-intro/attempts", json=body)
    assert resp.status_code == status and resp.get_json()["error"]["code"] == code


def test_an_attempt_cannot_use_someone_elses_recording_or_an_unknown_question(api):
    rec = _post(api("candidate")).get_json()["recording"]
    resp = api("candidate2").post("/api/v1/interview/questions/self-intro/attempts",
                                  json={"answer": "好", "recording_id": rec["id"]})
    assert resp.status_code == 404
    resp = api("candidate").post("/api/v1/interview/questions/no-such/attempts", json={"answer": "好"})
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "unknown_question"
    resp = api("candidate").post("/api/v1/interview/questions/self-intro/attempts", data="not json",
                                 content_type="application/json")
    assert resp.status_code == 400


def test_the_question_page_has_the_countdown_recorder_and_the_no_recogniser_note(login_as):
    page = login_as("candidate").get("/practice/interview/self-intro").get_data(as_text=True)
    assert 'id="answer-countdown"' in page and "开始作答" in page and "recorder.js" in page
    assert "没有安装可离线使用的中文语音识别" in page
    other = login_as("candidate").get("/practice/interview/verify-before-lookup").get_data(as_text=True)
    assert 'id="answer-countdown"' not in other
    assert login_as("candidate").get("/practice/interview/no-such").status_code == 404


def test_a_multipart_part_whose_name_cannot_be_read_is_not_a_server_error(api):
    """werkzeug gives such a part the name None; the form's text check once failed on it (found by fuzzing)."""
    boundary = "b0undary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="broken\r\n\r\n-19\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.webm"\r\n'
            f"Content-Type: audio/webm\r\n\r\n").encode() + WEBM + f"\r\n--{boundary}--\r\n".encode()
    resp = api("candidate").post("/api/v1/recordings", data=body,
                                 content_type=f"multipart/form-data; boundary={boundary}")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "validation_failed"
