"""Drill pages: the scenario list and history, the agent console, the report."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from sandbox.drill import drill_clock, drill_contacts, event_log, followups, lifecycle, speech
from sandbox.drill.models import Drill
from sandbox.drill.reports import answers_visible, visible_report
from sandbox.drill.scenario.store import list_scenarios, scenario_spec, scenario_titles
from sandbox.errors import DomainError
from sandbox.exam import rounds as exam
from sandbox.exam.models import Round
from sandbox.roles import ADMIN, ALL_ROLES, EXAMINER, STAFF_ROLES
from sandbox.web import charts
from sandbox.web.request_context import current_user
from sandbox.web.rounds import candidate_round
from sandbox.web.security import roles_required
from sandbox.web.tx import db, runtime, unit_of_work

bp = Blueprint("drills", __name__)
DRILL_ROLES = ALL_ROLES  # every role may practise


def _visible_drill(drill_id: int) -> Drill:
    drill = db().get(Drill, drill_id)
    if drill is None:
        abort(404)
    user = current_user()
    if drill.user_id != user.id and user.role not in STAFF_ROLES:
        abort(403)
    return drill


@bp.get("/drills")
@roles_required(*DRILL_ROLES)
def index():
    s = db()
    user = current_user()
    clock = runtime().clock
    query = (select(Drill).where(Drill.user_id == user.id, Drill.status != drill_clock.PREPARED)
             .order_by(Drill.started_at.desc()).limit(50))
    history = list(s.scalars(query))
    # A drill whose time ran out while nobody had it open is finished now (not "进行中 / 继续").
    expired = [d.id for d in history if d.status == drill_clock.RUNNING and clock.now() >= d.deadline]
    if expired:
        with unit_of_work() as s:
            for drill_id in expired:
                lifecycle.tick(s, clock, drill_contacts.get_drill(s, drill_id, for_update=True))
        history = list(s.scalars(query))
    specs = list_scenarios(s)
    titles = scenario_titles(s)
    finished = [d for d in reversed(history) if d.status == drill_clock.FINISHED and d.mode == "practice"
                and d.total is not None]
    trend = charts.trend_svg([(d.started_at, d.total, titles.get(d.scenario_id, d.scenario_id)) for d in finished])
    reserved = exam.reserved_scenarios(s, runtime().clock, user.id)
    return render_template("drills/index.html", specs=specs, history=history, titles=titles, trend=trend,
                           reserved=reserved,
                           now=clock.now())


@bp.post("/drills/start")
@roles_required(*DRILL_ROLES)
def start():
    scenario = request.form.get("scenario", "")
    try:
        with unit_of_work() as s:
            exam.ensure_practice_allowed(s, runtime().clock, current_user().id, scenario)
            drill = lifecycle.start_drill(s, runtime().clock, current_user().id, scenario, "practice")
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("drills.index"))
    return redirect(url_for("drills.console", drill_id=drill.id))


@bp.get("/drills/<int:drill_id>")
@roles_required(*DRILL_ROLES)
def console(drill_id: int):
    drill = _visible_drill(drill_id)
    with unit_of_work() as s:
        lifecycle.tick(s, runtime().clock, s.get(Drill, drill.id))
    spec = scenario_spec(db(), drill.scenario_id, drill.scenario_version)
    watching = drill.user_id != current_user().id
    from knowledge_base.categories import CATEGORIES
    from workorders.vocab import MOODS, VERIFICATION_STATUSES

    position = exam.drill_position(db(), drill)
    return render_template("drills/console.html", drill=drill, spec=spec, watching=watching, categories=CATEGORIES,
                           handoff_vocab={"verification": VERIFICATION_STATUSES, "moods": MOODS}, position=position,
                           server_speech=speech.espeak_available())


@bp.get("/drills/<int:drill_id>/report")
@roles_required(*DRILL_ROLES)
def report(drill_id: int):
    drill = _visible_drill(drill_id)
    with unit_of_work() as s:
        lifecycle.tick(s, runtime().clock, s.get(Drill, drill.id))
    if drill.status != drill_clock.FINISHED:
        flash("演练尚未结束，结束后才能查看评分报告。", "info")
        return redirect(url_for("drills.console", drill_id=drill.id))
    data = visible_report(db(), runtime().clock, drill, current_user())
    spec = scenario_spec(db(), drill.scenario_id, drill.scenario_version)
    events = event_log.events_of(db(), drill.id) if data.get("released") else []
    radar = charts.radar_svg({k: (v["score"] if v["score"] is not None else None)
                              for k, v in data.get("dimensions", {}).items()}) if data.get("released") else ""
    timeline = charts.timeline_svg(events, drill_clock.drill_seconds(drill, runtime().clock.now())) if events else ""
    actions = [e for e in events if e.type not in ("message.customer", "contact.arrived", "drill.started")]
    # The candidate's own exam question: where they are in the round and the 下一题 button.
    mine = None
    if drill.round_id is not None and drill.user_id == current_user().id:
        rnd = db().get(Round, drill.round_id)
        mine = candidate_round(rnd) if rnd is not None else None
    user = current_user()
    fu = followups.drill_section(db(), drill, reveal=answers_visible(db(), runtime().clock, drill, user))
    return render_template("drills/report.html", drill=drill, spec=spec, report=data, radar=radar,
                           timeline=timeline, actions=actions, event_labels=charts.EVENT_LABELS,
                           reference_labels=REFERENCE_LABELS, mine=mine, fu=fu,
                           can_answer=drill.user_id == user.id,
                           can_mark=drill.round_id is not None and user.role in (EXAMINER, ADMIN))


@bp.post("/drills/<int:drill_id>/followups/<followup_id>")
@roles_required(*DRILL_ROLES)
def answer_followup(drill_id: int, followup_id: str):
    """The candidate's typed answer to one 追问 (their own drill only)."""
    owned = db().get(Drill, drill_id)
    if owned is None:
        abort(404)
    if owned.user_id != current_user().id:
        abort(403)
    try:
        with unit_of_work() as s:
            drill = drill_contacts.get_drill(s, drill_id, current_user().id, for_update=True)
            followups.answer(s, runtime().clock, drill, followups.items_for(s, drill), followup_id,
                             request.form.get("text"), request.form.get("elapsed_seconds"))
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash("回答已提交。", "success")
    return redirect(url_for("drills.report", drill_id=drill_id) + f"#followup-{followup_id}")


REFERENCE_LABELS = {
    "say": "回复", "recognize": "识别语音", "kb.search": "检索知识库", "kb.open": "打开知识", "suggestion.use": "引用推荐",
    "identity.sms": "发送短信验证码", "identity.verify": "身份核验", "lookup.customer": "查询客户资料",
    "lookup.accounts": "查询账户", "lookup.transactions": "查询交易流水", "lookup.cards": "查询信用卡",
    "lookup.bill": "查询账单", "freeze": "临时挂失/冻结", "workorder.create": "创建工单", "handoff": "转人工",
    "finish": "结束",
}
