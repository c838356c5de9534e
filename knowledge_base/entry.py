"""What search and the index read of one article (``Entry``), built the same way from a stored
article (the search service's mirror) and from an import record (``kb import``'s index build)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from knowledge_base import embedding
from knowledge_base.models import Article
from knowledge_base.text import markdown_to_plain

PLAIN_LIMIT = 4000  # characters of the answer kept for the body field and snippets


@dataclass
class Entry:
    """What search needs of one article, mirrored from the database."""

    id: str
    title: str
    questions: list[str]
    category: str
    status: str
    tags: list[str]
    plain_text: str
    plain_answer: str
    vectors: np.ndarray | None = None

    @classmethod
    def from_record(cls, record: dict[str, Any], vectors: np.ndarray | None = None) -> Entry:
        """From an article record (``Article.to_record`` / a validated import row)."""
        return cls(id=record["id"], title=record["title"], questions=list(record["questions"] or []),
                   category=record["category"], status=record["status"], tags=list(record["tags"] or []),
                   plain_text=markdown_to_plain(record["answer"] or "")[:PLAIN_LIMIT],
                   plain_answer=markdown_to_plain(record["plain_answer"] or "")[:PLAIN_LIMIT],
                   vectors=vectors)

    @classmethod
    def from_article(cls, a: Article) -> Entry:
        return cls.from_record({"id": a.external_id, "title": a.title, "questions": a.questions,
                                "category": a.category, "status": a.status, "tags": a.tags,
                                "answer": a.answer, "plain_answer": a.plain_answer},
                               embedding.from_bytes(a.vectors))
