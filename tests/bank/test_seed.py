"""The seeded mock bank: valid numbers, enough customers, every kind of state a scenario needs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sandbox.bank import masking
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


@pytest.mark.db
def test_every_seeded_number_is_valid(session):
    customers = list(session.scalars(select(Customer)))
    assert len(customers) >= 40
    for c in customers:
        assert masking.id_number_valid(c.id_number), c.code
        # the birth date is the one encoded in the ID number
        assert c.id_number[6:14] == c.birth_date.strftime("%Y%m%d"), c.code
        assert masking.MOBILE_RE.fullmatch(c.phone), c.code
        assert c.risk_level in ("C1", "C2", "C3", "C4", "C5") and c.risk_expires is not None
        assert c.address and c.segment
    cards = list(session.scalars(select(CreditCard)))
    assert cards
    for k in cards:
        assert masking.luhn_valid(k.number) and k.number.startswith("990002"), k.number[:6]
        assert 1 <= k.statement_day <= 28
        assert k.available <= k.credit_limit
    for a in session.scalars(select(Account)):
        assert masking.luhn_valid(a.number) and a.number.startswith("990001")
    numbers = [c.id_number for c in customers] + [c.phone for c in customers] + [k.number for k in cards]
    assert len(numbers) == len(set(numbers))


@pytest.mark.db
def test_seed_covers_the_states_scenarios_need(session):
    statuses = set(session.scalars(select(Account.status).distinct()))
    assert {"正常", "冻结", "挂失", "久悬"} <= statuses
    assert {"正常", "逾期"} <= set(session.scalars(select(CreditCard.status).distinct()))
    assert session.scalar(select(func.count()).select_from(CardBill)) > 0
    assert session.scalar(select(func.count()).select_from(Instalment)) > 0
    assert session.scalar(select(func.count()).select_from(Holding)) > 0
    assert {p for p in session.scalars(select(Product.risk))} == {"R1", "R2", "R3", "R4", "R5"}
    magic = {m for m in session.scalars(select(Customer.magic)) if m}
    assert {"frozen_account", "overdue_card", "id_mismatch", "lost_debit"} <= magic
    first, last = session.execute(select(func.min(Transaction.at), func.max(Transaction.at))).one()
    assert last - first >= timedelta(days=85)
    # money keeps its cents
    bill = session.scalar(select(CardBill).where(CardBill.amount > 0).limit(1))
    assert str(bill.amount).count(".") == 1 and len(str(bill.amount).split(".")[1]) == 2


def test_loading_twice_is_refused(session):
    from sandbox.bank.seed import load_seed
    from sandbox.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as err:
        load_seed(session)
    assert err.value.code == "seed_loaded"


def test_missing_seed_file_is_a_clear_error(tmp_path):
    from sandbox.bank.seed import read_seed
    from sandbox.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as err:
        read_seed(tmp_path / "none.json")
    assert err.value.code == "seed_missing"
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigurationError) as err:
        read_seed(bad)
    assert err.value.code == "seed_invalid"


def test_cli_lists_customers_in_full_for_staff(runner, session):
    result = runner.invoke(args=["bank", "customers", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    c1 = session.scalar(select(Customer).where(Customer.code == "C001"))
    first = rows[0]
    assert first["id"] == "C001" and first["name"] == c1.name
    assert first["id_number"] == c1.id_number and first["phone"] == c1.phone
    assert {"segment", "magic"} <= set(first)
    assert len(rows) == session.scalar(select(func.count()).select_from(Customer))
    text = runner.invoke(args=["bank", "customers"])
    assert text.exit_code == 0 and c1.id_number in text.output and "C001" in text.output


def _money(value) -> str:
    return f"{float(value or 0):.2f}"


@pytest.mark.db
def test_every_seed_record_is_stored_whole(session):
    """Each customer of the seed file, as the database holds it: every field of the customer, its
    accounts and their transactions, its cards with bill, instalments and transactions, and its
    holdings (the same insert copies a drill's drawn customer, so a field lost here is lost in
    every drill)."""
    from sandbox.bank.seed import parse_local, read_seed

    seeded = {c.code: c for c in session.scalars(select(Customer))}
    for record in read_seed()["customers"]:
        c = seeded[record["id"]]
        for key in ("name", "id_number", "phone", "company", "magic"):
            assert getattr(c, key) == record.get(key), (record["id"], key)
        for key in ("gender", "segment", "risk_level", "address", "examiner_note"):
            assert getattr(c, key) == (record.get(key) or ""), (record["id"], key)
        for key in ("birth_date", "risk_expires", "risk_assessed"):
            assert (getattr(c, key).isoformat() if getattr(c, key) else None) == record.get(key), (record["id"], key)
        assert c.drill_id is None and c.template_code is None
        assert [a.number for a in c.accounts] == [a["number"] for a in record.get("accounts", [])]
        for a, want in zip(c.accounts, record.get("accounts", []), strict=True):
            assert (a.kind, a.status, a.status_memo, _money(a.balance), a.currency, a.branch, a.risk_events) == (
                want.get("kind") or "", want["status"], want.get("status_memo"), _money(want["balance"]),
                want.get("currency") or "CNY", want.get("branch") or "", want.get("risk_events") or [])
            assert (a.opened.isoformat() if a.opened else None) == want.get("opened")
            txns = session.scalars(select(Transaction).where(Transaction.account_id == a.id)
                                   .order_by(Transaction.id)).all()
            assert [(t.code, t.at, _money(t.amount), _money(t.balance_after), t.type, t.counterparty, t.channel,
                     t.memo) for t in txns] == [
                (t["id"], parse_local(t["at"]), _money(t["amount"]), _money(t["balance_after"]), t.get("type") or "",
                 t.get("counterparty") or "", t.get("channel") or "", t.get("memo") or "")
                for t in want.get("transactions", [])]
        assert [k.number for k in c.cards] == [k["number"] for k in record.get("credit_cards", [])]
        for k, want in zip(c.cards, record.get("credit_cards", []), strict=True):
            assert (k.product, k.status, k.status_memo, _money(k.credit_limit), _money(k.available), k.statement_day,
                    k.due_day_offset, k.overdue_days, k.annual_fee) == (
                want.get("product") or "", want["status"], want.get("status_memo"), _money(want["limit"]),
                _money(want["available"]), int(want["statement_day"]), int(want.get("due_day_offset", 20)),
                int(want.get("overdue_days") or 0), want.get("annual_fee"))
            bill = want.get("bill")
            if bill is None:
                assert k.bill is None
            else:
                assert (k.bill.statement_date.isoformat(), k.bill.period_start.isoformat(),
                        k.bill.period_end.isoformat(), _money(k.bill.amount), _money(k.bill.minimum),
                        k.bill.due_date.isoformat(), _money(k.bill.paid), k.bill.status, k.bill.breakdown) == (
                    bill["statement_date"], bill["period_start"], bill["period_end"], _money(bill["amount"]),
                    _money(bill["minimum"]), bill["due_date"], _money(bill.get("paid")), bill.get("status") or "",
                    bill.get("breakdown"))
            assert [(i.kind, _money(i.total), i.periods, i.paid_periods, i.current_period, _money(i.per_period),
                     _money(i.fee_per_period), _money(i.remaining_principal)) for i in k.instalments] == [
                (i.get("kind") or "", _money(i["total"]), int(i["periods"]), int(i["paid_periods"]),
                 int(i["current_period"]), _money(i["per_period"]), _money(i.get("fee_per_period")),
                 _money(i.get("remaining_principal"))) for i in want.get("instalments", [])]
            card_txns = session.scalars(select(CardTransaction).where(CardTransaction.card_id == k.id)
                                        .order_by(CardTransaction.id)).all()
            assert [(t.code, t.at, _money(t.amount), t.type, t.counterparty, t.channel, t.memo) for t in card_txns] == [
                (t["id"], parse_local(t["at"]), _money(t["amount"]), t.get("type") or "", t.get("counterparty") or "",
                 t.get("channel") or "", t.get("memo") or "") for t in want.get("recent_transactions", [])]
        assert [(h.product_code, _money(h.amount), h.bought.isoformat() if h.bought else None, h.status)
                for h in c.holdings] == [(h["product_code"], _money(h["amount"]), h.get("bought"), h.get("status") or "")
                                         for h in record.get("holdings", [])]
