"""Trainer tools (培训师): the article editor with versions, import/export, synonyms and
search analytics. Trainers and admins only.

Every save bumps the KB version inside its transaction (``knowledge_base.articles``);
after the commit this process catches its search service up at once, so a search right
after the save sees the edit (other processes catch up on their next search).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from knowledge_base import analytics, editor, explain, transfer
from knowledge_base import articles as kb_articles
from knowledge_base import evaluate as kb_eval
from knowledge_base.categories import CATEGORIES, DRAFT, PUBLISHED, RETIRED, STATUSES
from knowledge_base.render import markdown_to_html
from knowledge_base.search import get_kb
from sandbox.clock import BEIJING
from sandbox.errors import DomainError, NotFound, ValidationFailed
from sandbox.roles import TRAINER_ROLES
from sandbox.web.request_context import current_user
from sandbox.web.security import roles_required
from sandbox.web.trainer_charts import eval_history_svg, search_trend_svg
from sandbox.web.tx import db, discard, end_read, runtime, unit_of_work

log = logging.getLogger(__name__)
bp = Blueprint("trainer", __name__, url_prefix="/trainer")

trainer_only = roles_required(*TRAINER_ROLES)
PER_PAGE = 20
UPLOAD_DIR = "trainer_uploads"
UPLOAD_MAX_AGE = 24 * 3600
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _by() -> str:
    user = current_user()
    return user.username if user else ""


def catch_up() -> None:
    """Bring this process's search service to the committed KB version (never fails the request)."""
    try:
        get_kb(runtime()).sync()
    except Exception:  # the next search retries; the save itself is committed
        log.exception("knowledge base search did not catch up after a trainer change")


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# --- forms ----------------------------------------------------------------------------

class ArticleForm(FlaskForm):
    external_id = StringField("编号", validators=[Optional(), Length(max=64, message="编号不能超过 64 个字符。")])
    title = StringField("标题", validators=[DataRequired("请填写标题。"), Length(max=200, message="标题不能超过 200 字。")])
    questions = TextAreaField("相似问法（每行一个）", validators=[Length(max=30000)])
    answer = TextAreaField("规范话术（Markdown）", validators=[DataRequired("请填写规范话术。"),
                                                          Length(max=kb_articles.MAX_ANSWER)])
    plain_answer = TextAreaField("通俗版（说给客户听的大白话）", validators=[Length(max=kb_articles.MAX_ANSWER)])
    category = SelectField("分类", choices=[SelectChoice(c, c) for c in CATEGORIES])
    tags = StringField("标签（逗号或空格分隔）", validators=[Length(max=1000)])
    status = SelectField("状态", choices=[SelectChoice(s, s) for s in STATUSES])
    forbidden_claims = TextAreaField("禁止说法（每行一条：规范说法 | 概念词,同义词 | 谓语词,同义词；演练中说出即算错误信息）",
                                     validators=[Length(max=20000)])
    base_version = HiddenField(default="0")
    submit = SubmitField("保存")


class ImportForm(FlaskForm):
    file = FileField("文件（.jsonl / .csv / .xlsx / .yaml）")
    fmt = SelectField("格式", choices=[SelectChoice("", "按扩展名判断")] + [SelectChoice(f, f.upper()) for f in transfer.FORMATS])
    replace = BooleanField("替换模式：导入后知识库恰好等于文件内容（文件中没有的文章将被删除）")
    submit = SubmitField("上传并预览")


class SynonymForm(FlaskForm):
    words = StringField("同义词（空格或逗号分隔，第一个为标准词）",
                        validators=[DataRequired("请填写同义词。"), Length(max=2000)])
    submit = SubmitField("保存")


def _form_record(form: ArticleForm, external_id: str) -> dict[str, Any]:
    questions = [line.strip() for line in (form.questions.data or "").splitlines() if line.strip()]
    return {"id": external_id, "title": (form.title.data or "").strip(), "questions": questions,
            "answer": form.answer.data or "", "plain_answer": form.plain_answer.data or "",
            "category": form.category.data, "tags": kb_articles.split_words(form.tags.data or ""),
            "status": form.status.data,
            "forbidden_claims": [line.strip() for line in (form.forbidden_claims.data or "").splitlines() if line.strip()]}


