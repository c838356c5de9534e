"""Voice customer turns rendered as speech on the server by espeak-ng (optional, no Flask).

A voice drill's customer turn can be heard in the console: the browser's own Chinese voice
when it has one, else a WAV clip made here by the ``espeak-ng`` program (Debian package
``espeak-ng``, voice ``cmn``) when it is installed. Clips are cached in the instance folder
per (voice, rate, text), written to a temporary file and renamed into place, and the cache is
kept under a size bound by evicting the least recently used clips.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from sandbox.errors import ServiceUnavailable, ValidationFailed

ESPEAK = "espeak-ng"
VOICE = "cmn"  # Mandarin
RATE = 150  # words per minute (espeak-ng's default is 175; a caller on the phone speaks slower)
MAX_SPEECH_CHARS = 500  # longer text is cut: a customer turn is a sentence or two
TIMEOUT_SECONDS = 20.0
CACHE_DIR = "tts-cache"  # under the instance folder
CACHE_LIMIT_BYTES = 50 * 1024 * 1024
CLIP_SUFFIX = ".wav"
ENGINE_LABEL = "espeak-ng"


def espeak_available() -> bool:
    """Whether the ``espeak-ng`` program is on PATH (server-side speech can be rendered)."""
    return shutil.which(ESPEAK) is not None


def speech_text(text: str) -> str:
    """The text a clip is rendered from: stripped and capped at ``MAX_SPEECH_CHARS``."""
    return (text or "").strip()[:MAX_SPEECH_CHARS]


def clip_key(text: str, voice: str = VOICE, rate: int = RATE) -> str:
    """The cache key of a clip: sha256 of voice, rate and the (capped) text."""
    raw = f"{voice}\0{rate}\0{speech_text(text)}".encode()
    return hashlib.sha256(raw).hexdigest()


def cache_dir_of(home: Path) -> Path:
    """The clip cache of the instance whose folder is ``home``."""
    return home / CACHE_DIR


def render_clip(text: str, cache_dir: Path, *, voice: str = VOICE, rate: int = RATE,
                timeout: float = TIMEOUT_SECONDS, cache_limit: int = CACHE_LIMIT_BYTES) -> Path:
    """A WAV clip of ``text`` spoken by espeak-ng, from the cache or rendered into it.

    A cached clip is returned without running espeak-ng (and marked as recently used).
    Raises ``ValidationFailed`` (``empty_speech``) for empty text and ``ServiceUnavailable``
    when espeak-ng is missing (``tts_unavailable``), too slow (``tts_timeout``) or fails
    (``tts_failed``); nothing half-written is ever left under the clip's name.
    """
    spoken = speech_text(text)
    if not spoken:
        raise ValidationFailed("没有可朗读的文字。", code="empty_speech")
    path = cache_dir / (clip_key(spoken, voice, rate) + CLIP_SUFFIX)
    if path.is_file():
        _touch(path)
        return path
    binary = shutil.which(ESPEAK)
    if binary is None:
        raise ServiceUnavailable("服务器未安装 espeak-ng，无法合成语音。", code="tts_unavailable")
    cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(dir=cache_dir, prefix=".clip-", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            subprocess.run([binary, "-v", voice, "-s", str(rate), "-w", str(tmp), "--", spoken],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=True)
        except subprocess.TimeoutExpired:
            raise ServiceUnavailable("语音合成超时，请稍后再试。", code="tts_timeout") from None
        except (subprocess.CalledProcessError, OSError):
            raise ServiceUnavailable("语音合成失败。", code="tts_failed") from None
        with tmp.open("rb") as fh:
            if fh.read(4) != b"RIFF":
                raise ServiceUnavailable("语音合成失败（输出不是 WAV 音频）。", code="tts_failed")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    evict(cache_dir, cache_limit, keep=path)
    return path


def evict(cache_dir: Path, limit: int = CACHE_LIMIT_BYTES, keep: Path | None = None) -> list[Path]:
    """Remove the least recently used clips until the cache holds at most ``limit`` bytes.

    ``keep`` (the clip just served) is never removed. Returns the clips removed.
    """
    clips = []
    for entry in cache_dir.glob("*" + CLIP_SUFFIX):
        try:
            st = entry.stat()
        except FileNotFoundError:
            continue  # another request evicted it
        clips.append((st.st_mtime, entry, st.st_size))
    total = sum(size for _, _, size in clips)
    removed: list[Path] = []
    for _, entry, size in sorted(clips, key=lambda c: (c[0], c[1].name)):
        if total <= limit:
            break
        if keep is not None and entry == keep:
            continue
        entry.unlink(missing_ok=True)
        total -= size
        removed.append(entry)
    return removed


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass  # evicted meanwhile or read-only: the clip is still served
