"""Articles, synonyms and the KB version: the only code that writes knowledge-base rows.

Every change bumps the KB version (one row, updated with ``version = version + 1`` so
concurrent writers serialise in the database) and records what changed, so that each
search process can catch up. Functions take a session and never commit.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, insert, select, update
from sqlalchemy.orm import Session

from knowledge_base import embedding
from knowledge_base.categories import CATEGORIES, PUBLISHED, STATUSES
from knowledge_base.entry import Entry
from knowledge_base.models import Article, ArticleOpenLog, ArticleVersion, KbChange, KbState, SynonymGroup
from knowledge_base.text import markdown_to_plain
from sandbox.clock import Clock
from sandbox.errors import Conflict, NotFound, ValidationFailed

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
FIELDS = ("id", "title", "questions", "answer", "plain_answer", "category", "tags", "status", "forbidden_claims")
MAX_FORBIDDEN = 20
MAX_TITLE = 200
MAX_QUESTION = 300
MAX_QUESTIONS = 100
MAX_ANSWER = 20000
MAX_TAG = 32
MAX_TAGS = 30
# Above this many changed articles in one version, search processes rebuild instead.
FULL_REBUILD_AFTER = 50


# --- the KB version --------------------------------------------------------------

def get_version(session: Session) -> int:
    return session.scalar(select(KbState.version).where(KbState.id == 1)) or 0


# session.info key set by ``bump_version``: the search services of this process look at the
# version again as soon as the transaction commits (``KnowledgeBase._after_commit``).
VERSION_BUMPED = "kb_version_bumped"


def bump_version(session: Session, clock: Clock, article_ids: Iterable[str] = (),
                 synonyms: bool = False, full: bool = False) -> int:
    """Increase the KB version by one and record what it changed; returns the new version."""
    now = clock.now()
    session.info[VERSION_BUMPED] = True
    result = session.execute(update(KbState).where(KbState.id == 1)
                             .values(version=KbState.version + 1, updated_at=now))
    if cast("CursorResult[Any]", result).rowcount == 0:  # an UPDATE's result is a CursorResult
        session.add(KbState(id=1, version=1, updated_at=now))
        session.flush()
    version = get_version(session)
    ids = sorted(set(article_ids))
    if full or len(ids) > FULL_REBUILD_AFTER:
        session.add(KbChange(version=version, kind="full"))
    else:
        for external_id in ids:
            session.add(KbChange(version=version, kind="article", article_id=external_id))
    if synonyms:
        session.add(KbChange(version=version, kind="synonyms"))
    session.flush()
    return version


def changes_since(session: Session, version: int) -> list[KbChange]:
    return list(session.scalars(select(KbChange).where(KbChange.version > version)
                                .order_by(KbChange.version, KbChange.id)))


# --- validation -------------------------------------------------------------------

def _str_list(value: Any, name: str, max_items: int, max_len: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{name} 必须是字符串列表")
    if len(value) > max_items:
        raise ValueError(f"{name} 最多 {max_items} 项")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"{name} 中的每一项都必须是字符串")
        item = item.strip()
        if not item:
            continue
        if len(item) > max_len:
            raise ValueError(f"{name} 中的一项超过 {max_len} 字")
        if item not in out:
            out.append(item)
    return out


def clean_record(raw: Any) -> dict[str, Any]:
    """A validated, normalised article record; raises ValueError with a Chinese message."""
    if not isinstance(raw, dict):
        raise ValueError("每条记录必须是一个对象")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ValueError(f"未知字段 {', '.join(unknown)}（可用字段：{', '.join(FIELDS)}）")
    external_id = raw.get("id")
    if not isinstance(external_id, str) or not ID_RE.match(external_id.strip()):
        raise ValueError("id 必须是 1–64 位字母、数字、下划线、点或连字符")
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("title（标题）不能为空")
    if len(title.strip()) > MAX_TITLE:
        raise ValueError(f"title（标题）不能超过 {MAX_TITLE} 字")
    answer = raw.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        raise ValueError("answer（规范话术）不能为空")
    if len(answer) > MAX_ANSWER:
        raise ValueError(f"answer（规范话术）不能超过 {MAX_ANSWER} 字")
    plain = raw.get("plain_answer") or ""
    if not isinstance(plain, str) or len(plain) > MAX_ANSWER:
        raise ValueError("plain_answer（通俗版）必须是不超过 20000 字的文本")
    category = raw.get("category")
    if category not in CATEGORIES:
        raise ValueError(f"category（分类）{category!r} 无效；可选：{'、'.join(CATEGORIES)}")
    status = raw.get("status") or PUBLISHED
    if status not in STATUSES:
        raise ValueError(f"status（状态）{status!r} 无效；可选：{'、'.join(STATUSES)}")
    return {
        "id": external_id.strip(), "title": title.strip(),
        "questions": _str_list(raw.get("questions"), "questions（相似问法）", MAX_QUESTIONS, MAX_QUESTION),
        "answer": answer.strip(), "plain_answer": plain.strip(), "category": category,
        "tags": _str_list(raw.get("tags"), "tags（标签）", MAX_TAGS, MAX_TAG), "status": status,
        "forbidden_claims": clean_forbidden_claims(raw.get("forbidden_claims")),
    }


def parse_claim_line(line: str) -> dict[str, Any]:
    """One forbidden claim in the editor's compact form: ``规范说法 | 词,词 | 词,词`` (the last
    group is the predicate, as in scenario files); raises ValueError in Chinese."""
    parts = [p.strip() for p in re.split(r"[|｜]", line)]
    if len(parts) < 3 or not parts[0]:
        raise ValueError(f"禁止说法“{line.strip()[:40]}”应写成：规范说法 | 概念词,同义词 | 谓语词,同义词（至少两组词）")
    groups = [[w for w in re.split(r"[,，、\s]+", part) if w] for part in parts[1:]]
    if any(not g for g in groups):
        raise ValueError(f"禁止说法“{parts[0][:40]}”有空的词组")
    return {"text": parts[0], "groups": groups}


def format_claim_line(claim: dict[str, Any]) -> str:
    """The editor's compact form of a forbidden claim."""
    return " | ".join([str(claim.get("text", ""))] + ["，".join(g) for g in claim.get("groups") or []])


