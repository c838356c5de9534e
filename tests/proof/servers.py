"""Helpers for the fault tests: real `bankdrill serve` processes and a private PostgreSQL cluster."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """``bankdrill serve`` on 127.0.0.1 for an instance (home + database URL)."""

    def __init__(self, home: str, url: str, port: int | None = None) -> None:
        self.home, self.url = home, url
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "Server":
        env = {**os.environ, "BANKDRILL_HOME": self.home, "BANKDRILL_DATABASE_URL": self.url}
        self.log = open(Path(self.home) / f"serve-{self.port}.log", "ab")
        self.proc = subprocess.Popen([str(BIN / "bankdrill"), "serve", "--host", "127.0.0.1", "--port",
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


def pg_bin() -> str | None:
    """Where initdb/pg_ctl live: BANKDRILL_TEST_PG_BIN, else the newest /usr/lib/postgresql/*/bin."""
    env = os.environ.get("BANKDRILL_TEST_PG_BIN")
    if env:
        return env if Path(env, "initdb").exists() else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return str(Path(found[-1]).parent) if found else None


class PrivateCluster:
    """A throwaway PostgreSQL cluster owned by one test (as .ci/run starts its own)."""

    def __init__(self, bindir: str) -> None:
        self.bin = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="bankdrill-pgfault-"))
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")

    def _run(self, cmd: str) -> None:
        argv = ["su", "postgres", "-s", "/bin/sh", "-c", cmd] if self.as_postgres else ["/bin/sh", "-c", cmd]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def init(self) -> "PrivateCluster":
        self._run(f"{self.bin}/initdb -A trust -U postgres -E UTF8 --locale=C.UTF-8 -D {self.dir}/data")
        self.start()
        self._run(f"{self.bin}/createdb -h 127.0.0.1 -p {self.port} -U postgres bankdrill")
        return self

    def start(self) -> None:
        self._run(f"{self.bin}/pg_ctl -D {self.dir}/data -w -l {self.dir}/log -o '-h 127.0.0.1 -p {self.port} "
                  f"-k {self.dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off' start")

    def stop(self, mode: str = "fast") -> None:
        self._run(f"{self.bin}/pg_ctl -D {self.dir}/data -m {mode} -w stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/bankdrill"
