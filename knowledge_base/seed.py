"""Seed content: ``seed_data/kb/articles/*.jsonl`` and ``seed_data/kb/synonyms/*.txt``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from knowledge_base import articles
from knowledge_base.articles import RowError

log = logging.getLogger(__name__)


def seed_dir() -> Path:
    import seed_data

    return Path(seed_data.__file__).parent / "kb"


def read_seed_articles(root: Path | None = None) -> tuple[list[tuple[int, Any]], list[str]]:
    """Valid (line, record) rows from every articles file, and one message per bad row."""
    root = root or seed_dir()
    rows: list[tuple[int, Any]] = []
    problems: list[str] = []
    seen: set[str] = set()
    for path in sorted((root / "articles").glob("*.jsonl")):
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = articles.clean_record(json.loads(line))
            except (ValueError, json.JSONDecodeError) as exc:
                problems.append(f"{path.name} {RowError(number, str(exc))}")
                continue
            if record["id"] in seen:
                problems.append(f"{path.name} 第 {number} 行：id {record['id']} 重复")
                continue
            seen.add(record["id"])
            rows.append((number, record))
    return rows, problems


def read_seed_synonyms(root: Path | None = None) -> list[list[str]]:
    root = root or seed_dir()
    groups: list[list[str]] = []
    for path in sorted((root / "synonyms").glob("*.txt")):
        groups.extend(articles.parse_synonyms(path.read_text(encoding="utf-8")))
    return groups


def seed_kb(session: Session, runtime: Any) -> str:
    """The seeder for ``sandbox.instance``: articles and synonym groups."""
    rows, problems = read_seed_articles()
    for problem in problems:
        log.warning("skipped seed article: %s", problem)
    report = articles.import_rows(session, runtime.clock, rows, by="seed")
    groups = articles.replace_synonyms(session, runtime.clock, read_seed_synonyms())
    skipped = f"（跳过 {len(problems)} 行无效数据）" if problems else ""
    return f"知识库文章 {report.created} 篇{skipped}，同义词组 {groups} 组"


def build_index(runtime: Any) -> str:
    """The after-seed step: build the search index from the database."""
    from knowledge_base.search import get_kb

    count = get_kb(runtime).rebuild()
    return f"知识库检索索引已建立（{count} 篇）"
