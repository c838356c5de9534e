"""Tables of the mock core bank.

Seed tables (customers, accounts, transactions, cards, bills, instalments, products,
holdings) are loaded once from ``seed_data/bank/customers.json`` and never changed by
a conversation. Everything a conversation does lives in its own rows: opaque
references, identity-check state, SMS codes, the simulated phone's inbox, status
overrides (a freeze made in one sandbox) and the audit log.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sandbox.db import Base, UTCDateTime
from sandbox.errors import Conflict

OPEN, CLOSED = "open", "closed"

Money = Numeric(14, 2)


class Customer(Base):
    __tablename__ = "bank_customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # "C001"
    name: Mapped[str] = mapped_column(String(64))
    gender: Mapped[str] = mapped_column(String(8), default="")
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    phone: Mapped[str] = mapped_column(String(20))
    birth_date: Mapped[date] = mapped_column(Date)
    segment: Mapped[str] = mapped_column(String(32), default="")
    risk_level: Mapped[str] = mapped_column(String(4), default="")
    risk_expires: Mapped[date | None] = mapped_column(Date, nullable=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str | None] = mapped_column(String(128), nullable=True)
    risk_assessed: Mapped[date | None] = mapped_column(Date, nullable=True)
    magic: Mapped[str | None] = mapped_column(String(64), nullable=True)
    examiner_note: Mapped[str] = mapped_column(Text, default="")
    # A drill's own copy of a seed customer with a fresh identity (sandbox.bank.identities);
    # hidden from customer lists and free practice. NULL for the seed customers.
    drill_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    template_code: Mapped[str | None] = mapped_column(String(16), nullable=True)

    accounts: Mapped[list[Account]] = relationship(back_populates="customer", order_by="Account.id")
    cards: Mapped[list[CreditCard]] = relationship(back_populates="customer", order_by="CreditCard.id")
    holdings: Mapped[list[Holding]] = relationship(back_populates="customer", order_by="Holding.id")


class Account(Base):
    __tablename__ = "bank_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("bank_customers.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(8))
    status_memo: Mapped[str | None] = mapped_column(String(200), nullable=True)
    balance: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(8), default="CNY")
    opened: Mapped[date | None] = mapped_column(Date, nullable=True)
    branch: Mapped[str] = mapped_column(String(64), default="")
    # Risk-control events of the seed (intercepted transfers...), as given.
    risk_events: Mapped[list] = mapped_column(JSON, default=list)

    customer: Mapped[Customer] = relationship(back_populates="accounts")


class Transaction(Base):
    __tablename__ = "bank_transactions"
    __table_args__ = (Index("ix_bank_transactions_account_at", "account_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("bank_accounts.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))  # the seed's transaction id
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    amount: Mapped[Decimal] = mapped_column(Money)
    balance_after: Mapped[Decimal] = mapped_column(Money)
    type: Mapped[str] = mapped_column(String(32), default="")
    counterparty: Mapped[str] = mapped_column(String(128), default="")
    channel: Mapped[str] = mapped_column(String(32), default="")
    memo: Mapped[str] = mapped_column(String(200), default="")


class CreditCard(Base):
    __tablename__ = "bank_cards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("bank_customers.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    product: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(8))
    status_memo: Mapped[str | None] = mapped_column(String(200), nullable=True)
    opened: Mapped[date | None] = mapped_column(Date, nullable=True)
    credit_limit: Mapped[Decimal] = mapped_column(Money)
    available: Mapped[Decimal] = mapped_column(Money)
    statement_day: Mapped[int] = mapped_column(Integer)
    due_day_offset: Mapped[int] = mapped_column(Integer, default=20)
    overdue_days: Mapped[int] = mapped_column(Integer, default=0)
    # The seed's annual-fee record (money as strings), shown as it is.
    annual_fee: Mapped[dict | None] = mapped_column(JSON, nullable=True)

    customer: Mapped[Customer] = relationship(back_populates="cards")
    bill: Mapped[CardBill | None] = relationship(back_populates="card", uselist=False)
    instalments: Mapped[list[Instalment]] = relationship(order_by="Instalment.id")


class CardBill(Base):
    """The card's current statement."""

    __tablename__ = "bank_card_bills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("bank_cards.id", ondelete="CASCADE"), unique=True)
    statement_date: Mapped[date] = mapped_column(Date)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    minimum: Mapped[Decimal] = mapped_column(Money)
    due_date: Mapped[date] = mapped_column(Date)
    paid: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(16), default="")
    # previous_balance, payments, new_charges, instalment_due, interest_fees (strings).
    breakdown: Mapped[dict | None] = mapped_column(JSON, nullable=True)

    card: Mapped[CreditCard] = relationship(back_populates="bill")


