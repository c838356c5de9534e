"""Search analytics: searches per day, zero-result queries and the retrieval evaluation runs;
attaching a question users asked to an article as one of its similar questions."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for

from knowledge_base import analytics
from knowledge_base import articles as kb_articles
from knowledge_base import evaluate as kb_eval
from knowledge_base.search import get_kb
from knowledge_base.search_log import flush_search_log
from sandbox.clock import BEIJING
from sandbox.errors import DomainError, ValidationFailed
from sandbox.web.trainer import bp, catch_up, current_username, int_arg, trainer_only
from sandbox.web.trainer_charts import eval_history_svg, search_trend_svg
from sandbox.web.tx import db, runtime, unit_of_work


@bp.get("/analytics")
@trainer_only
def analytics_page():
    days = max(1, min(int_arg(request.args.get("days"), 30), 365))
    now = runtime().clock.now()
    today = now.astimezone(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - timedelta(days=days - 1)
    until = today + timedelta(days=1)
    flush_search_log(runtime())  # the searches of the last second too
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
                           mode="hybrid" if kb.use_model else "lexical", by=current_username())
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
            saved = kb_articles.save_article(s, runtime().clock, record, by=current_username(), base_version=article.version)
            version = saved.version
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("trainer.attach", q=question))
    catch_up()
    flash(f"已把“{question}”加为 {external_id} 的相似问法（第 {version} 版）。", "success")
    return redirect(url_for("trainer.analytics_page"))
