"""The herd: a whole room starts its round at once, then polls on one shared beat.

    python benchmarks/load/herd.py --users 200                         # SQLite, one bankdrill serve
    python benchmarks/load/herd.py --users 200 --postgres --servers 2  # PostgreSQL, two processes

An examiner creates a round for N candidates and starts it (which prepares each candidate's
first question: the time it takes is printed); every candidate then presses
开始作答 (``POST /api/v1/rounds/{id}/next``) inside the same second (a barrier releases all
client threads together), and from then on polls its conversation
(``GET /api/v1/conversations/{id}/messages?after=…``) on one shared beat (``--beat``, 2 s, the
console's interval) for ``--duration`` seconds, all at the same instant of every beat: the worst
case, which the console's spread polls avoid. Targets (issue 20): 0 errors, p95 <= 1 s during the
first 5 s and <= 200 ms after. Prints the figures and exits 1 when a target is missed.

The client is one process of plain threads with keep-alive connections (``http.client``): 200
polls per 2 s beat is light work for it, and the start burst is 200 requests once. Candidates
call with Bearer tokens, or with ``--browser`` as the console does: logged in through the login
page (not timed), with the session cookie on every call and the page's CSRF token on writes.
"""

from __future__ import annotations

import argparse
import html
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

import run as load_run  # noqa: E402  (the load benchmark's instance, cluster and server helpers)

from sandbox.devtools.pgcluster import free_port  # noqa: E402

SCENARIOS = ["cc-bill-enquiry", "lost-debit-card"]
FIRST_WINDOW_S = 5.0
P95_FIRST_MS = 1000
P95_AFTER_MS = 200


def examiner_token(home: Path, url: str) -> str:
    from sandbox.app import create_app
    from sandbox.roles import EXAMINER
    from sandbox.users.services import create_user, issue_token

    app = create_app({"HOME": str(home), "DATABASE_URL": url})
    runtime = app.extensions["bankdrill"]
    with runtime.transaction() as s:
        token = issue_token(s, runtime.clock, create_user(s, runtime.clock, "herd_examiner", EXAMINER, "herdpass1234"))
    runtime.dispose()
    return token


