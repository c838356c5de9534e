"""Lookups and sandbox actions on the mock bank, every one gated and audited.

Each function takes ``(session, clock, conversation, user, ...)``, refuses with 403
``identity_not_verified`` until the conversation's customer is verified, writes an
audit row whether allowed or refused, and returns a JSON-ready dict in which every
card / account / ID / phone number is masked (``sandbox.bank.masking``). They never
commit; callers commit also when a ``DomainError`` is raised (the refusal is audited).

- ``customer_profile``          客户资料 (masked, with wealth holdings)
- ``list_accounts``             借记账户
- ``account_transactions``      账户交易明细 (``date_from``/``date_to`` as ``date``)
- ``list_cards``                信用卡
- ``card_status``               one card's status, annual fee and recent transactions
- ``card_bill``                 the current bill and instalments
- ``freeze(kind="account"|"card")``   临时挂失: visible in later lookups of this sandbox only
- ``unfreeze``                  always 409 ``needs_branch`` (after the identity gate)

Staff helpers (no conversation): ``list_customers`` (masked picker list),
``examiner_customers`` (masked, with magic and notes), ``reveal`` (one clear value,
examiners/admins only, audited) and ``staff_customers`` (clear, for the CLI only).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from sandbox.bank import audit, masking
from sandbox.bank.conversations import (
    ACCOUNT,
    CARD,
    age_on,
    customer_summary,
    get_customer,
    refs_for,
    resolve_ref,
    salutation,
)
from sandbox.bank.identity import require_verified
from sandbox.bank.models import (
    Account,
    CardTransaction,
    Conversation,
    CreditCard,
    Customer,
    Holding,
    Product,
    StatusOverride,
    Transaction,
)
from sandbox.clock import BEIJING, Clock, local_iso
from sandbox.db import PrimaryKeyLoader
from sandbox.errors import Conflict, Forbidden, NotFound, ValidationFailed
from sandbox.roles import STAFF_ROLES
from sandbox.users.models import User

LOSS_STATUS = "挂失"
FROZEN_STATUSES = ("冻结", "挂失")
REVEAL_ROLES = STAFF_ROLES
REVEAL_FIELDS = ("id_number", "phone", "card", "account")


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{Decimal(value).quantize(Decimal('0.01'))}"


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _text(value: str | None) -> str | None:
    """Free text from the seed, with any full number that slipped in masked."""
    return None if value is None else masking.redact(value)


# --- sandbox status overrides ------------------------------------------------------


def _override_scope(conversation: Conversation):
    scope = StatusOverride.conversation_id == conversation.id
    if conversation.drill_id is not None:
        scope = or_(scope, StatusOverride.drill_id == conversation.drill_id)
    return scope


def effective_status(session: Session, conversation: Conversation, kind: str, target_id: int,
                     seed_status: str) -> str:
    """The status as this sandbox sees it: the newest override in scope, else the seed's."""
    override = session.scalar(select(StatusOverride.status).where(
        StatusOverride.kind == kind, StatusOverride.target_id == target_id, _override_scope(conversation))
        .order_by(StatusOverride.id.desc()).limit(1))
    return override or seed_status


# --- gate + audit helper --------------------------------------------------------------


def _allowed(session: Session, clock: Clock, conversation: Conversation, user: User, action: str,
             ref: str = "") -> None:
    audit.record(session, clock, user, action, allowed=True, conversation_id=conversation.id,
                 customer_id=conversation.customer_id, target_ref=ref)


def _target(session: Session, clock: Clock, conversation: Conversation, user: User, action: str, kind: str,
            ref: object) -> tuple[int, str]:
    """Gate, then resolve ``ref`` (unknown → audited 404 ``unknown_ref``)."""
    shown = ref.strip().upper()[:8] if isinstance(ref, str) else ""
    require_verified(session, clock, conversation, user, action, shown)
    try:
        return resolve_ref(session, conversation, kind, ref), shown
    except NotFound:
        audit.record(session, clock, user, action, allowed=False, conversation_id=conversation.id,
                     customer_id=conversation.customer_id, target_ref=shown, reason="unknown_ref")
        raise


