"""A throwaway PostgreSQL cluster, as ``.ci/run`` starts one: the fault tests and the load
benchmark both use this one helper.

``initdb -A trust`` as user ``postgres`` (``su`` when run as root), listening on 127.0.0.1
only, durability switched off (it is thrown away), one database ``bankdrill``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pg_bin() -> str | None:
    """Where initdb/pg_ctl live: BANKDRILL_TEST_PG_BIN, else the newest /usr/lib/postgresql/*/bin."""
    env = os.environ.get("BANKDRILL_TEST_PG_BIN")
    if env:
        return env if Path(env, "initdb").exists() else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return str(Path(found[-1]).parent) if found else None


class PrivateCluster:
    """A PostgreSQL cluster in a temporary folder on a free port, removed by ``destroy()``."""

    def __init__(self, bindir: str | None = None, max_connections: int = 100, prefix: str = "bankdrill-pg-") -> None:
        found = bindir or pg_bin()
        if not found:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = found
        self.max_connections = max_connections
        # Its own temp dir: a caller's folder (mode 0700, root's) may not be reachable for postgres.
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")

    def _run(self, cmd: str) -> None:
        argv = ["su", "postgres", "-s", "/bin/sh", "-c", cmd] if self.as_postgres else ["/bin/sh", "-c", cmd]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)

    def init(self) -> PrivateCluster:
        """initdb, start, and create the ``bankdrill`` database."""
        self._run(f"{self.bin}/initdb -A trust -U postgres -E UTF8 --locale=C.UTF-8 -D {self.dir}/data")
        self.start()
        self._run(f"{self.bin}/createdb -h 127.0.0.1 -p {self.port} -U postgres bankdrill")
        return self

    def start(self) -> None:
        self._run(f"{self.bin}/pg_ctl -D {self.dir}/data -w -l {self.dir}/log -o '-h 127.0.0.1 -p {self.port} "
                  f"-k {self.dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                  f"-c max_connections={self.max_connections}' start")

    def stop(self, mode: str = "fast") -> None:
        self._run(f"{self.bin}/pg_ctl -D {self.dir}/data -m {mode} -w stop")

    def destroy(self) -> None:
        """Stop at once and remove the folder."""
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/bankdrill"