def clean_forbidden_claims(value: Any) -> list[dict[str, Any]]:
    """Forbidden claims as ``[{text, groups}]``; accepts those dicts or compact lines."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise ValueError("forbidden_claims（禁止说法）必须是列表")
    if len(value) > MAX_FORBIDDEN:
        raise ValueError(f"forbidden_claims（禁止说法）最多 {MAX_FORBIDDEN} 条")
    out: list[dict[str, Any]] = []
    for item in value:
        if isinstance(item, str):
            item = parse_claim_line(item)
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item["text"].strip():
            raise ValueError("forbidden_claims（禁止说法）的每一项须含 text 与 groups")
        groups = item.get("groups")
        if not isinstance(groups, list) or len(groups) < 2 or not all(
                isinstance(g, list) and g and all(isinstance(w, str) and w.strip() and len(w) <= 40 for w in g)
                for g in groups):
            raise ValueError(f"禁止说法“{item['text'][:40]}”的 groups 须为至少两组非空词语")
        out.append({"text": item["text"].strip()[:200], "groups": [[w.strip() for w in g] for g in groups]})
    return out


@dataclass
class RowError:
    line: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message}

    def __str__(self) -> str:
        return f"第 {self.line} 行：{self.message}"


def validate_rows(rows: Sequence[tuple[int, Any]]) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Validate every row (``(line, raw)``); duplicate ids are errors too."""
    records: list[dict[str, Any]] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for line, raw in rows:
        try:
            record = clean_record(raw)
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
            continue
        if record["id"] in seen:
            errors.append(RowError(line, f"id {record['id']} 与第 {seen[record['id']]} 行重复"))
            continue
        seen[record["id"]] = line
        records.append(record)
    return records, errors


