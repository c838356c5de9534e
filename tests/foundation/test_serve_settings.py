"""What ``bankdrill serve`` hands waitress, proven on a real waitress server.

``send_bytes`` is raised above any ordinary response so that the worker thread queues a
response and waitress's main loop sends it (benchmarks/load/RESULTS.md, "Who sends the
response"); the proof here is that every response still arrives whole and in order: small
ones, one far larger than ``send_bytes`` written in pieces, a streamed one, several on one
keep-alive connection, and from several connections at once.
"""

from __future__ import annotations

import http.client
import threading
import warnings

import pytest
import waitress
from waitress.adjustments import Adjustments

from sandbox.cli.core import SEND_BYTES, waitress_settings
from sandbox.devtools.pgcluster import free_port

BIG = bytes(range(256)) * 1200  # 300 KiB: several times send_bytes


def _app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(BIG)))])
        return [BIG[i:i + 7000] for i in range(0, len(BIG), 7000)]
    if path == "/stream":  # no Content-Length: chunked, written as it is produced
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (f"第{i}行\n".encode() for i in range(2000))
    body = path.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _start(server) -> tuple[threading.Thread, threading.Event]:
    """Run ``server`` in a thread; closing it from the test may hit the main loop mid-poll
    (EBADF on the closed sockets), which is the shutdown, not a failure."""
    closing = threading.Event()

    def run() -> None:
        try:
            server.run()
        except (OSError, ValueError):
            if not closing.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, closing


def _stop(server, thread: threading.Thread, closing: threading.Event) -> None:
    closing.set()
    server.close()
    thread.join(5)


@pytest.fixture()
def served():
    port = free_port()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the deprecation of send_bytes is silenced, nothing else
        server = waitress.create_server(_app, **waitress_settings("127.0.0.1", port, 1, 100))
    thread, closing = _start(server)
    yield port
    _stop(server, thread, closing)


def test_serve_raises_send_bytes_while_waitress_has_it():
    settings = waitress_settings("127.0.0.1", 5000, 1, 1000)
    assert settings["threads"] == 1 and settings["connection_limit"] == 1000
    assert settings["clear_untrusted_proxy_headers"] is True
    if hasattr(Adjustments, "send_bytes"):
        assert settings["send_bytes"] == SEND_BYTES > 16 * 1024  # above a poll's or a page's size
    else:  # a waitress without the setting: serve still starts, with waitress's own behaviour
        assert "send_bytes" not in settings


def test_every_response_arrives_whole_under_the_settings(served):
    conn = http.client.HTTPConnection("127.0.0.1", served, timeout=10)
    for path in ("/a", "/big", "/stream", "/b", "/big", "/c"):  # one keep-alive connection
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200
        if path == "/big":
            assert body == BIG
        elif path == "/stream":
            assert body == "".join(f"第{i}行\n" for i in range(2000)).encode()
        else:
            assert body == path.encode()
    conn.close()


def test_many_connections_at_once_each_get_their_own_answer(served):
    results: dict[int, bytes] = {}

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", served, timeout=10)
        for _ in range(5):
            conn.request("GET", f"/c{n}")
            results[n] = conn.getresponse().read()
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results == {n: f"/c{n}".encode() for n in range(40)}
