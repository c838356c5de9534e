"""Server-side speech (sandbox/drill/speech.py): espeak-ng clips, cached per text, bounded cache.

The fake espeak-ng below is a script on PATH in tmp_path that counts its runs, so the tests
neither need the real program nor patch the module's insides.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from sandbox.drill import speech
from sandbox.errors import ServiceUnavailable, ValidationFailed

FAKE_ESPEAK = """#!/bin/sh
# A stand-in for espeak-ng: records its arguments, writes a tiny WAV to the -w file.
echo "$@" >> "{log}"
{before}
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    -w) out="$2"; shift 2 ;;
    --) shift; break ;;
    *) shift ;;
  esac
done
printf 'RIFF\\044\\000\\000\\000WAVEfmt ' > "$out"
head -c 2000 /dev/zero >> "$out"
{after}
"""


def fake_espeak(tmp_path: Path, monkeypatch, before: str = "", after: str = "") -> Path:
    """Put a fake ``espeak-ng`` alone on PATH; returns the log of its runs (one line per run)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "espeak.log"
    script = bindir / "espeak-ng"
    script.write_text(FAKE_ESPEAK.format(log=log, before=before, after=after), encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    # head, printf and sh stay reachable through their absolute directories.
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    return log


def runs(log: Path) -> int:
    return len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0


def test_a_clip_is_rendered_once_and_then_served_from_the_cache(tmp_path, monkeypatch):
    log = fake_espeak(tmp_path, monkeypatch)
    cache = tmp_path / "tts-cache"
    first = speech.render_clip("喂，你好，我想查一下账单。", cache)
    assert first.read_bytes().startswith(b"RIFF") and first.parent == cache
    assert runs(log) == 1
    again = speech.render_clip("  喂，你好，我想查一下账单。 ", cache)  # same words
    assert again == first and runs(log) == 1
    other = speech.render_clip("还款日是哪天？", cache)
    assert other != first and runs(log) == 2
    args = log.read_text(encoding="utf-8").splitlines()[0].split()
    assert args[:4] == ["-v", "cmn", "-s", str(speech.RATE)] and args[-2:] == ["--", "喂，你好，我想查一下账单。"]
    # Only finished clips are left: the temporary files were renamed or removed.
    assert sorted(p.suffix for p in cache.iterdir()) == [".wav", ".wav"]


def test_the_key_covers_voice_rate_and_text():
    base = speech.clip_key("你好")
    assert base == speech.clip_key(" 你好 ")
    assert len({base, speech.clip_key("你好", voice="yue"), speech.clip_key("你好", rate=120),
                speech.clip_key("您好")}) == 4


def test_text_is_capped_and_options_in_text_are_not_options(tmp_path, monkeypatch):
    log = fake_espeak(tmp_path, monkeypatch)
    speech.render_clip("-w /etc/passwd " + "好" * 2000, tmp_path / "c")
    line = log.read_text(encoding="utf-8").strip()
    said = line.split(" -- ", 1)[1]
    assert said.startswith("-w /etc/passwd") and len(said) == speech.MAX_SPEECH_CHARS


def test_empty_text_is_refused(tmp_path, monkeypatch):
    log = fake_espeak(tmp_path, monkeypatch)
    with pytest.raises(ValidationFailed) as exc:
        speech.render_clip("   ", tmp_path / "c")
    assert exc.value.code == "empty_speech" and runs(log) == 0


def test_without_espeak_ng_the_server_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert speech.espeak_available() is False
    with pytest.raises(ServiceUnavailable) as exc:
        speech.render_clip("你好", tmp_path / "c")
    assert exc.value.code == "tts_unavailable" and exc.value.status == 503
    assert "espeak-ng" in exc.value.message


def test_a_hanging_espeak_ng_times_out_and_leaves_nothing(tmp_path, monkeypatch):
    fake_espeak(tmp_path, monkeypatch, before="exec sleep 30")
    cache = tmp_path / "c"
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as exc:
        speech.render_clip("你好", cache, timeout=0.5)
    assert exc.value.code == "tts_timeout"
    assert time.monotonic() - started < 10
    assert list(cache.iterdir()) == []


def test_a_failing_espeak_ng_is_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    fake_espeak(tmp_path, monkeypatch, after="exit 3")
    cache = tmp_path / "c"
    with pytest.raises(ServiceUnavailable) as exc:
        speech.render_clip("你好", cache)
    assert exc.value.code == "tts_failed"
    assert list(cache.iterdir()) == []


def test_output_that_is_not_wav_is_refused(tmp_path, monkeypatch):
    fake_espeak(tmp_path, monkeypatch, after='echo "not audio" > "$out"')
    cache = tmp_path / "c"
    with pytest.raises(ServiceUnavailable) as exc:
        speech.render_clip("你好", cache)
    assert exc.value.code == "tts_failed" and list(cache.iterdir()) == []


def test_the_cache_evicts_the_least_recently_used_clips_beyond_its_bound(tmp_path, monkeypatch):
    log = fake_espeak(tmp_path, monkeypatch)
    cache = tmp_path / "c"
    clips = [speech.render_clip(f"第{i}句", cache) for i in range(3)]
    size = clips[0].stat().st_size
    for age, clip in enumerate(clips):  # oldest first: 第0句, 第1句, 第2句
        os.utime(clip, (1_000_000 + age, 1_000_000 + age))
    assert speech.render_clip("第0句", cache) == clips[0] and runs(log) == 3  # a hit makes it recent
    newest = speech.render_clip("第3句", cache, cache_limit=3 * size)
    assert newest.exists() and clips[0].exists() and clips[2].exists()
    assert not clips[1].exists()  # the least recently used one went
    # Even a bound smaller than one clip keeps the clip just rendered.
    last = speech.render_clip("第4句", cache, cache_limit=1)
    assert [p.name for p in cache.iterdir()] == [last.name]


@pytest.mark.espeak
def test_the_real_espeak_ng_speaks_mandarin(tmp_path):
    clip = speech.render_clip("您好，我想查一下信用卡账单。", tmp_path / "c")
    data = clip.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and len(data) > 10_000