def raise_row_errors(errors: Sequence[RowError]) -> None:
    if errors:
        first = "；".join(str(e) for e in errors[:3])
        more = f"（共 {len(errors)} 处错误）" if len(errors) > 3 else ""
        raise ValidationFailed(f"导入文件有错误，未导入任何内容：{first}{more}", code="invalid_import",
                               details={"errors": [e.to_dict() for e in errors]})


# --- articles ---------------------------------------------------------------------

def get_article(session: Session, external_id: str, published_only: bool = False) -> Article:
    article = session.scalar(select(Article).where(Article.external_id == external_id))
    if article is None or (published_only and article.status != PUBLISHED):
        raise NotFound(f"知识库文章 {external_id} 不存在或未发布。", code="article_not_found")
    return article


def list_articles(session: Session) -> list[Article]:
    return list(session.scalars(select(Article).order_by(Article.external_id)))


def article_versions(session: Session, external_id: str) -> list[ArticleVersion]:
    return list(session.scalars(select(ArticleVersion).where(ArticleVersion.external_id == external_id)
                                .order_by(ArticleVersion.version)))


def _snapshot(session: Session, article: Article, now: datetime, by: str) -> None:
    session.add(ArticleVersion(external_id=article.external_id, version=article.version,
                               snapshot=article.to_record(), saved_at=now, saved_by=by))


def _answer_for_vectors(plain_answer: str | None, answer: str | None) -> str:
    """The answer text whose head is embedded (the plain version when there is one)."""
    return plain_answer or markdown_to_plain(answer or "")


def record_vector_texts(record: dict[str, Any]) -> list[str]:
    """What is embedded for an article record: the same texts ``compute_vectors`` embeds."""
    return embedding.article_texts(record["title"], record["questions"],
                                   _answer_for_vectors(record.get("plain_answer"), record.get("answer")))


def compute_vectors(articles: Sequence[Article]) -> int:
    """Embed title + questions + the head of the plain answer of each article in one batch;
    returns how many got vectors."""
    texts: list[str] = []
    spans: list[tuple[Article, int, int]] = []
    for article in articles:
        parts = embedding.article_texts(article.title, article.questions or [],
                                        _answer_for_vectors(article.plain_answer, article.answer))
        spans.append((article, len(texts), len(texts) + len(parts)))
        texts.extend(parts)
    matrix = embedding.encode(texts) if texts else None
    for article, start, end in spans:
        if matrix is None:
            article.vectors, article.vector_model = None, ""
        else:
            article.vectors, article.vector_model = embedding.to_bytes(matrix[start:end]), embedding.MODEL_NAME
    return 0 if matrix is None else len(spans)


def _upsert(session: Session, now: datetime, record: dict[str, Any], by: str) -> tuple[Article, str]:
    """Create or update one article from a clean record: (article, 'created'|'updated'|'unchanged')."""
    article = session.scalar(select(Article).where(Article.external_id == record["id"]))
    if article is None:
        previous = session.scalar(select(func.max(ArticleVersion.version))
                                  .where(ArticleVersion.external_id == record["id"])) or 0
        article = Article(external_id=record["id"], version=previous + 1, created_at=now,
                          updated_at=now, updated_by=by)
        _apply(article, record)
        session.add(article)
        return article, "created"
    if article.to_record() == record:
        return article, "unchanged"
    _snapshot(session, article, now, by)
    _apply(article, record)
    article.version += 1
    article.updated_at = now
    article.updated_by = by
    return article, "updated"


def _apply(article: Article, record: dict[str, Any]) -> None:
    article.title = record["title"]
    article.questions = list(record["questions"])
    article.answer = record["answer"]
    article.plain_answer = record["plain_answer"]
    article.category = record["category"]
    article.tags = list(record["tags"])
    article.status = record["status"]
    article.forbidden_claims = [dict(c) for c in record.get("forbidden_claims") or []]


