"""Debit accounts: the 90 days of transactions a profile describes, and the running balance.

A profile (an account's ``profile`` in customers.yaml, merged onto its preset) says how much
income, which fixed monthly outflows and how much variable spending the account has; every
random choice comes from the customer's own ``random.Random``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from sandbox.bank.masking import mask_name
from seed_data.bank.generator.basics import (
    AS_OF,
    BANK,
    DEMAND_RATE,
    INTEREST_DAY,
    at,
    money,
    monthly,
    rand_day,
    rmoney,
    tx,
)
from seed_data.bank.generator.tables import PEOPLE, POS_POOLS, QUICK_POOLS, SUPPLIERS, UTILITIES


def debit_transactions(rng: random.Random, p: dict, branch: str) -> list[dict]:
    """Raw (unsorted, no balances) transactions of a debit account from its profile ``p``."""
    out: list[dict] = []
    # income
    if p.get("salary"):
        lo, hi = p["salary"]
        base = rmoney(rng, lo, hi)
        for d in monthly(p.get("salary_day", 10)):
            amount = base + (rmoney(rng, 0, base * Decimal("0.08")) if rng.random() < 0.3 else 0)
            out.append(tx(at(rng, d, 9, 11), amount, "工资", p["employer"], "系统",
                          p.get("salary_memo", "代发工资")))
    if p.get("pension"):
        amount = money(p["pension"])
        for d in monthly(p.get("pension_day", 5)):
            out.append(tx(at(rng, d, 8, 9), amount, "工资", p["pension_payer"], "系统", "代发养老金"))
    for _ in range(p.get("transfers_in", 0)):
        who = rng.choice(PEOPLE)
        out.append(tx(at(rng, rand_day(rng)), rmoney(rng, *p.get("transfer_in_range", (100, 2000)), step=10),
                      "转账转入", mask_name(who), "手机银行", rng.choice(["转账", "还款", "AA聚餐", "红包"])))
    # fixed monthly outflows
    if p.get("rent"):
        landlord = mask_name(rng.choice(PEOPLE))
        for d in monthly(p.get("rent_day", 3)):
            out.append(tx(at(rng, d, 19, 22), -money(p["rent"]), "转账转出", landlord, "手机银行", "房租"))
    if p.get("mortgage"):
        for d in monthly(p.get("mortgage_day", 20)):
            out.append(tx(at(rng, d, 5, 6), -money(p["mortgage"]), "扣费", "演练银行个人贷款中心", "系统",
                          "个人住房贷款还款"))
    if p.get("family"):
        family = p["family"]
        for d in monthly(p.get("family_day", 1)):
            out.append(tx(at(rng, d, 9, 20), -money(family["amount"]), "转账转出", family["to"],
                          p.get("family_channel", "手机银行"), family["memo"]))
    if p.get("utilities"):
        for cp, memo, lo, hi in UTILITIES[: p["utilities"]]:
            day = rng.randint(6, 26)
            for d in monthly(day):
                out.append(tx(at(rng, d, 2, 4), -rmoney(rng, lo, hi), "扣费", cp, "系统", memo))
    if p.get("sms", True):
        day = p.get("sms_day", rng.randint(1, 26))
        for d in monthly(day):
            month = d.month - 1 or 12
            out.append(tx(at(rng, d, 2, 3), Decimal("-2.00"), "短信费", BANK, "系统",
                          f"短信通知服务费（{month}月）"))
    # variable spending
    quick_pool = QUICK_POOLS[p.get("quick_pool", "general")]
    purchases = []
    for _ in range(p.get("quick", 0)):
        cp, memo, lo, hi, step = rng.choice(quick_pool)
        t = tx(at(rng, rand_day(rng), 7, 22), -rmoney(rng, lo, hi, step), "快捷支付", cp, "第三方支付", memo)
        out.append(t)
        if cp.endswith("网购平台订单"):
            purchases.append(t)
    for _ in range(p.get("pos", 0)):
        cp, memo, lo, hi = rng.choice(POS_POOLS[p.get("pos_pool", "general")])
        out.append(tx(at(rng, rand_day(rng), 9, 21), -rmoney(rng, lo, hi), "POS消费", cp, "POS", memo))
    for _ in range(p.get("atm", 0)):
        lo, hi = p.get("atm_range", (300, 2000))
        out.append(tx(at(rng, rand_day(rng), 8, 20), -rmoney(rng, lo, hi, step=100), "ATM取款",
                      f"演练银行{branch}ATM", "ATM", "ATM取款"))
    for _ in range(p.get("transfers_out", 0)):
        who = rng.choice(PEOPLE)
        out.append(tx(at(rng, rand_day(rng)), -rmoney(rng, *p.get("transfer_out_range", (100, 2000)), step=10),
                      "转账转出", mask_name(who), "手机银行", rng.choice(["转账", "还款", "聚餐AA", "借款"])))
    # refunds of earlier online purchases
    for t in purchases[: p.get("refunds", 0)]:
        when = t["at"] + timedelta(days=rng.randint(2, 6), minutes=rng.randint(5, 300))
        if when.date() < AS_OF:
            out.append(tx(when, -t["amount"], "退款", t["counterparty"], "第三方支付", "退货退款"))
    # business flows of a company owner (企业): with the employer, i.e. the own company
    for _ in range(p.get("biz_in", 0)):
        out.append(tx(at(rng, rand_day(rng), 9, 17), rmoney(rng, *p.get("biz_in_range", (20000, 150000)), step=100),
                      "转账转入", p["employer"], "手机银行", rng.choice(["往来款", "股东分红", "报销款", "往来款"])))
    for _ in range(p.get("biz_out", 0)):
        out.append(tx(at(rng, rand_day(rng), 9, 17), -rmoney(rng, *p.get("biz_out_range", (8000, 90000)), step=100),
                      "转账转出", rng.choice(SUPPLIERS), "手机银行", rng.choice(["货款", "采购款", "往来款"])))
    out.extend(p.get("fixed", []))
    if p.get("no_out_after"):
        limit = p["no_out_after"]
        out = [t for t in out if t["fixed"] or t["amount"] > 0 or t["at"] < limit]
    if p.get("no_tx_after"):
        limit = p["no_tx_after"]
        out = [t for t in out if t["fixed"] or t["at"] < limit]
    return out


def settle_account(rng: random.Random, txns: list[dict], p: dict) -> tuple[list[dict], Decimal]:
    """Sort, add the quarterly interest, and compute running balances.

    With ``p["final"]`` the running balance ends exactly there (the profile must keep it
    non-negative); otherwise the opening balance is drawn from ``p["start"]`` and raised if
    needed so the account never goes below zero.
    """
    def ordered(items):
        items = sorted(items, key=lambda t: t["at"])
        for prev, cur in pairwise(items):  # distinct times make the order unambiguous
            if cur["at"] <= prev["at"]:
                cur["at"] = prev["at"] + timedelta(minutes=1)
        return items

    txns = ordered(txns)

    def opening(items):
        if "final" in p:
            return money(p["final"]) - sum((t["amount"] for t in items), Decimal(0))
        running, low = Decimal(0), Decimal(0)
        for t in items:
            running += t["amount"]
            low = min(low, running)
        return max(rmoney(rng, *p.get("start", (1000, 20000))), -low + rmoney(rng, 50, 900))

    if p.get("interest", True) and txns and txns[0]["at"].date() < INTEREST_DAY:
        start = opening(txns)
        before = start + sum((t["amount"] for t in txns if t["at"].date() < INTEREST_DAY), Decimal(0))
        interest = money(max(before, Decimal(0)) * DEMAND_RATE * 91 / 360)
        if interest > 0:
            txns = ordered(txns + [tx(datetime(2026, 9, 21, 0, rng.randint(5, 40)), interest, "利息", BANK,
                                      "系统", "活期结息（第三季度）")])
    start = opening(txns)
    running = start
    for t in txns:
        running += t["amount"]
        if running < 0:
            raise AssertionError(f"negative balance in {p.get('where')}: {t}")
        t["balance_after"] = running
    return txns, running
