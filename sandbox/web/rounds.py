"""Round pages: the examiner's list, detail (roster, controls, live board, faults, results),
printable reports and replay; the candidate's join page and round progress."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateTimeLocalField, IntegerField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from sandbox.drill import drill_clock, drill_contacts, followups
from sandbox.drill.models import Drill
from sandbox.drill.reports import results_released, visible_report
from sandbox.drill.scenario.store import list_scenarios, scenario_spec
from sandbox.drill.scenario.vocabulary import FAULT_COMPONENTS
from sandbox.errors import DomainError, ValidationFailed
from sandbox.exam import rounds as exam
from sandbox.exam.models import Round, RoundCandidate
from sandbox.roles import ADMIN, CANDIDATE, EXAMINER, STAFF_ROLES
from sandbox.users.models import User
from sandbox.web import charts
from sandbox.web.display import local_input
from sandbox.web.request_context import current_user
from sandbox.web.security import roles_required
from sandbox.web.tx import advance_drill_if_due, db, runtime, unit_of_work

bp = Blueprint("rounds", __name__)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RoundForm(FlaskForm):
    name = StringField("考试名称", validators=[DataRequired("请填写考试名称。"), Length(max=100)])
    scenarios = MultiCheckboxField("场景与出题顺序（勾选的先后即出题顺序，可修改序号）", choices=[])
    shuffle = BooleanField("每位考生随机顺序")
    time_per_scenario = IntegerField("每题时长（秒，留空则用场景自带时长）",
                                     validators=[Optional(), NumberRange(60, 3600, "须在 60 到 3600 秒之间。")])
    opens_at = DateTimeLocalField("开考时间（可选）", validators=[Optional()], format="%Y-%m-%dT%H:%M")
    closes_at = DateTimeLocalField("截止时间（可选）", validators=[Optional()], format="%Y-%m-%dT%H:%M")
    submit = SubmitField("创建考试")


def _aware(value: datetime | None) -> datetime | None:
    # The form's local times are in the display zone (北京时间 by default).
    if value is None:
        return None
    return local_input(value).astimezone(UTC)


def ordered_selection(selected: list[str], form: Any) -> list[str]:
    """The ticked scenarios in the examiner's order: each row's ``order-<id>`` number (filled in
    tick order by the page's script, editable), unnumbered ones after the numbered in list order."""
    keyed = []
    for pos, sid in enumerate(selected):
        raw = (form.get(f"order-{sid}") or "").strip()
        number = None
        if raw:
            try:
                number = int(raw)
            except ValueError:
                raise ValidationFailed("出题顺序的序号必须是正整数。", code="invalid_order") from None
            if not 1 <= number <= 999:
                raise ValidationFailed("出题顺序的序号必须是 1 到 999 之间的整数。", code="invalid_order")
        keyed.append((number, pos, sid))
    numbers = [n for n, _, _ in keyed if n is not None]
    if len(numbers) != len(set(numbers)):
        raise ValidationFailed("出题顺序的序号有重复，请为每个勾选的场景填写不同的序号。", code="duplicate_order")
    keyed.sort(key=lambda k: (k[0] is None, k[0] or 0, k[1]))
    return [sid for _, _, sid in keyed]


def _round_or_404(round_id: int) -> Round:
    rnd = db().get(Round, round_id)
    if rnd is None:
        abort(404)
    return rnd


def _flash_error(exc: DomainError) -> None:
    flash(exc.message, "error")


@bp.route("/rounds", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def index():
    s = db()
    form = RoundForm()
    specs = list_scenarios(s)
    form.scenarios.choices = [(spec.id, f"{spec.title}（{spec.difficulty}·{spec.channel}）") for spec in specs]
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work() as s:
                order = ordered_selection(form.scenarios.data or [], request.form)
                rnd = exam.create_round(s, runtime().clock, current_user(), form.name.data, order,
                                        shuffle=form.shuffle.data, time_per_scenario=form.time_per_scenario.data,
                                        opens_at=_aware(form.opens_at.data), closes_at=_aware(form.closes_at.data),
                                        followups=[sid for sid in order if request.form.get(f"followups-{sid}")])
        except DomainError as exc:
            _flash_error(exc)
            status = 400
        else:
            flash(f"已创建考试“{rnd.name}”，加入码 {rnd.join_code}。", "success")
            return redirect(url_for("rounds.detail", round_id=rnd.id))
    elif request.method == "POST":
        status = 400
    rounds = list(db().scalars(select(Round).order_by(Round.id.desc())))
    return render_template("rounds/index.html", form=form, rounds=rounds, labels=exam.STATUS_LABELS), status


@bp.get("/rounds/<int:round_id>")
@roles_required(*STAFF_ROLES)
def detail(round_id: int):
    s = db()
    rnd = _round_or_404(round_id)
    titles = {spec.id: spec.title for spec in list_scenarios(s, include_disabled=True)}
    with unit_of_work() as s:
        data = exam.results(s, rnd)
        faults = exam.list_faults(s, rnd, runtime().clock.now())
    users = {e.user_id: s.get(User, e.user_id) for e in rnd.candidates}
    return render_template("rounds/detail.html", rnd=rnd, titles=titles, results=data, faults=faults, users=users,
                           labels=exam.STATUS_LABELS, components=FAULT_COMPONENTS)


@bp.post("/rounds/<int:round_id>/action")
@roles_required(*STAFF_ROLES)
def action(round_id: int):
    actions = {"start": (exam.start_round, "考试已开始。"), "pause": (exam.pause_round, "已暂停，所有考生的计时已停止。"),
               "resume": (exam.resume_round, "已继续计时。"), "end": (exam.end_round, "考试已结束，未交卷的演练已自动收卷。"),
               "release": (lambda s, c, r: exam.release_results(s, r), "成绩已发布，考生现在可以查看报告。")}
    name = request.form.get("action", "")
    if name not in actions:
        abort(400)
    fn, message = actions[name]
    try:
        with unit_of_work() as s:
            fn(s, runtime().clock, exam.get_round(s, round_id, for_update=True))
    except DomainError as exc:
        _flash_error(exc)
    else:
        flash(message, "success")
    return redirect(url_for("rounds.detail", round_id=round_id))


@bp.post("/rounds/<int:round_id>/roster")
@roles_required(*STAFF_ROLES)
def roster(round_id: int):
    upload = request.files.get("csv_file")
    text = request.form.get("usernames", "")
    try:
        roster = None
        if upload and upload.filename:
            # Decoded, parsed and checked before the transaction (and its lock) begins.
            raw = upload.read(1024 * 1024)
            try:
                content = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                content = raw.decode("gb18030", errors="strict")
            roster = exam.parse_roster_csv(content)
        with unit_of_work() as s:
            rnd = exam.get_round(s, round_id, for_update=True)
            if roster is not None:
                result = exam.import_roster_csv(s, runtime().clock, rnd, roster)
            else:
                names = [n for n in text.replace("，", ",").replace(",", "\n").splitlines() if n.strip()]
                if not names:
                    raise ValidationFailed("请填写至少一个用户名，或选择 CSV 文件。", code="empty_roster")
                result = exam.add_candidates(s, runtime().clock, rnd, names, skip_unknown=True)
    except (DomainError, UnicodeDecodeError) as exc:
        flash(exc.message if isinstance(exc, DomainError) else "文件编码无法识别，请保存为 UTF-8 或 GBK 的 CSV。", "error")
    else:
        skipped = []
        if result.unknown:
            skipped.append("以下用户名不存在：" + "、".join(result.unknown))
        if result.not_candidates:
            skipped.append("以下账号不是考生：" + "、".join(result.not_candidates))
        if result.added or result.already:
            flash(f"已加入 {len(result.added)} 名考生" + (f"（{'、'.join(result.added)}）" if result.added else "")
                  + (f"，{len(result.already)} 名原已在名单中" if result.already else "") + "。", "success")
        if skipped:
            flash("；".join(skipped) + "，未加入名单。", "error")
        if result.created:
            flash("新建账号（请转交考生，仅显示一次）：" + "；".join(f"{u} / {p}" for u, p in result.created), "info")
    return redirect(url_for("rounds.detail", round_id=round_id))


@bp.post("/rounds/<int:round_id>/faults")
@roles_required(*STAFF_ROLES)
def inject(round_id: int):
    form = request.form
    try:
        with unit_of_work() as s:
            rnd = exam.get_round(s, round_id, for_update=True)
            user_id = int(form["user"]) if form.get("user") else None
            exam.inject_fault(s, runtime().clock, rnd, current_user(), form.get("component", ""), user_id=user_id,
                              start_in=int(form.get("start_in") or 0),
                              duration=int(form["duration"]) if form.get("duration") else None,
                              message=form.get("message") or None)
    except ValueError:
        flash("请输入整数秒数。", "error")
    except DomainError as exc:
        _flash_error(exc)
    else:
        flash("已注入故障。", "success")
    return redirect(url_for("rounds.detail", round_id=round_id) + "#faults")


@bp.post("/rounds/<int:round_id>/faults/<int:fault_id>/restore")
@roles_required(*STAFF_ROLES)
def restore(round_id: int, fault_id: int):
    try:
        with unit_of_work() as s:
            exam.restore_fault(s, runtime().clock, exam.get_round(s, round_id, for_update=True), fault_id)
    except DomainError as exc:
        _flash_error(exc)
    else:
        flash("已恢复服务。", "success")
    return redirect(url_for("rounds.detail", round_id=round_id) + "#faults")


@bp.post("/rounds/<int:round_id>/extend")
@roles_required(*STAFF_ROLES)
def extend(round_id: int):
    try:
        with unit_of_work() as s:
            exam.extend_candidate(s, runtime().clock, exam.get_round(s, round_id, for_update=True),
                                  int(request.form.get("user", "0")), int(request.form.get("seconds") or 0))
    except ValueError:
        flash("请输入整数秒数。", "error")
    except DomainError as exc:
        _flash_error(exc)
    else:
        flash("已为该考生延长时间。", "success")
    return redirect(url_for("rounds.detail", round_id=round_id))


@bp.get("/rounds/<int:round_id>/candidates/<int:user_id>/print")
@roles_required(*STAFF_ROLES)
def print_report(round_id: int, user_id: int):
    """A per-candidate report laid out for A4 (the browser's 另存为 PDF)."""
    rnd = _round_or_404(round_id)
    user = db().get(User, user_id)
    if user is None or db().scalar(select(RoundCandidate.id).where(RoundCandidate.round_id == rnd.id,
                                                                   RoundCandidate.user_id == user_id)) is None:
        abort(404)
    drills = exam.round_drills(db(), rnd, user_id)
    viewer, clock = current_user(), runtime().clock
    reports = [(d, scenario_spec(db(), d.scenario_id, d.scenario_version),
                visible_report(db(), clock, d, viewer)) for d in drills]
    return render_template("rounds/print.html", rnd=rnd, user=user, reports=reports,
                           printed_at=runtime().clock.now())


@bp.post("/drills/<int:drill_id>/adjust")
@roles_required(*STAFF_ROLES)
def adjust(drill_id: int):
    try:
        with unit_of_work() as s:
            drill = drill_contacts.get_drill(s, drill_id, for_update=True)
            exam.adjust_check(s, runtime().clock, drill, current_user(), request.form.get("check", ""),
                              request.form.get("points"), request.form.get("comment", ""))
    except DomainError as exc:
        _flash_error(exc)
    else:
        flash("已调整分数并记录理由。", "success")
    return redirect(url_for("drills.report", drill_id=drill_id) + "#checks")


@bp.post("/drills/<int:drill_id>/followups/<followup_id>/mark")
@roles_required(EXAMINER, ADMIN)
def mark_followup(drill_id: int, followup_id: str):
    """The examiner marks one 追问 answer: a checkbox per key point and a comment."""
    try:
        with unit_of_work() as s:
            drill = drill_contacts.get_drill(s, drill_id, for_update=True)
            items = followups.items_for(s, drill)
            item = next((i for i in items if i.id == followup_id), None)
            marks = {p.id: bool(request.form.get(f"point-{p.id}")) for p in item.key_points} if item else {}
            followups.mark(s, runtime().clock, drill, items, current_user().id, followup_id, marks,
                           request.form.get("comment", ""))
    except DomainError as exc:
        _flash_error(exc)
    else:
        flash("已保存追问评阅。", "success")
    return redirect(url_for("drills.report", drill_id=drill_id) + f"#followup-{followup_id}")


@bp.get("/drills/<int:drill_id>/replay")
@roles_required(CANDIDATE, EXAMINER, ADMIN)
def replay(drill_id: int):
    drill = db().get(Drill, drill_id)
    if drill is None:
        abort(404)
    user = current_user()
    if user.role not in STAFF_ROLES and (drill.user_id != user.id or drill.status != drill_clock.FINISHED
                                         or not results_released(db(), drill)):
        abort(403)
    spec = scenario_spec(db(), drill.scenario_id, drill.scenario_version)
    return render_template("rounds/replay.html", drill=drill, spec=spec, event_labels=charts.EVENT_LABELS)


# --------------------------------------------------------------------------- candidates


@bp.get("/exam")
@roles_required(CANDIDATE)
def exam_home():
    s = db()
    rows = list(s.scalars(select(Round).join(RoundCandidate).where(RoundCandidate.user_id == current_user().id)
                          .order_by(Round.id.desc())))
    return render_template("rounds/exam_home.html", rounds=rows, labels=exam.STATUS_LABELS)


@bp.post("/exam/join")
@roles_required(CANDIDATE)
def exam_join():
    try:
        with unit_of_work() as s:
            rnd = exam.join(s, runtime().clock, current_user(), request.form.get("code", ""))
    except DomainError as exc:
        _flash_error(exc)
        return redirect(url_for("rounds.exam_home"))
    return redirect(url_for("rounds.exam_round", round_id=rnd.id))


@bp.get("/exam/<int:round_id>")
@roles_required(CANDIDATE)
def exam_round(round_id: int):
    """The candidate's round: 第 k / n 题, the time left, what comes next, or 本场考试已完成."""
    rnd = _round_or_404(round_id)
    try:
        exam.candidate_entry(db(), rnd, current_user().id)
    except DomainError:
        abort(403)
    mine = candidate_round(rnd)
    titles = {spec.id: spec.title for spec in list_scenarios(db(), include_disabled=True)}
    return render_template("rounds/exam_round.html", rnd=rnd, mine=mine, titles=titles, labels=exam.STATUS_LABELS)


def candidate_round(rnd: Round) -> dict[str, Any]:
    """The signed-in candidate's round (exam.my_round) after bringing their open question up to date."""
    user_id = current_user().id
    clock = runtime().clock
    open_drills = exam.round_drills(db(), rnd, user_id, open_only=True)
    for drill_id in [d.id for d in open_drills]:
        advance_drill_if_due(db().get(Drill, drill_id))
    return exam.my_round(db(), clock, db().get(Round, rnd.id), user_id)


@bp.post("/exam/<int:round_id>/next")
@roles_required(CANDIDATE)
def exam_next(round_id: int):
    try:
        with unit_of_work() as s:
            drill = exam.next_drill(s, runtime().clock, exam.get_round(s, round_id, for_share=True), current_user())
    except DomainError as exc:
        _flash_error(exc)
        return redirect(url_for("rounds.exam_round", round_id=round_id))
    return redirect(url_for("drills.console", drill_id=drill.id))
