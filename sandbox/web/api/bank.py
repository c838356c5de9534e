"""Mock bank API: practice conversations, identity check, gated lookups, examiner reveal.

Refusals (not verified, locked, unknown reference...) are audited by the domain before
it raises, so these views commit on a ``DomainError`` too (``_audited``).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flask import jsonify, request
from sqlalchemy.orm import Session

from sandbox.bank import conversations as conv
from sandbox.bank import identity, lookups
from sandbox.bank.conversations import ACCOUNT, CARD
from sandbox.db import begin_write
from sandbox.errors import DomainError
from sandbox.roles import BANK_STAFF_ROLES, STAFF_ROLES
from sandbox.web.api import bp, json_body
from sandbox.web.glue import current_user, db, runtime
from sandbox.web.security import any_user, roles_required



@contextmanager
def _audited() -> Iterator[Session]:
    """The request's session, committed on success and on a domain refusal (audit rows stay).

    Every bank request writes (at least an audit row), so the transaction takes the
    write lock up front: parallel lookups queue instead of failing on SQLite.
    """
    s = db()
    if s.in_transaction():
        s.commit()
    begin_write(s)  # lookups write audit rows: take the write lock first (see sandbox.db.begin_write)
    try:
        yield s
    except DomainError:
        s.commit()
        raise
    except BaseException:
        s.rollback()
        raise
    s.commit()


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
    with _audited() as s:
        c = conv.open_conversation(s, runtime().clock, current_user(), body.get("customer_id"),
                                   body.get("channel", "文字"))
        view = conv.conversation_view(s, runtime().clock, c)
    return jsonify(view), 201


@bp.get("/conversations/<int:conversation_id>")
@any_user
def conversation(conversation_id: int):
    with _audited() as s:
        return jsonify(conv.conversation_view(s, runtime().clock, _mine(s, conversation_id, watch=True)))


@bp.post("/conversations/<int:conversation_id>/close")
@any_user
def close_conversation(conversation_id: int):
    with _audited() as s:
        c = conv.close_conversation(s, runtime().clock, _mine(s, conversation_id), current_user())
        return jsonify(conv.conversation_view(s, runtime().clock, c))


@bp.post("/conversations/<int:conversation_id>/identity/sms")
@any_user
def identity_sms(conversation_id: int):
    with _audited() as s:
        return jsonify(identity.send_sms(s, runtime().clock, _mine(s, conversation_id), current_user()))


@bp.post("/conversations/<int:conversation_id>/identity/verify")
@any_user
def identity_verify(conversation_id: int):
    with _audited() as s:
        c = _mine(s, conversation_id)
        body = json_body()
        return jsonify(identity.verify(s, runtime().clock, c, current_user(), body).to_dict())


@bp.post("/conversations/<int:conversation_id>/identity/confirm")
@any_user
def identity_confirm(conversation_id: int):
    """The customer confirms the verification SMS on their phone (the customer's side)."""
    with _audited() as s:
        c = _mine(s, conversation_id, watch=True)
        return jsonify(identity.confirm_on_phone(s, runtime().clock, c, current_user()).to_dict())


@bp.get("/conversations/<int:conversation_id>/phone")
@any_user
def phone(conversation_id: int):
    with _audited() as s:
        c = _mine(s, conversation_id, watch=True)
        messages = identity.phone_messages(s, c, current_user())
        return jsonify({"conversation_id": c.id, "messages": messages})


@bp.get("/conversations/<int:conversation_id>/customer")
@any_user
def customer_profile(conversation_id: int):
    with _audited() as s:
        return jsonify(lookups.customer_profile(s, runtime().clock, _readable(s, conversation_id), current_user()))


@bp.get("/conversations/<int:conversation_id>/accounts")
@any_user
def accounts(conversation_id: int):
    with _audited() as s:
        items = lookups.list_accounts(s, runtime().clock, _readable(s, conversation_id), current_user())
        return jsonify({"accounts": items})


@bp.get("/conversations/<int:conversation_id>/accounts/<ref>/transactions")
@any_user
def account_transactions(conversation_id: int, ref: str):
    with _audited() as s:
        c = _readable(s, conversation_id)
        date_from = lookups.parse_day(request.args.get("from"), "from")
        date_to = lookups.parse_day(request.args.get("to"), "to")
        return jsonify(lookups.account_transactions(s, runtime().clock, c, current_user(), ref, date_from, date_to))


@bp.post("/conversations/<int:conversation_id>/accounts/<ref>/freeze")
@any_user
def account_freeze(conversation_id: int, ref: str):
    with _audited() as s:
        return jsonify(lookups.freeze(s, runtime().clock, _mine(s, conversation_id), current_user(), ACCOUNT, ref))


@bp.post("/conversations/<int:conversation_id>/accounts/<ref>/unfreeze")
@any_user
def account_unfreeze(conversation_id: int, ref: str):
    with _audited() as s:
        return jsonify(lookups.unfreeze(s, runtime().clock, _mine(s, conversation_id), current_user(), ACCOUNT, ref))


@bp.get("/conversations/<int:conversation_id>/cards")
@any_user
def cards(conversation_id: int):
    with _audited() as s:
        return jsonify({"cards": lookups.list_cards(s, runtime().clock, _readable(s, conversation_id), current_user())})


@bp.get("/conversations/<int:conversation_id>/cards/<ref>")
@any_user
def card_status(conversation_id: int, ref: str):
    with _audited() as s:
        return jsonify(lookups.card_status(s, runtime().clock, _readable(s, conversation_id), current_user(), ref))


@bp.get("/conversations/<int:conversation_id>/cards/<ref>/bill")
@any_user
def card_bill(conversation_id: int, ref: str):
    with _audited() as s:
        return jsonify(lookups.card_bill(s, runtime().clock, _readable(s, conversation_id), current_user(), ref))


@bp.post("/conversations/<int:conversation_id>/cards/<ref>/freeze")
@any_user
def card_freeze(conversation_id: int, ref: str):
    with _audited() as s:
        return jsonify(lookups.freeze(s, runtime().clock, _mine(s, conversation_id), current_user(), CARD, ref))


@bp.post("/conversations/<int:conversation_id>/cards/<ref>/unfreeze")
@any_user
def card_unfreeze(conversation_id: int, ref: str):
    with _audited() as s:
        return jsonify(lookups.unfreeze(s, runtime().clock, _mine(s, conversation_id), current_user(), CARD, ref))


@bp.get("/bank/customers")
@any_user
def bank_customers():
    include_magic = current_user().role in BANK_STAFF_ROLES
    return jsonify({"customers": lookups.list_customers(db(), runtime().clock, include_magic=include_magic)})


@bp.post("/bank/customers/<customer_id>/reveal")
@roles_required(*STAFF_ROLES)
def bank_reveal(customer_id: str):
    body = json_body()
    with _audited() as s:
        return jsonify(lookups.reveal(s, runtime().clock, current_user(), customer_id, body.get("field"),
                                      body.get("ref")))