def save_article(session: Session, clock: Clock, raw: dict[str, Any], by: str = "",
                 base_version: int | None = None) -> Article:
    """Create or update one article (the previous state is kept as a version).

    ``base_version`` is the version the editor started from (0 for a new article):
    when the article has moved on since (or a new article's id is taken), the save is
    refused with ``Conflict`` (code ``stale_version``) and nothing is written."""
    try:
        record = clean_record(raw)
    except ValueError as exc:
        raise ValidationFailed(str(exc), code="invalid_article") from exc
    bump_version(session, clock, [record["id"]])  # first: takes the write lock up front
    if base_version is not None:
        check_base_version(session, record["id"], base_version)
    article, outcome = _upsert(session, clock.now(), record, by)
    if outcome != "unchanged":
        compute_vectors([article])
    session.flush()
    return article


def check_base_version(session: Session, external_id: str, base_version: int) -> None:
    """Refuse an edit that was based on an older version than the stored one."""
    current = session.scalar(select(Article.version).where(Article.external_id == external_id))
    if base_version == 0 and current is not None:
        raise Conflict(f"编号 {external_id} 已被另一篇文章使用（第 {current} 版），请换一个编号；您填写的内容仍保留在表单中。",
                       code="stale_version", details={"current_version": current})
    if base_version > 0 and current is None:
        raise Conflict(f"文章 {external_id} 已被他人删除，未保存；您填写的内容仍保留在表单中。",
                       code="stale_version", details={"current_version": None})
    if base_version > 0 and current != base_version:
        raise Conflict(f"保存失败：这篇文章已被他人修改（您编辑的是第 {base_version} 版，当前已是第 {current} 版）。"
                       "您填写的内容仍保留在表单中，请先查看最新版本再合并修改。",
                       code="stale_version", details={"current_version": current})


def version_snapshot(session: Session, external_id: str, version: int) -> dict[str, Any]:
    """The record of ``version`` of an article (the current one or a kept snapshot)."""
    article = session.scalar(select(Article).where(Article.external_id == external_id))
    if article is not None and article.version == version:
        return article.to_record()
    row = session.scalar(select(ArticleVersion).where(ArticleVersion.external_id == external_id,
                                                      ArticleVersion.version == version)
                         .order_by(ArticleVersion.id.desc()).limit(1))
    if row is None:
        raise NotFound(f"文章 {external_id} 没有第 {version} 版。", code="version_not_found")
    return dict(row.snapshot)


def restore_version(session: Session, clock: Clock, external_id: str, version: int, by: str = "",
                    base_version: int | None = None) -> Article:
    """Bring back the content of an old version as a new version (history is never rewritten)."""
    record = version_snapshot(session, external_id, version)
    return save_article(session, clock, record, by=by, base_version=base_version)


def set_status(session: Session, clock: Clock, external_id: str, status: str, by: str = "",
               base_version: int | None = None) -> Article:
    """Publish, unpublish or return to draft (a new version)."""
    if status not in STATUSES:
        raise ValidationFailed(f"状态 {status!r} 无效；可选：{'、'.join(STATUSES)}", code="invalid_article")
    record = get_article(session, external_id).to_record()
    record["status"] = status
    return save_article(session, clock, record, by=by, base_version=base_version)


def delete_article(session: Session, clock: Clock, external_id: str, by: str = "") -> None:
    bump_version(session, clock, [external_id])
    article = get_article(session, external_id)
    _snapshot(session, article, clock.now(), by)
    session.delete(article)
    session.flush()


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def summary(self) -> str:
        return f"新增 {self.created} 篇，更新 {self.updated} 篇，未变 {self.unchanged} 篇，删除 {self.deleted} 篇"


@dataclass
class ImportPlan:
    """What an import would do, computed without writing (the dry run)."""

    added: list[dict[str, Any]]
    changed: list[dict[str, Any]]
    unchanged: list[dict[str, Any]]
    deleted: list[str]
    rejected: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.rejected

    def summary(self) -> str:
        return (f"将新增 {len(self.added)} 篇，更新 {len(self.changed)} 篇，未变 {len(self.unchanged)} 篇，"
                f"删除 {len(self.deleted)} 篇，拒绝 {len(self.rejected)} 行")


