"""Conversations: one contact between an agent and one mock customer.

Public functions (all take a SQLAlchemy ``Session`` and never commit):

- ``open_conversation(session, clock, user, customer_code, channel="文字", drill_id=None)``
  opens a contact and hands out opaque references to the customer's accounts and cards.
- ``get_conversation(session, conversation_id, user, watch=False)`` loads one and checks
  that ``user`` may act in it (its owner), or watch it (``watch=True``: also examiners/admins).
- ``close_conversation(session, clock, conversation, user)``; ``list_conversations(session, user)``.
- ``resolve_ref(session, conversation, kind, ref)`` → the account/card id behind ``ref``.
- ``conversation_view(session, clock, conversation)`` → the masked JSON-ready summary.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from sandbox.bank import audit, masking
from sandbox.bank.identity import identity_state
from sandbox.bank.models import (
    CLOSED,
    OPEN,
    Account,
    Conversation,
    ConversationRef,
    CreditCard,
    Customer,
    IdentityCheck,
    ensure_open,
)
from sandbox.bank.seed import StoredCustomer
from sandbox.clock import BEIJING, Clock, as_utc, local_iso
from sandbox.db import PrimaryKeyLoader, table_of
from sandbox.errors import Conflict, Forbidden, NotFound, ValidationFailed
from sandbox.roles import STAFF_ROLES
from sandbox.users.models import User

CHANNELS = ("文字", "语音")
ACCOUNT, CARD = "account", "card"
REF_PREFIX = {ACCOUNT: "A", CARD: "K"}
# Roles that may watch (not act in) any conversation, e.g. to play the customer's side.
WATCHER_ROLES = STAFF_ROLES


def get_customer(session: Session, code: object) -> Customer:
    """The customer with code ``code`` (``C001``); 404 ``unknown_customer`` otherwise."""
    customer = None
    if isinstance(code, str) and code.strip():
        customer = session.scalar(select(Customer).where(Customer.code == code.strip().upper()))
    if customer is None:
        raise NotFound("没有这位模拟客户。", code="unknown_customer")
    return customer


def open_conversation(session: Session, clock: Clock, user: User | None, customer_code: object,
                      channel: object = "文字", drill_id: int | None = None) -> Conversation:
    """Open a contact with a mock customer, owned by ``user`` (the agent).

    Every account and card of the customer gets a reference (``A1``…, ``K1``…) valid in
    this conversation only. Raises ``unknown_customer`` (404) or ``invalid_channel`` (400).
    ``user`` None (a drill prepared ahead of its start): the conversation is held by nobody,
    so no agent reaches it, until ``hand_over_conversation`` gives it to one.
    """
    channel = _checked_channel(channel)
    customer = get_customer(session, customer_code)
    if customer.drill_id is not None and customer.drill_id != drill_id:
        # A drill's own customer exists only inside that drill.
        raise NotFound("没有这位模拟客户。", code="unknown_customer")
    account_ids = session.scalars(select(Account.id).where(Account.customer_id == customer.id).order_by(Account.id))
    card_ids = session.scalars(select(CreditCard.id).where(CreditCard.customer_id == customer.id)
                               .order_by(CreditCard.id))
    stored = StoredCustomer(customer.id, tuple(account_ids), tuple(card_ids))
    conversation = _CONVERSATION(session, _insert_conversation(session, clock, user, stored, channel, drill_id))
    assert conversation is not None  # inserted just above, in this transaction
    return conversation


def open_drawn_conversation(session: Session, clock: Clock, user: User | None, customer: StoredCustomer,
                            channel: object, drill_id: int) -> int:
    """``open_conversation`` for the customer a drill has just drawn (``seed.insert_customer``
    gave its ids, so nothing is read back); returns the conversation's id."""
    return _insert_conversation(session, clock, user, customer, _checked_channel(channel), drill_id)