# --- serialisers ------------------------------------------------------------------------


def _account_item(session: Session, conversation: Conversation, account: Account, ref: str) -> dict:
    status = effective_status(session, conversation, ACCOUNT, account.id, account.status)
    return {"ref": ref, "number": masking.mask_card(account.number), "kind": account.kind, "status": status,
            "status_memo": _text(account.status_memo) if status == account.status else _sandbox_memo(status),
            "balance": money(account.balance), "currency": account.currency, "opened": _day(account.opened),
            "branch": account.branch}


def _sandbox_memo(status: str) -> str:
    return f"本会话已办理临时{status}，解除需客户本人持有效证件到网点办理。"


def _card_item(session: Session, conversation: Conversation, card: CreditCard, ref: str) -> dict:
    status = effective_status(session, conversation, CARD, card.id, card.status)
    bill = card.bill
    return {"ref": ref, "number": masking.mask_card(card.number), "product": card.product, "status": status,
            "status_memo": _text(card.status_memo) if status == card.status else _sandbox_memo(status),
            "limit": money(card.credit_limit), "available": money(card.available),
            "statement_day": card.statement_day, "due_date": _day(bill.due_date) if bill else None,
            "overdue_days": card.overdue_days}


def _txn(t: Transaction | CardTransaction) -> dict:
    body = {"id": t.code, "at": local_iso(t.at), "amount": money(t.amount), "type": t.type,
            "counterparty": _text(t.counterparty), "channel": t.channel, "memo": _text(t.memo)}
    if isinstance(t, Transaction):
        body["balance_after"] = money(t.balance_after)
    return body


# --- lookups -------------------------------------------------------------------------------


def customer_profile(session: Session, clock: Clock, conversation: Conversation, user: User) -> dict:
    """客户资料: masked identity data, risk profile and wealth holdings."""
    require_verified(session, clock, conversation, user, "profile")
    c = conversation.customer
    today = clock.now().astimezone(BEIJING).date()
    products = {p.code: p for p in session.scalars(select(Product))}
    holdings = []
    for h in session.scalars(select(Holding).where(Holding.customer_id == c.id).order_by(Holding.id)):
        p = products.get(h.product_code)
        holdings.append({"product_code": h.product_code, "product_name": p.name if p else "",
                         "product_type": p.type if p else "", "product_risk": p.risk if p else "",
                         "amount": money(h.amount), "bought": _day(h.bought), "status": h.status})
    _allowed(session, clock, conversation, user, "profile")
    return {"id": c.code, "name": masking.mask_name(c.name), "salutation": salutation(c), "gender": c.gender,
            "age": age_on(c.birth_date, today), "id_number": masking.mask_id_number(c.id_number),
            "phone": masking.mask_phone(c.phone), "segment": c.segment, "company": c.company,
            "risk_level": c.risk_level, "risk_assessed": _day(c.risk_assessed), "risk_expires": _day(c.risk_expires),
            "risk_expired": bool(c.risk_expires and c.risk_expires < today),
            "address": masking.mask_address(c.address), "holdings": holdings}


def list_accounts(session: Session, clock: Clock, conversation: Conversation, user: User) -> list[dict]:
    """借记账户 of the conversation's customer, each with its opaque ``ref``."""
    require_verified(session, clock, conversation, user, "accounts")
    refs = refs_for(session, conversation, ACCOUNT)
    accounts = session.scalars(select(Account).where(Account.customer_id == conversation.customer_id)
                               .order_by(Account.id))
    items = [_account_item(session, conversation, a, refs[a.id]) for a in accounts if a.id in refs]
    _allowed(session, clock, conversation, user, "accounts")
    return items


def parse_day(value: object, field: str) -> date | None:
    """``YYYY-MM-DD`` or empty → date/None; anything else is a 400 ``invalid_date``."""
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else date.fromisoformat("x")
    except ValueError:
        raise ValidationFailed(f"{field} 日期格式应为 YYYY-MM-DD。", code="invalid_date") from None


