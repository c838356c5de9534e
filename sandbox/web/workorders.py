"""Work-order pages (list, detail with timeline and forms) and the human-agent queue.

Also what the work-order API shares with these pages: the acting user, the handoff
timeout, the conversation gateway, and the drill events of orders and handoffs made
in a drill conversation (written in the operation's own unit of work).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from sandbox.drill import operations
from sandbox.errors import DomainError
from sandbox.roles import STAFF_ROLES, WORK_ORDER_ROLES
from sandbox.web.drill_context import drill_target, recorded
from sandbox.web.request_context import current_user
from sandbox.web.security import roles_required
from sandbox.web.tx import db, runtime, write
from workorders import access, changes, creation, presentation, queries, sla, states, vocab
from workorders import handoff as handoffs
from workorders.access import Actor

bp = Blueprint("workorders", __name__)

GATEWAY_KEY = "conversation_gateway"


# --- shared with the API ------------------------------------------------------------------

def actor() -> Actor:
    return Actor.of(current_user())


def handoff_timeout() -> int:
    """``HANDOFF_TIMEOUT_SECONDS`` from the app config (default 120 s)."""
    value = runtime().settings.extra.get("HANDOFF_TIMEOUT_SECONDS", handoffs.DEFAULT_TIMEOUT_SECONDS)
    return max(int(value), 0)


def conversation_gateway() -> handoffs.ConversationGateway:
    """The registered gateway, or one under which no conversation exists yet."""
    return runtime().services.get(GATEWAY_KEY) or handoffs.NoConversations()


def check_order_conversation(who: Actor, conversation_id: int | None) -> None:
    """Refuse an order naming a conversation that does not exist (404 ``unknown_conversation``)
    or that ``who`` may not act in (403 ``forbidden``). A read, done before the write begins."""
    if conversation_id is None:
        return
    info = conversation_gateway().get(db(), conversation_id)
    access.check_conversation_access(who, info.owner_user_id)


ORDER_EVENT_FIELDS = ("number", "type", "category", "priority", "queue", "status")


def order_event_data(order: Any) -> dict[str, Any]:
    """What a drill's ``workorder.created``/``workorder.updated`` event keeps of the order."""
    view = presentation.order_to_dict(order, runtime().clock.now())
    return {k: view.get(k) for k in ORDER_EVENT_FIELDS}


def _conversation_of(data: Any) -> int | None:
    raw = data.get("conversation_id") if isinstance(data, Mapping) else None
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError, OverflowError):
        return None


def create_order(data: Any) -> Any:
    """Check a new order's input and its conversation, then create it (the API and the panel form).

    From a drill conversation the order is logged as ``workorder.created`` in the drill (a
    refused one with its reason) in the same unit of work.
    """
    who = actor()
    conversation_id = _conversation_of(data)

    def _create(s: Any) -> Any:
        target = drill_target(s, conversation_id, None)
        with recorded(s, target, "workorder.created", undo_refused=True) as rec:
            new = creation.check_new_order(data, runtime().clock.now())
            check_order_conversation(who, new.conversation_id)
            order = creation.create_order(s, runtime().clock, who, new)
            rec.set(**order_event_data(order))
        return order

    return write(_create, keep_refusal=True)


def update_order(number: str, data: Any) -> Any:
    """Change an order's fields; one made from a drill conversation is logged as ``workorder.updated``."""
    who = actor()

    def _update(s: Any) -> Any:
        order = changes.update_order(s, runtime().clock, who, number, data)
        target = operations.target_for(s, order.conversation_id, current_user().id)
        if target is not None and operations.is_running(s, target):
            operations.record(s, runtime().clock, target, "workorder.updated", **order_event_data(order),
                              allowed=True)
        return order

    return write(_update)


