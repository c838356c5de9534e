"""Is the herd collapse waitress's own? The herd's poll pattern against a bare WSGI app.

    python benchmarks/load/bare_herd.py --threads 4 --work-ms 4
    python benchmarks/load/bare_herd.py --threads 8 --work-ms 4

A WSGI app with no Flask, no database, that burns ``--work-ms`` of CPU per request (a poll's
cost in bankdrill) and returns a JSON constant, served by waitress in a child process with
``--threads`` threads. ``--users`` keep-alive clients send one request each at the same instant
of every ``--beat`` for ``--duration`` s (herd.py's pattern). Prints latency percentiles and the
server's CPU split between waitress's main thread (the asyncore loop) and its worker threads.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

from herd import Client, percentile  # noqa: E402

from sandbox.devtools.pgcluster import free_port  # noqa: E402

SERVER = """
import sys, time
work = float(sys.argv[2]) / 1000
if float(sys.argv[5]) > 0:
    sys.setswitchinterval(float(sys.argv[5]) / 1000)
def app(environ, start_response):
    end = time.thread_time() + work
    while time.thread_time() < end:
        pass
    body = b'{"messages": []}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
if sys.argv[4].startswith("waitress"):
    import waitress
    waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=int(sys.argv[3]), connection_limit=1000,
                   asyncore_use_poll=sys.argv[4] == "waitress-poll", send_bytes=int(sys.argv[6]))
else:  # gunicorn, one gthread worker: its own process, so psutil's split below counts the arbiter only
    from gunicorn.app.base import BaseApplication

    class One(BaseApplication):
        def load_config(self):
            for key, value in {"bind": f"127.0.0.1:{sys.argv[1]}", "workers": 1, "worker_class": "gthread",
                               "threads": int(sys.argv[3]), "worker_connections": 1000, "keepalive": 75,
                               "loglevel": "warning"}.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    One().run()
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--work-ms", type=float, default=4.0)
    ap.add_argument("--beat", type=float, default=2.0)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--server", choices=("waitress", "waitress-poll", "gunicorn"), default="waitress",
                    help="waitress-poll: waitress with asyncore_use_poll; gunicorn: one gthread worker (Linux), "
                         "--threads threads")
    ap.add_argument("--switch-interval-ms", type=float, default=0,
                    help="the server's sys.setswitchinterval (0: Python's default, 5 ms)")
    ap.add_argument("--send-bytes", type=int, default=1,
                    help="waitress's send_bytes (1, its default: the worker thread sends as soon as it writes)")
    args = ap.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(args.work_ms), str(args.threads),
                               args.server, str(args.switch_interval_ms), str(args.send_bytes)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            if Client(base, "x").call("GET", "/")[0] == 200:
                break
            if time.monotonic() > deadline:
                raise SystemExit("server did not come up")
            time.sleep(0.1)
        clients = [Client(base, "x") for _ in range(args.users)]
        for c in clients:
            c.call("GET", "/")
        proc = psutil.Process(server.pid)
        if args.server == "gunicorn":  # the worker process (the arbiter only watches it)
            proc = proc.children()[0]
        before = {t.id: t.user_time + t.system_time for t in proc.threads()}
        samples: list[float] = []
        errors = [0]
        lock = threading.Lock()
        t0 = time.perf_counter() + 0.5
        until = t0 + args.duration

        def run(c: Client) -> None:
            beat = t0
            while beat < until:
                time.sleep(max(0.0, beat - time.perf_counter()))
                start = time.perf_counter()
                status, _ = c.call("GET", "/")
                with lock:
                    samples.append((time.perf_counter() - start) * 1000)
                    errors[0] += status != 200
                beat += args.beat

        threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in clients]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        after = {t.id: t.user_time + t.system_time for t in proc.threads()}
        main_id = proc.pid  # the main thread's id is the process id on Linux
        main_cpu = after.get(main_id, 0) - before.get(main_id, 0)
        workers_cpu = sum(v - before.get(k, 0) for k, v in after.items() if k != main_id)
        print(f"bare WSGI, {args.server} {args.threads} threads, switch interval "
              f"{args.switch_interval_ms or 5} ms, {args.work_ms} ms CPU per request, "
              f"{args.users} users on one {args.beat} s beat, {args.duration:.0f} s")
        print(f"requests {len(samples)}, errors {errors[0]}, p50 {percentile(samples, .5):.0f} ms, "
              f"p95 {percentile(samples, .95):.0f} ms, max {max(samples):.0f} ms")
        print(f"server CPU: main thread {main_cpu:.1f} s, workers {workers_cpu:.1f} s "
              f"({main_cpu / max(main_cpu + workers_cpu, 1e-9):.0%} in the main thread)")
        return 0
    finally:
        server.terminate()
        server.wait(timeout=10)



if __name__ == "__main__":
    sys.exit(main())
