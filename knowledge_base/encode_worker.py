"""The sentence encoder in a child process, for big imports (``embedding.encode_many``).

The encoder's forward pass is numpy, but between its matrix products it needs the GIL; next
to the import's index build (pure Python, holding the GIL) encoding threads in the same
process barely ran: measured on 2 cores, 10,000 articles, the encoder's threads and the index
build together used 32 CPU-s in 32 s of wall time, i.e. one core. A child process has its own
interpreter, so the operating system runs it on the other core.

Protocol (binary pipes, no pickle): the parent writes one JSON line per batch, a list of
already-folded texts; the child answers ``b"\\x00"`` followed by ``len(texts) × DIM`` float32
values (the model's rows, not normalised; row-major), or ``b"\\x01"`` when it cannot encode
(no model, an error), in which case the parent encodes that batch itself. End of input: exit.

    python -m knowledge_base.encode_worker
"""

from __future__ import annotations

import json
import logging
import sys
from typing import BinaryIO

import numpy as np

from knowledge_base import embedding, token_cache

log = logging.getLogger(__name__)

OK = b"\x00"
FAILED = b"\x01"


def serve(stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Answer batches from ``stdin`` until it closes; returns how many batches were encoded."""
    model = embedding.get_model()
    if model is not None:
        token_cache.install(model)  # a process of its own: one thread uses the cache
    done = 0
    for line in stdin:
        try:
            texts = json.loads(line)
            if model is None:
                raise RuntimeError("sentence encoder unavailable")
            matrix = np.asarray(model.encode(texts), dtype=np.float32).reshape(len(texts), embedding.DIM)
            payload = np.ascontiguousarray(matrix).tobytes()
        except Exception:  # the parent encodes this batch itself
            log.exception("encoding a batch failed")
            stdout.write(FAILED)
            stdout.flush()
            continue
        stdout.write(OK)
        stdout.write(payload)
        stdout.flush()
        done += 1
    return done


def main() -> None:
    """Entry point of the child process: the protocol owns stdout, anything printed goes to stderr."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
