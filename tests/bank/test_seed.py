"""The seeded mock bank: valid numbers, enough customers, every kind of state a scenario needs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sandbox.bank import masking
from sandbox.bank.models import Account, CardBill, CreditCard, Customer, Holding, Instalment, Product, Transaction


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