def plan_import(session: Session, rows: Sequence[tuple[int, Any]], replace: bool = False,
                parse_errors: Sequence[RowError] = ()) -> ImportPlan:
    """The dry run of :func:`import_rows`: same validation, same comparison, no writes.

    ``changed`` items carry ``fields`` (the names of the fields that differ) and ``line``."""
    records, errors = validate_rows(rows)
    lines: dict[str, int] = {}
    for line, raw in rows:
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            lines.setdefault(raw["id"].strip(), line)
    existing = {a.external_id: a.to_record() for a in list_articles(session)}
    plan = ImportPlan([], [], [], [], sorted([*parse_errors, *errors], key=lambda e: e.line))
    for record in records:
        line = lines.get(record["id"], 0)
        before = existing.get(record["id"])
        if before is None:
            plan.added.append({"line": line, "id": record["id"], "title": record["title"]})
        elif before == record:
            plan.unchanged.append({"line": line, "id": record["id"], "title": record["title"]})
        else:
            fields = [f for f in FIELDS if before.get(f) != record.get(f)]
            plan.changed.append({"line": line, "id": record["id"], "title": record["title"], "fields": fields})
    if replace:
        keep = {r["id"] for r in records}
        plan.deleted = sorted(i for i in existing if i not in keep)
    return plan


# Stages of an import, in order, as ``ImportProgress`` reports them (读取 is the caller's:
# reading and parsing the file happen before ``BulkImport.run``).
STAGE_READ, STAGE_VALIDATE, STAGE_VECTORS, STAGE_WRITE, STAGE_INDEX = "读取", "校验", "向量", "写入", "索引"
IMPORT_STAGES = (STAGE_READ, STAGE_VALIDATE, STAGE_VECTORS, STAGE_WRITE, STAGE_INDEX)
# progress(stage, done, total): may be called from the encoding thread as well.
ImportProgress = Callable[[str, int, int], None]
WRITE_CHUNK = 500


@dataclass
class _Existing:
    pk: int
    record: dict[str, Any]
    version: int
    vectors_current: bool  # has vectors from the current model


def _existing_articles(session: Session) -> dict[str, _Existing]:
    """Every stored article as a record, without loading the vectors."""
    rows = session.execute(select(
        Article.id, Article.external_id, Article.title, Article.questions, Article.answer,
        Article.plain_answer, Article.category, Article.tags, Article.status, Article.forbidden_claims,
        Article.version, Article.vector_model, Article.vectors.is_not(None)))
    out: dict[str, _Existing] = {}
    for (pk, external_id, title, questions, answer, plain, category, tags, status, claims, version,
         vector_model, has_vectors) in rows:
        record = {"id": external_id, "title": title, "questions": list(questions or []), "answer": answer,
                  "plain_answer": plain, "category": category, "tags": list(tags or []), "status": status,
                  "forbidden_claims": [dict(c) for c in (claims or [])]}
        out[external_id] = _Existing(pk, record, version,
                                     bool(has_vectors) and vector_model == embedding.MODEL_NAME)
    return out