def _checked_channel(channel: object) -> str:
    if channel is None:
        return "文字"
    if channel not in CHANNELS:
        raise ValidationFailed("渠道只能是“文字”或“语音”。", code="invalid_channel")
    return str(channel)


def _insert_conversation(session: Session, clock: Clock, user: User | None, customer: StoredCustomer,
                         channel: str, drill_id: int | None) -> int:
    # Core inserts, one per table: opening is part of every drill start, and the ORM's flush of
    # the conversation, its references and its identity check cost several times the inserts.
    now = clock.now()
    connection = session.connection()
    conversation_id: int = connection.execute(_INSERT_CONVERSATION, {
        "owner_id": user.id if user else None, "customer_id": customer.id, "channel": channel, "status": OPEN,
        "created_at": now, "last_activity_at": now, "drill_id": drill_id}).scalar_one()
    refs = [{"conversation_id": conversation_id, "ref": f"{REF_PREFIX[kind]}{i}", "kind": kind, "target_id": target}
            for kind, ids in ((ACCOUNT, customer.account_ids), (CARD, customer.card_ids))
            for i, target in enumerate(ids, start=1)]
    if refs:
        connection.execute(_INSERT_REF, refs)
    # The identity-check row exists from the start, so concurrent first attempts cannot race to create it.
    connection.execute(_INSERT_IDENTITY_CHECK, {"conversation_id": conversation_id, "customer_id": customer.id,
                                                "failed_attempts": 0, "locked": False})
    if user is not None:
        audit.record(session, clock, user, "open_conversation", allowed=True, conversation_id=conversation_id,
                     customer_id=customer.id)
    return conversation_id


_INSERT_CONVERSATION = insert(table_of(Conversation)).returning(table_of(Conversation).c.id)
_INSERT_REF = insert(table_of(ConversationRef))
_INSERT_IDENTITY_CHECK = insert(table_of(IdentityCheck))


def hand_over_conversation(session: Session, clock: Clock, conversation_id: int, user: User) -> None:
    """Give a held conversation (opened with no owner) to ``user``, as if opened now."""
    now = clock.now()
    # One statement that also checks it is still held (the drill's row lock orders the callers).
    customer_id = session.connection().execute(_HAND_OVER, {
        "conversation_id": conversation_id, "owner_id": user.id, "now": now}).scalar()
    if customer_id is None:
        if session.get(Conversation, conversation_id) is None:
            raise NotFound("会话不存在。", code="unknown_conversation")
        raise Conflict("该会话已有坐席接待。", code="conversation_taken")
    loaded = session.identity_map.get(session.identity_key(Conversation, conversation_id))
    if loaded is not None:  # seen as written, as update_columns would leave it
        for key, value in (("owner_id", user.id), ("created_at", now), ("last_activity_at", now)):
            set_committed_value(loaded, key, value)
    audit.record(session, clock, user, "open_conversation", allowed=True, conversation_id=conversation_id,
                 customer_id=customer_id)


_conversations = table_of(Conversation)
_HAND_OVER = (update(_conversations)
              .where(_conversations.c.id == bindparam("conversation_id"), _conversations.c.owner_id.is_(None))
              .values(owner_id=bindparam("owner_id"), created_at=bindparam("now"), last_activity_at=bindparam("now"))
              .returning(_conversations.c.customer_id))
_CONVERSATION = PrimaryKeyLoader(Conversation)  # every message and poll of a conversation loads it


def get_conversation(session: Session, conversation_id: object, user: User, *, watch: bool = False,
                     clock: Clock | None = None, action: str = "") -> Conversation:
    """Load a conversation ``user`` may act in (owner only) or, with ``watch``, look at.

    404 ``unknown_conversation`` when it does not exist; 403 ``forbidden`` for anyone else
    (a candidate never reaches another candidate's conversation). With ``clock`` and
    ``action`` a refusal is audited (reason ``not_owner``; the caller commits).
    """
    conversation = _CONVERSATION(session, conversation_id) if isinstance(conversation_id, int) else None
    if conversation is None:
        raise NotFound("会话不存在。", code="unknown_conversation")
    return check_access(session, conversation, user, watch=watch, clock=clock, action=action)


