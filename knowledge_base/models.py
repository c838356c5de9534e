"""Tables of the knowledge base. The database is the source of truth; the Whoosh
index and the in-memory vectors are derived from these rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sandbox.db import Base, UTCDateTime


class Article(Base):
    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text, default="")
    plain_answer: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16), index=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(8), index=True)
    # Wrong things an agent might say about this topic: [{text, groups}] (sandbox.dialogue.claims);
    # a drill that uses the article treats them as wrong claims.
    forbidden_claims: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=list, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # float32 matrix (1 + len(questions)) x dim, rows L2-normalised; None when no model.
    vectors: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    vector_model: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(64), default="")

    def to_record(self) -> dict[str, Any]:
        """The import/export form (also what version snapshots store)."""
        return {"id": self.external_id, "title": self.title, "questions": list(self.questions or []),
                "answer": self.answer, "plain_answer": self.plain_answer, "category": self.category,
                "tags": list(self.tags or []), "status": self.status,
                "forbidden_claims": [dict(c) for c in (self.forbidden_claims or [])]}


class ArticleVersion(Base):
    """A previous state of an article, kept on every save (and on deletion)."""

    __tablename__ = "kb_article_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    saved_by: Mapped[str] = mapped_column(String(64), default="")


class SynonymGroup(Base):
    """Words customers use for the same thing; the first word is the canonical one."""

    __tablename__ = "kb_synonym_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    words: Mapped[str] = mapped_column(Text)  # separated by single spaces
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def word_list(self) -> list[str]:
        return self.words.split()


class KbState(Base):
    """One row: the knowledge-base version, bumped on every article or synonym change."""

    __tablename__ = "kb_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class KbChange(Base):
    """What a version changed, so that search processes can catch up incrementally.

    ``kind`` is ``article`` (``article_id`` set), ``synonyms`` or ``full`` (rebuild)."""

    __tablename__ = "kb_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    article_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class SearchLog(Base):
    __tablename__ = "kb_search_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query: Mapped[str] = mapped_column(Text)
    normalised: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(16), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                nullable=True, index=True)
    result_count: Mapped[int] = mapped_column(Integer)
    top_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    took_ms: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16), default="web")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ArticleOpenLog(Base):
    __tablename__ = "kb_article_open_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class EvalRun(Base):
    """One recorded ``kb eval`` run, so that a drop in search quality shows over time."""

    __tablename__ = "kb_eval_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(200), default="")
    n: Mapped[int] = mapped_column(Integer)
    k: Mapped[int] = mapped_column(Integer)
    hit1: Mapped[float] = mapped_column(Float)
    hitk: Mapped[float] = mapped_column(Float)
    mrr10: Mapped[float] = mapped_column(Float)
    misses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    miss_count: Mapped[int] = mapped_column(Integer, default=0)
    kb_version: Mapped[int] = mapped_column(Integer, default=0)
    mode: Mapped[str] = mapped_column(String(16), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
