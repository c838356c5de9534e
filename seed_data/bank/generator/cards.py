"""Credit cards: the current bill, instalments, repayments and recent transactions of one card.

The bill follows the conventions ``verify`` checks: ``amount = previous_balance - payments +
new_charges + instalment_due + interest_fees``; ``minimum`` is 10 % of the amount plus the
instalment principal; ``available = limit - (amount - paid) - unbilled - instalment
principal not yet billed``.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from seed_data.bank.generator.basics import (
    AS_OF,
    DUE_DAY_OFFSET,
    at,
    fmt,
    iso,
    money,
    rand_day,
    rmoney,
    statement_dates,
    tx,
)
from seed_data.bank.generator.tables import CARD_POS, CARD_PRODUCTS, CARD_QUICK


def split_amount(rng: random.Random, total: Decimal, n: int) -> list[Decimal]:
    """``total`` split into ``n`` positive cent amounts of uneven size."""
    if n <= 0 or total <= 0:
        return []
    weights = [rng.uniform(0.25, 1.75) for _ in range(n)]
    parts = [money(total * Decimal(str(w)) / Decimal(str(sum(weights)))) for w in weights]
    parts[-1] = total - sum(parts[:-1])
    if min(parts) < 1:
        raise AssertionError(f"cannot split {total} into {n}")
    return parts


def card_charge(rng: random.Random, when: datetime, amount: Decimal) -> dict:
    """A consumption transaction of ``amount`` (positive) at a plausible merchant."""
    stretch = Decimal("1.6")
    options = [("快捷支付", "第三方支付", cp, memo) for cp, memo, lo, hi in CARD_QUICK if lo <= amount <= hi * stretch]
    options += [("POS消费", "POS", cp, memo) for cp, memo, lo, hi in CARD_POS if lo <= amount <= hi * stretch]
    ttype, channel, cp, memo = rng.choice(options or [("POS消费", "POS", "购物中心商户", "购物")])
    return tx(when, -amount, ttype, cp, channel, f"{ttype}-{memo}")


def build_card(rng: random.Random, spec: dict, number: str, debit: dict | None) -> tuple[dict, list[dict]]:
    """One credit card from its spec; also returns the debit-side mirror of repayments."""
    product, fee, waiver = CARD_PRODUCTS[spec["product"]]
    sd = spec["statement_day"]
    stmt, prev_stmt = statement_dates(sd)
    period_start = prev_stmt + timedelta(days=1)
    due = stmt + timedelta(days=DUE_DAY_OFFSET)
    prev_due = prev_stmt + timedelta(days=DUE_DAY_OFFSET)
    limit = money(spec["limit"])
    tail = number[-4:]
    status = spec.get("status", "正常")
    mirror: list[dict] = []
    txns: list[dict] = []

    instalments, inst_principal, inst_fee, inst_unbilled = [], Decimal(0), Decimal(0), Decimal(0)
    for inst in spec.get("instalments", []):
        kind, paid_periods, rate = inst["kind"], inst["paid_periods"], inst["rate"]
        total = money(inst["total"])
        per = money(total / 12)
        if per * 12 != total:
            raise AssertionError("instalment totals must divide by 12")
        fee_pp = money(total * Decimal(rate))
        current = paid_periods + 1
        remaining = total - per * current
        instalments.append({"kind": kind, "total": fmt(total), "periods": 12, "paid_periods": paid_periods,
                            "current_period": current, "per_period": fmt(per), "fee_per_period": fmt(fee_pp),
                            "remaining_principal": fmt(remaining)})
        inst_principal += per
        inst_fee += fee_pp
        inst_unbilled += remaining

    def repay(when: datetime, amount: Decimal, memo: str):
        if debit is not None and spec.get("linked", True):
            cp, channel = f"演练银行借记卡（尾号{debit['number'][-4:]}）", "系统" if "自动" in memo else "手机银行"
            mirror.append(tx(when, -amount, "转账转出", f"演练银行信用卡（尾号{tail}）", channel,
                             "信用卡自动还款" if "自动" in memo else "信用卡还款", fixed=True))
        else:
            cp, channel = "本人他行账户", "手机银行"
        txns.append(tx(when, amount, "还款", cp, channel, memo))

    if status == "未激活":
        bill = {"statement_date": iso(stmt), "period_start": iso(period_start), "period_end": iso(stmt),
                "amount": "0.00", "minimum": "0.00", "due_date": iso(due), "paid": "0.00", "status": "已还清",
                "breakdown": {"previous_balance": "0.00", "payments": "0.00", "new_charges": "0.00",
                              "instalment_due": "0.00", "interest_fees": "0.00"}}
        card = {"number": number, "product": product, "status": status, "status_memo": spec.get("status_memo"),
                "opened": spec["opened"], "limit": fmt(limit), "available": fmt(limit), "statement_day": sd,
                "due_day_offset": DUE_DAY_OFFSET, "bill": bill, "instalments": [],
                "annual_fee": {"amount": fee, "waiver_rule": waiver}, "overdue_days": 0,
                "recent_transactions": []}
        return card, mirror

    fees = Decimal(0)
    overdue_days = 0
    if "overdue" in spec:
        od = spec["overdue"]
        prev_balance, payments = money(od["prev_balance"]), Decimal(0)
        for amount in split_amount(rng, rmoney(rng, 1200, 2600), od.get("older", 3)):
            d = rand_day(rng, prev_stmt - timedelta(days=25), prev_stmt - timedelta(days=1))
            txns.append(card_charge(rng, at(rng, d, 10, 21), amount))
        interest = money(prev_balance * Decimal("0.0005") * (stmt - prev_stmt).days)
        late_fee = money(money(prev_balance * Decimal("0.1")) * Decimal("0.05"))
        txns.append(tx(datetime(stmt.year, stmt.month, stmt.day, 0, 10), -interest, "利息", "演练银行信用卡中心",
                       "系统", "循环利息（日息万分之五）"))
        txns.append(tx(datetime(stmt.year, stmt.month, stmt.day, 0, 11), -late_fee, "扣费", "演练银行信用卡中心",
                       "系统", "逾期违约金（最低还款额未还部分的5%）"))
        fees = interest + late_fee
        overdue_days = (AS_OF - prev_due).days
    else:
        prev_balance = rmoney(rng, *spec.get("prev", (800, 6000)))
        payments = prev_balance
        if spec.get("autopay", True) and debit is not None:
            repay(datetime(prev_due.year, prev_due.month, prev_due.day, 6, rng.randint(0, 30)), prev_balance,
                  "自动还款（全额）")
        else:
            repay(at(rng, rand_day(rng, prev_stmt + timedelta(days=2), min(prev_due, AS_OF)), 9, 22),
                  prev_balance, "还款")

    fixed = [dict(t) for t in spec.get("fixed", [])]
    txns.extend(fixed)
    fixed_charges = -sum((t["amount"] for t in fixed), Decimal(0))
    if "amount" in spec:
        new_charges = money(spec["amount"]) - (prev_balance - payments) - inst_principal - inst_fee - fees
    else:
        new_charges = fixed_charges + rmoney(rng, *spec.get("spend", (600, 6000)))
    for amount in split_amount(rng, new_charges - fixed_charges, spec.get("n", 6)):
        last_day = date.fromisoformat(spec.get("charges_until", iso(stmt)))
        txns.append(card_charge(rng, at(rng, rand_day(rng, period_start, last_day), 8, 22), amount))
    amount = prev_balance - payments + new_charges + inst_principal + inst_fee + fees
    minimum = money(amount * Decimal("0.1")) + inst_principal

    pay = spec.get("pay", "none")
    paid = {"none": Decimal(0), "full": amount, "min": minimum,
            "partial": money(minimum + (amount - minimum) * Decimal(str(rng.uniform(0.2, 0.7))))}[pay]
    if "overdue" in spec:
        paid = Decimal(0)
    if paid > 0 and stmt < AS_OF:
        when = at(rng, rand_day(rng, stmt + timedelta(days=1), min(due, AS_OF)), 9, 22)
        repay(when, paid, "还款" if pay != "full" else "全额还款")
    unbilled = Decimal(0)
    if stmt < AS_OF and status == "正常":
        for _ in range(spec.get("unbilled", 2)):
            cp, memo, lo, hi = rng.choice(CARD_QUICK[:4] + CARD_POS[1:4])
            value = rmoney(rng, lo, min(hi, 800))
            t = card_charge(rng, at(rng, rand_day(rng, stmt + timedelta(days=1), AS_OF), 8, 22), value)
            txns.append(t)
            unbilled += value
    available = limit - (amount - paid) - unbilled - inst_unbilled
    if available < 0:
        raise AssertionError(f"card {number} over limit")
    if "overdue" in spec:
        bill_status = "逾期"
    elif paid == amount:
        bill_status = "已还清"
    else:
        bill_status = "未还清"
        if due < AS_OF and paid < minimum:
            raise AssertionError(f"card {number}: minimum not paid by {due} but not overdue")
    bill = {"statement_date": iso(stmt), "period_start": iso(period_start), "period_end": iso(stmt),
            "amount": fmt(amount), "minimum": fmt(minimum), "due_date": iso(due), "paid": fmt(paid),
            "status": bill_status,
            "breakdown": {"previous_balance": fmt(prev_balance), "payments": fmt(payments),
                          "new_charges": fmt(new_charges), "instalment_due": fmt(inst_principal + inst_fee),
                          "interest_fees": fmt(fees)}}
    txns.sort(key=lambda t: t["at"])
    for prev, cur in pairwise(txns):
        if cur["at"] <= prev["at"]:
            cur["at"] = prev["at"] + timedelta(minutes=1)
    card = {"number": number, "product": product, "status": status, "status_memo": spec.get("status_memo"),
            "opened": spec["opened"], "limit": fmt(limit), "available": fmt(available), "statement_day": sd,
            "due_day_offset": DUE_DAY_OFFSET, "bill": bill, "instalments": instalments,
            "annual_fee": {"amount": fee, "waiver_rule": waiver}, "overdue_days": overdue_days,
            "recent_transactions": txns}
    return card, mirror
