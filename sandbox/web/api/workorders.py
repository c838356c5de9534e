"""Work-order and handoff endpoints under /api/v1.

Candidates reach only their own orders and handoffs (403 otherwise); examiners and
admins reach all and alone work the human-agent queue; trainers have no access.
"""

from __future__ import annotations

from flask import jsonify, request, url_for

from sandbox.errors import ValidationFailed
from sandbox.roles import STAFF_ROLES, WORK_ORDER_ROLES
from sandbox.web.api import bp, json_body
from sandbox.web.display import local_input
from sandbox.web.drill_context import drill_target, recorded
from sandbox.web.security import roles_required
from sandbox.web.tx import db, runtime, write
from sandbox.web.workorders import (
    actor,
    change_order,
    conversation_gateway,
    create_order,
    ended_conversations,
    handoff_ended,
    handoff_queue_view,
    handoff_timeout,
    route_message,
    update_order,
)
from workorders import changes, presentation, queries, sla, states, vocab
from workorders import handoff as handoffs


def _order_json(order, status: int = 200):
    return jsonify(presentation.order_to_dict(order, runtime().clock.now())), status


def _handoff_json(h, status: int = 200):
    ended = h.conversation_id in ended_conversations(db(), [h.conversation_id])
    return jsonify(handoffs.handoff_to_dict(h, runtime().clock.now(), handoff_timeout(), ended=ended)), status


@bp.get("/workorders/meta")
@roles_required(*WORK_ORDER_ROLES)
def workorders_meta():
    """Vocabularies, the transition table and the SLA table (for forms and the console panel)."""
    return jsonify({
        "types": vocab.TYPES, "priorities": vocab.PRIORITIES, "queues": vocab.QUEUES,
        "categories": vocab.CATEGORIES, "states": states.STATES,
        "satisfaction": vocab.SATISFACTION, "contact_results": vocab.CONTACT_RESULTS,
        "visibilities": vocab.VISIBILITIES,
        "defaults": {"type": vocab.DEFAULT_TYPE, "priority": vocab.DEFAULT_PRIORITY, "queue": vocab.DEFAULT_QUEUE},
        "transitions": [{"from": a, "to": b, "label": e.label, "requires": list(e.requires)}
                        for (a, b), e in states.TRANSITIONS.items()],
        "sla": {"first_response_seconds": sla.FIRST_RESPONSE_SECONDS,
                "resolution_seconds": sla.RESOLUTION_SECONDS},
    })


@bp.post("/workorders")
@roles_required(*WORK_ORDER_ROLES)
def workorders_create():
    data = json_body()
    if isinstance(data, dict) and "expected_callback_at" in data:  # the form's local time is in the display zone
        data["expected_callback_at"] = local_input(data["expected_callback_at"])
    order = create_order(data)
    resp, status = _order_json(order, 201)
    resp.headers["Location"] = url_for("api.workorders_get", number=order.number)
    return resp, status


@bp.get("/workorders")
@roles_required(*WORK_ORDER_ROLES)
def workorders_list():
    f = queries.parse_filter(request.args)
    now = runtime().clock.now()
    orders = queries.list_orders(db(), runtime().clock, actor(), f)
    return jsonify({"items": [presentation.order_to_dict(o, now, history=False) for o in orders],
                    "count": len(orders)})


@bp.get("/workorders/<number>")
@roles_required(*WORK_ORDER_ROLES)
def workorders_get(number: str):
    return _order_json(queries.get_order(db(), actor(), number))


@bp.patch("/workorders/<number>")
@roles_required(*WORK_ORDER_ROLES)
def workorders_update(number: str):
    data = json_body()
    return _order_json(update_order(number, data))


@bp.post("/workorders/<number>/transitions")
@roles_required(*WORK_ORDER_ROLES)
def workorders_transition(number: str):
    data = json_body()
    who = actor()
    fields = {k: v for k, v in data.items() if k not in ("to", "conversation_id")}
    return _order_json(change_order(number, data, "transition", lambda s: changes.transition(
        s, runtime().clock, who, number, data.get("to"), fields)))


