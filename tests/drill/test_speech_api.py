"""Voice customer turns heard through the API: the words to speak and the espeak-ng clip."""

from __future__ import annotations

import pytest

from sandbox.drill import speech

VOICE = "voice-misrecognition"
OPENING = "喂，你好，我想查一下我信用卡这个月要还多少钱。"  # what the caller says; the recogniser mishears it
OPENING_ASR = "喂你好我想查一下我信用卡这个月要换多少钱"


def start(api, scenario=VOICE):
    resp = api.post("/api/v1/drills", json={"scenario": scenario, "mode": "practice"})
    assert resp.status_code == 201, resp.get_json()
    drill = resp.get_json()
    return drill, drill["conversations"][0]["id"]


def error_code(resp) -> str:
    return resp.get_json()["error"]["code"]


def test_the_speech_of_a_voice_turn_is_what_the_customer_says_not_what_was_recognised(api):
    cand = api("candidate")
    _, cid = start(cand)
    first = cand.get(f"/api/v1/conversations/{cid}/messages").get_json()["messages"][0]
    assert first["kind"] == "audio" and first["text"] is None  # the transcript waits for recognition
    body = cand.get(f"/api/v1/conversations/{cid}/messages/{first['seq']}/speech").get_json()
    assert body["text"] == OPENING and body["lang"] == "zh-CN" and body["seq"] == first["seq"]
    if body["server_audio"]:
        assert body["engine"] == "espeak-ng"
        assert body["audio_url"] == f"/api/v1/conversations/{cid}/messages/{first['seq']}/audio"
    cand.post(f"/api/v1/conversations/{cid}/recognize")
    recognised = cand.get(f"/api/v1/conversations/{cid}/messages").get_json()["messages"][0]
    assert recognised["text"] == OPENING_ASR
    assert cand.get(f"/api/v1/conversations/{cid}/messages/1/speech").get_json()["text"] == OPENING


@pytest.mark.espeak
def test_the_audio_is_a_wav_clip_rendered_once(api, app):
    cand = api("candidate")
    _, cid = start(cand)
    speech_body = cand.get(f"/api/v1/conversations/{cid}/messages/1/speech").get_json()
    assert speech_body["server_audio"] is True
    resp = cand.get(speech_body["audio_url"])
    assert resp.status_code == 200 and resp.mimetype == "audio/wav"
    assert resp.data[:4] == b"RIFF" and resp.data[8:12] == b"WAVE" and len(resp.data) > 10_000
    assert "private" in resp.headers["Cache-Control"]
    cache = speech.cache_dir_of(app.extensions["bankdrill"].settings.home)
    clips = list(cache.glob("*.wav"))
    assert len(clips) == 1
    mtime = clips[0].stat().st_mtime_ns
    again = cand.get(speech_body["audio_url"])
    assert again.data == resp.data and list(cache.glob("*.wav")) == clips
    assert clips[0].read_bytes() == resp.data and clips[0].stat().st_mtime_ns >= mtime
    # The examiner watching the drill hears the same clip.
    assert api("examiner").get(speech_body["audio_url"]).data == resp.data


def test_without_espeak_ng_the_browser_voice_is_all_there_is(api, monkeypatch, tmp_path):
    cand = api("candidate")
    _, cid = start(cand)
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    body = cand.get(f"/api/v1/conversations/{cid}/messages/1/speech").get_json()
    assert body["text"] == OPENING
    assert body["server_audio"] is False and body["audio_url"] is None and body["engine"] is None
    resp = cand.get(f"/api/v1/conversations/{cid}/messages/1/audio")
    assert resp.status_code == 503 and error_code(resp) == "tts_unavailable"
    assert "espeak-ng" in resp.get_json()["error"]["message"]


def test_only_voice_customer_turns_can_be_heard(api):
    cand = api("candidate")
    _, cid = start(cand)
    posted = cand.post(f"/api/v1/conversations/{cid}/messages", json={"text": "您好，请问有什么可以帮您？"}).get_json()
    agent_seq = posted["message"]["seq"]
    for seq in (agent_seq, 999, 0):
        for what in ("speech", "audio"):
            resp = cand.get(f"/api/v1/conversations/{cid}/messages/{seq}/{what}")
            assert resp.status_code == 404 and error_code(resp) == "not_a_voice_turn", (seq, what)
    assert cand.get(f"/api/v1/conversations/{cid}/messages/{2**31 + 5}/speech").status_code == 404  # no such id
    # A text-channel drill's customer turns are text.
    _, text_cid = start(cand, "cc-bill-enquiry")
    first = cand.get(f"/api/v1/conversations/{text_cid}/messages").get_json()["messages"][0]
    assert first["speaker"] == "customer" and first["kind"] == "text"
    for what in ("speech", "audio"):
        resp = cand.get(f"/api/v1/conversations/{text_cid}/messages/{first['seq']}/{what}")
        assert resp.status_code == 404 and error_code(resp) == "not_a_voice_turn"


def test_another_candidates_voice_turns_stay_theirs(api):
    _, cid = start(api("candidate"))
    other = api("candidate2")
    for what in ("speech", "audio"):
        resp = other.get(f"/api/v1/conversations/{cid}/messages/1/{what}")
        assert resp.status_code == 403 and error_code(resp) == "forbidden"  # as for the messages themselves
        assert "text" not in resp.get_json()
        resp = other.get(f"/api/v1/conversations/999999/messages/1/{what}")
        assert resp.status_code == 404 and error_code(resp) == "unknown_conversation"


def test_a_free_practice_conversation_has_no_voice_turns(api):
    cand = api("candidate")
    conv = cand.post("/api/v1/conversations", json={"customer_id": "C001", "channel": "语音"})
    assert conv.status_code == 201, conv.get_json()
    cid = conv.get_json()["id"]
    cand.post(f"/api/v1/conversations/{cid}/messages", json={"text": "我想问一下", "as": "customer"})
    resp = cand.get(f"/api/v1/conversations/{cid}/messages/1/speech")
    assert resp.status_code == 404 and error_code(resp) == "not_a_voice_turn"