def change_order(number: str, data: Any, action: str, change: Any) -> Any:
    """Run ``change(session)`` (a note, a transition, a follow-up) on an order; from a drill
    conversation (named in the body, or the order's own) it is logged as ``workorder.updated``
    with its ``action`` in the same unit of work."""

    def _change(s: Any) -> Any:
        order = change(s)
        conversation = _conversation_of(data) or order.conversation_id
        target = operations.target_for(s, conversation, current_user().id)
        if target is not None and operations.is_running(s, target):
            operations.record(s, runtime().clock, target, "workorder.updated", **order_event_data(order),
                              action=action, allowed=True)
        return order

    return write(_change)


def ended_conversations(session: Any, conversation_ids: list[int]) -> set[int]:
    """Which of these conversations are over (the gateway's ``ended``; none if it cannot tell)."""
    ended = getattr(conversation_gateway(), "ended", None)
    return ended(session, conversation_ids) if ended is not None else set()


def handoff_ended(session: Any, handoff_id: int) -> bool:
    from workorders.models import Handoff

    h = session.get(Handoff, handoff_id)
    return h is not None and h.conversation_id in ended_conversations(session, [h.conversation_id])


def handoff_queue_view(timeout: int) -> tuple[list[Any], list[Any], set[int]]:
    """(waiting, recent, ended conversation ids): a waiting handoff whose conversation is over
    leaves the queue for the recent list, shown as 会话已结束."""
    waiting = handoffs.queue_entries(db(), runtime().clock, actor(), timeout)
    ended = ended_conversations(db(), [h.conversation_id for h in waiting])
    recent = handoffs.recent_handoffs(db(), actor())
    gone = [h for h in waiting if h.conversation_id in ended]
    recent = sorted(recent + gone, key=lambda h: (h.created_at, h.id), reverse=True)[:20]
    return [h for h in waiting if h.conversation_id not in ended], recent, ended


def route_message(session: Any, message: Any) -> Any:
    """Also put a human agent's handoff message into the conversation itself."""
    gateway = conversation_gateway()
    post = getattr(gateway, "post_human_message", None)
    if post is not None:
        post(session, message)
    return message


@bp.app_template_filter("duration")
def _duration(seconds: Any) -> str:
    return sla.human_duration(int(seconds or 0))


@bp.app_context_processor
def _vocab() -> dict:
    return {"wo_vocab": {"types": vocab.TYPES, "priorities": vocab.PRIORITIES, "queues": vocab.QUEUES,
                         "categories": vocab.CATEGORIES, "states": states.STATES,
                         "defaults": {"type": vocab.DEFAULT_TYPE, "priority": vocab.DEFAULT_PRIORITY,
                                      "queue": vocab.DEFAULT_QUEUE}}}


# --- forms --------------------------------------------------------------------------------

def _choices(values, blank: str | None = None) -> list[SelectChoice]:
    pairs = values.items() if isinstance(values, dict) else [(v, v) for v in values]
    out = [SelectChoice("", blank)] if blank is not None else []
    return out + [SelectChoice(v, label) for v, label in pairs]


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    queue = SelectField("队列", choices=_choices(vocab.QUEUES, "全部队列"), validators=[Optional()], validate_choice=False)
    status = SelectField("状态", choices=_choices(states.STATES, "全部状态"), validators=[Optional()], validate_choice=False)
    type = SelectField("类型", choices=_choices(vocab.TYPES, "全部类型"), validators=[Optional()], validate_choice=False)
    priority = SelectField("优先级", choices=_choices(vocab.PRIORITIES, "全部优先级"), validators=[Optional()],
                           validate_choice=False)
    overdue = SelectField("时限", choices=_choices({"true": "仅超时", "false": "未超时"}, "不限"),
                          validators=[Optional()], validate_choice=False)