class BulkImport:
    """``import_rows`` for many articles at once (``kb import``, the trainer's import, the seed).

    All or nothing as before: every row is validated first, then one KB version bump with
    one ``full`` change row, then bulk statements (executemany) instead of one ORM object
    and two look-ups per article. Only new texts are encoded (an updated article whose
    title, similar questions and answer head did not change keeps its vectors), in batches on a second
    threads while this one writes the snapshots and, with ``index``, analyses every article
    and writes the segment of a full index rebuild (``PendingRebuild.prepare``). That build
    holds the index writer lock and is published by ``commit_index`` after the caller's
    transaction commits (``cancel`` when it does not), so the import builds the index once
    and no search process rebuilds it again (a search process that waits for the lock finds
    the index current: ``SearchIndex.rebuild(skip_if_current=True)``).
    """

    def __init__(self, index: Any | None = None, progress: ImportProgress | None = None) -> None:
        self.index = index  # a knowledge_base.index.SearchIndex, or None: search processes rebuild
        self.progress = progress
        self._pending: Any | None = None
        self._index_total = 0

    def _report(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def run(self, session: Session, clock: Clock, rows: Sequence[tuple[int, Any]], replace: bool = False,
            by: str = "", parse_errors: Sequence[RowError] = ()) -> ImportReport:
        """Validate every row, then import all of them or none (ValidationFailed lists each bad row)."""
        self._report(STAGE_VALIDATE, 0, len(rows))
        records, errors = validate_rows(rows)
        errors = sorted([*parse_errors, *errors], key=lambda e: e.line)
        raise_row_errors(errors)
        self._report(STAGE_VALIDATE, len(rows), len(rows))
        version = bump_version(session, clock, full=True)
        now = clock.now()
        report = ImportReport()
        existing = _existing_articles(session)
        created: list[dict[str, Any]] = []
        updated: list[tuple[dict[str, Any], _Existing]] = []
        encode: list[dict[str, Any]] = []  # records whose vectors are (re)computed
        for record in records:
            before = existing.get(record["id"])
            if before is None:
                created.append(record)
                encode.append(record)
            elif before.record == record:
                report.unchanged += 1
                if not before.vectors_current:
                    encode.append(record)
            else:
                updated.append((record, before))
                if not before.vectors_current or record_vector_texts(before.record) != record_vector_texts(record):
                    encode.append(record)
        report.created, report.updated = len(created), len(updated)
        keep = {r["id"] for r in records}
        deleted = sorted((e for i, e in existing.items() if i not in keep), key=lambda e: e.record["id"]) if replace else []
        report.deleted = len(deleted)

        encoder = _VectorThread(encode, self._report)
        encoder.start()
        try:
            self._write_history(session, now, by, [b for _r, b in updated], deleted)
            if self.index is not None:
                final = {i: e.record for i, e in existing.items() if i in keep or not replace}
                final.update((r["id"], r) for r in records)
                self._analyse(version, final)
        finally:
            vectors = encoder.result()
        self._write_articles(session, now, by, created, updated, encode, vectors, existing)
        return report

    @staticmethod
    def _write_history(session: Session, now: datetime, by: str, updated: list[_Existing],
                       deleted: list[_Existing]) -> None:
        """Snapshots of the updated and deleted articles (their state before the import), and the deletions."""
        snapshots = [{"external_id": e.record["id"], "version": e.version, "snapshot": e.record,
                      "saved_at": now, "saved_by": by} for e in [*updated, *deleted]]
        for start in range(0, len(snapshots), WRITE_CHUNK):
            session.execute(insert(ArticleVersion), snapshots[start:start + WRITE_CHUNK])
        pks = [e.pk for e in deleted]
        for start in range(0, len(pks), WRITE_CHUNK):
            session.execute(delete(Article).where(Article.id.in_(pks[start:start + WRITE_CHUNK])))

    def _analyse(self, version: int, final: dict[str, dict[str, Any]]) -> None:
        pending = self.index.start_rebuild(version)  # type: ignore[union-attr]
        self._pending = pending
        # Analysing the documents is about half of the build, writing the segment the other half;
        # the last step is publishing it (commit_index, after the transaction).
        total = self._index_total = len(final) * 2 + 1
        self._report(STAGE_INDEX, 0, total)
        for n, external_id in enumerate(sorted(final), start=1):  # the service's (and rebuild's) order
            pending.add(Entry.from_record(final[external_id]))
            if n % 100 == 0:
                self._report(STAGE_INDEX, n, total)
        self._report(STAGE_INDEX, len(final), total)
        pending.prepare()  # the segment is written now (the vectors may still be encoding)
        self._report(STAGE_INDEX, total - 1, total)

    def _write_articles(self, session: Session, now: datetime, by: str, created: list[dict[str, Any]],
                        updated: list[tuple[dict[str, Any], _Existing]], encoded: list[dict[str, Any]],
                        vectors: dict[str, bytes | None], existing: dict[str, _Existing]) -> None:
        total = len(created) + len(updated) + len(encoded)
        done = 0
        self._report(STAGE_WRITE, 0, total)

        def fields(record: dict[str, Any]) -> dict[str, Any]:
            values = {"title": record["title"], "questions": list(record["questions"]), "answer": record["answer"],
                      "plain_answer": record["plain_answer"], "category": record["category"],
                      "tags": list(record["tags"]), "status": record["status"],
                      "forbidden_claims": [dict(c) for c in record.get("forbidden_claims") or []]}
            if record["id"] in vectors:
                blob = vectors[record["id"]]
                values.update(vectors=blob, vector_model=embedding.MODEL_NAME if blob is not None else "")
            return values

        previous = dict(session.execute(
            select(ArticleVersion.external_id, func.max(ArticleVersion.version))
            .group_by(ArticleVersion.external_id)).all()) if created else {}
        inserts = [{"external_id": r["id"], **fields(r), "version": (previous.get(r["id"]) or 0) + 1,
                    "created_at": now, "updated_at": now, "updated_by": by} for r in created]
        for start in range(0, len(inserts), WRITE_CHUNK):
            session.execute(insert(Article), inserts[start:start + WRITE_CHUNK])
            done += len(inserts[start:start + WRITE_CHUNK])
            self._report(STAGE_WRITE, done, total)
        changed = {r["id"] for r, _b in updated}
        updates = [{"id": before.pk, **fields(r), "version": before.version + 1, "updated_at": now,
                    "updated_by": by} for r, before in updated]
        # Unchanged articles that only get vectors (they had none, or from another model).
        updates += [{"id": existing[r["id"]].pk, "vectors": vectors.get(r["id"]),
                     "vector_model": embedding.MODEL_NAME if vectors.get(r["id"]) is not None else ""}
                    for r in encoded if r["id"] in existing and r["id"] not in changed]
        for start in range(0, len(updates), WRITE_CHUNK):
            session.execute(update(Article), updates[start:start + WRITE_CHUNK])
        self._report(STAGE_WRITE, total, total)

    def commit_index(self) -> int:
        """After the transaction committed: write the index built by ``run`` (its article count)."""
        pending, self._pending = self._pending, None
        if pending is None:
            return 0
        pending.commit()
        self._report(STAGE_INDEX, self._index_total, self._index_total)
        return pending.count

    def cancel(self) -> None:
        """The transaction did not commit: drop the index build."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.cancel()


class _VectorThread:
    """Encodes the texts of ``records`` on a second thread; ``result()`` is {id: vectors blob or None}."""

    def __init__(self, records: list[dict[str, Any]], report: Callable[[str, int, int], None]) -> None:
        self.records = records
        self.report = report
        self._result: dict[str, bytes | None] = {}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kb-import-vectors", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            texts: list[str] = []
            spans: list[tuple[str, int, int]] = []
            for record in self.records:
                parts = record_vector_texts(record)
                spans.append((record["id"], len(texts), len(texts) + len(parts)))
                texts.extend(parts)
            total, done = len(texts), 0
            self.report(STAGE_VECTORS, 0, total)

            lock = threading.Lock()

            def advance(n: int) -> None:  # called from the encoding threads
                nonlocal done
                with lock:
                    done += n
                    self.report(STAGE_VECTORS, done, total)

            matrix = embedding.encode_many(texts, progress=advance) if texts else None
            for external_id, start, end in spans:
                self._result[external_id] = None if matrix is None else embedding.to_bytes(matrix[start:end])
            self.report(STAGE_VECTORS, total, total)
        except BaseException as exc:  # re-raised in the importing thread
            self._error = exc

    def result(self) -> dict[str, bytes | None]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result


def import_rows(session: Session, clock: Clock, rows: Sequence[tuple[int, Any]], replace: bool = False,
                by: str = "", parse_errors: Sequence[RowError] = ()) -> ImportReport:
    """Validate every row, then import all of them or none (ValidationFailed lists each bad row).

    Search processes rebuild their index when they see the new version; ``BulkImport`` with
    an index builds it here instead (``kb import``)."""
    return BulkImport().run(session, clock, rows, replace=replace, by=by, parse_errors=parse_errors)


def export_records(session: Session) -> list[dict[str, Any]]:
    return [a.to_record() for a in list_articles(session)]


# --- synonyms ---------------------------------------------------------------------

def parse_synonyms(text: str) -> list[list[str]]:
    """One group per line, words separated by white space, ``#`` starts a comment."""
    groups = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        words: list[str] = []
        for word in line.replace("，", " ").replace(",", " ").replace("/", " ").split():
            if word not in words:
                words.append(word)
        if len(words) >= 2:
            groups.append(words)
    return groups


def list_synonym_groups(session: Session) -> list[list[str]]:
    return [g.word_list for g in session.scalars(select(SynonymGroup).order_by(SynonymGroup.id))]


def replace_synonyms(session: Session, clock: Clock, groups: Sequence[Sequence[str]]) -> int:
    """Make the synonym table exactly ``groups``; returns the number of groups."""
    bump_version(session, clock, synonyms=True)
    now = clock.now()
    session.execute(delete(SynonymGroup))
    count = 0
    for words in groups:
        words = [w.strip() for w in words if w and w.strip()]
        if len(words) >= 2:
            session.add(SynonymGroup(words=" ".join(words), created_at=now, updated_at=now))
            count += 1
    session.flush()
    return count


def add_synonym_group(session: Session, clock: Clock, words: Sequence[str]) -> SynonymGroup:
    words = _clean_words(words)
    bump_version(session, clock, synonyms=True)
    group = SynonymGroup(words=" ".join(words), created_at=clock.now(), updated_at=clock.now())
    session.add(group)
    session.flush()
    return group


def _clean_words(words: Sequence[str]) -> list[str]:
    out: list[str] = []
    for word in words:
        word = (word or "").strip()
        if word and word not in out:
            out.append(word)
    if len(out) < 2 or any(len(w) > 32 for w in out) or len(out) > 50:
        raise ValidationFailed("同义词组需要 2–50 个不同的词，每个词不超过 32 字。", code="invalid_synonyms")
    return out


def split_words(text: str) -> list[str]:
    """Words typed in one box: separated by spaces, commas (，,、) or slashes."""
    for sep in ("，", ",", "、", "/", ";", "；"):
        text = (text or "").replace(sep, " ")
    return text.split()


def get_synonym_group(session: Session, group_id: int) -> SynonymGroup:
    group = session.get(SynonymGroup, group_id)
    if group is None:
        raise NotFound(f"同义词组 {group_id} 不存在（可能已被删除）。", code="synonym_group_not_found")
    return group


def update_synonym_group(session: Session, clock: Clock, group_id: int, words: Sequence[str]) -> SynonymGroup:
    words = _clean_words(words)
    bump_version(session, clock, synonyms=True)
    group = get_synonym_group(session, group_id)
    group.words = " ".join(words)
    group.updated_at = clock.now()
    session.flush()
    return group


def delete_synonym_group(session: Session, clock: Clock, group_id: int) -> None:
    bump_version(session, clock, synonyms=True)
    session.delete(get_synonym_group(session, group_id))
    session.flush()


def synonym_groups(session: Session) -> list[SynonymGroup]:
    return list(session.scalars(select(SynonymGroup).order_by(SynonymGroup.id)))


# --- logs -------------------------------------------------------------------------

def log_article_opened(session: Session, clock: Clock, external_id: str, user_id: int | None) -> None:
    session.add(ArticleOpenLog(article_id=external_id, user_id=user_id, created_at=clock.now()))


def record_as_of(session: Session, external_id: str, when: datetime) -> dict[str, Any] | None:
    """The article as it stood at ``when`` (a round pins the KB at its creation), or None if it
    did not exist then. A kept version holds the state *before* the save that made it, so the
    first version saved after ``when`` is the state at ``when``."""
    article = session.scalar(select(Article).where(Article.external_id == external_id))
    if article is not None and article.created_at > when:
        return None
    later = session.scalar(select(ArticleVersion).where(ArticleVersion.external_id == external_id,
                                                        ArticleVersion.saved_at > when)
                           .order_by(ArticleVersion.saved_at, ArticleVersion.id).limit(1))
    if later is not None:
        return {**later.snapshot, "version": later.version}
    if article is None:
        return None
    return {**article.to_record(), "version": article.version}
