"""Synonym groups of the search: list, add, change, delete, and a preview of how a query is
expanded before and after a change that is not saved yet."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from knowledge_base import articles as kb_articles
from knowledge_base import explain
from knowledge_base.search import get_kb
from sandbox.errors import DomainError
from sandbox.web.trainer import bp, catch_up, int_arg, trainer_only
from sandbox.web.tx import db, runtime, unit_of_work


class SynonymForm(FlaskForm):
    words = StringField("同义词（空格或逗号分隔，第一个为标准词）",
                        validators=[DataRequired("请填写同义词。"), Length(max=2000)])
    submit = SubmitField("保存")


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
    gid = int_arg(target, -1)
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
