"""Load benchmark: a fresh instance, N candidates with API tokens, real server processes,
headless locust for a bounded time, then a loss check on the database.

    python benchmarks/load/run.py --users 200 --duration 180                  # SQLite, 1 waitress process
    python benchmarks/load/run.py --users 200 --duration 180 --postgres --servers 2

--postgres starts a throwaway cluster (initdb -A trust as user postgres, 127.0.0.1 only,
fsync=off) and stops it afterwards. Needs the `load` extra (locust, psutil). Not part of
the test suite (too long). Prints throughput, p50/p95/p99 per endpoint, errors, server CPU
and RSS, and the loss check; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE.parents[1]))
# Servers, `init`, gunicorn and the trainer started from here import this checkout's packages.
os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE.parents[1])] + [p for p in [os.environ.get("PYTHONPATH")] if p])

from sandbox.devtools.pgcluster import PrivateCluster, free_port  # noqa: E402

TARGET_P95_MS = 200
TARGETED = ("GET /conversations/{id}/messages", "GET /kb/search")


def server_cmd(port: int, threads: int, *, switch_interval: float = 0.0, gunicorn_workers: int = 0,
               worker_class: str = "gthread", gunicorn_extra: tuple[str, ...] = ()) -> list[str]:
    """The command of one server on ``port``: ``bankdrill serve`` (waitress, ``threads``), with the
    interpreter's GIL switch interval set to ``switch_interval`` seconds when given (an experiment;
    it wins over gunicorn), or gunicorn with ``gunicorn_workers`` workers of ``worker_class``."""
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads)]
    if switch_interval:
        return [sys.executable, "-c", "import sys; from sandbox.__main__ import main; "
                f"sys.setswitchinterval({switch_interval}); sys.argv = ['bankdrill'] + sys.argv[1:]; main()"] + serve
    if gunicorn_workers:
        return [str(BIN / "gunicorn"), "-w", str(gunicorn_workers), "-b", f"127.0.0.1:{port}", "--timeout", "60",
                "--worker-class", worker_class, "--threads", str(threads), *gunicorn_extra, "sandbox.app:create_app()"]
    return bankdrill_cmd() + serve


def bankdrill_cmd() -> list[str]:
    """``bankdrill`` from this checkout: ``python -m sandbox`` with the checkout first on the path
    (PYTHONPATH, set below for every child), not the code the installed script points at (an
    editable install of another worktree would be measured instead)."""
    return [sys.executable, "-m", "sandbox"]


# --------------------------------------------------------------------------- PostgreSQL

class PgCluster(PrivateCluster):
    """The shared throwaway cluster with room for the benchmark's connections."""

    def __init__(self, root: Path) -> None:
        super().__init__(max_connections=300, prefix="bankdrill-load-pg-")

    def start(self) -> None:  # type: ignore[override]
        """initdb, start and create the database (the benchmark's single call)."""
        if not (self.dir / "data").exists():
            self.init()
        else:
            super().start()


# --------------------------------------------------------------------------- instance

def prepare(home: Path, url: str, users: int) -> dict:
    """Initialise the instance and create ``users`` candidates with tokens (domain functions)."""
    env = {**os.environ, "BANKDRILL_HOME": str(home), "BANKDRILL_DATABASE_URL": url}
    subprocess.run(bankdrill_cmd() + ["init"], env=env, check=True, stdout=subprocess.DEVNULL)
    from sandbox.app import create_app
    from sandbox.drill.facts import customer_facts
    from sandbox.roles import CANDIDATE
    from sandbox.users.services import create_user, issue_token

    app = create_app({"HOME": str(home), "DATABASE_URL": url})
    runtime = app.extensions["bankdrill"]
    tokens = []
    with runtime.transaction() as s:
        for i in range(users):
            user = create_user(s, runtime.clock, f"load{i:04d}", CANDIDATE, f"loadpass{i:04d}")
            tokens.append(issue_token(s, runtime.clock, user))
    runtime.dispose()
    facts = customer_facts("C001")
    return {"tokens": tokens, "facts": {k: facts[k] for k in ("name", "id_last6", "phone_last4")}}