def account_transactions(session: Session, clock: Clock, conversation: Conversation, user: User, ref: object,
                         date_from: date | None = None, date_to: date | None = None) -> dict:
    """账户交易明细 between two Beijing dates (inclusive), newest first, plus risk events."""
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed("开始日期不能晚于结束日期。", code="invalid_date_range")
    account_id, shown = _target(session, clock, conversation, user, "transactions", ACCOUNT, ref)
    account = session.get_one(Account, account_id)
    query = select(Transaction).where(Transaction.account_id == account_id)
    if date_from:
        query = query.where(Transaction.at >= datetime.combine(date_from, time(), BEIJING))
    if date_to:
        query = query.where(Transaction.at < datetime.combine(date_to + timedelta(days=1), time(), BEIJING))
    rows = [_txn(t) for t in session.scalars(query.order_by(Transaction.at.desc(), Transaction.id.desc()))]
    events = []
    for e in account.risk_events or []:
        day = (e.get("at") or "")[:10]
        if (date_from and day < date_from.isoformat()) or (date_to and day > date_to.isoformat()):
            continue
        events.append({k: _text(v) if isinstance(v, str) else v for k, v in e.items()})
    _allowed(session, clock, conversation, user, "transactions", shown)
    return {"account": _account_item(session, conversation, account, shown), "from": _day(date_from),
            "to": _day(date_to), "transactions": rows, "risk_events": events}


def list_cards(session: Session, clock: Clock, conversation: Conversation, user: User) -> list[dict]:
    """信用卡 of the conversation's customer, each with its opaque ``ref``."""
    require_verified(session, clock, conversation, user, "cards")
    refs = refs_for(session, conversation, CARD)
    cards = session.scalars(select(CreditCard).where(CreditCard.customer_id == conversation.customer_id)
                            .options(joinedload(CreditCard.bill)).order_by(CreditCard.id))  # each item shows its due date
    items = [_card_item(session, conversation, k, refs[k.id]) for k in cards if k.id in refs]
    _allowed(session, clock, conversation, user, "cards")
    return items


def card_status(session: Session, clock: Clock, conversation: Conversation, user: User, ref: object) -> dict:
    """卡片状态: the card with its annual fee and its recent transactions."""
    card_id, shown = _target(session, clock, conversation, user, "card_status", CARD, ref)
    card = session.get_one(CreditCard, card_id)
    body = _card_item(session, conversation, card, shown)
    fee = card.annual_fee or {}
    body["opened"] = _day(card.opened)
    body["annual_fee"] = {"amount": fee.get("amount"), "waiver_rule": _text(fee.get("waiver_rule"))}
    body["recent_transactions"] = [_txn(t) for t in session.scalars(
        select(CardTransaction).where(CardTransaction.card_id == card_id)
        .order_by(CardTransaction.at.desc(), CardTransaction.id.desc()))]
    _allowed(session, clock, conversation, user, "card_status", shown)
    return body


# The card with its bill and instalments in one query (three before).
_CARD_BILL_INSTALMENTS = PrimaryKeyLoader(CreditCard, joinedload(CreditCard.bill), joinedload(CreditCard.instalments))


def card_bill(session: Session, clock: Clock, conversation: Conversation, user: User, ref: object) -> dict:
    """本期账单 (amount, minimum payment, due date, breakdown) and the card's instalments."""
    card_id, shown = _target(session, clock, conversation, user, "bill", CARD, ref)
    card = _CARD_BILL_INSTALMENTS(session, card_id)
    if card is None:
        raise NotFound("本会话中没有这个信用卡引用。", code="unknown_ref")
    b = card.bill
    bill = None
    if b is not None:
        bill = {"statement_date": _day(b.statement_date), "period_start": _day(b.period_start),
                "period_end": _day(b.period_end), "amount": money(b.amount), "minimum": money(b.minimum),
                "due_date": _day(b.due_date), "paid": money(b.paid), "unpaid": money(b.amount - b.paid),
                "status": b.status, "breakdown": dict(b.breakdown or {})}
    instalments = [{"kind": i.kind, "total": money(i.total), "periods": i.periods, "paid_periods": i.paid_periods,
                    "current_period": i.current_period, "per_period": money(i.per_period),
                    "fee_per_period": money(i.fee_per_period), "remaining_principal": money(i.remaining_principal)}
                   for i in card.instalments]  # in id order (the relationship's order)
    _allowed(session, clock, conversation, user, "bill", shown)
    return {"ref": shown, "card": _card_item(session, conversation, card, shown), "bill": bill,
            "instalments": instalments}


