"""``kb import`` speed (issue 19): articles/s per stage and in total, and the peak RSS.

    python benchmarks/kb_import.py --articles 10000 [--keep] [--profile FILE]

Creates a fresh seeded instance (``python -m sandbox init``), writes an import file (JSON
lines) of N realistic articles, then runs ``python -m sandbox kb import --replace FILE``
in a child process, exactly as a trainer would. The file holds the seed articles (every
third one changed, so the run creates, updates and leaves articles unchanged) and
N − 183 articles recombined from them (titles, similar questions and answers mixed, a
filler word in front of each question), as ``benchmarks/kb_search.py`` synthesises its
corpus; every text is encoded for real.

Stage times come from the command's hidden ``--timings`` option (one JSON line on
stderr); the peak RSS and CPU time are the child's (``wait4``; the CPU includes the encoder
processes it starts, and a line splits it between them). The script then opens
the instance the way the server does and checks that the first search does not rebuild
the index again. The machine is shared: wall time moves with the load, CPU time less so.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Runs ``python -m sandbox ARGS`` and prints, at exit, the CPU of that process and of its
# children (the encoder processes) separately, as one JSON line on stderr.
SPLIT_CPU = """
import atexit, json, resource, runpy, sys
def _report():
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print("rusage: " + json.dumps({"self_cpu": me.ru_utime + me.ru_stime, "self_rss_mb": me.ru_maxrss / 1024,
          "children_cpu": kids.ru_utime + kids.ru_stime, "child_rss_mb": kids.ru_maxrss / 1024}), file=sys.stderr)
atexit.register(_report)
sys.argv = ["sandbox", *sys.argv[1:]]
runpy.run_module("sandbox", run_name="__main__", alter_sys=True)
"""

FILLERS = ["请问", "麻烦问下", "我想咨询", "急", "在线等", "您好", "帮忙看看", "谢谢", "", "那个"]


def seed_records() -> list[dict]:
    records = []
    for path in sorted((ROOT / "seed_data" / "kb" / "articles").glob("*.jsonl")):
        records.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return records


def synthesise_records(n: int, seed: int = 7) -> list[dict]:
    """The seed articles (every third changed) and ``n`` − len(seed) recombined ones."""
    rng = random.Random(seed)
    seeds = [r for r in seed_records() if r.get("status", "已发布") == "已发布"]
    out: list[dict] = []
    for i, record in enumerate(seed_records()):
        record = dict(record)
        if i % 3 == 0:
            record["questions"] = [*record.get("questions", []), f"{record['title']}怎么办理"]
        out.append(record)
    for i in range(max(0, n - len(out))):
        a, b = rng.choice(seeds), rng.choice(seeds)
        questions = list(a.get("questions", []))
        rng.shuffle(questions)
        out.append({
            "id": f"SYN-{i:05d}", "title": f"{a['title']}（{b['category']}{i % 97}）",
            "questions": [f"{rng.choice(FILLERS)}{q}" for q in questions],
            "answer": a["answer"] + "\n\n" + b["answer"][: len(b["answer"]) // 2],
            "plain_answer": b.get("plain_answer", ""), "category": b["category"],
            "tags": list(a.get("tags", [])), "status": "已发布" if i % 20 else "草稿",
        })
    return out[:n]


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def run(args: list[str], env: dict[str, str]) -> tuple[int, str, str, float, float, float]:
    """(exit code, stdout, stderr, wall s, CPU s, peak RSS MB) of ``python ARGS``, this child only."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (child.returncode, out.read().decode(), err.read().decode(), wall,
                usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def first_search_rebuilds(home: Path) -> tuple[int, float]:
    """(index rebuilds, seconds) of the first search in a new process, as the server's warm-up."""
    from knowledge_base.search import get_kb
    from sandbox.app import create_app

    app = create_app({"HOME": str(home)})
    runtime = app.extensions["bankdrill"]
    started = time.perf_counter()
    kb = get_kb(runtime)
    kb.search("信用卡账单", limit=1)
    took = time.perf_counter() - started
    rebuilds = kb.rebuilds
    runtime.dispose()
    return rebuilds, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the instance folder")
    parser.add_argument("--profile", default=None, help="run the import under cProfile, write stats here")
    parser.add_argument("--no-timings", action="store_true", help="for code without the --timings option")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="kb-import-"))
    env = {**os.environ, "BANKDRILL_HOME": str(home), "PYTHONPATH": str(ROOT)}
    code, out, err, wall, _cpu, _rss = run(["-m", "sandbox", "init"], env)
    if code:
        sys.exit(f"init failed:\n{out}\n{err}")
    print(f"init: {wall:.1f} s")
    source = home / "articles.jsonl"
    write_jsonl(source, synthesise_records(args.articles))
    print(f"import file: {args.articles:,} articles, {source.stat().st_size / 1e6:.1f} MB")

    command = ["-c", SPLIT_CPU, "kb", "import", "--replace", str(source)]
    if not args.no_timings:
        command.insert(4, "--timings")
    if args.profile:
        command = ["-m", "cProfile", "-o", args.profile, "-m", "sandbox", *command[2:]]
    code, out, err, wall, cpu, rss = run(command, env)
    if code:
        sys.exit(f"import failed:\n{out}\n{err}")
    print(out.strip())
    n = args.articles
    timings, split = {}, {}
    for line in err.splitlines():
        if line.startswith("timings: "):
            timings = json.loads(line[len("timings: "):])
        elif line.startswith("rusage: "):
            split = json.loads(line[len("rusage: "):])
    if timings:
        print("stages (seconds, articles/s):")
        for stage, seconds in timings.items():
            rate = f"{n / seconds:>9,.0f}/s" if seconds > 0 else "        -"
            print(f"  {stage:<10} {seconds:7.2f} s {rate}")
    print(f"total (process, incl. start-up and model load): {wall:.1f} s = {n / wall:,.0f} articles/s; "
          f"CPU {cpu:.1f} s; peak RSS {rss:,.0f} MB")
    if split:
        print(f"  of which the import process {split['self_cpu']:.1f} s (peak RSS {split['self_rss_mb']:,.0f} MB), "
              f"its encoder processes {split['children_cpu']:.1f} s (peak RSS {split['child_rss_mb']:,.0f} MB each at most)")
    rebuilds, took = first_search_rebuilds(home)
    print(f"first search in a new process: {took:.1f} s, index rebuilds {rebuilds}")
    if args.keep:
        print(f"(instance left in {home})")
    else:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