def trainer_loop(home: str, url: str, seconds: float, out: str) -> None:
    """A trainer saving an article every 10 s through the KB domain service (no save API yet)."""
    from knowledge_base import embedding
    from knowledge_base.articles import get_article, save_article
    from sandbox.app import create_app

    runtime = create_app({"HOME": home, "DATABASE_URL": url}).extensions["bankdrill"]
    # A trainer saves through a server that has the model loaded; load it here before the loop,
    # or the first save would hold the database's write lock while the model loads (~0.8 s).
    embedding.encode(["预热"])
    saved, errors, took = 0, 0, []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        try:
            with runtime.transaction() as s:
                record = get_article(s, "CC-001").to_record()
                record["answer"] = record["answer"].split("\n\n（更新")[0] + f"\n\n（更新 {saved + 1}）"
                save_article(s, runtime.clock, record, by="trainer")
            saved += 1
            took.append((time.perf_counter() - t0) * 1000)
        except Exception as exc:  # reported, not fatal: the benchmark counts it
            errors += 1
            print(f"trainer save failed: {exc!r}", file=sys.stderr)
        time.sleep(max(0.0, 10 - (time.perf_counter() - t0)))
    runtime.dispose()
    Path(out).write_text(json.dumps({"saved": saved, "errors": errors,
                                     "max_ms": round(max(took), 1) if took else None}))


