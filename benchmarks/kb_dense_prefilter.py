"""Two-stage dense scoring (knowledge_base.search.DenseStore) against the exact pass.

    python benchmarks/kb_dense_prefilter.py synthetic [--articles 10000]
    python benchmarks/kb_dense_prefilter.py real KB_FILE[,KB_FILE...] EVAL_FILE[,EVAL_FILE...]

``synthetic``: the seed KB grown to --articles as benchmarks/kb_search.py grows it; 300 seed
eval queries timed uncached with the exact pass and with the two-stage pass at 200/400/800
articles refined, with the share of queries whose top 10 and top 1 are unchanged.
``real``: the given articles imported with ``kb import --replace`` semantics (categories must
exist), the prefilter forced on at 2/4/8 % of the articles: a stress test on distinct vectors.
Reports agreement of rankings, not tuning: nothing here changes a setting.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import kb_search  # noqa: E402

from knowledge_base import articles, transfer  # noqa: E402
from knowledge_base import search as S  # noqa: E402
from knowledge_base.evaluate import evaluate  # noqa: E402
from sandbox.app import create_app  # noqa: E402
from sandbox.instance import initialise  # noqa: E402


def rankings(kb, texts: list[str]) -> tuple[list[list[str]], list[float]]:
    kb._dense = None  # rebuilt with the current thresholds
    kb.search("预热")
    out, times = [], []
    for text in texts:
        kb.clear_cache()
        started = time.perf_counter()
        out.append([h.id for h in kb.search(text).hits])
        times.append((time.perf_counter() - started) * 1000)
    return out, times


def agreement(got: list[list[str]], exact: list[list[str]], top: int) -> float:
    return sum(a[:top] == b[:top] for a, b in zip(got, exact, strict=True)) / max(1, len(got))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["synthetic", "real"])
    parser.add_argument("kb_files", nargs="?", default="")
    parser.add_argument("eval_files", nargs="?", default="")
    parser.add_argument("--articles", type=int, default=10_000)
    args = parser.parse_args()
    runtime = create_app({"HOME": tempfile.mkdtemp(prefix="kb-prefilter-")}).extensions["bankdrill"]
    initialise(runtime)
    if args.mode == "synthetic":
        kb_search.synthesise(runtime, args.articles)
        cases = kb_search.eval_cases(None)
        rng = random.Random(3)
        texts = [rng.choice(cases)["text"] + rng.choice(["", "？", "啊", "呢", " 急"]) for _ in range(300)]
        settings = [("exact", 10**9, 0), ("two-stage 200", 0, 200), ("two-stage 400", 0, 400),
                    ("two-stage 800", 0, 800)]
    else:
        rows: list = []
        for name in args.kb_files.split(","):
            part, errors = transfer.parse_bytes(Path(name).read_bytes(), transfer.detect_format(Path(name), None))
            assert not errors, errors[:3]
            rows.extend(part)
        with runtime.transaction() as s:
            articles.import_rows(s, runtime.clock, rows, replace=True, by="bench")
        cases = [json.loads(line) for name in args.eval_files.split(",")
                 for line in Path(name).read_text(encoding="utf-8").splitlines() if line.strip()]
        texts = [c["text"] for c in cases]
        settings = [("exact", 10**9, 0)] + [(f"two-stage {share:.0%}", 0, max(1, int(len(rows) * share)))
                                            for share in (0.02, 0.04, 0.08)]
    kb = S.KnowledgeBase(runtime.settings.index_dir, runtime.session_factory)
    kb.sync()
    cases = [{"text": c["text"], "target": c["target"]} for c in cases]
    exact: list[list[str]] = []
    print(f"{len(kb._view()[2].ids):,} articles with vectors, {len(texts)} timed queries, {len(cases)} eval queries")
    for label, exact_max, refined in settings:
        S.EXACT_MAX_ARTICLES, S.PREFILTER_ARTICLES = exact_max, refined
        rankings(kb, texts)  # warm
        got, times = rankings(kb, texts)
        exact = exact or got
        kb.clear_cache()
        report = evaluate(kb, cases, k=3)
        print(f"  {label:<16} p50 {statistics.median(times):5.1f} ms  p95 {kb_search.pct(times, 95):5.1f} ms  "
              f"same top-10 {agreement(got, exact, 10):.3f}  same top-3 {agreement(got, exact, 3):.3f}  "
              f"same top-1 {agreement(got, exact, 1):.3f}  eval {report.hit1:.3f}/{report.hitk:.3f}/{report.mrr10:.3f}",
              flush=True)
    kb.close()
    runtime.dispose()


if __name__ == "__main__":
    main()