class Instalment(Base):
    __tablename__ = "bank_card_instalments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("bank_cards.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    total: Mapped[Decimal] = mapped_column(Money)
    periods: Mapped[int] = mapped_column(Integer)
    paid_periods: Mapped[int] = mapped_column(Integer)
    current_period: Mapped[int] = mapped_column(Integer)
    per_period: Mapped[Decimal] = mapped_column(Money)
    fee_per_period: Mapped[Decimal] = mapped_column(Money)
    remaining_principal: Mapped[Decimal] = mapped_column(Money)


class CardTransaction(Base):
    __tablename__ = "bank_card_transactions"
    __table_args__ = (Index("ix_bank_card_transactions_card_at", "card_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("bank_cards.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    amount: Mapped[Decimal] = mapped_column(Money)
    type: Mapped[str] = mapped_column(String(32), default="")
    counterparty: Mapped[str] = mapped_column(String(128), default="")
    channel: Mapped[str] = mapped_column(String(32), default="")
    memo: Mapped[str] = mapped_column(String(200), default="")


class Product(Base):
    __tablename__ = "bank_products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(32), default="")
    risk: Mapped[str] = mapped_column(String(4), default="")
    benchmark: Mapped[str | None] = mapped_column(String(64), nullable=True)
    min_amount: Mapped[Decimal] = mapped_column(Money)


class Holding(Base):
    __tablename__ = "bank_holdings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("bank_customers.id", ondelete="CASCADE"), index=True)
    product_code: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(Money)
    bought: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="")

    customer: Mapped[Customer] = relationship(back_populates="holdings")


# --- per-conversation state ---------------------------------------------------


class Conversation(Base):
    """One contact between an agent (``owner``) and one mock customer."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None while the conversation is held for a prepared drill (see sandbox.drill.drill_clock).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True,
                                                 nullable=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("bank_customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # 文字 / 语音
    status: Mapped[str] = mapped_column(String(8), default="open")  # open / closed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when the conversation belongs to a drill (no FK yet: the drill tables come later).
    drill_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)

    customer: Mapped[Customer] = relationship()


class ConversationRef(Base):
    """Opaque per-conversation reference (``A1``, ``K2``) to an account or a card."""

    __tablename__ = "bank_conversation_refs"
    __table_args__ = (UniqueConstraint("conversation_id", "ref", name="uq_bank_conversation_refs_conv_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    ref: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(8))  # account / card
    target_id: Mapped[int] = mapped_column(Integer)


class IdentityCheck(Base):
    """Identity-check state of one customer inside one conversation."""

    __tablename__ = "bank_identity_checks"
    __table_args__ = (UniqueConstraint("conversation_id", "customer_id",
                                       name="uq_bank_identity_checks_conv_customer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("bank_customers.id"))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    method: Mapped[str | None] = mapped_column(String(16), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SmsCode(Base):
    """A verification code sent to the customer's simulated phone (kept hashed)."""

    __tablename__ = "bank_sms_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("bank_customers.id"))
    code_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PhoneMessage(Base):
    """An SMS on the customer's simulated phone (the customer's side of a conversation)."""

    __tablename__ = "bank_phone_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("bank_customers.id"))
    sender: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class StatusOverride(Base):
    """A status change made in one sandbox (a conversation, or a whole drill).

    The seed rows stay untouched; lookups apply the newest override whose scope
    covers the asking conversation.
    """

    __tablename__ = "bank_status_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"),
                                                        nullable=True, index=True)
    drill_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(8))  # account / card
    target_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(32))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Who looked up or changed what, in which conversation, and whether it was allowed."""

    __tablename__ = "bank_audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"),
                                                        nullable=True, index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("bank_customers.id"), nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(32))
    target_ref: Mapped[str] = mapped_column(String(16), default="")
    allowed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)


def ensure_open(conversation: Conversation) -> None:
    """Refuse (409 ``conversation_closed``) any operation on an ended conversation."""
    if conversation.status != OPEN:
        raise Conflict("会话已结束。", code="conversation_closed")
