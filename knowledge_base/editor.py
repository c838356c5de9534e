"""What the trainer's article editor needs beyond ``services``: the filtered list,
the version history and a side-by-side diff of two versions (difflib)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from knowledge_base.articles import get_article
from knowledge_base.models import Article, ArticleVersion

MAX_PER_PAGE = 100


def find_articles(session: Session, *, category: str | None = None, status: str | None = None,
                  text: str | None = None, since: datetime | None = None, page: int = 1,
                  per_page: int = 20) -> tuple[list[Article], int]:
    """(articles of this page, total) matching every given filter, newest change first.

    ``text`` matches the id, title or standard answer (a literal substring: % and _ are
    not wildcards)."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    conditions = []
    if category:
        conditions.append(Article.category == category)
    if status:
        conditions.append(Article.status == status)
    if text and text.strip():
        needle = text.strip()[:200]
        conditions.append(or_(Article.external_id.contains(needle, autoescape=True),
                              Article.title.contains(needle, autoescape=True),
                              Article.answer.contains(needle, autoescape=True)))
    if since is not None:
        conditions.append(Article.updated_at >= since)
    total = session.scalar(select(func.count(Article.id)).where(*conditions)) or 0
    items = list(session.scalars(select(Article).where(*conditions)
                                 .order_by(Article.updated_at.desc(), Article.external_id)
                                 .offset((page - 1) * per_page).limit(per_page)))
    return items, total


@dataclass
class VersionEntry:
    version: int
    record: dict[str, Any]
    current: bool
    # When this version stopped being current and who replaced it (None for the current one).
    replaced_at: datetime | None = None
    replaced_by: str = ""


def history(session: Session, external_id: str) -> tuple[Article, list[VersionEntry]]:
    """The article and every version of it, newest first (the current one included)."""
    article = get_article(session, external_id)
    entries = [VersionEntry(article.version, article.to_record(), True)]
    seen = {article.version}
    rows = session.scalars(select(ArticleVersion).where(ArticleVersion.external_id == external_id)
                           .order_by(ArticleVersion.version.desc(), ArticleVersion.id.desc()))
    for row in rows:
        if row.version in seen:
            continue
        seen.add(row.version)
        entries.append(VersionEntry(row.version, dict(row.snapshot), False, row.saved_at, row.saved_by))
    return article, entries


def record_lines(record: dict[str, Any]) -> list[str]:
    """A record as the lines a person compares (labels in Chinese)."""
    lines = [f"标题：{record.get('title', '')}", f"分类：{record.get('category', '')}",
             f"状态：{record.get('status', '')}", f"标签：{'、'.join(record.get('tags') or [])}", "相似问法："]
    lines += [f"  · {q}" for q in record.get("questions") or []]
    lines.append("规范话术：")
    lines += [f"  {line}" for line in (record.get("answer") or "").splitlines()]
    lines.append("通俗版：")
    lines += [f"  {line}" for line in (record.get("plain_answer") or "").splitlines()]
    return lines


@dataclass
class DiffRow:
    kind: str  # equal | replace | delete | insert
    left_no: int | None
    left: str
    right_no: int | None
    right: str


def side_by_side(old: Sequence[str], new: Sequence[str]) -> list[DiffRow]:
    """Rows pairing the lines of ``old`` and ``new`` (difflib.SequenceMatcher opcodes)."""
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=list(old), b=list(new), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                rows.append(DiffRow("equal", i1 + k + 1, old[i1 + k], j1 + k + 1, new[j1 + k]))
            continue
        left, right = list(range(i1, i2)), list(range(j1, j2))
        for k in range(max(len(left), len(right))):
            li = left[k] if k < len(left) else None
            ri = right[k] if k < len(right) else None
            kind = tag if tag != "replace" else ("replace" if li is not None and ri is not None
                                                 else "delete" if ri is None else "insert")
            rows.append(DiffRow(kind, None if li is None else li + 1, "" if li is None else old[li],
                                None if ri is None else ri + 1, "" if ri is None else new[ri]))
    return rows