@bp.post("/workorders/<number>/notes")
@roles_required(*WORK_ORDER_ROLES)
def workorders_note(number: str):
    data = json_body()
    who = actor()
    return _order_json(change_order(number, data, "note", lambda s: changes.add_note(
        s, runtime().clock, who, number, data.get("text"), data.get("visibility"))), 201)


@bp.post("/workorders/<number>/follow-ups")
@roles_required(*WORK_ORDER_ROLES)
def workorders_follow_up(number: str):
    data = json_body()
    who = actor()
    return _order_json(change_order(number, data, "follow_up", lambda s: changes.follow_up(
        s, runtime().clock, who, number, data.get("contact_result"), data.get("satisfaction"),
        data.get("note"))))


@bp.post("/workorders/<number>/waiting")
@roles_required(*WORK_ORDER_ROLES)
def workorders_waiting(number: str):
    data = json_body()
    if "waiting" not in data:
        raise ValidationFailed("请给出 waiting（true 暂停计时，false 恢复）。", code="missing_field",
                               details={"field": "waiting"})
    who = actor()
    return _order_json(write(lambda s: changes.set_waiting(
        s, runtime().clock, who, number, data["waiting"], data.get("note"))))


# --- handoff --------------------------------------------------------------------------------

@bp.post("/conversations/<int:conversation_id>/handoff")
@roles_required(*WORK_ORDER_ROLES)
def conversation_handoff(conversation_id: int):
    data = json_body()
    who = actor()
    gateway = conversation_gateway()

    def _create(s):
        target = drill_target(s, conversation_id, None)
        with recorded(s, target, "handoff", undo_refused=True) as rec:
            info = gateway.get(s, conversation_id)
            h = handoffs.create_handoff(s, runtime().clock, who, info, data.get("queue"), data.get("summary"))
            summary = data.get("summary") if isinstance(data, dict) else None
            rec.set(queue=data.get("queue"), summary=summary if isinstance(summary, dict) else {}, handoff_id=h.id)
        return h

    h = write(_create, keep_refusal=True)
    resp, status = _handoff_json(h, 201)
    resp.headers["Location"] = url_for("api.handoff_get", handoff_id=h.id)
    return resp, status


@bp.get("/handoffs")
@roles_required(*STAFF_ROLES)
def handoff_queue():
    now, timeout = runtime().clock.now(), handoff_timeout()
    entries, _recent, _ended = handoff_queue_view(timeout)
    return jsonify({"items": [handoffs.handoff_to_dict(h, now, timeout, full=False) for h in entries],
                    "timeout_seconds": timeout})


@bp.get("/handoffs/<int:handoff_id>")
@roles_required(*WORK_ORDER_ROLES)
def handoff_get(handoff_id: int):
    return _handoff_json(handoffs.get_handoff(db(), actor(), handoff_id))


@bp.post("/handoffs/<int:handoff_id>/accept")
@roles_required(*STAFF_ROLES)
def handoff_accept(handoff_id: int):
    who = actor()
    return _handoff_json(write(lambda s: handoffs.accept(s, runtime().clock, who, handoff_id,
                                                         ended=handoff_ended(s, handoff_id))))


@bp.post("/handoffs/<int:handoff_id>/messages")
@roles_required(*STAFF_ROLES)
def handoff_messages(handoff_id: int):
    data = json_body()
    who = actor()
    message = write(lambda s: route_message(s, handoffs.add_message(s, runtime().clock, who, handoff_id,
                                                                      data.get("text"))))
    return _handoff_json(message.handoff, 201)


@bp.post("/handoffs/<int:handoff_id>/callback")
@roles_required(*WORK_ORDER_ROLES)
def handoff_callback(handoff_id: int):
    data = json_body()
    who = actor()
    order = write(lambda s: handoffs.create_callback(s, runtime().clock, who, handoff_id, handoff_timeout(), data))
    resp, status = _order_json(order, 201)
    resp.headers["Location"] = url_for("api.workorders_get", number=order.number)
    return resp, status