class TransitionForm(FlaskForm):
    to = SelectField("变更为", choices=_choices(states.STATES), validators=[DataRequired("请选择目标状态。")],
                     validate_choice=False)
    assignee = StringField("处理人（分派时必填）", validators=[Length(max=vocab.MAX_ASSIGNEE)])
    resolution_note = TextAreaField("处理结果说明（转待回访时必填）", validators=[Length(max=vocab.MAX_DESCRIPTION)])
    satisfaction = SelectField("回访满意度（离开待回访时必填）", choices=_choices(vocab.SATISFACTION, "—"), validate_choice=False)
    note = TextAreaField("说明（撤销、升级时必填）", validators=[Length(max=vocab.MAX_NOTE)])
    visibility = SelectField("可见范围", choices=_choices(vocab.VISIBILITIES), validate_choice=False)
    submit = SubmitField("提交变更")


class FollowUpForm(FlaskForm):
    contact_result = SelectField("回访结果", choices=_choices(vocab.CONTACT_RESULTS), validate_choice=False)
    satisfaction = SelectField("满意度", choices=_choices(vocab.SATISFACTION, "—（未接通时不填）"), validate_choice=False)
    note = TextAreaField("回访记录", validators=[Length(max=vocab.MAX_NOTE)])
    submit = SubmitField("登记回访")


class NoteForm(FlaskForm):
    text = TextAreaField("备注内容", validators=[DataRequired("请填写备注内容。"), Length(max=vocab.MAX_NOTE)])
    visibility = SelectField("可见范围", choices=_choices(vocab.VISIBILITIES), validate_choice=False)
    submit = SubmitField("添加备注")


class WaitingForm(FlaskForm):
    waiting = HiddenField()
    note = StringField("说明", validators=[Length(max=vocab.MAX_NOTE)])
    submit = SubmitField("切换")


class AcceptForm(FlaskForm):
    submit = SubmitField("接入")


class MessageForm(FlaskForm):
    text = TextAreaField("回复客户", validators=[DataRequired("请填写回复内容。"), Length(max=vocab.MAX_NOTE)])
    submit = SubmitField("发送")


def _form_errors(form: FlaskForm) -> str:
    return "；".join(e for errors in form.errors.values() for e in errors) or "表单内容不正确。"


# --- work-order pages ---------------------------------------------------------------------

@bp.route("/workorders")
@roles_required(*WORK_ORDER_ROLES)
def index():
    form = FilterForm(request.args)
    now = runtime().clock.now()
    try:
        f = queries.parse_filter(request.args)
        orders = queries.list_orders(db(), runtime().clock, actor(), f)
    except DomainError as exc:
        flash(exc.message, "error")
        orders, status = [], 400
    else:
        status = 200
    rows = [(o, sla.is_overdue(o, now), sla.effective_due(o, now)[1]) for o in orders]
    return render_template("workorders/index.html", form=form, rows=rows), status


def _detail_context(order) -> dict:
    now = runtime().clock.now()
    t_form = TransitionForm()
    t_form.to.choices = _choices({to: f"{to}（{states.TRANSITIONS[(order.status, to)].label}）"
                                  for to in states.allowed_next(order.status)})
    return {"order": order, "data": presentation.order_to_dict(order, now), "now": now,
            "t_form": t_form, "f_form": FollowUpForm(), "n_form": NoteForm(),
            "w_form": WaitingForm(waiting="0" if order.waiting_on_customer else "1"),
            "states": states}


@bp.route("/workorders/<number>")
@roles_required(*WORK_ORDER_ROLES)
def detail(number: str):
    order = queries.get_order(db(), actor(), number)
    return render_template("workorders/detail.html", **_detail_context(order))


def _post(number: str, form: FlaskForm, action: Callable[[Any, Actor], Any], done: str):
    who = actor()
    if not form.validate_on_submit():
        # Still check the order exists and is the user's, so a bad form leaks nothing.
        queries.get_order(db(), who, number)
        flash(_form_errors(form), "error")
        return redirect(url_for("workorders.detail", number=number), code=303)
    try:
        write(lambda s: action(s, who))
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        flash(exc.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for("workorders.detail", number=number), code=303)