# --- actions ---------------------------------------------------------------------------------


def freeze(session: Session, clock: Clock, conversation: Conversation, user: User, kind: str, ref: object) -> dict:
    """临时挂失 of an account (``kind="account"``) or a card (``"card"``) in this sandbox.

    The seed row is untouched: a status override scoped to this conversation (and its
    drill, if any) makes the new status visible to later lookups of this sandbox only.
    409 ``already_frozen`` when it is already frozen or reported lost.
    """
    if kind not in (ACCOUNT, CARD):
        raise ValidationFailed("只能挂失账户或信用卡。", code="invalid_kind")
    action = f"freeze_{kind}"
    target_id, shown = _target(session, clock, conversation, user, action, kind, ref)
    row: Account | CreditCard = (session.get_one(Account, target_id) if kind == ACCOUNT
                                 else session.get_one(CreditCard, target_id))
    current = effective_status(session, conversation, kind, target_id, row.status)
    if current in FROZEN_STATUSES:
        audit.record(session, clock, user, action, allowed=False, conversation_id=conversation.id,
                     customer_id=conversation.customer_id, target_ref=shown, reason="already_frozen")
        raise Conflict(f"该{'账户' if kind == ACCOUNT else '信用卡'}当前状态为“{current}”，无需重复挂失。",
                       code="already_frozen")
    session.add(StatusOverride(conversation_id=conversation.id, drill_id=conversation.drill_id, kind=kind,
                               target_id=target_id, status=LOSS_STATUS, action="temporary_loss",
                               by_user_id=user.id, at=clock.now()))
    _allowed(session, clock, conversation, user, action, shown)
    session.flush()
    what = "账户" if kind == ACCOUNT else "信用卡"
    return {"ref": shown, "previous_status": current, "status": LOSS_STATUS,
            "message": f"已为客户办理{what}临时挂失，{what}暂停交易；正式挂失或解除需本人持有效证件到网点办理。"}


def unfreeze(session: Session, clock: Clock, conversation: Conversation, user: User, kind: str, ref: object) -> dict:
    """解除冻结/挂失 is never done by phone: after the identity gate, 409 ``needs_branch``."""
    if kind not in (ACCOUNT, CARD):
        raise ValidationFailed("只能解挂账户或信用卡。", code="invalid_kind")
    action = f"unfreeze_{kind}"
    _target_id, shown = _target(session, clock, conversation, user, action, kind, ref)
    audit.record(session, clock, user, action, allowed=False, conversation_id=conversation.id,
                 customer_id=conversation.customer_id, target_ref=shown, reason="needs_branch")
    raise Conflict("解除挂失或冻结须由客户本人携带有效身份证件到网点办理，客服渠道不能办理。", code="needs_branch")


# --- staff ---------------------------------------------------------------------------------------


def list_customers(session: Session, clock: Clock, *, include_magic: bool = False) -> list[dict]:
    """Masked summaries of every mock customer (for choosing a practice partner)."""
    today = clock.now().astimezone(BEIJING).date()
    return [customer_summary(c, today, include_magic=include_magic)
            for c in session.scalars(select(Customer).where(Customer.drill_id.is_(None)).order_by(Customer.code))]


