"""Writers of several processes on one SQLite file: how long each waits for the write lock.

Each process runs ``--writes`` write transactions (read a counter, hold the lock for
``--hold-ms`` of CPU work, write it back, commit), with ``--gap-ms`` of CPU work between them
outside the lock, as a server's requests do. Printed per mode: the wall time of the whole
run, write transactions per second, and the wait for the lock (``begin_write``) at p50 / p95 /
max. Modes: ``file-lock`` (the writer gate's ``flock`` beside the database, the default) and
``busy-handler`` (the lock file off: writers of other processes wait in SQLite's busy handler,
which sleeps 1, 2, 5 … 100 ms between tries, as before 2026-12-07).

    python benchmarks/sqlite_writers.py --processes 2 --writes 300
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _spin(ms: float) -> None:
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass


def worker(url: str, writes: int, hold_ms: float, gap_ms: float, file_lock: bool, start_at: float) -> None:
    """One process's writers; prints its waits (ms) as JSON."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import text

    from sandbox.db import begin_write, dispose_engine, make_engine, make_session_factory

    engine = make_engine(url)
    if not file_lock:
        engine.sqlite_writer_gate.lock_path = None  # type: ignore[attr-defined]
    factory = make_session_factory(engine)
    waits = []
    time.sleep(max(0.0, start_at - time.time()))
    for _ in range(writes):
        _spin(gap_ms)
        with factory() as s:
            t0 = time.perf_counter()
            begin_write(s)
            waits.append((time.perf_counter() - t0) * 1000)
            n = s.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
            _spin(hold_ms)
            s.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})
            s.commit()
    dispose_engine(engine)
    print(json.dumps(waits))


def run(processes: int, writes: int, hold_ms: float, gap_ms: float, file_lock: bool) -> dict:
    """One run of ``processes`` writer processes on a fresh file."""
    sys.path.insert(0, str(ROOT))
    from sandbox.db import dispose_engine, make_engine

    folder = Path(tempfile.mkdtemp(prefix="bankdrill-writers-"))
    url = f"sqlite:///{folder / 'w.sqlite3'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO counter (id, n) VALUES (1, 0)")
    start_at = time.time() + 1.0
    args = [url, str(writes), str(hold_ms), str(gap_ms), "1" if file_lock else "0", str(start_at)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [subprocess.Popen([sys.executable, __file__, "--worker", *args], stdout=subprocess.PIPE, text=True,
                                 env=env) for _ in range(processes)]
    waits: list[float] = []
    for child in children:
        out, _ = child.communicate(timeout=600)
        waits += json.loads(out)
    wall = time.time() - start_at
    with engine.connect() as conn:
        total = conn.exec_driver_sql("SELECT n FROM counter").scalar_one()
    dispose_engine(engine)
    assert total == processes * writes, (total, processes * writes)
    waits.sort()
    return {"mode": "file-lock" if file_lock else "busy-handler", "processes": processes, "wall_s": round(wall, 2),
            "writes_per_s": round(total / wall), "wait_p50_ms": round(statistics.median(waits), 2),
            "wait_p95_ms": round(waits[int(len(waits) * 0.95)], 2), "wait_max_ms": round(waits[-1], 1)}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        url, writes, hold, gap, lock, start_at = sys.argv[2:8]
        worker(url, int(writes), float(hold), float(gap), lock == "1", float(start_at))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--writes", type=int, default=300, help="write transactions per process")
    ap.add_argument("--hold-ms", type=float, default=2.0, help="CPU work inside each write transaction")
    ap.add_argument("--gap-ms", type=float, default=2.0, help="CPU work between two writes, outside the lock")
    ap.add_argument("--rounds", type=int, default=2, help="each mode this many times, alternated")
    args = ap.parse_args()
    print("| mode | processes | wall s | writes/s | wait p50 ms | wait p95 ms | wait max ms |")
    print("|---|---|---|---|---|---|---|")
    for _ in range(args.rounds):
        for file_lock in (True, False):
            r = run(args.processes, args.writes, args.hold_ms, args.gap_ms, file_lock)
            print(f"| {r['mode']} | {r['processes']} | {r['wall_s']} | {r['writes_per_s']} | {r['wait_p50_ms']} | "
                  f"{r['wait_p95_ms']} | {r['wait_max_ms']} |", flush=True)


if __name__ == "__main__":
    main()