def check_access(session: Session, conversation: Conversation, user: User, *, watch: bool = False,
                 clock: Clock | None = None, action: str = "") -> Conversation:
    """``conversation`` when ``user`` may act in it (or, with ``watch``, look at it): the checks of
    ``get_conversation`` for a conversation loaded otherwise (with its drill, say)."""
    if conversation.owner_id != user.id and not (watch and user.role in WATCHER_ROLES):
        if clock is not None and action:
            audit.record(session, clock, user, action, allowed=False, conversation_id=conversation.id,
                         customer_id=conversation.customer_id, reason="not_owner")
        raise Forbidden("这不是您的会话，无权查看。", code="forbidden")
    return conversation


def close_conversation(session: Session, clock: Clock, conversation: Conversation, user: User) -> Conversation:
    """End a contact; later lookups answer 409 ``conversation_closed``."""
    ensure_open(conversation)
    conversation.status = CLOSED
    conversation.last_activity_at = clock.now()
    audit.record(session, clock, user, "close_conversation", allowed=True, conversation_id=conversation.id,
                 customer_id=conversation.customer_id)
    return conversation


def resolve_ref(session: Session, conversation: Conversation, kind: str, ref: object) -> int:
    """The id of the account or card behind ``ref`` in this conversation; 404 ``unknown_ref``."""
    target = None
    if isinstance(ref, str) and 0 < len(ref) <= 8:
        target = session.scalar(select(ConversationRef.target_id).where(
            ConversationRef.conversation_id == conversation.id, ConversationRef.kind == kind,
            ConversationRef.ref == ref.strip().upper()))
    if target is None:
        what = "账户" if kind == ACCOUNT else "信用卡"
        raise NotFound(f"本会话中没有这个{what}引用。", code="unknown_ref")
    return target


def refs_for(session: Session, conversation: Conversation, kind: str) -> dict[int, str]:
    """target id → reference, for one kind, in this conversation."""
    rows = session.execute(select(ConversationRef.target_id, ConversationRef.ref).where(
        ConversationRef.conversation_id == conversation.id, ConversationRef.kind == kind))
    return {target_id: ref for target_id, ref in rows}


def age_on(birth: date | None, today: date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def salutation(customer: Customer) -> str:
    """``张先生`` / ``李女士`` from the masked name's surname."""
    masked = masking.mask_name(customer.name)
    surname = masked.rstrip("*") or masked
    return surname + {"男": "先生", "女": "女士"}.get(customer.gender, "")


def customer_summary(customer: Customer, today: date, *, include_magic: bool = False) -> dict:
    """The masked summary shown before verification and in customer pickers."""
    body = {"id": customer.code, "name": masking.mask_name(customer.name), "salutation": salutation(customer),
            "gender": customer.gender, "age": age_on(customer.birth_date, today), "segment": customer.segment}
    if include_magic:
        body["magic"] = customer.magic
    return body


def conversation_view(session: Session, clock: Clock, conversation: Conversation) -> dict:
    """JSON-ready, masked: id, channel, status, customer summary and identity-check state."""
    today = clock.now().astimezone(BEIJING).date()
    return {"id": conversation.id, "channel": conversation.channel, "status": conversation.status,
            "drill_id": conversation.drill_id, "created_at": local_iso(as_utc(conversation.created_at)),
            "customer": customer_summary(conversation.customer, today),
            "identity": identity_state(session, clock, conversation)}


def list_conversations(session: Session, user: User, *, limit: int = 20) -> list[Conversation]:
    """``user``'s own free practice conversations, newest first."""
    return list(session.scalars(select(Conversation).where(Conversation.owner_id == user.id,
                                                           Conversation.drill_id.is_(None))
                                .order_by(Conversation.id.desc()).limit(limit)))
