"""The seam for a speech recogniser: turn a recording into text, when one is installed.

No offline Chinese recogniser ships with the sandbox, so the default ``NoTranscriber`` says it
is unavailable; pages then keep the recording for playback and use the typed box for the key
points. A recogniser (e.g. a local Vosk or whisper.cpp model) plugs in by implementing
``Transcriber`` and being returned by ``default_transcriber``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

UNAVAILABLE_NOTE = ("本机没有安装可离线使用的中文语音识别，录音不会自动转成文字：录音会保存下来供回放，"
                    "要点核对以您在文本框中输入的内容为准。")


@runtime_checkable
class Transcriber(Protocol):
    """Turns recorded audio into Chinese text."""

    available: bool
    name: str

    def transcribe(self, data: bytes, content_type: str) -> str | None:
        """The text spoken in ``data``, or None when nothing could be recognised."""
        ...


class NoTranscriber:
    """The default: no recogniser is installed."""

    available = False
    name = "无"

    def transcribe(self, data: bytes, content_type: str) -> str | None:
        """Nothing is recognised without a recogniser."""
        return None


def default_transcriber() -> Transcriber:
    """The recogniser this install uses (none yet)."""
    return NoTranscriber()


def unavailable_note(transcriber: Transcriber) -> str | None:
    """What a page says when spoken answers cannot be turned into text (None when they can)."""
    return None if transcriber.available else UNAVAILABLE_NOTE