def _fill_form(form: ArticleForm, record: dict[str, Any], version: int) -> None:
    form.external_id.data = record["id"]
    form.title.data = record["title"]
    form.questions.data = "\n".join(record["questions"])
    form.answer.data = record["answer"]
    form.plain_answer.data = record["plain_answer"]
    form.category.data = record["category"]
    form.tags.data = "，".join(record["tags"])
    form.status.data = record["status"]
    form.forbidden_claims.data = "\n".join(kb_articles.format_claim_line(c) for c in record.get("forbidden_claims") or [])
    form.base_version.data = str(version)


def _new_id(now: datetime) -> str:
    return f"KB-{now.astimezone(BEIJING):%Y%m%d}-{secrets.token_hex(3).upper()}"


# --- article list -----------------------------------------------------------------------

@bp.get("/")
@trainer_only
def home():
    return redirect(url_for("trainer.articles"))


@bp.get("/articles")
@trainer_only
def articles():
    category = request.args.get("category") or None
    category = category if category in CATEGORIES else None
    status = request.args.get("status") or None
    status = status if status in STATUSES else None
    text = (request.args.get("q") or "")[:200]
    since_text = (request.args.get("since") or "").strip()
    since = None
    if since_text:
        try:
            since = datetime.strptime(since_text, "%Y-%m-%d").replace(tzinfo=BEIJING)
        except ValueError:
            flash("“更新于此日期之后”格式应为 年-月-日，例如 2026-11-01；已忽略该条件。", "error")
            since_text = ""
    page = max(1, min(_int(request.args.get("page"), 1), 10000))
    items, total = editor.find_articles(db(), category=category, status=status, text=text, since=since,
                                        page=page, per_page=PER_PAGE)
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    filters = {"category": category, "status": status, "q": text or None, "since": since_text or None}
    return render_template("trainer/articles.html", items=items, total=total, page=page, pages=pages,
                           filters=filters, categories=CATEGORIES, statuses=STATUSES, published=PUBLISHED)


# --- create and edit --------------------------------------------------------------------

def _render_editor(form: ArticleForm, article: Any, status: int = 200, conflict: dict | None = None):
    return render_template("trainer/edit.html", form=form, article=article, conflict=conflict,
                           statuses=STATUSES), status


def _save(form: ArticleForm, external_id: str, article: Any):
    """Save the form; on a refused save the form is shown again with everything typed kept."""
    end_read()  # the save starts as a writer (SQLite)
    base = _int(form.base_version.data, -1)
    if base < 0:
        flash("表单缺少所依据的版本号，请刷新页面后重试。", "error")
        return _render_editor(form, article, 400)
    try:
        with unit_of_work() as s:
            saved = kb_articles.save_article(s, runtime().clock, _form_record(form, external_id), by=_by(),
                                          base_version=base)
            version, saved_id = saved.version, saved.external_id
    except DomainError as exc:
        flash(exc.message, "error")
        conflict = None
        if exc.code == "stale_version":
            conflict = {"current_version": exc.details.get("current_version"), "id": external_id}
        return _render_editor(form, article, exc.status, conflict)
    catch_up()
    flash(f"已保存 {saved_id}（第 {version} 版），检索结果已同步更新。", "success")
    return redirect(url_for("trainer.edit", external_id=saved_id))


@bp.route("/articles/new", methods=["GET", "POST"])
@trainer_only
def new():
    form = ArticleForm()
    if request.method == "GET":
        form.status.data = DRAFT
        form.base_version.data = "0"
        form.title.data = (request.args.get("title") or "")[:200]
        question = (request.args.get("question") or "").strip()[:300]
        form.questions.data = question
        if request.args.get("category") in CATEGORIES:
            form.category.data = request.args["category"]
        return _render_editor(form, None)
    if not form.validate_on_submit():
        return _render_editor(form, None, 400)
    external_id = (form.external_id.data or "").strip() or _new_id(runtime().clock.now())
    form.base_version.data = "0"
    return _save(form, external_id, None)


@bp.route("/articles/<external_id>/edit", methods=["GET", "POST"])
@trainer_only
def edit(external_id: str):
    article = kb_articles.get_article(db(), external_id)
    form = ArticleForm()
    if request.method == "GET":
        _fill_form(form, article.to_record(), article.version)
        return _render_editor(form, article)
    form.external_id.data = article.external_id
    if not form.validate_on_submit():
        return _render_editor(form, article, 400)
    return _save(form, article.external_id, article)