@bp.post("/workorders/<number>/transition")
@roles_required(*WORK_ORDER_ROLES)
def transition(number: str):
    form = TransitionForm()
    form.to.choices = _choices(states.STATES)
    return _post(number, form, lambda s, who: changes.transition(
        s, runtime().clock, who, number, form.to.data,
        {"assignee": form.assignee.data, "resolution_note": form.resolution_note.data,
         "satisfaction": form.satisfaction.data, "note": form.note.data, "visibility": form.visibility.data}),
        "状态已变更。")


@bp.post("/workorders/<number>/follow-up")
@roles_required(*WORK_ORDER_ROLES)
def follow_up(number: str):
    form = FollowUpForm()
    return _post(number, form, lambda s, who: changes.follow_up(
        s, runtime().clock, who, number, form.contact_result.data, form.satisfaction.data or None,
        form.note.data), "回访已登记。")


@bp.post("/workorders/<number>/note")
@roles_required(*WORK_ORDER_ROLES)
def note(number: str):
    form = NoteForm()
    return _post(number, form, lambda s, who: changes.add_note(
        s, runtime().clock, who, number, form.text.data, form.visibility.data), "备注已添加。")


@bp.post("/workorders/<number>/waiting")
@roles_required(*WORK_ORDER_ROLES)
def waiting(number: str):
    form = WaitingForm()
    return _post(number, form, lambda s, who: changes.set_waiting(
        s, runtime().clock, who, number, form.waiting.data == "1", form.note.data), "等待客户状态已更新。")


# --- human-agent queue (examiners) ----------------------------------------------------------

@bp.route("/handoffs")
@roles_required(*STAFF_ROLES)
def queue():
    now, timeout = runtime().clock.now(), handoff_timeout()
    entries, recent, ended = handoff_queue_view(timeout)
    return render_template("workorders/queue.html", now=now, timeout=timeout, form=AcceptForm(),
                           entries=[handoffs.handoff_to_dict(h, now, timeout, full=False) for h in entries],
                           recent=[handoffs.handoff_to_dict(h, now, timeout, full=False,
                                                            ended=h.conversation_id in ended) for h in recent])


@bp.route("/handoffs/<int:handoff_id>")
@roles_required(*STAFF_ROLES)
def handoff_detail(handoff_id: int):
    h = handoffs.get_handoff(db(), actor(), handoff_id)
    now, timeout = runtime().clock.now(), handoff_timeout()
    ended = h.conversation_id in ended_conversations(db(), [h.conversation_id])
    return render_template("workorders/handoff.html", h=handoffs.handoff_to_dict(h, now, timeout, ended=ended),
                           accept_form=AcceptForm(), message_form=MessageForm(),
                           mine=h.accepted_by_id == current_user().id or current_user().role == "admin",
                           summary_labels=handoffs.SUMMARY_FIELDS)


@bp.post("/handoffs/<int:handoff_id>/accept")
@roles_required(*STAFF_ROLES)
def handoff_accept(handoff_id: int):
    who = actor()
    if not AcceptForm().validate_on_submit():
        abort(400)
    try:
        write(lambda s: handoffs.accept(s, runtime().clock, who, handoff_id, ended=handoff_ended(s, handoff_id)))
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
        return redirect(url_for("workorders.queue"), code=303)
    flash("已接入该会话，请继续为客户服务。", "success")
    return redirect(url_for("workorders.handoff_detail", handoff_id=handoff_id), code=303)


@bp.post("/handoffs/<int:handoff_id>/message")
@roles_required(*STAFF_ROLES)
def handoff_message(handoff_id: int):
    who = actor()
    form = MessageForm()
    if not form.validate_on_submit():
        handoffs.get_handoff(db(), who, handoff_id)
        flash(_form_errors(form), "error")
    else:
        try:
            write(lambda s: route_message(s, handoffs.add_message(s, runtime().clock, who, handoff_id,
                                                                  form.text.data)))
        except DomainError as exc:
            if exc.status == 404:
                raise
            flash(exc.message, "error")
    return redirect(url_for("workorders.handoff_detail", handoff_id=handoff_id), code=303)