def wait_healthy(base: str, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(base + "/api/v1/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server at {base} did not come up")


class Sampler(threading.Thread):
    """CPU% and RSS of the server processes (and their children), once a second."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        import psutil

        self.procs = [psutil.Process(p) for p in pids]
        self.samples: list[tuple[float, float]] = []
        self.seen = set(pids)
        self.stop = threading.Event()

    def run(self) -> None:
        for p in self.procs:
            p.cpu_percent(None)
        while not self.stop.wait(1.0):
            cpu = rss = 0.0
            for p in list(self.procs):
                try:
                    for child in p.children(recursive=True):
                        if child.pid not in self.seen:
                            self.seen.add(child.pid)
                            child.cpu_percent(None)
                            self.procs.append(child)
                except Exception:
                    pass
            for p in self.procs:
                try:
                    cpu += p.cpu_percent(None)
                    rss += p.memory_info().rss
                except Exception:
                    pass
            self.samples.append((cpu, rss / 2**20))


# --------------------------------------------------------------------------- checks

def loss_check(url: str, record: list[dict]) -> dict:
    from sqlalchemy import select

    from sandbox.db import import_all_models, make_engine, make_session_factory
    from sandbox.drill.models import ConversationMessage
    from workorders.models import WorkOrder

    import_all_models()
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        messages = [r for r in record if r["kind"] == "message"]
        orders = [r for r in record if r["kind"] == "workorder"]
        convs = {r["conversation"] for r in record}
        rows = {}
        for conv in convs:
            for m in s.scalars(select(ConversationMessage).where(ConversationMessage.conversation_id == conv)):
                rows[(conv, m.seq)] = m.text
        lost_messages = [m for m in messages if rows.get((m["conversation"], m["seq"])) != m["text"]]
        gaps = []
        for conv in convs:
            seqs = sorted(seq for (c, seq) in rows if c == conv)
            if seqs != list(range(1, len(seqs) + 1)):
                gaps.append(conv)
        numbers = set(s.scalars(select(WorkOrder.number)))
        lost_orders = [o for o in orders if o["number"] not in numbers]
    engine.dispose()
    return {"messages_accepted": len(messages), "messages_lost": len(lost_messages),
            "conversations_checked": len(convs), "conversations_with_gaps": len(gaps),
            "workorders_accepted": len(orders), "workorders_lost": len(lost_orders),
            "workorders_in_db": len(numbers)}


def read_stats(prefix: Path) -> list[dict]:
    with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# --------------------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--duration", type=int, default=180, help="seconds of load")
    ap.add_argument("--spawn-rate", type=float, default=20)
    ap.add_argument("--postgres", action="store_true", help="throwaway PostgreSQL cluster instead of SQLite")
    ap.add_argument("--servers", type=int, default=1, help="server processes (on PostgreSQL)")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads per server process (bankdrill serve's default, 1; 4 before 2026-12-06)")
    ap.add_argument("--gunicorn", type=int, metavar="WORKERS",
                    help="serve with gunicorn (extra `prod`): WORKERS processes per --servers entry, "
                         "--threads threads each (1 = sync workers)")
    ap.add_argument("--worker-class", choices=("sync", "gthread"),
                    help="gunicorn's worker class (default: sync at one thread, gthread above)")
    ap.add_argument("--no-trainer", action="store_true")
    ap.add_argument("--switch-interval", type=float, help="sys.setswitchinterval() in the servers (default 0.005)")
    ap.add_argument("--lockstep", action="store_true",
                    help="all candidates poll on the same beat (worst case; default: each on its own phase)")
    ap.add_argument("--trace", action="store_true",
                    help="servers log each request's wall time and every GC pause (trace-PORT.tsv in --out)")
    ap.add_argument("--profile", action="store_true",
                    help="attach py-spy to each server for the run (speedscope JSON in --out; needs py-spy)")
    ap.add_argument("--out", help="keep the CSVs and summary here (default: a temp dir, removed)")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bankdrill-load-"))
    out = Path(args.out) if args.out else root / "out"
    out.mkdir(parents=True, exist_ok=True)
    home = root / "home"
    home.mkdir()
    pg = PgCluster(root) if args.postgres else None
    servers: list[subprocess.Popen] = []
    trainer = None
    try:
        if pg:
            pg.start()
        url = pg.url if pg else f"sqlite:///{home / 'bankdrill.sqlite3'}"
        t0 = time.monotonic()
        setup = prepare(home, url, args.users)
        print(f"instance ready in {time.monotonic() - t0:.1f}s: {args.users} candidates, db={url.split(':')[0]}")
        env = {**os.environ, "BANKDRILL_HOME": str(home), "BANKDRILL_DATABASE_URL": url}
        ports = [free_port() for _ in range(args.servers)]
        for port in ports:
            log = open(out / f"server-{port}.log", "w")
            if args.trace and not (args.switch_interval or args.gunicorn):
                cmd = [sys.executable, str(HERE / "traced_serve.py"), "serve", "--host", "127.0.0.1",
                       "--port", str(port), "--threads", str(args.threads)]
            else:
                cmd = server_cmd(port, args.threads, switch_interval=args.switch_interval or 0.0,
                                 gunicorn_workers=args.gunicorn or 0,
                                 worker_class=args.worker_class or ("sync" if args.threads == 1 else "gthread"))
            server_env = {**env, "LOAD_TRACE": str(out / f"trace-{port}.tsv")} if args.trace else env
            servers.append(subprocess.Popen(cmd, env=server_env, stdout=log, stderr=subprocess.STDOUT))
        setup["hosts"] = [f"http://127.0.0.1:{p}" for p in ports]
        for base in setup["hosts"]:
            wait_healthy(base)
        (root / "setup.json").write_text(json.dumps(setup, ensure_ascii=False))
        sampler = Sampler([p.pid for p in servers])
        sampler.start()
        if not args.no_trainer:
            trainer = subprocess.Popen([sys.executable, __file__, "--trainer-loop", str(home), url,
                                        str(args.duration), str(out / "trainer.json")], env=env)
        locust_env = {**os.environ, "LOAD_SETUP": str(root / "setup.json"), "LOAD_RECORD": str(out / "accepted.json"),
                      "LOAD_LOCKSTEP": "1" if args.lockstep else "0"}
        cmd = [str(BIN / "locust"), "-f", str(HERE / "locustfile.py"), "--headless", "-u", str(args.users),
               "-r", str(args.spawn_rate), "-t", f"{args.duration}s", "--csv", str(out / "locust"),
               "--host", setup["hosts"][0], "--only-summary", "--stop-timeout", "5"]
        spies = []
        if args.profile:
            for port, p in zip(ports, servers, strict=True):
                spies.append(subprocess.Popen(
                    [shutil.which("py-spy") or str(BIN / "py-spy"), "record", "--pid", str(p.pid), "--rate", "50",
                     "--duration", str(args.duration), "--format", "speedscope", "--idle",
                     "--output", str(out / f"profile-{port}.speedscope.json")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        print("$", " ".join(cmd[1:]))
        with open(out / "locust.log", "w") as log:
            client = subprocess.Popen(cmd, env=locust_env, stdout=log, stderr=subprocess.STDOUT)
            client_sampler = Sampler([client.pid])
            client_sampler.start()
            client.wait()
        sampler.stop.set()
        client_sampler.stop.set()
        for spy in spies:
            spy.wait(timeout=120)
        if trainer:
            trainer.wait(timeout=60)
        for p in servers:
            p.terminate()
        for p in servers:
            p.wait(timeout=30)

        stats = read_stats(out / "locust")
        record = json.loads((out / "accepted.json").read_text(encoding="utf-8"))
        loss = loss_check(url, record)
        trainer_result = json.loads((out / "trainer.json").read_text()) if trainer else None
        cpu = [c for c, _ in sampler.samples]
        rss = [r for _, r in sampler.samples]
        summary = {"lockstep": args.lockstep, "gunicorn": args.gunicorn, "switch_interval": args.switch_interval,
                   "users": args.users, "duration": args.duration, "db": "postgresql" if pg else "sqlite",
                   "servers": args.servers, "threads": args.threads, "endpoints": [], "loss": loss,
                   "trainer": trainer_result,
                   "server_cpu_percent": {"mean": round(sum(cpu) / len(cpu), 1) if cpu else None,
                                          "max": round(max(cpu), 1) if cpu else None},
                   "server_rss_mb": {"max": round(max(rss), 1) if rss else None},
                   "client_cpu_percent": {"mean": round(sum(c for c, _ in client_sampler.samples)
                                                        / max(1, len(client_sampler.samples)), 1)}}
        print(f"\n{'endpoint':46} {'reqs':>7} {'fail':>5} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>6} {'req/s':>7}")
        missed = []
        for row in stats:
            name = row["Name"]
            e = {"name": name, "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                 "p50": row["50%"], "p95": row["95%"], "p99": row["99%"], "max": round(float(row["Max Response Time"])),
                 "rps": round(float(row["Requests/s"]), 1)}
            summary["endpoints"].append(e)
            print(f"{(row['Type'] + ' ' + name)[:46]:46} {e['requests']:>7} {e['failures']:>5} {e['p50']:>6} "
                  f"{e['p95']:>6} {e['p99']:>6} {e['max']:>6} {e['rps']:>7}")
            if name in TARGETED and e["p95"] not in ("N/A", "") and float(e["p95"]) > TARGET_P95_MS:
                missed.append(f"p95 {name} = {e['p95']} ms > {TARGET_P95_MS}")
        total = next(e for e in summary["endpoints"] if e["name"] == "Aggregated")
        if total["failures"]:
            missed.append(f"{total['failures']} failed requests")
        if loss["messages_lost"] or loss["workorders_lost"] or loss["conversations_with_gaps"]:
            missed.append("lost data")
        if trainer_result and trainer_result["errors"]:
            missed.append(f"{trainer_result['errors']} trainer saves failed")
        print(f"\nthroughput {total['rps']} req/s; errors {total['failures']}; server CPU mean "
              f"{summary['server_cpu_percent']['mean']}% max {summary['server_cpu_percent']['max']}% "
              f"(100% = one core); server RSS max {summary['server_rss_mb']['max']} MB (all processes); "
              f"load client (locust) CPU mean {summary['client_cpu_percent']['mean']}%")
        print(f"loss check: {json.dumps(loss)}")
        if trainer_result:
            print(f"trainer: {json.dumps(trainer_result)}")
        summary["missed"] = missed
        (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1))
        print("targets met" if not missed else "TARGETS MISSED: " + "; ".join(missed))
        return 1 if missed else 0
    finally:
        for p in servers:
            if p.poll() is None:
                p.kill()
        if trainer and trainer.poll() is None:
            trainer.kill()
        if pg:
            pg.destroy()
        if not args.out:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--trainer-loop":
        trainer_loop(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5])
    else:
        sys.exit(main())
