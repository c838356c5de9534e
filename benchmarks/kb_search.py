"""Knowledge-base search figures: quality per configuration, then speed at scale next to
SQLite FTS5 over the same bigram text.

    python benchmarks/kb_search.py [--eval FILE] [--articles 10000] [--queries 300]

Quality is measured on the seed articles with the eval file (seed_data/kb_eval.jsonl, or
the concatenation of seed_data/kb/eval/*.jsonl). Speed uses a corpus synthesised from the
seed articles (titles, questions and answers recombined; each copy reuses the vectors of
its source article so that building the corpus does not take minutes of encoding).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from knowledge_base import colloquial, embedding  # noqa: E402
from knowledge_base import index as kb_index  # noqa: E402
from knowledge_base import search as kb_service  # noqa: E402
from knowledge_base.analysis import bigrams  # noqa: E402
from knowledge_base.articles import bump_version  # noqa: E402
from knowledge_base.evaluate import evaluate  # noqa: E402
from knowledge_base.models import Article  # noqa: E402
from knowledge_base.text import fold, markdown_to_plain, normalise_query  # noqa: E402
from sandbox.app import create_app  # noqa: E402
from sandbox.instance import initialise  # noqa: E402


def eval_cases(path: str | None) -> list[dict]:
    seed = ROOT / "seed_data"
    files = [Path(path)] if path else ([seed / "kb_eval.jsonl"] if (seed / "kb_eval.jsonl").exists()
                                       else sorted((seed / "kb" / "eval").glob("*.jsonl")))
    return [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def quality(kb, cases, label: str) -> dict:
    kb.clear_cache()
    report = evaluate(kb, cases, k=3)
    print(f"  {label:<44} hit@1 {report.hit1:.3f}  hit@3 {report.hitk:.3f}  MRR@10 {report.mrr10:.3f}")
    return report.to_dict()


def quality_section(runtime, cases) -> None:
    print(f"\n== Quality on the seed KB ({len(cases)} eval queries) ==")
    kb = kb_service.KnowledgeBase(runtime.settings.index_dir, runtime.session_factory)
    lexical = kb_service.KnowledgeBase(runtime.settings.index_dir, runtime.session_factory, use_model=False)
    for use_words in (False, True):
        kb_index.USE_WORD_FIELD = use_words
        kb.rebuild()
        lexical._version = -1
        name = "bigram+rjieba words" if use_words else "bigram"
        quality(lexical, cases, f"lexical {name}")
        for weight in (0.3, 0.5, 0.7):
            kb_service.DENSE_WEIGHT = weight
            quality(kb, cases, f"hybrid {name}, {weight}·cos+{1 - weight:.1f}·bm25")
    kb_index.USE_WORD_FIELD = False
    kb_service.DENSE_WEIGHT = 0.7
    saved = kb._synonyms
    kb.rebuild()
    kb._synonyms = kb_service.Synonyms([])
    quality(kb, cases, "hybrid bigram 0.7, synonyms off")
    kb._synonyms = saved
    dense_only = kb_service.LEXICAL_POOL
    kb.close()
    lexical.close()
    del dense_only


def synthesise(runtime, n: int) -> int:
    rng = random.Random(7)
    with runtime.transaction() as s:
        seeds = list(s.scalars(select(Article).where(Article.status == "已发布")))
        have = len(seeds)
        now = runtime.clock.now()
        fillers = ["请问", "麻烦问下", "我想咨询", "急", "在线等", "您好", "帮忙看看", "谢谢"]
        for i in range(n - have):
            a, b = rng.choice(seeds), rng.choice(seeds)
            qs = list(a.questions or [])
            rng.shuffle(qs)
            s.add(Article(external_id=f"SYN-{i:05d}", title=f"{a.title}（{b.category}{i % 97}）",
                          questions=[f"{rng.choice(fillers)}{q}" for q in qs],
                          answer=a.answer + "\n\n" + b.answer[: len(b.answer) // 2], plain_answer=b.plain_answer,
                          category=b.category, tags=list(a.tags or []), status="已发布", version=1,
                          vectors=a.vectors, vector_model=a.vector_model, created_at=now, updated_at=now))
        bump_version(s, runtime.clock, full=True)
    return n


def bigram_text(text: str) -> str:
    return " ".join(t for t, _s, _e in bigrams(fold(text)))


def fts5(runtime, queries, cases):
    con = sqlite3.connect(":memory:")
    con.execute("CREATE VIRTUAL TABLE fts USING fts5(title, questions, body, ext UNINDEXED, tokenize='unicode61')")
    with runtime.transaction() as s:
        rows = [(a.title, "\n".join(a.questions or []), markdown_to_plain(a.answer), a.external_id)
                for a in s.scalars(select(Article).where(Article.status == "已发布"))]
    started = time.perf_counter()
    con.executemany("INSERT INTO fts(title, questions, body, ext) VALUES (?, ?, ?, ?)",
                    [(bigram_text(t), bigram_text(q), bigram_text(b), e) for t, q, b, e in rows])
    con.commit()
    build = len(rows) / (time.perf_counter() - started)

    def run(q: str, limit: int = 10) -> list[str]:
        terms = list(dict.fromkeys(t for t, _s, _e in bigrams(fold(q[:200]))))[:48]
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        return [r[0] for r in con.execute(
            "SELECT ext FROM fts WHERE fts MATCH ? ORDER BY bm25(fts, 3.0, 2.5, 1.0) LIMIT ?", (match, limit))]

    times = []
    for q in queries:
        t = time.perf_counter()
        run(q)
        times.append((time.perf_counter() - t) * 1000)
    hits3 = sum(1 for c in cases if c["target"] in run(c["text"], 3)) / max(1, len(cases))
    hits1 = sum(1 for c in cases if run(c["text"], 1)[:1] == [c["target"]]) / max(1, len(cases))
    return build, times, hits1, hits3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", default=None)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    cases = eval_cases(args.eval)
    home = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    app = create_app({"HOME": str(home)})
    runtime = app.extensions["bankdrill"]
    t = time.perf_counter()
    print("seed:", "; ".join(initialise(runtime).steps), f"({time.perf_counter() - t:.1f} s incl. model load)")
    if not args.skip_quality:
        quality_section(runtime, cases)
        _, _, f1, f3 = fts5(runtime, [], cases)
        print(f"  {'SQLite FTS5 over bigram text':<44} hit@1 {f1:.3f}  hit@3 {f3:.3f}")

    print(f"\n== Speed with {args.articles:,} articles (synthesised from the seed) ==")
    synthesise(runtime, args.articles)
    kb = kb_service.KnowledgeBase(runtime.settings.index_dir, runtime.session_factory)
    t = time.perf_counter()
    kb.sync()  # loads articles and vectors, rebuilds the index (a 'full' change)
    total = time.perf_counter() - t
    t = time.perf_counter()
    count = kb.rebuild()
    build = time.perf_counter() - t
    print(f"  catch-up after bulk load {total:.1f} s; index rebuild {count:,} articles in {build:.1f} s "
          f"= {count / build:,.0f} articles/s")
    rng = random.Random(3)
    texts = [c["text"] for c in cases] or ["银行卡丢了怎么办"]
    queries = [rng.choice(texts) + rng.choice(["", "？", "啊", "呢", " 急"]) for _ in range(args.queries)]
    for q in texts[:20]:
        kb.search(q)  # warm up
    scorer = kb.lexical_scorer
    t = time.perf_counter()
    vocab = kb_service.PinyinVocab(scorer.vocabulary(kb_index.BIGRAM_FIELDS))
    print(f"  pinyin vocabulary of the index: {len(vocab):,} terms in {time.perf_counter() - t:.2f} s "
          "(once per new searcher)")
    folded = [normalise_query(q) for q in queries]
    t = time.perf_counter()
    for _ in range(20):
        for q in folded:
            colloquial.expand(q)
    per = (time.perf_counter() - t) * 1000 / (20 * len(folded))
    print(f"  colloquial lexicon ({len(colloquial.RULES)} rules): expansion {per:.3f} ms per query")
    for label, model, pinyin, lexicon in (("hybrid (Whoosh + encoder)", True, True, True),
                                          ("hybrid, pinyin corrections off", True, False, True),
                                          ("hybrid, colloquial lexicon off", True, True, False),
                                          ("lexical only (Whoosh)", False, True, True)):
        kb.use_model = model
        kb_service.USE_PINYIN = pinyin
        kb_service.USE_COLLOQUIAL = lexicon
        times = []
        for q in queries:
            kb.clear_cache()
            t = time.perf_counter()
            kb.search(q)
            times.append((time.perf_counter() - t) * 1000)
        print(f"  uncached {label:<28} p50 {statistics.median(times):6.1f} ms  p95 {pct(times, 95):6.1f} ms")
    kb.use_model = True
    kb_service.USE_PINYIN = kb_service.USE_COLLOQUIAL = True
    repeat = []
    kb.search(queries[0])
    for _ in range(200):
        t = time.perf_counter()
        kb.search(queries[0])
        repeat.append((time.perf_counter() - t) * 1000)
    print(f"  repeated query (cache)                 p50 {statistics.median(repeat):6.2f} ms  p95 {pct(repeat, 95):6.2f} ms")
    fbuild, ftimes, _, _ = fts5(runtime, queries, [])
    print(f"  SQLite FTS5 bigram: build {fbuild:,.0f} articles/s; query p50 {statistics.median(ftimes):.1f} ms "
          f"p95 {pct(ftimes, 95):.1f} ms")
    kb.close()
    runtime.dispose()
    print(f"\n(instance left in {home}; encoder available: {embedding.available()})")


if __name__ == "__main__":
    main()
