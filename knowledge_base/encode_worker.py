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
import os
import sys
from typing import Any, BinaryIO

import numpy as np

from knowledge_base import embedding

log = logging.getLogger(__name__)

OK = b"\x00"
FAILED = b"\x01"


def serve(stdin: BinaryIO, stdout: BinaryIO, model: Any = None) -> int:
    """Answer batches from ``stdin`` until it closes, with ``model`` (default: the loaded one,
    which has the token cache); returns how many batches were encoded."""
    if model is None:
        model = embedding.get_model()
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


def main(argv: list[str] | None = None) -> None:
    """Entry point of the encoder process: the protocol owns stdout, anything printed goes to
    stderr. Each ``--fork R,W`` is a pair of pipe descriptors from the parent: once the model
    is loaded, a copy of this process is forked to serve that pair (sharing the loaded model)."""
    args = sys.argv[1:] if argv is None else argv
    pairs = [tuple(int(fd) for fd in args[i + 1].split(",")) for i, arg in enumerate(args) if arg == "--fork"]
    model = embedding.get_model()  # loaded (with its token cache) before the copies are forked
    forked: list[int] = []
    for n, (read_fd, write_fd) in enumerate(pairs):
        pid = os.fork()
        if pid == 0:  # the copy: serve this pair only; fds 0/1 and the other pairs are not ours
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 1)
            for other_read, other_write in pairs[n + 1:]:
                os.close(other_read)
                os.close(other_write)
            code = 0
            try:
                with os.fdopen(read_fd, "rb") as stdin, os.fdopen(write_fd, "wb") as stdout:
                    serve(stdin, stdout, model)
            except BaseException:
                log.exception("forked encoder process failed")
                code = 1
            finally:
                os._exit(code)
        forked.append(pid)
        os.close(read_fd)
        os.close(write_fd)
    out = sys.stdout.buffer
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, out, model)
    for pid in forked:
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
