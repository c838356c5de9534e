"""Server CPU per request, one process: waitress (1 and 4 threads) against gunicorn (sync, gthread).

    python benchmarks/load/server_floor.py [--seconds 5] [--connections 8]

A fresh seeded instance with one candidate and one drill; each server in turn (needs the `prod`
extra for gunicorn) answers wrk (`apt-get install wrk`) for ``GET /api/v1/health`` with the
candidate's token (the floor of an authenticated request) and for the drill's poll
(``GET /api/v1/conversations/{id}/messages?after=1000``). The server's CPU time (user + system,
all its processes) is read with psutil before and after: CPU per request is what bounds a herd
(200 requests in the same instant need 200 × that on one interpreter). Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

import run as load_run  # noqa: E402

from sandbox.devtools.pgcluster import free_port  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=8)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bankdrill-floor-"))
    try:
        home = root / "home"
        home.mkdir()
        url = f"sqlite:///{home / 'bankdrill.sqlite3'}"
        token = load_run.prepare(home, url, 1)["tokens"][0]
        env = {**os.environ, "BANKDRILL_HOME": str(home), "BANKDRILL_DATABASE_URL": url,
               "PYTHONPATH": str(HERE.parents[1])}
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        servers = {"waitress, 1 thread": [*load_run.bankdrill_cmd(), "serve", "--threads", "1", "--port", "{port}"],
                   "waitress, 4 threads": [*load_run.bankdrill_cmd(), "serve", "--threads", "4", "--port", "{port}"]}
        if Path(gunicorn).exists():
            servers["gunicorn sync, 1 worker"] = [gunicorn, "-w", "1", "-k", "sync", "-b", "127.0.0.1:{port}",
                                                  "sandbox.app:create_app()"]
            servers["gunicorn gthread, 4 threads"] = [gunicorn, "-w", "1", "-k", "gthread", "--threads", "4", "-b",
                                                      "127.0.0.1:{port}", "sandbox.app:create_app()"]
        script = root / "token.lua"
        script.write_text(f'wrk.headers["Authorization"] = "Bearer {token}"\n', encoding="utf-8")
        conv = None
        print(f"wrk -t1 -c{args.connections} -d{args.seconds}s, SQLite, one process\n")
        print("| server | request | requests/s | server CPU per request ms |")
        print("|---|---|---|---|")
        for name, cmd in servers.items():
            port = free_port()
            server = subprocess.Popen([c.replace("{port}", str(port)) for c in cmd], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                base = f"http://127.0.0.1:{port}"
                load_run.wait_healthy(base)
                if conv is None:
                    req = urllib.request.Request(base + "/api/v1/drills", method="POST",
                                                 data=json.dumps({"scenario": "cc-bill-enquiry"}).encode(),
                                                 headers={"Authorization": f"Bearer {token}",
                                                          "Content-Type": "application/json"})
                    with urllib.request.urlopen(req) as r:
                        conv = json.load(r)["conversations"][0]["id"]
                procs = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
                for label, path in (("health + token", "/api/v1/health"),
                                    ("poll", f"/api/v1/conversations/{conv}/messages?after=1000")):
                    before = [p.cpu_times() for p in procs]
                    out = subprocess.run(["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "-s",
                                          str(script), base + path], capture_output=True, text=True).stdout
                    after = [p.cpu_times() for p in procs]
                    done = int(re.search(r"(\d+) requests in", out).group(1))
                    cpu = sum((b.user - a.user) + (b.system - a.system) for a, b in zip(before, after, strict=True))
                    print(f"| {name} | {label} | {done / args.seconds:.0f} | {cpu / done * 1000:.2f} |", flush=True)
            finally:
                server.terminate()
                server.wait(timeout=30)
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