class Client:
    """One keep-alive connection with a Bearer token."""

    def __init__(self, base: str, token: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        try:
            self.conn.request(method, path, body=data, headers=self.headers)
            resp = self.conn.getresponse()
            return resp.status, json.loads(resp.read() or b"null")
        except (OSError, http.client.HTTPException):
            self.conn.close()  # reconnects on the next request
            return 0, {}


class BrowserClient(Client):
    """One keep-alive connection logged in as the console's browser is: through the login page,
    then the session cookie on every call and the page's CSRF token on writes."""

    def __init__(self, base: str, username: str, password: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.cookies: dict[str, str] = {}
        login_page = self._page("GET", "/login")
        form = urllib.parse.urlencode({"csrf_token": _meta_csrf(login_page), "username": username, "password": password})
        self._page("POST", "/login", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
        if "bankdrill_session" not in self.cookies:
            raise RuntimeError(f"{username} could not log in")
        token = _meta_csrf(self._page("GET", "/"))  # the session's CSRF token, as a page gives it
        self.headers = {"Content-Type": "application/json", "X-CSRFToken": token}

    def _page(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> str:
        self.conn.request(method, path, body=body, headers={**(headers or {}), **self._cookie_header()})
        resp = self.conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        self._keep_cookies(resp)
        return text

    def _cookie_header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def _keep_cookies(self, resp: http.client.HTTPResponse) -> None:
        for header in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        try:
            self.conn.request(method, path, body=data, headers={**self.headers, **self._cookie_header()})
            resp = self.conn.getresponse()
            payload = resp.read()
            self._keep_cookies(resp)
            return resp.status, json.loads(payload or b"null")
        except (OSError, http.client.HTTPException):
            self.conn.close()
            return 0, {}


def _meta_csrf(page: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    if not found:
        raise RuntimeError("no CSRF token on the page")
    return html.unescape(found.group(1))


def servers_cpu(servers: list[subprocess.Popen]) -> float:
    """CPU seconds used so far by the server processes and their children (gunicorn's workers);
    -1 without psutil."""
    try:
        import psutil
    except ImportError:
        return -1.0
    total = 0.0
    for p in servers:
        proc = psutil.Process(p.pid)
        for one in [proc, *proc.children(recursive=True)]:
            times = one.cpu_times()
            total += times.user + times.system
    return total


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def candidate(client: Client, round_id: int, barrier: threading.Barrier, beat: float, until: float,
              t0: list[float], samples: list[tuple[float, float, str, int]], lock: threading.Lock,
              poll_path: str | None = None) -> None:
    barrier.wait()
    start = time.perf_counter()
    status, drill = client.call("POST", f"/api/v1/rounds/{round_id}/next", {})
    done = time.perf_counter()
    with lock:
        samples.append((start - t0[0], (done - start) * 1000, "start", status))
    if status != 201:
        return
    conv = drill["conversations"][0]["id"]
    after = 0
    next_beat = t0[0] + beat
    while True:
        now = time.perf_counter()
        if next_beat > until:
            return
        if next_beat > now:
            time.sleep(next_beat - now)
        start = time.perf_counter()
        status, body = client.call("GET", poll_path or f"/api/v1/conversations/{conv}/messages?after={after}")
        done = time.perf_counter()
        news = status == 200 and bool(body.get("messages"))
        if news:
            after = body["messages"][-1]["seq"]
        with lock:
            samples.append((start - t0[0], (done - start) * 1000, "poll+news" if news else "poll", status))
        next_beat += beat


def server_cmd(args: argparse.Namespace, port: int) -> list[str]:
    """``bankdrill serve`` (waitress), or gunicorn's gthread workers (``--servers`` of them on one port,
    keep-alive long enough for the beat)."""
    return load_run.server_cmd(port, args.threads, switch_interval=args.switch_interval_ms / 1000,
                               gunicorn_workers=args.servers if args.server == "gunicorn" else 0,
                               gunicorn_extra=("--worker-connections", "1000", "--keep-alive", "75"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--duration", type=float, default=60, help="seconds of polling after the start")
    ap.add_argument("--beat", type=float, default=2.0, help="the shared poll interval (s)")
    ap.add_argument("--postgres", action="store_true")
    ap.add_argument("--servers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="waitress threads per server (serve's default, 1)")
    ap.add_argument("--server", choices=("waitress", "gunicorn"), default="waitress",
                    help="waitress (bankdrill serve, one process per --servers) or gunicorn gthread "
                         "(--servers workers on one port, --threads each)")
    ap.add_argument("--switch-interval-ms", type=float, default=0,
                    help="waitress only: the server interpreter's sys.setswitchinterval (0: Python's 5 ms)")
    ap.add_argument("--browser", action="store_true",
                    help="candidates log in through the login page and call with the session cookie and "
                         "the page's CSRF token, as the console does (default: Bearer tokens)")
    ap.add_argument("--poll-path", default=None,
                    help="poll this path instead of the conversation (e.g. /api/v1/me: the floor of an "
                         "authenticated request, to tell the server's share from the poll's)")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bankdrill-herd-"))
    cluster = None
    servers: list[subprocess.Popen] = []
    try:
        home = root / "home"
        home.mkdir()
        if args.postgres:
            cluster = load_run.PgCluster(root)
            cluster.start()
            url = cluster.url
        else:
            url = f"sqlite:///{home / 'bankdrill.sqlite3'}"
        setup = load_run.prepare(home, url, args.users)
        tokens = setup["tokens"]
        boss = examiner_token(home, url)
        env = {**os.environ, "BANKDRILL_HOME": str(home), "BANKDRILL_DATABASE_URL": url}
        hosts = []
        for _ in range(1 if args.server == "gunicorn" else args.servers):
            port = free_port()
            servers.append(subprocess.Popen(server_cmd(args, port), env=env, stdout=open(root / f"server-{port}.log", "w"),
                                            stderr=subprocess.STDOUT))
            hosts.append(f"http://127.0.0.1:{port}")
        for base in hosts:
            load_run.wait_healthy(base)

        examiner = Client(hosts[0], boss)
        status, rnd = examiner.call("POST", "/api/v1/rounds", {"name": "整场考试（压力测试）", "scenarios": SCENARIOS})
        assert status == 201, rnd
        usernames = [f"load{i:04d}" for i in range(args.users)]
        status, added = examiner.call("POST", f"/api/v1/rounds/{rnd['id']}/candidates", {"usernames": usernames})
        assert status == 200, added
        began = time.perf_counter()
        status, started = examiner.call("POST", f"/api/v1/rounds/{rnd['id']}/start", {})
        assert status == 200, started
        round_start_ms = (time.perf_counter() - began) * 1000  # prepares every candidate's first question

        if args.browser:  # logged in through the login page, as the console is (not timed)
            clients: list[Client] = [BrowserClient(hosts[i % len(hosts)], f"load{i:04d}", f"loadpass{i:04d}")
                                     for i in range(args.users)]
        else:
            clients = [Client(hosts[i % len(hosts)], token) for i, token in enumerate(tokens)]
        for c in clients:  # connect first, as open browser tabs are
            c.call("GET", "/api/v1/health")
        barrier = threading.Barrier(args.users + 1)
        samples: list[tuple[float, float, str, int]] = []
        lock = threading.Lock()
        t0 = [0.0]
        until_holder: list[float] = []
        threads = []
        for c in clients:
            th = threading.Thread(target=lambda c=c: candidate(c, rnd["id"], barrier, args.beat, until_holder[0], t0,
                                                               samples, lock, args.poll_path), daemon=True)
            threads.append(th)
        t0[0] = time.perf_counter() + 0.5
        until_holder.append(t0[0] + args.duration)
        cpu_marks: list[tuple[float, float, float]] = []  # (wall, servers' CPU s, this client's CPU s)

        def mark_cpu() -> None:  # at the start of the steady phase and at its end
            for at in (t0[0] + FIRST_WINDOW_S, until_holder[0]):
                time.sleep(max(0.0, at - time.perf_counter()))
                cpu_marks.append((time.perf_counter(), servers_cpu(servers), time.process_time()))

        threading.Thread(target=mark_cpu, daemon=True).start()
        for th in threads:
            th.start()
        time.sleep(max(0.0, t0[0] - time.perf_counter()))
        barrier.wait()
        for th in threads:
            th.join(timeout=args.duration + 120)

        starts = [s for s in samples if s[2] == "start"]
        polls = [s for s in samples if s[2].startswith("poll")]
        errors = [s for s in samples if not (200 <= s[3] < 300)]
        first = [ms for t, ms, _, _ in samples if t < FIRST_WINDOW_S]
        after = [ms for t, ms, _, _ in samples if t >= FIRST_WINDOW_S]
        start_spread = max(s[0] for s in starts) - min(s[0] for s in starts) if starts else 0.0
        kind = f"PostgreSQL, {args.servers} process(es)" if args.postgres else f"SQLite, {args.servers} process(es)"
        server = args.server + (f" (switch interval {args.switch_interval_ms} ms)" if args.switch_interval_ms else "")
        print(f"\nherd: {args.users} candidates, {kind}, {server} {args.threads} threads, beat {args.beat} s, "
              f"{args.duration:.0f} s" + (f", polling {args.poll_path}" if args.poll_path else "")
              + (", browser sessions" if args.browser else ", Bearer tokens"))
        print(f"the examiner's 开始考试 (preparing {args.users} first questions) took {round_start_ms:.0f} ms")
        print(f"start requests sent within {start_spread * 1000:.0f} ms; "
              f"start p50/p95/max {percentile([s[1] for s in starts], .5):.0f}/"
              f"{percentile([s[1] for s in starts], .95):.0f}/{max((s[1] for s in starts), default=0):.0f} ms")
        print("| window | requests | errors | p50 ms | p95 ms | p99 ms | max ms | target |")
        print("|---|---|---|---|---|---|---|---|")
        ok = not errors
        for label, values, target in ((f"first {FIRST_WINDOW_S:.0f} s", first, P95_FIRST_MS),
                                      ("after", after, P95_AFTER_MS)):
            p95 = percentile(values, .95)
            ok = ok and p95 <= target
            print(f"| {label} | {len(values)} | "
                  f"{sum(1 for s in errors if (s[0] < FIRST_WINDOW_S) == label.startswith('first'))} | "
                  f"{percentile(values, .5):.0f} | {p95:.0f} | {percentile(values, .99):.0f} | "
                  f"{max(values, default=0):.0f} | p95 ≤ {target} {'✔' if p95 <= target else '✘'} |")
        print(f"polls: {len(polls)} ({sum(1 for s in polls if s[2] == 'poll+news')} brought new messages); "
              f"errors: {len(errors)} {sorted({s[3] for s in errors})}")
        if len(cpu_marks) == 2 and cpu_marks[0][1] >= 0:
            (w0, s0, c0), (w1, s1, c1) = cpu_marks
            steady_polls = sum(1 for t, _, kind, _ in samples if kind.startswith("poll") and t >= FIRST_WINDOW_S)
            beats = (w1 - w0) / args.beat
            print(f"steady phase CPU: servers {(s1 - s0) * 1000 / beats:.0f} ms per beat "
                  f"({(s1 - s0) * 1000 / max(steady_polls, 1):.2f} ms per poll), this client "
                  f"{(c1 - c0) * 1000 / beats:.0f} ms per beat")
        return 0 if ok else 1
    finally:
        for p in servers:
            p.terminate()
        for p in servers:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
