"""Instructions per request, counted by callgrind: a measure of a request's cost that the noisy
VM does not move (the same code and data give the same count within ~0.2 %).

    python benchmarks/post_instructions.py                  # a drill message, 40 posts
    python benchmarks/post_instructions.py --what health    # GET /api/v1/health, for scale
    python benchmarks/post_instructions.py --repo /tmp/wt   # another checkout (a worktree), to compare

Wall-clock figures on this machine move ±20–40 % from one minute to the next, so a change of
a few per cent in a request's cost cannot be seen in requests/s. This script prepares a seeded
instance with 40 running drills (one message each), then runs the requests in-process with
Flask's test client under ``valgrind --tool=callgrind``, with instrumentation switched on only
around the measured requests (``callgrind_control``), and prints the instructions per request.
The drill messages use the constant text of ``request_cost.py``. Needs valgrind (Debian package
``valgrind``). Not part of the test suite.
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
from pathlib import Path

TEXT = "您好，我帮您查一下，请稍等。"  # as request_cost.py posts
DRILLS = 40


def _prepare(repo: Path, home: Path) -> None:
    sys.path.insert(0, str(repo))
    from sandbox.app import create_app
    from sandbox.clock import FixedClock
    from sandbox.instance import DEMO_USERS, initialise
    from sandbox.users.services import get_user, issue_token

    app = create_app({"HOME": str(home), "DATABASE_URL": f"sqlite:///{home / 'bankdrill.sqlite3'}",
                      "TESTING": True, "CLOCK": FixedClock()})
    runtime = app.extensions["bankdrill"]
    initialise(runtime, seed=True)
    with runtime.transaction() as s:
        candidate = next(name for name, role, _ in DEMO_USERS if role == "candidate")
        token = issue_token(s, runtime.clock, get_user(s, candidate))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    conversations = []
    for _ in range(DRILLS):
        drill = client.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}, headers=headers).get_json()
        conversations.append(drill["conversations"][0]["id"])
        resp = client.post(f"/api/v1/conversations/{conversations[-1]}/messages", json={"text": "您好，请问有什么可以帮您？"},
                           headers=headers)
        assert resp.status_code == 201, resp.get_json()
    (home / "prepared.json").write_text(json.dumps({"token": token, "conversations": conversations}))
    runtime.dispose()


def _measure(repo: Path, home: Path, what: str, count: int) -> None:
    """Runs under callgrind: warm every conversation once, then ``count`` measured requests."""
    sys.path.insert(0, str(repo))
    from sandbox.app import create_app
    from sandbox.clock import FixedClock

    prepared = json.loads((home / "prepared.json").read_text())
    app = create_app({"HOME": str(home), "DATABASE_URL": f"sqlite:///{home / 'bankdrill.sqlite3'}",
                      "TESTING": True, "CLOCK": FixedClock()})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {prepared['token']}"}
    conversations = prepared["conversations"]

    def request(i: int) -> None:
        if what == "health":
            resp = client.get("/api/v1/health", headers=headers)
        else:
            resp = client.post(f"/api/v1/conversations/{conversations[i % len(conversations)]}/messages",
                               json={"text": TEXT}, headers=headers)
        assert resp.status_code in (200, 201), resp.get_json()

    for i in range(len(conversations)):
        request(i)  # warm: caches, every conversation once
    pid = str(os.getpid())
    subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
    for i in range(count):
        request(i)
    subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)
    app.extensions["bankdrill"].dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--what", choices=("post", "health"), default="post")
    ap.add_argument("--count", type=int, default=40, help="measured requests")
    ap.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent,
                    help="the checkout whose code runs (default: this one)")
    ap.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)  # internal: the instance's preparation
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # internal: the run under callgrind
    args = ap.parse_args()
    repo = args.repo.resolve()
    if args.prepare is not None:
        _prepare(repo, args.prepare)
        return 0
    if args.measure is not None:
        _measure(repo, args.measure, args.what, args.count)
        return 0
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    root = Path(tempfile.mkdtemp(prefix="bankdrill-instr-"))
    try:
        home = root / "home"
        home.mkdir()
        # Prepared in a process of its own, so that the measured one starts as a server would.
        subprocess.run([sys.executable, __file__, "--prepare", str(home), "--repo", str(repo)], check=True)
        out = root / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                        sys.executable, __file__, "--measure", str(home), "--what", args.what, "--count",
                        str(args.count), "--repo", str(repo)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        total = int(re.search(r"^totals:\s+(\d+)", out.read_text(), re.M).group(1))
        label = "POST /conversations/{id}/messages" if args.what == "post" else "GET /api/v1/health"
        print(f"{label}: {total / args.count / 1e6:.3f} M instructions per request "
              f"({args.count} requests, code of {repo})")
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
