"""Helpers for the fault tests: real `bankdrill serve` processes (the PostgreSQL cluster is
``sandbox.devtools.pgcluster``, shared with the load benchmark)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sandbox.devtools.pgcluster import free_port

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


class Server:
    """``bankdrill serve`` on 127.0.0.1 for an instance (home + database URL)."""

    def __init__(self, home: str, url: str, port: int | None = None) -> None:
        self.home, self.url = home, url
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Server:
        # This checkout's code (python -m sandbox, the checkout first on the path), not the code
        # the installed `bankdrill` script points at.
        path = os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
        env = {**os.environ, "BANKDRILL_HOME": self.home, "BANKDRILL_DATABASE_URL": self.url, "PYTHONPATH": path}
        self.log = open(Path(self.home) / f"serve-{self.port}.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "sandbox", "serve", "--host", "127.0.0.1", "--port",
                                      str(self.port), "--threads", "4"], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bankdrill serve exited with {self.proc.returncode}")
            try:
                if self.call("GET", "/api/v1/health")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("bankdrill serve did not come up")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.log.close()

    def call(self, method: str, path: str, body=None, token: str | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")
