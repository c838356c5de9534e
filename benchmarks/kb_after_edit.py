"""The search right after a trainer's edit: how long the first search in a server process takes
once another process saved an article (the server catches up: the index, then the pinyin
vocabulary of the new searcher).

    python benchmarks/kb_after_edit.py [--edits 6]

Prints the time of each first search after an edit and of the next (cached) search.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks" / "load")]

import run as load_run  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edits", type=int, default=6)
    args = ap.parse_args()

    from knowledge_base import embedding
    from knowledge_base.articles import get_article, save_article
    from knowledge_base.search import get_kb
    from sandbox.app import create_app

    home = Path(tempfile.mkdtemp(prefix="bankdrill-kbedit-")) / "home"
    home.mkdir()
    url = f"sqlite:///{home / 'bankdrill.sqlite3'}"
    load_run.prepare(home, url, 2)
    server = create_app({"HOME": str(home), "DATABASE_URL": url}).extensions["bankdrill"]
    trainer = create_app({"HOME": str(home), "DATABASE_URL": url}).extensions["bankdrill"]
    kb = get_kb(server)
    kb.search("信用卡账单", limit=5)
    embedding.encode(["预热"])
    for edit in range(1, args.edits + 1):
        with trainer.transaction() as s:
            record = get_article(s, "CC-001").to_record()
            record["answer"] += f"（更新 {edit}）"
            save_article(s, trainer.clock, record, by="trainer")
        kb._checked_at = 0.0  # as when the version's time to live has run out
        t = time.perf_counter()
        kb.search("信用卡账单", limit=5)
        first = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        kb.search("信用卡账单", limit=5)
        print(f"edit {edit}: first search {first:.0f} ms, next {(time.perf_counter() - t) * 1000:.1f} ms, "
              f"{len(kb.lexical_scorer._leaves)} segment(s)")
    server.dispose()
    trainer.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