@bp.post("/articles/<external_id>/status")
@trainer_only
def change_status(external_id: str):
    status = request.form.get("status", "")
    base = _int(request.form.get("base_version"), -1)
    labels = {PUBLISHED: "发布", RETIRED: "下线", DRAFT: "退回草稿"}
    try:
        with unit_of_work() as s:
            article = kb_articles.set_status(s, runtime().clock, external_id, status, by=_by(),
                                          base_version=base if base >= 0 else None)
            version = article.version
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        catch_up()
        flash(f"已{labels.get(status, '更新状态')}：{external_id}（第 {version} 版）。", "success")
    return redirect(request.form.get("next") if request.form.get("next") == url_for("trainer.articles")
                    else url_for("trainer.edit", external_id=external_id))


# --- history ------------------------------------------------------------------------------

@bp.get("/articles/<external_id>/history")
@trainer_only
def history(external_id: str):
    article, entries = editor.history(db(), external_id)
    by_version = {e.version: e for e in entries}
    right = _int(request.args.get("b"), article.version)
    left = _int(request.args.get("a"), entries[1].version if len(entries) > 1 else article.version)
    if left not in by_version or right not in by_version:
        raise NotFound("要比较的版本不存在。", code="version_not_found")
    rows = editor.side_by_side(editor.record_lines(by_version[left].record),
                               editor.record_lines(by_version[right].record))
    changed = sum(1 for r in rows if r.kind != "equal")
    return render_template("trainer/history.html", article=article, entries=entries, rows=rows, left=left,
                           right=right, changed=changed)


@bp.post("/articles/<external_id>/restore")
@trainer_only
def restore(external_id: str):
    version = _int(request.form.get("version"), -1)
    base = _int(request.form.get("base_version"), -1)
    try:
        with unit_of_work() as s:
            article = kb_articles.restore_version(s, runtime().clock, external_id, version, by=_by(),
                                               base_version=base if base >= 0 else None)
            new_version = article.version
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("trainer.history", external_id=external_id))
    catch_up()
    flash(f"已将第 {version} 版的内容恢复为新的第 {new_version} 版。", "success")
    return redirect(url_for("trainer.history", external_id=external_id))


# --- import / export ----------------------------------------------------------------------

def _upload_dir() -> Path:
    path = runtime().settings.home / UPLOAD_DIR
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _write_private(path: Path, data: bytes) -> None:
    """Write a pending upload readable by the server's user only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _prune_uploads(folder: Path) -> None:
    limit = time.time() - UPLOAD_MAX_AGE
    for item in folder.iterdir():
        try:
            if item.stat().st_mtime < limit:
                item.unlink()
        except OSError:
            continue


def _pending(token: str) -> tuple[Path, Path, dict[str, Any]]:
    """The stored upload for ``token`` (data file, meta file, meta); 404 when gone or not the user's."""
    if not TOKEN_RE.match(token or ""):
        raise NotFound("导入预览不存在或已过期，请重新上传文件。", code="import_not_found")
    folder = _upload_dir()
    data, meta_path = folder / f"{token}.data", folder / f"{token}.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise NotFound("导入预览不存在或已过期，请重新上传文件。", code="import_not_found") from None
    user = current_user()
    if meta.get("user_id") != (user.id if user else None) or not data.exists():
        raise NotFound("导入预览不存在或已过期，请重新上传文件。", code="import_not_found")
    return data, meta_path, meta


def _discard(data: Path, meta_path: Path) -> None:
    for path in (data, meta_path):
        path.unlink(missing_ok=True)


@bp.route("/import", methods=["GET", "POST"])
@trainer_only
def import_():
    form = ImportForm()
    if request.method == "GET":
        return render_template("trainer/import.html", form=form, formats=transfer.FORMATS)
    if not form.validate_on_submit():
        return render_template("trainer/import.html", form=form, formats=transfer.FORMATS), 400
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要导入的文件。", "error")
        return render_template("trainer/import.html", form=form, formats=transfer.FORMATS), 400
    name = os.path.basename(upload.filename)[:200]
    data = upload.read()
    try:
        fmt = transfer.detect_format(Path(name), form.fmt.data or None)
        rows, parse_errors = transfer.parse_bytes(data, fmt)
    except DomainError as exc:
        flash(exc.message, "error")
        return render_template("trainer/import.html", form=form, formats=transfer.FORMATS), 400
    plan = kb_articles.plan_import(db(), rows, replace=bool(form.replace.data), parse_errors=parse_errors)
    discard()  # the dry run only read
    token = None
    if plan.ok and (plan.added or plan.changed or plan.deleted):
        # Keep the file server-side until the trainer confirms; nothing is written before.
        folder = _upload_dir()
        _prune_uploads(folder)
        token = secrets.token_urlsafe(24)
        _write_private(folder / f"{token}.data", data)
        meta = {"name": name, "format": fmt, "replace": bool(form.replace.data),
                "user_id": current_user().id, "uploaded_at": runtime().clock.now().isoformat()}
        _write_private(folder / f"{token}.json", json.dumps(meta, ensure_ascii=False).encode("utf-8"))
    return render_template("trainer/import_preview.html", plan=plan, token=token, name=name, fmt=fmt,
                           replace=bool(form.replace.data), rows=len(rows) + len(parse_errors))


