"""Instructions per request, counted by callgrind: a measure of a request's cost that the noisy
VM does not move (the same code and data give the same count within ~0.2 %).

    python benchmarks/post_instructions.py                  # a drill message, 40 posts
    python benchmarks/post_instructions.py --what health    # GET /api/v1/health, for scale
    python benchmarks/post_instructions.py --what next      # 开始作答: a round's prepared first question
    python benchmarks/post_instructions.py --what start     # a practice drill's start (POST /api/v1/drills)
    python benchmarks/post_instructions.py --repo /tmp/wt   # another checkout (a worktree), to compare

Wall-clock figures on this machine move ±20–40 % from one minute to the next, so a change of
a few per cent in a request's cost cannot be seen in requests/s. This script prepares a seeded
instance with 40 running drills (one message each), then runs the requests in-process with
Flask's test client under ``valgrind --tool=callgrind``, with instrumentation switched on only
around the measured requests (``callgrind_control``), and prints the instructions per request.
The drill messages use the constant text of ``request_cost.py``. ``--what next`` measures what
the herd benchmark's burst is made of: candidates of a started round (their first questions
prepared by 开始考试, as in ``load/herd.py``) each pressing 开始作答 once (``POST
/api/v1/rounds/{id}/next``). Needs valgrind (Debian package ``valgrind``). Not part of the test
suite.
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
ROUND_SCENARIOS = ["cc-bill-enquiry", "lost-debit-card"]  # as load/herd.py's round
WARM_CANDIDATES = 10  # press 开始作答 before the measured ones: caches warm, as in a running server


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
    round_id, round_tokens = _prepare_round(runtime, client)
    (home / "prepared.json").write_text(json.dumps({"token": token, "conversations": conversations,
                                                    "round": round_id, "round_tokens": round_tokens}))
    runtime.dispose()


def _prepare_round(runtime, client) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    """A started round with warm-up and measured candidates, each with a token."""
    from sandbox.roles import CANDIDATE
    from sandbox.users.services import create_user, get_user, issue_token

    names = [f"herd{i:03d}" for i in range(WARM_CANDIDATES + DRILLS)]
    with runtime.transaction() as s:
        examiner = issue_token(s, runtime.clock, get_user(s, "examiner"))
        tokens = [issue_token(s, runtime.clock, create_user(s, runtime.clock, name, CANDIDATE, "herd-password-1"))
                  for name in names]
    headers = {"Authorization": f"Bearer {examiner}"}
    rnd = client.post("/api/v1/rounds", json={"name": "指令计数", "scenarios": ROUND_SCENARIOS},
                      headers=headers).get_json()
    assert client.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"usernames": names},
                       headers=headers).status_code == 200
    assert client.post(f"/api/v1/rounds/{rnd['id']}/start", headers=headers).status_code == 200
    return rnd["id"], tokens


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

    if what == "next":
        _measure_next(client, prepared, count)
        app.extensions["bankdrill"].dispose()
        return

    def request(i: int) -> None:
        if what == "health":
            resp = client.get("/api/v1/health", headers=headers)
        elif what == "start":  # as the load test's candidates start theirs
            resp = client.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"}, headers=headers)
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


def _measure_next(client, prepared: dict, count: int) -> None:  # type: ignore[no-untyped-def]
    tokens = prepared["round_tokens"]
    if count > len(tokens) - WARM_CANDIDATES:
        raise SystemExit(f"--what next measures at most {len(tokens) - WARM_CANDIDATES} candidates")

    def press(token: str) -> None:
        resp = client.post(f"/api/v1/rounds/{prepared['round']}/next", json={},
                           headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 201, resp.get_json()

    for token in tokens[:WARM_CANDIDATES]:
        press(token)
    pid = str(os.getpid())
    subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
    for token in tokens[WARM_CANDIDATES:WARM_CANDIDATES + count]:
        press(token)
    subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--what", choices=("post", "health", "next", "start"), default="post")
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
        label = {"post": "POST /conversations/{id}/messages", "health": "GET /api/v1/health",
                 "next": "POST /rounds/{id}/next (开始作答)", "start": "POST /api/v1/drills (practice)"}[args.what]
        print(f"{label}: {total / args.count / 1e6:.3f} M instructions per request "
              f"({args.count} requests, code of {repo})")
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
