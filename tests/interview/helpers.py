"""Sample audio headers (just the bytes each container starts with) and upload helpers."""

from __future__ import annotations

import io

WEBM = b"\x1a\x45\xdf\xa3" + b"\x9f\x42\x86\x81\x01" + b"\x00" * 200
OGG = b"OggS" + b"\x00" * 200
WAV = b"RIFF" + (236).to_bytes(4, "little") + b"WAVEfmt " + b"\x00" * 200
MP4 = b"\x00\x00\x00\x18ftypisom" + b"\x00" * 200
MP3_ID3 = b"ID3\x04\x00\x00" + b"\x00" * 200
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 200
SAMPLES = {"audio/webm": WEBM, "audio/ogg": OGG, "audio/wav": WAV, "audio/x-wav": WAV, "audio/mp4": MP4,
           "audio/mpeg": MP3_ID3}


def upload_form(data: bytes = WEBM, content_type: str = "audio/webm;codecs=opus", **fields) -> dict:
    """A multipart form of /api/v1/recordings: the file and the measured fields."""
    form = {"duration_ms": "12000", "pause_count": "2", "longest_pause_ms": "1500", "item": "self-intro"}
    form.update({k: str(v) for k, v in fields.items() if v is not None})
    form = {k: v for k, v in form.items() if v != "<omit>"}
    form["file"] = (io.BytesIO(data), "answer.webm", content_type)
    return form