@bp.post("/import/<token>/confirm")
@trainer_only
def import_confirm(token: str):
    data, meta_path, meta = _pending(token)
    try:
        rows, parse_errors = transfer.parse_bytes(data.read_bytes(), meta["format"])
        with unit_of_work() as s:
            report = kb_articles.import_rows(s, runtime().clock, rows, replace=bool(meta.get("replace")), by=_by(),
                                          parse_errors=parse_errors)
    except DomainError as exc:
        flash(f"{exc.message}", "error")
        _discard(data, meta_path)
        return redirect(url_for("trainer.import_"))
    _discard(data, meta_path)
    catch_up()
    flash(f"导入完成（{meta.get('name')}）：{report.summary()}。", "success")
    return redirect(url_for("trainer.articles"))


@bp.post("/import/<token>/cancel")
@trainer_only
def import_cancel(token: str):
    data, meta_path, _meta = _pending(token)
    _discard(data, meta_path)
    flash("已取消导入，未做任何改动。", "success")
    return redirect(url_for("trainer.import_"))


@bp.get("/export")
@trainer_only
def export():
    fmt = request.args.get("format", "jsonl")
    if fmt not in transfer.FORMATS:
        raise ValidationFailed(f"不支持的格式 {fmt}；可选：{', '.join(transfer.FORMATS)}。", code="bad_format")
    records = kb_articles.export_records(db())
    stamp = runtime().clock.now().astimezone(BEIJING).strftime("%Y%m%d-%H%M")
    body = transfer.dump_bytes(records, fmt)
    return Response(body, mimetype=transfer.MEDIA_TYPES[fmt].split(";")[0],
                    headers={"Content-Disposition": f'attachment; filename="kb-{stamp}.{fmt}"',
                             "Content-Type": transfer.MEDIA_TYPES[fmt]})


# --- synonyms -------------------------------------------------------------------------------

def _pending_groups(groups: list[Any]) -> tuple[list[list[str]] | None, str]:
    """The synonym groups with the previewed (unsaved) change applied, and a description."""
    target = request.args.get("change", "")
    words = kb_articles.split_words(request.args.get("words", ""))[:50]
    if not target:
        return None, ""
    current = [(g.id, g.word_list) for g in groups]
    if target == "new":
        if len(words) < 2:
            return None, "预览的新词组至少需要两个词。"
        return [w for _, w in current] + [words], f"新增词组：{' '.join(words)}"
    gid = _int(target, -1)
    if gid not in {i for i, _ in current}:
        return None, "要预览修改的词组不存在。"
    if not words:
        return [w for i, w in current if i != gid], f"删除词组 #{gid}"
    if len(words) < 2:
        return None, "同义词组至少需要两个词（留空表示删除该组）。"
    return [words if i == gid else w for i, w in current], f"把词组 #{gid} 改为：{' '.join(words)}"


@bp.get("/synonyms")
@trainer_only
def synonyms():
    groups = kb_articles.synonym_groups(db())
    query = (request.args.get("q") or "")[:200]
    before = after = None
    change_note = ""
    if query.strip():
        kb = get_kb(runtime())
        stored = [g.word_list for g in groups]
        before = explain.explain(query, stored, kb)
        pending, change_note = _pending_groups(groups)
        if pending is not None:
            after = explain.explain(query, pending, kb)
    return render_template("trainer/synonyms.html", groups=groups, form=SynonymForm(), query=query,
                           before=before, after=after, change_note=change_note,
                           change=request.args.get("change", ""), words=request.args.get("words", ""))


def _synonym_change(action) -> Response:
    try:
        with unit_of_work() as s:
            message = action(s)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        catch_up()
        flash(message, "success")
    return redirect(url_for("trainer.synonyms", q=request.form.get("q") or None))


