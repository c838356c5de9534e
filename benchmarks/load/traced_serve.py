"""`bankdrill serve` with a trace: each request's wall time and thread, and every GC pause.

Used by ``run.py --trace`` to find where latency comes from (queueing, locks, the collector).
Writes TSV lines to $LOAD_TRACE: ``req <start> <ms> <thread> <method> <path>`` and
``gc <start> <ms> <generation>``. Not part of the product.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time

TRACE = open(os.environ["LOAD_TRACE"], "w", buffering=1)
_lock = threading.Lock()
_gc_started = [0.0]


def _write(line: str) -> None:
    with _lock:
        TRACE.write(line + "\n")


def _on_gc(phase: str, info: dict) -> None:
    if phase == "start":
        _gc_started[0] = time.perf_counter()
    else:
        ms = (time.perf_counter() - _gc_started[0]) * 1000
        if ms >= 5:
            _write(f"gc\t{time.time():.3f}\t{ms:.1f}\t{info['generation']}")


_PARSED: dict[int, float] = {}


def _patch_waitress() -> None:
    """Stamp each request when waitress has parsed it, so the trace shows the wait for a thread."""
    from waitress import parser, task

    real_received = parser.HTTPRequestParser.received

    def received(self, data):
        n = real_received(self, data)
        if self.completed and not hasattr(self, "_bankdrill_parsed"):
            self._bankdrill_parsed = time.perf_counter()
        return n

    parser.HTTPRequestParser.received = received
    real_execute = task.WSGITask.execute

    def execute(self):
        parsed = getattr(self.request, "_bankdrill_parsed", None)
        self.environ_wait_ms = (time.perf_counter() - parsed) * 1000 if parsed else -1
        _PARSED[threading.get_ident()] = self.environ_wait_ms
        return real_execute(self)

    task.WSGITask.execute = execute


class Timed:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        t0, w0 = time.perf_counter(), time.time()
        try:
            return self.app(environ, start_response)
        finally:
            ms = (time.perf_counter() - t0) * 1000
            wait = _PARSED.pop(threading.get_ident(), -1)
            _write(f"req\t{w0:.3f}\t{ms:.1f}\t{threading.get_ident() % 10000}\t{environ['REQUEST_METHOD']}\t"
                   f"{environ['PATH_INFO']}\t{wait:.1f}")


def main() -> None:
    import sandbox.app as app_module

    real_create_app = app_module.create_app

    def create_app(*args, **kwargs):
        app = real_create_app(*args, **kwargs)
        app.wsgi_app = Timed(app.wsgi_app)
        return app

    app_module.create_app = create_app
    gc.callbacks.append(_on_gc)
    _patch_waitress()
    if os.environ.get("LOAD_NO_GATE") == "1":  # ablation: SQLite writers wait in SQLite's busy handler again
        from sandbox import db

        db._WriterGate.acquire = lambda self: None
        db._GatedConnection._leave = lambda self: None
    extra = {}  # experiments with waitress adjustments, e.g. LOAD_WAITRESS="channel_request_lookahead=1"
    for item in filter(None, os.environ.get("LOAD_WAITRESS", "").split(",")):
        key, _, value = item.partition("=")
        extra[key] = float(value) if "." in value else int(value)
    if extra:
        import waitress

        real_serve = waitress.serve

        def serve(app, **kw):
            return real_serve(app, **{**kw, **extra})

        waitress.serve = serve
    from sandbox.__main__ import main as cli_main

    sys.argv = ["bankdrill"] + sys.argv[1:]
    cli_main()


if __name__ == "__main__":
    main()
