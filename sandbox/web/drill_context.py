"""Glue between the API and running drills.

Every API call that works on a drill's conversation passes through here: before the
view, an expired drill or a downed component refuses the call (``drill_expired``,
``service_unavailable``); after it, the operation is appended to the drill's event
log (allowed or refused) and the simulated customer may react. One table maps
endpoints to event types, so a new operation is logged by adding one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from flask import Response, g, request
from sqlalchemy.orm import Session

from sandbox.drill import engine
from sandbox.drill.models import ConversationMessage, Drill, DrillContact
from sandbox.errors import Forbidden, ServiceUnavailable, ValidationFailed
from sandbox.web.glue import current_user, db, runtime, unit_of_work

# endpoint -> (event type or None, fault component or None, data extractor)
Extractor = Callable[[dict, Any], dict]


def _nothing(req: dict, resp: Any) -> dict:
    return {}


def _ref(req: dict, resp: Any) -> dict:
    return {"ref": req.get("view_args", {}).get("ref")}


def _verify(req: dict, resp: Any) -> dict:
    body = req.get("json") or {}
    # What the agent entered (partial identity data, never a full number): the rubric checks
    # that the caller said it in the conversation before it was verified.
    details = {k: str(body.get(k))[:64] for k in ("name", "id_last6", "phone_last4") if body.get(k)}
    return {"method": body.get("method"), "details": details}


def _kb_search(req: dict, resp: Any) -> dict:
    data = resp if isinstance(resp, dict) else {}
    return {"query": req.get("args", {}).get("q", ""), "results": [r.get("id") for r in data.get("results", [])][:10],
            "total": data.get("total")}


def _kb_open(req: dict, resp: Any) -> dict:
    return {"article": req.get("view_args", {}).get("external_id")}


def _suggestion(req: dict, resp: Any) -> dict:
    return {"article": (req.get("json") or {}).get("article")}


def _workorder(req: dict, resp: Any) -> dict:
    data = resp if isinstance(resp, dict) else {}
    return {k: data.get(k) for k in ("number", "type", "category", "priority", "queue", "status")}


def _handoff(req: dict, resp: Any) -> dict:
    body = req.get("json") or {}
    summary = body.get("summary") if isinstance(body.get("summary"), dict) else {}
    data = resp if isinstance(resp, dict) else {}
    return {"queue": body.get("queue"), "summary": summary, "handoff_id": data.get("id")}


OPERATIONS: dict[str, tuple[str | None, str | None, Extractor]] = {
    "api.customer_profile": ("lookup.customer", "lookup", _nothing),
    "api.accounts": ("lookup.accounts", "lookup", _nothing),
    "api.account_transactions": ("lookup.transactions", "lookup", _ref),
    "api.cards": ("lookup.cards", "lookup", _nothing),
    "api.card_status": ("lookup.cards", "lookup", _ref),
    "api.card_bill": ("lookup.bill", "lookup", _ref),
    "api.account_freeze": ("freeze", "lookup", lambda q, r: {"target": "account", **_ref(q, r)}),
    "api.card_freeze": ("freeze", "lookup", lambda q, r: {"target": "card", **_ref(q, r)}),
    "api.account_unfreeze": (None, "lookup", _nothing),
    "api.card_unfreeze": (None, "lookup", _nothing),
    "api.identity_sms": ("identity.sms", "lookup", _nothing),
    "api.identity_verify": ("identity.verify", "lookup", _verify),
    "api.kb_search": ("kb.search", "kb", _kb_search),
    "api.kb_article": ("kb.open", "kb", _kb_open),
    "api.drill_assist": (None, "bot", _nothing),
    "api.drill_use_suggestion": ("suggestion.use", "bot", _suggestion),
    "api.messages_recognize": (None, "bot", _nothing),
    "api.conversation_workorders": ("lookup.workorders", "lookup", _nothing),
    "api.workorders_create": ("workorder.created", None, _workorder),
    # A note, transition or follow-up on an order names the drill conversation in its body.
    "api.workorders_note": ("workorder.updated", None, lambda q, r: {**_workorder(q, r), "action": "note"}),
    "api.workorders_transition": ("workorder.updated", None, lambda q, r: {**_workorder(q, r), "action": "transition"}),
    "api.workorders_follow_up": ("workorder.updated", None, lambda q, r: {**_workorder(q, r), "action": "follow_up"}),
    "api.conversation_handoff": ("handoff", None, _handoff),
}


def conversation_opener() -> engine.ConversationOpener:
    """Opens the mock-bank conversation behind each drill contact."""
    from sandbox.bank.conversations import open_conversation

    user = current_user()
    clock = runtime().clock

    def _open(session: Session, user_id: int, customer: str, channel: str, drill_id: int) -> int:
        return open_conversation(session, clock, user, customer, channel, drill_id).id

    return _open


@dataclass
class ContactContext:
    conversation: Any
    contact: DrillContact | None
    drill: Drill | None
    audience: str

    def post_free(self, session: Session, text: str, as_customer: bool = False) -> ConversationMessage:
        """A message in a free practice conversation (no simulated customer): a person plays each side."""
        from sandbox.bank.conversations import ensure_open

        text = (text or "").strip()
        if not text:
            raise ValidationFailed("消息不能为空。", code="empty_message")
        if len(text) > engine.MAX_MESSAGE_CHARS:
            raise ValidationFailed(f"消息过长（最多 {engine.MAX_MESSAGE_CHARS} 字）。", code="message_too_long")
        ensure_open(self.conversation)
        speaker = "customer" if as_customer or self.audience == "customer" else "agent"
        return engine.append_message(session, runtime().clock.now(), self.conversation.id, speaker, text,
                                     author_id=current_user().id)


def load_contact(conversation_id: int, write: bool = False, as_customer: bool = False) -> ContactContext:
    """The conversation (owner, or an examiner watching) and its drill contact, if any.

    ``as_customer``: the customer's side of a free practice conversation (role-play), for its
    owner or an examiner; a drill's customer is always the simulated one.
    """
    from sandbox.bank.conversations import get_conversation

    s = db()
    user = current_user()
    conversation = get_conversation(s, conversation_id, user, watch=True)
    contact = engine.contact_for_conversation(s, conversation.id)
    drill = engine.get_drill(s, contact.drill_id, for_update=write) if contact else None
    if as_customer:
        if drill is not None:
            raise Forbidden("演练中的客户由系统模拟，不能以客户身份发言。", code="forbidden")
        return ContactContext(conversation, None, None, "customer")
    if drill is not None and write and drill.user_id != user.id:
        raise Forbidden("只有作答的考生可以在演练会话中操作。", code="forbidden")
    audience = "agent" if conversation.owner_id == user.id or drill is not None else "customer"
    return ContactContext(conversation, contact, drill, audience)


def _drill_target() -> tuple[int | None, dict]:
    """The conversation id this API call is about (URL, query or JSON body) and the request facts."""
    view_args = dict(request.view_args or {})
    body = request.get_json(silent=True) if request.is_json else None
    conv = view_args.get("conversation_id") or request.args.get("conversation")
    if conv is None and isinstance(body, dict):
        conv = body.get("conversation_id")
    try:
        conv_id = int(conv) if conv is not None else None
    except (TypeError, ValueError, OverflowError):
        conv_id = None
    if conv_id is not None and not 0 < conv_id < 2**31:
        conv_id = None  # no such conversation (and PostgreSQL INTEGER would refuse the lookup)
    return conv_id, {"view_args": view_args, "args": request.args.to_dict(), "json": body}


def _before() -> None:
    g.drill_op = None
    entry = OPERATIONS.get(request.endpoint or "")
    if entry is None or g.get("user") is None:
        return
    conv_id, req = _drill_target()
    if conv_id is None:
        return
    s = db()
    contact = engine.contact_for_conversation(s, conv_id)
    if contact is None:
        s.commit()
        return
    drill = engine.get_drill(s, contact.drill_id)
    if drill.user_id != g.user.id:
        s.commit()
        return  # the view's own ownership check answers 403
    component = entry[1]
    clock = runtime().clock
    if not engine.needs_tick(s, clock, drill):
        # The usual case: nothing to advance, so a read decides, without the write lock.
        engine.refuse_if_closed(drill)
        spec = engine.scenario_spec(s, drill.scenario_id, drill.scenario_version)
        if not (component and any(f["component"] == component
                                  for f in engine.active_faults(s, drill, spec, clock.now()))):
            s.commit()
            g.drill_op = (contact.id, drill.id, entry, req)
            return
    s.commit()
    with unit_of_work() as s:
        drill = engine.get_drill(s, contact.drill_id, for_update=True)
        spec = engine.ensure_open(s, clock, drill)
        if component:
            now = clock.now()
            down = [f for f in engine.active_faults(s, drill, spec, now) if f["component"] == component]
            if down:
                engine.record_event(s, drill, now, "fault.blocked", s.get(DrillContact, contact.id),
                                    component=component, endpoint=request.endpoint)
                blocked = ServiceUnavailable(f"{down[0]['message']}，该功能暂不可用。", code="service_unavailable")
                g.drill_blocked = blocked
    if g.get("drill_blocked") is not None:
        raise g.drill_blocked
    g.drill_op = (contact.id, drill.id, entry, req)


def _after(response: Response) -> Response:
    op = g.get("drill_op")
    if not op or g.get("drill_blocked") is not None:
        return response
    contact_id, drill_id, (event_type, _component, extract), req = op
    if event_type is None:
        return response
    payload = response.get_json(silent=True) if response.is_json else None
    allowed = response.status_code < 400
    data = extract(req, payload) if allowed else {}
    data["allowed"] = allowed
    if not allowed and isinstance(payload, dict) and "error" in payload:
        data["reason"] = payload["error"].get("code")
    if event_type == "identity.verify":
        if not allowed:
            # A pause across conversations (verification_throttled) is a lock the examiner sees.
            locked = data.get("reason") in ("too_many_attempts", "verification_throttled")
            event_type = "identity.locked" if locked else "identity.failed"
            if locked and isinstance(payload, dict):
                data["message"] = payload["error"].get("message", "")
            data["allowed"] = True
        elif payload and payload.get("verified"):
            event_type = "identity.verified"
        else:
            event_type = "identity.locked" if payload and payload.get("attempts_left") == 0 else "identity.failed"
    if event_type in ("kb.search", "kb.open", "suggestion.use", "identity.sms") and not allowed:
        return response
    with unit_of_work() as s:
        drill = engine.get_drill(s, drill_id, for_update=True)
        engine.on_operation(s, runtime().clock, drill, s.get(DrillContact, contact_id), event_type, **data)
    return response


# Attached once, when this module is first imported (before the blueprint is registered).
from sandbox.web.api import bp as _api_bp  # noqa: E402

_api_bp.before_request(_before)
_api_bp.after_request(_after)


def kb_pin_for_request() -> Any:
    """When this KB call belongs to a drill of a round, the time the round pinned the KB at."""
    from sandbox.exam.models import Round

    conv_id, _ = _drill_target()
    if conv_id is None:
        return None
    contact = engine.contact_for_conversation(db(), conv_id)
    if contact is None:
        return None
    drill = db().get(Drill, contact.drill_id)
    if drill is None or drill.round_id is None or drill.user_id != current_user().id:
        return None
    rnd = db().get(Round, drill.round_id)
    return rnd.created_at if rnd else None
