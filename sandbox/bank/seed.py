"""Load the mock bank from ``seed_data/bank/customers.json`` (written by its generator).

``load_seed(session, path=None)`` inserts products, customers, accounts, transactions,
cards, bills, instalments, card transactions and holdings; the caller commits. Times in
the file are Beijing time without an offset; they are stored as UTC.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from sandbox.bank.models import (
    Account,
    CardBill,
    CardTransaction,
    CreditCard,
    Customer,
    Holding,
    Instalment,
    Product,
    Transaction,
)
from sandbox.clock import BEIJING, local_iso  # noqa: F401  (local_iso re-exported for old callers)
from sandbox.db import Base, table_of
from sandbox.errors import ConfigurationError


def default_path() -> Path:
    import seed_data

    return Path(seed_data.__file__).resolve().parent / "bank" / "customers.json"


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def parse_local(value: str) -> datetime:
    """A seed timestamp (Beijing time, offset optional) as an aware UTC datetime."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    return moment.astimezone(UTC)


def _money(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else "0")).quantize(Decimal("0.01"))


def read_seed(path: Path | None = None) -> dict:
    path = path or default_path()
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigurationError(f"找不到模拟银行种子数据 {path}。", code="seed_missing") from exc
    except ValueError as exc:
        raise ConfigurationError(f"模拟银行种子数据 {path} 不是有效的 JSON：{exc}", code="seed_invalid") from exc


def load_seed(session: Session, path: Path | None = None) -> dict[str, int]:
    """Insert the whole mock bank; returns counts per kind. Refuses to load twice."""
    if session.scalar(select(func.count()).select_from(Customer)):
        raise ConfigurationError("模拟银行数据已存在，不能重复导入。", code="seed_loaded")
    data = read_seed(path)
    counts = {"customers": 0, "accounts": 0, "transactions": 0, "cards": 0, "card_transactions": 0,
              "holdings": 0, "products": 0}
    for p in data.get("products", []):
        session.add(Product(code=p["code"], name=p["name"], type=p.get("type") or "", risk=p.get("risk") or "",
                            benchmark=p.get("benchmark"), min_amount=_money(p.get("min_amount"))))
        counts["products"] += 1
    txn_rows: list[dict] = []
    card_txn_rows: list[dict] = []
    for c in data["customers"]:
        _insert_customer(session, c, counts, txn_rows, card_txn_rows)
    _insert_rows(session, Transaction, txn_rows, ids=False)
    _insert_rows(session, CardTransaction, card_txn_rows, ids=False)
    counts["transactions"] = len(txn_rows)
    counts["card_transactions"] = len(card_txn_rows)
    session.flush()
    return counts


@dataclass(frozen=True)
class StoredCustomer:
    """The ids a customer's insert gave its rows: the customer's, and its accounts' and its
    cards', each in ascending order (the order a conversation numbers them ``A1``, ``K1``...)."""

    id: int
    account_ids: tuple[int, ...]
    card_ids: tuple[int, ...]


def insert_customer(session: Session, record: dict[str, Any], drill_id: int | None = None,
                    template_code: str | None = None) -> StoredCustomer:
    """Insert one customer record (the seed file's shape) with everything it holds, at once;
    returns the ids of the customer, its accounts and its cards."""
    counts = {"customers": 0, "accounts": 0, "cards": 0, "holdings": 0}
    txn_rows: list[dict] = []
    card_txn_rows: list[dict] = []
    stored = _insert_customer(session, record, counts, txn_rows, card_txn_rows, drill_id=drill_id,
                              template_code=template_code)
    _insert_rows(session, Transaction, txn_rows, ids=False)
    _insert_rows(session, CardTransaction, card_txn_rows, ids=False)
    return stored


def _insert_rows(session: Session, model: type[Base], rows: list[dict[str, Any]], ids: bool = True) -> list[int]:
    """Insert ``rows`` into ``model``'s table with one Core statement; with ``ids``, their ids in
    the rows' order (otherwise nothing is returned: the insert needs no RETURNING)."""
    if not rows:
        return []
    table = table_of(model)
    if not ids:
        session.connection().execute(insert(table), rows)
        return []
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.connection().execute(statement, rows).scalars())