def _customer_refs(session: Session, customer: Customer) -> tuple[list[tuple[str, Account]], list[tuple[str, CreditCard]]]:
    accounts = list(session.scalars(select(Account).where(Account.customer_id == customer.id).order_by(Account.id)))
    cards = list(session.scalars(select(CreditCard).where(CreditCard.customer_id == customer.id)
                                 .order_by(CreditCard.id)))
    return ([(f"A{i}", a) for i, a in enumerate(accounts, 1)], [(f"K{i}", k) for i, k in enumerate(cards, 1)])


def examiner_customers(session: Session, clock: Clock) -> list[dict]:
    """Masked customers with magic, examiner note and masked accounts/cards (examiner view)."""
    today = clock.now().astimezone(BEIJING).date()
    out = []
    for c in session.scalars(select(Customer).where(Customer.drill_id.is_(None)).order_by(Customer.code)):
        accounts, cards = _customer_refs(session, c)
        out.append({**customer_summary(c, today, include_magic=True), "id_number": masking.mask_id_number(c.id_number),
                    "phone": masking.mask_phone(c.phone), "risk_level": c.risk_level,
                    "examiner_note": _text(c.examiner_note),
                    "accounts": [{"ref": r, "number": masking.mask_card(a.number), "kind": a.kind, "status": a.status}
                                 for r, a in accounts],
                    "cards": [{"ref": r, "number": masking.mask_card(k.number), "product": k.product,
                               "status": k.status} for r, k in cards]})
    return out


def reveal(session: Session, clock: Clock, user: User, customer_code: object, field: object,
           ref: object = None) -> dict:
    """One clear value for an examiner or admin; audited (allowed or refused).

    ``field`` is ``id_number``, ``phone``, ``card`` or ``account``; the last two need
    ``ref`` (``K1``/``A1`` in the customer's own order, as listed by ``examiner_customers``).
    """
    if user.role not in REVEAL_ROLES:
        audit.record(session, clock, user, "reveal", allowed=False, reason="forbidden")
        raise Forbidden("只有考官和管理员可以查看完整信息。", code="forbidden")
    customer = get_customer(session, customer_code)
    if field not in REVEAL_FIELDS:
        raise ValidationFailed("field 只能是 id_number、phone、card 或 account。", code="invalid_field")
    shown = ref.strip().upper()[:8] if isinstance(ref, str) else ""
    if field in ("id_number", "phone"):
        value = customer.id_number if field == "id_number" else customer.phone
        target = field
    else:
        accounts, cards = _customer_refs(session, customer)
        rows: dict[str, Account | CreditCard] = dict(accounts) if field == "account" else dict(cards)
        if shown not in rows:
            audit.record(session, clock, user, "reveal", allowed=False, customer_id=customer.id,
                         target_ref=shown or field, reason="unknown_ref")
            raise NotFound("该客户没有这个账户或卡片引用。", code="unknown_ref")
        value = rows[shown].number
        target = shown
    audit.record(session, clock, user, "reveal", allowed=True, customer_id=customer.id, target_ref=target,
                 reason=field)
    # Clear: the one answer meant to show a full number (the output redaction leaves it).
    return {"customer_id": customer.code, "field": field, "ref": shown or None, "value": masking.Clear(value)}


def staff_customers(session: Session) -> list[dict]:
    """Every customer in clear, for the staff CLI (``bankdrill bank customers``) only."""
    out = []
    for c in session.scalars(select(Customer).where(Customer.drill_id.is_(None)).order_by(Customer.code)):
        accounts, cards = _customer_refs(session, c)
        out.append({"id": c.code, "name": c.name, "gender": c.gender, "id_number": c.id_number, "phone": c.phone,
                    "birth_date": _day(c.birth_date), "segment": c.segment, "risk_level": c.risk_level,
                    "magic": c.magic, "examiner_note": c.examiner_note,
                    "accounts": [{"number": a.number, "kind": a.kind, "status": a.status,
                                  "balance": money(a.balance)} for _, a in accounts],
                    "cards": [{"number": k.number, "product": k.product, "status": k.status} for _, k in cards]})
    return out
