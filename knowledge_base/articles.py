"""Articles, synonyms and the KB version: the only code that writes knowledge-base rows.

Every change bumps the KB version (one row, updated with ``version = version + 1`` so
concurrent writers serialise in the database) and records what changed, so that each
search process can catch up. Functions take a session and never commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session

from knowledge_base import embedding
from knowledge_base.categories import CATEGORIES, PUBLISHED, STATUSES
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


def compute_vectors(articles: Sequence[Article]) -> int:
    """Embed title + questions + the head of the plain answer of each article in one batch;
    returns how many got vectors."""
    texts: list[str] = []
    spans: list[tuple[Article, int, int]] = []
    for article in articles:
        parts = embedding.article_texts(article.title, article.questions or [],
                                        article.plain_answer or markdown_to_plain(article.answer or ""))
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


def import_rows(session: Session, clock: Clock, rows: Sequence[tuple[int, Any]], replace: bool = False,
                by: str = "", parse_errors: Sequence[RowError] = ()) -> ImportReport:
    """Validate every row, then import all of them or none (ValidationFailed lists each bad row)."""
    records, errors = validate_rows(rows)
    errors = sorted([*parse_errors, *errors], key=lambda e: e.line)
    raise_row_errors(errors)
    version = bump_version(session, clock, full=True)
    del version
    now = clock.now()
    report = ImportReport()
    touched: list[Article] = []
    for record in records:
        article, outcome = _upsert(session, now, record, by)
        setattr(report, outcome, getattr(report, outcome) + 1)
        if outcome != "unchanged" or article.vectors is None:
            touched.append(article)
    if replace:
        keep = {r["id"] for r in records}
        for article in list_articles(session):
            if article.external_id not in keep:
                _snapshot(session, article, now, by)
                session.delete(article)
                report.deleted += 1
    session.flush()
    compute_vectors(touched)
    session.flush()
    return report


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