@bp.post("/synonyms")
@trainer_only
def synonym_add():
    words = kb_articles.split_words(request.form.get("words", ""))

    def action(s):
        group = kb_articles.add_synonym_group(s, runtime().clock, words)
        return f"已新增同义词组 #{group.id}：{group.words}。检索已按新词组扩展。"
    return _synonym_change(action)


@bp.post("/synonyms/<int:group_id>")
@trainer_only
def synonym_update(group_id: int):
    words = kb_articles.split_words(request.form.get("words", ""))

    def action(s):
        group = kb_articles.update_synonym_group(s, runtime().clock, group_id, words)
        return f"已更新同义词组 #{group.id}：{group.words}。"
    return _synonym_change(action)


@bp.post("/synonyms/<int:group_id>/delete")
@trainer_only
def synonym_delete(group_id: int):
    def action(s):
        kb_articles.delete_synonym_group(s, runtime().clock, group_id)
        return f"已删除同义词组 #{group_id}。"
    return _synonym_change(action)


# --- analytics --------------------------------------------------------------------------------

@bp.get("/analytics")
@trainer_only
def analytics_page():
    days = max(1, min(_int(request.args.get("days"), 30), 365))
    now = runtime().clock.now()
    today = now.astimezone(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - timedelta(days=days - 1)
    until = today + timedelta(days=1)
    report = analytics.report(db(), since, until, limit=20)
    runs = kb_eval.run_history(db(), limit=50)
    return render_template("trainer/analytics.html", report=report, days=days,
                           trend_svg=search_trend_svg(report.days), runs=runs,
                           eval_svg=eval_history_svg(runs), latest=runs[-1] if runs else None,
                           previous=runs[-2] if len(runs) > 1 else None)


@bp.post("/analytics/eval")
@trainer_only
def analytics_eval():
    path = kb_eval.default_cases_path()
    try:
        cases = kb_eval.read_cases(path)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("trainer.analytics_page"))
    kb = get_kb(runtime())
    report = kb_eval.evaluate(kb, cases, k=3)
    version = kb.sync()
    with unit_of_work() as s:
        kb_eval.record_run(s, runtime().clock, report, source=path.name, kb_version=version,
                           mode="hybrid" if kb.use_model else "lexical", by=_by())
    flash(f"评测完成：样本 {report.n}，hit@1 {report.hit1:.3f}，hit@3 {report.hitk:.3f}，MRR@10 {report.mrr10:.3f}。",
          "success")
    return redirect(url_for("trainer.analytics_page") + "#eval")


@bp.get("/analytics/attach")
@trainer_only
def attach():
    question = (request.args.get("q") or "").strip()[:kb_articles.MAX_QUESTION]
    if not question:
        flash("缺少要添加的问法。", "error")
        return redirect(url_for("trainer.analytics_page"))
    find = (request.args.get("find") or "").strip()[:200]
    hits = []
    if find:
        hits = get_kb(runtime()).search(find, limit=10, include_unpublished=True).hits
    return render_template("trainer/attach.html", question=question, find=find, hits=hits)


@bp.post("/analytics/attach")
@trainer_only
def attach_save():
    question = (request.form.get("q") or "").strip()
    external_id = request.form.get("article", "")
    if not question or len(question) > kb_articles.MAX_QUESTION:
        flash(f"问法不能为空，且不超过 {kb_articles.MAX_QUESTION} 字。", "error")
        return redirect(url_for("trainer.analytics_page"))
    try:
        with unit_of_work() as s:
            article = kb_articles.get_article(s, external_id)
            record = article.to_record()
            if question in record["questions"]:
                raise ValidationFailed(f"“{question}”已是 {external_id} 的相似问法。", code="duplicate_question")
            record["questions"].append(question)
            saved = kb_articles.save_article(s, runtime().clock, record, by=_by(), base_version=article.version)
            version = saved.version
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("trainer.attach", q=question))
    catch_up()
    flash(f"已把“{question}”加为 {external_id} 的相似问法（第 {version} 版）。", "success")
    return redirect(url_for("trainer.analytics_page"))


def preview_html(markdown_text: str) -> str:
    """The article renderer's sanitised HTML (python-markdown + nh3 allow-list)."""
    if len(markdown_text) > kb_articles.MAX_ANSWER:
        raise ValidationFailed(f"内容超过 {kb_articles.MAX_ANSWER} 字，无法预览。", code="too_long")
    return markdown_to_html(markdown_text)

