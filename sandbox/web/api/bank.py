"""Mock bank API: practice conversations, identity check, gated lookups, examiner reveal.

Refusals (not verified, locked, unknown reference...) are audited by the domain before
it raises, so these views keep a refusal's writes (``unit_of_work(keep_refusal=True)``).
In a drill conversation each operation also logs its drill event in that same unit of
work (``_operation``), allowed or refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import jsonify, request
from sqlalchemy.orm import Session

from sandbox.bank import conversations as conv
from sandbox.bank import identity, lookups
from sandbox.bank.conversations import ACCOUNT, CARD
from sandbox.drill import operations
from sandbox.drill.operations import LOOKUP
from sandbox.roles import BANK_STAFF_ROLES, STAFF_ROLES, WORK_ORDER_ROLES
from sandbox.web.api import bp, json_body
from sandbox.web.drill_context import Recording, Refusal, drill_target, log_nothing, recorded
from sandbox.web.request_context import current_user
from sandbox.web.security import any_user, roles_required
from sandbox.web.tx import db, runtime, unit_of_work
from sandbox.web.workorders import actor
from workorders import presentation, queries


@contextmanager
def _operation(conversation_id: int, event: str | None,
               refusal: Refusal | None = None) -> Iterator[tuple[Session, Recording]]:
    """A lookup or action on a conversation: refused while the drill's lookup service is down,
    and logged as ``event`` in the drill's log (same unit of work) when it is a drill's."""
    with unit_of_work(keep_refusal=True) as s:
        target = drill_target(s, conversation_id, LOOKUP)
        with recorded(s, target, event, refusal=refusal) as rec:
            yield s, rec


def _readable(s: Session, conversation_id: int):
    """The conversation for a read-only lookup: its owner's, or a drill's an examiner/admin watches.

    The watcher sees the candidate's 客户信息 (audited under the watcher's name, behind the same
    identity gate); actions (verify, SMS, freeze) stay the owner's. A free practice conversation's
    lookups stay its agent's (the watcher there plays the customer).
    """
    conversation = _mine(s, conversation_id, watch=True)
    if conversation.drill_id is None and conversation.owner_id != current_user().id:
        return _mine(s, conversation_id)  # the audited 403
    return conversation


def _mine(s: Session, conversation_id: int, *, watch: bool = False):
    return conv.get_conversation(s, conversation_id, current_user(), watch=watch, clock=runtime().clock,
                                 action=request.endpoint.rsplit(".", 1)[-1])


@bp.post("/conversations")
@any_user
def open_conversation():
    body = json_body()
    with unit_of_work(keep_refusal=True) as s:
        c = conv.open_conversation(s, runtime().clock, current_user(), body.get("customer_id"),
                                   body.get("channel", "文字"))
        view = conv.conversation_view(s, runtime().clock, c)
    return jsonify(view), 201


@bp.get("/conversations/<int:conversation_id>")
@any_user
def conversation(conversation_id: int):
    with unit_of_work(keep_refusal=True) as s:
        return jsonify(conv.conversation_view(s, runtime().clock, _mine(s, conversation_id, watch=True)))


@bp.post("/conversations/<int:conversation_id>/close")
@any_user
def close_conversation(conversation_id: int):
    with unit_of_work(keep_refusal=True) as s:
        c = conv.close_conversation(s, runtime().clock, _mine(s, conversation_id), current_user())
        return jsonify(conv.conversation_view(s, runtime().clock, c))


@bp.post("/conversations/<int:conversation_id>/identity/sms")
@any_user
def identity_sms(conversation_id: int):
    with _operation(conversation_id, "identity.sms", refusal=log_nothing) as (s, _rec):
        body = identity.send_sms(s, runtime().clock, _mine(s, conversation_id), current_user())
    return jsonify(body)


@bp.post("/conversations/<int:conversation_id>/identity/verify")
@any_user
def identity_verify(conversation_id: int):
    body = json_body()
    refusal = lambda exc: operations.identity_event(None, {}, error=exc)  # noqa: E731
    with _operation(conversation_id, "identity.verify", refusal=refusal) as (s, rec):
        c = _mine(s, conversation_id)
        result = identity.verify(s, runtime().clock, c, current_user(), body).to_dict()
        event, data = operations.identity_event(body.get("method"), operations.identity_details(body), result)
        rec.set(event, **data)
    return jsonify(result)


@bp.post("/conversations/<int:conversation_id>/identity/confirm")
@any_user
def identity_confirm(conversation_id: int):
    """The customer confirms the verification SMS on their phone (the customer's side)."""
    with unit_of_work(keep_refusal=True) as s:
        target = drill_target(s, conversation_id, None, anyone=True)
        with recorded(s, target, None, refusal=log_nothing) as rec:
            c = _mine(s, conversation_id, watch=True)
            result = identity.confirm_on_phone(s, runtime().clock, c, current_user()).to_dict()
            # The customer's side confirmed (an examiner on a drill's phone): logged like the
            # simulated customer's own confirmation.
            event, _data = operations.identity_event("sms", {}, result)
            rec.set(event, method="sms")
    return jsonify(result)


@bp.get("/conversations/<int:conversation_id>/phone")
@any_user
def phone(conversation_id: int):
    with unit_of_work(keep_refusal=True) as s:
        c = _mine(s, conversation_id, watch=True)
        messages = identity.phone_messages(s, c, current_user())
        return jsonify({"conversation_id": c.id, "messages": messages})


@bp.get("/conversations/<int:conversation_id>/customer")
@any_user
def customer_profile(conversation_id: int):
    with _operation(conversation_id, "lookup.customer") as (s, _rec):
        body = lookups.customer_profile(s, runtime().clock, _readable(s, conversation_id), current_user())
    return jsonify(body)


@bp.get("/conversations/<int:conversation_id>/accounts")
@any_user
def accounts(conversation_id: int):
    with _operation(conversation_id, "lookup.accounts") as (s, _rec):
        items = lookups.list_accounts(s, runtime().clock, _readable(s, conversation_id), current_user())
    return jsonify({"accounts": items})


@bp.get("/conversations/<int:conversation_id>/accounts/<ref>/transactions")
@any_user
def account_transactions(conversation_id: int, ref: str):
    with _operation(conversation_id, "lookup.transactions") as (s, rec):
        c = _readable(s, conversation_id)
        date_from = lookups.parse_day(request.args.get("from"), "from")
        date_to = lookups.parse_day(request.args.get("to"), "to")
        body = lookups.account_transactions(s, runtime().clock, c, current_user(), ref, date_from, date_to)
        rec.set(ref=ref)
    return jsonify(body)


@bp.post("/conversations/<int:conversation_id>/accounts/<ref>/freeze")
@any_user
def account_freeze(conversation_id: int, ref: str):
    with _operation(conversation_id, "freeze") as (s, rec):
        body = lookups.freeze(s, runtime().clock, _mine(s, conversation_id), current_user(), ACCOUNT, ref)
        rec.set(target="account", ref=ref)
    return jsonify(body)


@bp.post("/conversations/<int:conversation_id>/accounts/<ref>/unfreeze")
@any_user
def account_unfreeze(conversation_id: int, ref: str):
    with _operation(conversation_id, None) as (s, _rec):
        body = lookups.unfreeze(s, runtime().clock, _mine(s, conversation_id), current_user(), ACCOUNT, ref)
    return jsonify(body)


@bp.get("/conversations/<int:conversation_id>/cards")
@any_user
def cards(conversation_id: int):
    with _operation(conversation_id, "lookup.cards") as (s, _rec):
        items = lookups.list_cards(s, runtime().clock, _readable(s, conversation_id), current_user())
    return jsonify({"cards": items})


@bp.get("/conversations/<int:conversation_id>/cards/<ref>")
@any_user
def card_status(conversation_id: int, ref: str):
    with _operation(conversation_id, "lookup.cards") as (s, rec):
        body = lookups.card_status(s, runtime().clock, _readable(s, conversation_id), current_user(), ref)
        rec.set(ref=ref)
    return jsonify(body)


@bp.get("/conversations/<int:conversation_id>/cards/<ref>/bill")
@any_user
def card_bill(conversation_id: int, ref: str):
    with _operation(conversation_id, "lookup.bill") as (s, rec):
        body = lookups.card_bill(s, runtime().clock, _readable(s, conversation_id), current_user(), ref)
        rec.set(ref=ref)
    return jsonify(body)


@bp.post("/conversations/<int:conversation_id>/cards/<ref>/freeze")
@any_user
def card_freeze(conversation_id: int, ref: str):
    with _operation(conversation_id, "freeze") as (s, rec):
        body = lookups.freeze(s, runtime().clock, _mine(s, conversation_id), current_user(), CARD, ref)
        rec.set(target="card", ref=ref)
    return jsonify(body)


@bp.post("/conversations/<int:conversation_id>/cards/<ref>/unfreeze")
@any_user
def card_unfreeze(conversation_id: int, ref: str):
    with _operation(conversation_id, None) as (s, _rec):
        body = lookups.unfreeze(s, runtime().clock, _mine(s, conversation_id), current_user(), CARD, ref)
    return jsonify(body)


@bp.get("/bank/customers")
@any_user
def bank_customers():
    include_magic = current_user().role in BANK_STAFF_ROLES
    return jsonify({"customers": lookups.list_customers(db(), runtime().clock, include_magic=include_magic)})


@bp.post("/bank/customers/<customer_id>/reveal")
@roles_required(*STAFF_ROLES)
def bank_reveal(customer_id: str):
    body = json_body()
    with unit_of_work(keep_refusal=True) as s:
        return jsonify(lookups.reveal(s, runtime().clock, current_user(), customer_id, body.get("field"),
                                      body.get("ref")))


@bp.get("/conversations/<int:conversation_id>/workorders")
@roles_required(*WORK_ORDER_ROLES)
def conversation_workorders(conversation_id: int):
    """工单记录: the work orders of the conversation's customer (behind the identity gate, like
    every lookup of customer data), newest first, each with its timeline."""
    clock = runtime().clock
    with _operation(conversation_id, "lookup.workorders") as (s, _rec):
        conversation = _readable(s, conversation_id)
        identity.require_verified(s, clock, conversation, current_user(), "workorders")
        orders = queries.customer_orders(s, actor(), conversation.customer.code)
        now = clock.now()
        body = {"items": [presentation.order_to_dict(o, now) for o in orders], "count": len(orders)}
    return jsonify(body)
