"""The article editor: the list with its filters, creating and editing an article (a stale
base version is refused with the conflict shown), publishing and retiring, the version
history side by side and restoring an old version; the live Markdown preview."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from knowledge_base import articles as kb_articles
from knowledge_base import editor
from knowledge_base.categories import CATEGORIES, DRAFT, PUBLISHED, RETIRED, STATUSES
from knowledge_base.render import markdown_to_html
from sandbox.clock import BEIJING
from sandbox.errors import DomainError, NotFound, ValidationFailed
from sandbox.web.trainer import bp, catch_up, current_username, int_arg, trainer_only
from sandbox.web.tx import db, end_read, runtime, unit_of_work

PER_PAGE = 20


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
    page = max(1, min(int_arg(request.args.get("page"), 1), 10000))
    items, total = editor.find_articles(db(), category=category, status=status, text=text, since=since,
                                        page=page, per_page=PER_PAGE)
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    filters = {"category": category, "status": status, "q": text or None, "since": since_text or None}
    return render_template("trainer/articles.html", items=items, total=total, page=page, pages=pages,
                           filters=filters, categories=CATEGORIES, statuses=STATUSES, published=PUBLISHED)


def _render_editor(form: ArticleForm, article: Any, status: int = 200, conflict: dict | None = None):
    return render_template("trainer/edit.html", form=form, article=article, conflict=conflict,
                           statuses=STATUSES), status


def _save(form: ArticleForm, external_id: str, article: Any):
    """Save the form; on a refused save the form is shown again with everything typed kept."""
    end_read()  # the save starts as a writer (SQLite)
    base = int_arg(form.base_version.data, -1)
    if base < 0:
        flash("表单缺少所依据的版本号，请刷新页面后重试。", "error")
        return _render_editor(form, article, 400)
    try:
        with unit_of_work() as s:
            saved = kb_articles.save_article(s, runtime().clock, _form_record(form, external_id), by=current_username(),
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
    base = int_arg(request.form.get("base_version"), -1)
    labels = {PUBLISHED: "发布", RETIRED: "下线", DRAFT: "退回草稿"}
    try:
        with unit_of_work() as s:
            article = kb_articles.set_status(s, runtime().clock, external_id, status, by=current_username(),
                                          base_version=base if base >= 0 else None)
            version = article.version
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        catch_up()
        flash(f"已{labels.get(status, '更新状态')}：{external_id}（第 {version} 版）。", "success")
    return redirect(request.form.get("next") if request.form.get("next") == url_for("trainer.articles")
                    else url_for("trainer.edit", external_id=external_id))


@bp.get("/articles/<external_id>/history")
@trainer_only
def history(external_id: str):
    article, entries = editor.history(db(), external_id)
    by_version = {e.version: e for e in entries}
    right = int_arg(request.args.get("b"), article.version)
    left = int_arg(request.args.get("a"), entries[1].version if len(entries) > 1 else article.version)
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
    version = int_arg(request.form.get("version"), -1)
    base = int_arg(request.form.get("base_version"), -1)
    try:
        with unit_of_work() as s:
            article = kb_articles.restore_version(s, runtime().clock, external_id, version, by=current_username(),
                                               base_version=base if base >= 0 else None)
            new_version = article.version
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("trainer.history", external_id=external_id))
    catch_up()
    flash(f"已将第 {version} 版的内容恢复为新的第 {new_version} 版。", "success")
    return redirect(url_for("trainer.history", external_id=external_id))


def preview_html(markdown_text: str) -> str:
    """The article renderer's sanitised HTML (python-markdown + nh3 allow-list)."""
    if len(markdown_text) > kb_articles.MAX_ANSWER:
        raise ValidationFailed(f"内容超过 {kb_articles.MAX_ANSWER} 字，无法预览。", code="too_long")
    return markdown_to_html(markdown_text)