def _insert_customer(session: Session, c: dict[str, Any], counts: dict[str, int], txn_rows: list[dict],
                     card_txn_rows: list[dict], drill_id: int | None = None,
                     template_code: str | None = None) -> StoredCustomer:
    """Insert one customer with its accounts, cards, bills, instalments and holdings (Core
    inserts: a drawn customer is part of every drill start, and the ORM's flush of these
    objects cost several times the inserts); transactions go to the row lists, with the
    account and card ids. Returns the ids given."""
    (customer_id,) = _insert_rows(session, Customer, [{
        "code": c["id"], "name": c["name"], "gender": c.get("gender") or "", "id_number": c["id_number"],
        "phone": c["phone"], "birth_date": _date(c["birth_date"]), "segment": c.get("segment") or "",
        "risk_level": c.get("risk_level") or "", "risk_expires": _date(c.get("risk_expires")),
        "risk_assessed": _date(c.get("risk_assessed")), "address": c.get("address") or "",
        "company": c.get("company"), "magic": c.get("magic"), "examiner_note": c.get("examiner_note") or "",
        "drill_id": drill_id, "template_code": template_code}])
    accounts = c.get("accounts", [])
    account_ids = _insert_rows(session, Account, [{
        "customer_id": customer_id, "number": a["number"], "kind": a.get("kind") or "", "status": a["status"],
        "status_memo": a.get("status_memo"), "balance": _money(a["balance"]), "currency": a.get("currency") or "CNY",
        "opened": _date(a.get("opened")), "branch": a.get("branch") or "", "risk_events": a.get("risk_events") or []}
        for a in accounts])
    cards = c.get("credit_cards", [])
    card_ids = _insert_rows(session, CreditCard, [{
        "customer_id": customer_id, "number": k["number"], "product": k.get("product") or "", "status": k["status"],
        "status_memo": k.get("status_memo"), "opened": _date(k.get("opened")), "credit_limit": _money(k["limit"]),
        "available": _money(k["available"]), "statement_day": int(k["statement_day"]),
        "due_day_offset": int(k.get("due_day_offset", 20)), "overdue_days": int(k.get("overdue_days") or 0),
        "annual_fee": k.get("annual_fee")}
        for k in cards])
    _insert_rows(session, CardBill, [{
        "card_id": card_id, "statement_date": _date(b["statement_date"]), "period_start": _date(b["period_start"]),
        "period_end": _date(b["period_end"]), "amount": _money(b["amount"]), "minimum": _money(b["minimum"]),
        "due_date": _date(b["due_date"]), "paid": _money(b.get("paid")), "status": b.get("status") or "",
        "breakdown": b.get("breakdown")}
        for card_id, k in zip(card_ids, cards, strict=True) if (b := k.get("bill"))], ids=False)
    _insert_rows(session, Instalment, [{
        "card_id": card_id, "kind": i.get("kind") or "", "total": _money(i["total"]), "periods": int(i["periods"]),
        "paid_periods": int(i["paid_periods"]), "current_period": int(i["current_period"]),
        "per_period": _money(i["per_period"]), "fee_per_period": _money(i.get("fee_per_period")),
        "remaining_principal": _money(i.get("remaining_principal"))}
        for card_id, k in zip(card_ids, cards, strict=True) for i in k.get("instalments", [])], ids=False)
    holdings = c.get("holdings", [])
    _insert_rows(session, Holding, [{
        "customer_id": customer_id, "product_code": h["product_code"], "amount": _money(h["amount"]),
        "bought": _date(h.get("bought")), "status": h.get("status") or ""} for h in holdings], ids=False)
    counts["customers"] += 1
    counts["accounts"] += len(accounts)
    counts["cards"] += len(cards)
    counts["holdings"] += len(holdings)
    for account_id, a in zip(account_ids, accounts, strict=True):
        for t in a.get("transactions", []):
            txn_rows.append({"account_id": account_id, "code": t["id"], "at": parse_local(t["at"]),
                             "amount": _money(t["amount"]), "balance_after": _money(t["balance_after"]),
                             "type": t.get("type") or "", "counterparty": t.get("counterparty") or "",
                             "channel": t.get("channel") or "", "memo": t.get("memo") or ""})
    for card_id, k in zip(card_ids, cards, strict=True):
        for t in k.get("recent_transactions", []):
            card_txn_rows.append({"card_id": card_id, "code": t["id"], "at": parse_local(t["at"]),
                                  "amount": _money(t["amount"]), "type": t.get("type") or "",
                                  "counterparty": t.get("counterparty") or "",
                                  "channel": t.get("channel") or "", "memo": t.get("memo") or ""})
    return StoredCustomer(customer_id, tuple(sorted(account_ids)), tuple(sorted(card_ids)))


def seed_bank(session: Session, runtime: Any) -> str:
    """Seeder for ``sandbox.instance``: loads the mock bank, returns a one-line summary."""
    counts = load_seed(session)
    return (f"模拟银行：客户 {counts['customers']} 位，账户 {counts['accounts']} 个（交易 {counts['transactions']} 笔），"
            f"信用卡 {counts['cards']} 张，理财产品 {counts['products']} 只")
