"""The self-check of a generated data set (``generate.py --check``), one named check per rule.

``verify(data)`` runs every check on the JSON data (as read back from customers.json) and
returns the problems found (empty when fine) and the totals.  The checks do not trust the
generator: they recompute check digits, running balances, bills and risk matches from the
data alone, and assert the facts the scenario writers rely on (the ``MAGIC`` customers).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

from sandbox.bank.masking import id_number_valid, luhn_valid
from seed_data.bank.generator.basics import (
    AS_OF_CUTOFF_HOUR,
    BANK,
    CREDIT_PREFIX,
    DEBIT_PREFIX,
    DUE_DAY_OFFSET,
    add_years,
    iso,
    money,
    statement_dates,
)
from seed_data.bank.generator.tables import (
    ACCOUNT_KINDS,
    ACCOUNT_STATUSES,
    ACCOUNT_TYPES_IN,
    ACCOUNT_TYPES_OUT,
    CARD_CHARGE_TYPES,
    CARD_CREDIT_TYPES,
    CARD_FEE_TYPES,
    CARD_STATUSES,
    CARD_TYPES,
    CHANNELS,
    GENDERS,
    HOLDING_STATUSES,
    INSTALMENT_KINDS,
    PRODUCTS,
    REGIONS,
    RISK_LEVELS,
    SEGMENTS,
)

MONEY_RE = re.compile(r"^-?\d+\.\d{2}$")
# The magic customers the scenarios are written against (customer id -> magic code).
MAGIC = {"C001": "cc_bill", "C002": "wealth", "C003": "balance_drop", "C004": "elderly_transfer",
         "C005": "angry_human", "C006": "lost_debit", "C007": "complaint", "C008": "fraud_target",
         "C009": "corporate", "C010": "voice", "C011": "suggestion", "C012": "id_mismatch",
         "C013": "frozen_account", "C014": "overdue_card", "C015": "lost_card_reported", "C016": "dormant",
         "C017": "risk_mismatch"}
RISK_MISMATCH_CUSTOMER = "C017"  # the one customer allowed to hold a product above its risk level

D = Decimal


def verify(data: dict) -> tuple[list[str], dict]:
    """All problems found in ``data`` (empty when fine) and the totals."""
    checker = _Verifier(data)
    checker.check_top_level()
    for c in data["customers"]:
        checker.check_identity(c)
        checker.check_accounts(c)
        checker.check_cards(c)
        checker.check_holdings(c)
    checker.check_magic_facts()
    return checker.errors, checker.totals


class _Verifier:
    """The state the checks share: errors, totals, and the numbers and ids seen so far."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.errors: list[str] = []
        self.as_of = date.fromisoformat(data["as_of"])
        self.window_start = self.as_of - timedelta(days=90)
        self.risk_of = {p["code"]: int(p["risk"][1]) for p in data["products"]}
        self.min_of = {p["code"]: D(p["min_amount"]) for p in data["products"]}
        self.numbers: set[str] = set()
        self.phones: set[str] = set()
        self.tx_ids: set[str] = set()
        self.totals = {"customers": len(data["customers"]), "accounts": 0, "credit_cards": 0,
                       "account_transactions": 0, "card_transactions": 0, "holdings": 0, "id_numbers_with_X": 0}

    def err(self, message: str) -> None:
        self.errors.append(message)

    def is_money(self, v, where: str) -> bool:
        """Whether ``v`` is a two-decimal money string (reports it when not)."""
        if not (isinstance(v, str) and MONEY_RE.match(v)):
            self.err(f"{where}: bad money {v!r}")
            return False
        return True

    # -- top level -----------------------------------------------------------------------

    def check_top_level(self) -> None:
        """The bank and products are the fixed ones; customer ids run C001.. with at least 44."""
        data = self.data
        if data.get("bank") != BANK or data["products"] != PRODUCTS:
            self.err("top level: bank or products differ from the brief")
        ids = [c["id"] for c in data["customers"]]
        if ids != [f"C{i:03d}" for i in range(1, len(ids) + 1)] or len(ids) < 44:
            self.err("customer ids must run C001.. with at least 44 customers")

    # -- one customer ----------------------------------------------------------------------

    def check_identity(self, c: dict) -> None:
        """ID number (check digit, region, birth date, gender parity), phone, segment, risk, magic."""
        err, cid = self.err, c["id"]
        idn, birth = c["id_number"], date.fromisoformat(c["birth_date"])
        if not id_number_valid(idn):
            err(f"{cid}: ID check digit invalid")
        if idn[:6] not in REGIONS:
            err(f"{cid}: unknown region code {idn[:6]}")
        if idn[6:14] != birth.strftime("%Y%m%d"):
            err(f"{cid}: birth date in ID differs from birth_date")
        if (int(idn[16]) % 2 == 1) != (c["gender"] == "男") or c["gender"] not in GENDERS:
            err(f"{cid}: gender parity")
        self.totals["id_numbers_with_X"] += idn.endswith("X")
        if add_years(birth, 18) > self.as_of:
            err(f"{cid}: under 18")
        if not re.fullmatch(r"1(3\d|5\d|8\d|9\d)\d{8}", c["phone"]) or c["phone"] in self.phones:
            err(f"{cid}: phone invalid or duplicate")
        self.phones.add(c["phone"])
        seg = c["segment"]
        if seg not in SEGMENTS:
            err(f"{cid}: segment {seg}")
        if (seg == "老年") != (birth.year <= 1961):
            err(f"{cid}: 老年 must mean born 1961 or earlier")
        if seg == "青年" and birth.year < 1990:
            err(f"{cid}: 青年 born {birth.year}")
        if (seg == "企业") != bool(c.get("company")):
            err(f"{cid}: company only and always for 企业")
        if c["risk_level"] not in RISK_LEVELS:
            err(f"{cid}: risk level")
        if date.fromisoformat(c["risk_expires"]) <= date.fromisoformat(c["risk_assessed"]):
            err(f"{cid}: risk dates")
        if c["magic"] != MAGIC.get(cid):
            err(f"{cid}: magic {c['magic']!r}, expected {MAGIC.get(cid)!r}")
        if not c["examiner_note"] or not c["address"] or not c["name"]:
            err(f"{cid}: empty name/address/note")

    def check_accounts(self, c: dict) -> None:
        """At most three accounts, each valid; several I类 accounts only from before 2016-12-01."""
        cid = c["id"]
        if not 0 <= len(c["accounts"]) <= 3:
            self.err(f"{cid}: {len(c['accounts'])} accounts")
        for a in c["accounts"]:
            self.check_account(cid, a)
        type1 = [a["opened"] for a in c["accounts"] if a["kind"] == "借记卡"]
        if len(type1) > 1 and sum(o >= "2016-12-01" for o in type1) > 0:
            self.err(f"{cid}: several I类 accounts, one opened after the 2016-12-01 one-account rule")

    def check_account(self, cid: str, a: dict) -> None:
        """Number (Luhn, prefix, unique), kind, status, branch, balance, then the transactions."""
        err = self.err
        self.totals["accounts"] += 1
        n = a["number"]
        where = f"{cid} account {n[-4:]}"
        if not (len(n) == 19 and n.startswith(DEBIT_PREFIX) and luhn_valid(n)) or n in self.numbers:
            err(f"{where}: number invalid or duplicate")
        self.numbers.add(n)
        if a["kind"] not in ACCOUNT_KINDS or a["status"] not in ACCOUNT_STATUSES:
            err(f"{where}: kind/status")
        if a["currency"] != "CNY" or not a["branch"].startswith("演练银行") or not a["branch"].endswith("支行"):
            err(f"{where}: currency/branch")
        if a["kind"] == "Ⅱ类账户" and any(t["type"] in ("ATM取款", "POS消费") for t in a["transactions"]):
            err(f"{where}: a Ⅱ类账户 has no physical card (no ATM/POS)")
        if not self.is_money(a["balance"], where) or D(a["balance"]) < 0:
            return
        if a["status"] == "久悬" and a["transactions"]:
            err(f"{where}: dormant account with transactions")
        self.check_account_transactions(where, a)

    def check_account_transactions(self, where: str, a: dict) -> None:
        """Inside the window, before the drill morning, sorted, signs and types right, balances running to ``balance``."""
        err = self.err
        prev_at, running = None, None
        for t in a["transactions"]:
            self.totals["account_transactions"] += 1
            if t["id"] in self.tx_ids or not t["id"].startswith("T"):
                err(f"{where}: transaction id {t['id']}")
            self.tx_ids.add(t["id"])
            when = datetime.fromisoformat(t["at"])
            if not self.window_start <= when.date() <= self.as_of:
                err(f"{where}: {t['id']} outside the 90-day window")
            if when.date() == self.as_of and when.hour >= AS_OF_CUTOFF_HOUR:
                err(f"{where}: {t['id']} later than the drill morning of the as-of date")
            if prev_at and when <= prev_at:
                err(f"{where}: not sorted by time at {t['id']}")
            prev_at = when
            if not (self.is_money(t["amount"], where) and self.is_money(t["balance_after"], where)):
                continue
            amt, after = D(t["amount"]), D(t["balance_after"])
            if running is not None and running + amt != after:
                err(f"{where}: running balance breaks at {t['id']}")
            if running is None and after - amt < 0:
                err(f"{where}: negative opening balance")
            running = after
            if after < 0:
                err(f"{where}: negative balance at {t['id']}")
            if t["type"] in ACCOUNT_TYPES_IN and amt <= 0 or t["type"] in ACCOUNT_TYPES_OUT and amt >= 0:
                err(f"{where}: sign of {t['type']} at {t['id']}")
            if t["type"] not in ACCOUNT_TYPES_IN | ACCOUNT_TYPES_OUT or t["channel"] not in CHANNELS:
                err(f"{where}: type/channel at {t['id']}")
            if t["type"] == "短信费" and amt != D("-2.00"):
                err(f"{where}: SMS fee must be 2.00")
        if running is not None and running != D(a["balance"]):
            err(f"{where}: transactions end at {running}, balance is {a['balance']}")

    def check_cards(self, c: dict) -> None:
        """At most two credit cards, each valid."""
        if not 0 <= len(c["credit_cards"]) <= 2:
            self.err(f"{c['id']}: {len(c['credit_cards'])} cards")
        for card in c["credit_cards"]:
            self.check_card(c["id"], card)

    def check_card(self, cid: str, card: dict) -> None:
        """Number, status, bill dates and arithmetic, transactions against the bill, available, overdue, fee."""
        err = self.err
        self.totals["credit_cards"] += 1
        n = card["number"]
        where = f"{cid} card {n[-4:]}"
        if not (len(n) == 16 and n.startswith(CREDIT_PREFIX) and luhn_valid(n)) or n in self.numbers:
            err(f"{where}: number invalid or duplicate")
        self.numbers.add(n)
        if card["status"] not in CARD_STATUSES:
            err(f"{where}: status")
        sd, bill = card["statement_day"], card["bill"]
        if not (isinstance(sd, int) and 1 <= sd <= 28) or card["due_day_offset"] != DUE_DAY_OFFSET:
            err(f"{where}: statement day / offset")
            return
        stmt, prev_stmt = statement_dates(sd)
        if (bill["statement_date"], bill["period_end"], bill["period_start"], bill["due_date"]) != (
                iso(stmt), iso(stmt), iso(prev_stmt + timedelta(days=1)),
                iso(stmt + timedelta(days=DUE_DAY_OFFSET))):
            err(f"{where}: bill dates inconsistent with statement day {sd}")
        for key in ("amount", "minimum", "paid"):
            self.is_money(bill[key], f"{where} bill.{key}")
        for key in ("limit", "available"):
            self.is_money(card[key], f"{where} {key}")
        amount, paid = D(bill["amount"]), D(bill["paid"])
        self.check_bill_arithmetic(where, card)
        b = {k: D(v) for k, v in bill["breakdown"].items()}
        unbilled = self.check_card_transactions(where, card, stmt, prev_stmt, b)
        remaining = sum((D(i["remaining_principal"]) for i in card["instalments"]), D(0))
        if D(card["available"]) != D(card["limit"]) - (amount - paid) - unbilled - remaining \
                or D(card["available"]) < 0:
            err(f"{where}: available {card['available']} inconsistent")
        self.check_card_status(where, card, stmt)
        if not card["annual_fee"]["waiver_rule"] or not self.is_money(card["annual_fee"]["amount"], where):
            err(f"{where}: annual fee")

    def check_bill_arithmetic(self, where: str, card: dict) -> None:
        """minimum = 10 % + instalment principal; instalments add up; the breakdown adds up to the amount."""
        err, bill = self.err, card["bill"]
        amount, minimum, paid = D(bill["amount"]), D(bill["minimum"]), D(bill["paid"])
        inst_principal = sum((D(i["per_period"]) for i in card["instalments"]), D(0))
        inst_due = sum((D(i["per_period"]) + D(i["fee_per_period"]) for i in card["instalments"]), D(0))
        if minimum != money(amount * D("0.1")) + inst_principal:
            err(f"{where}: minimum {minimum} is not 10% of {amount} plus instalment principal")
        if not (0 <= minimum <= amount and 0 <= paid <= amount):
            err(f"{where}: minimum/paid out of range")
        for i in card["instalments"]:
            if i["kind"] not in INSTALMENT_KINDS or D(i["per_period"]) * i["periods"] != D(i["total"]) \
                    or not 0 <= i["paid_periods"] < i["periods"] or i["current_period"] != i["paid_periods"] + 1 \
                    or D(i["remaining_principal"]) != D(i["total"]) - D(i["per_period"]) * i["current_period"]:
                err(f"{where}: instalment arithmetic")
        b = {k: D(v) for k, v in bill["breakdown"].items()}
        if b["previous_balance"] - b["payments"] + b["new_charges"] + b["instalment_due"] + b["interest_fees"] \
                != amount or b["instalment_due"] != inst_due:
            err(f"{where}: bill breakdown does not add up")

    def check_card_transactions(self, where: str, card: dict, stmt: date, prev_stmt: date, b: dict) -> Decimal:
        """5–15 transactions (none when inactive), sorted, signs right; the period's charges, fees and repayments
        are the bill's.  Returns the unbilled charges (after the statement date)."""
        err = self.err
        paid = D(card["bill"]["paid"])
        txns = card["recent_transactions"]
        if card["status"] == "未激活":
            if txns or D(card["bill"]["amount"]) != 0:
                err(f"{where}: inactive card with activity")
        elif not 5 <= len(txns) <= 15:
            err(f"{where}: {len(txns)} recent transactions")
        in_period, fees_in_period, repaid_before, repaid_after, unbilled = D(0), D(0), D(0), D(0), D(0)
        prev_at = None
        for t in txns:
            self.totals["card_transactions"] += 1
            if t["id"] in self.tx_ids:
                err(f"{where}: duplicate transaction id {t['id']}")
            self.tx_ids.add(t["id"])
            when = datetime.fromisoformat(t["at"])
            if when.date() > self.as_of or (prev_at and when <= prev_at) \
                    or (when.date() == self.as_of and when.hour >= AS_OF_CUTOFF_HOUR):
                err(f"{where}: transaction time {t['at']}")
            prev_at = when
            if t["type"] not in CARD_TYPES or t["channel"] not in CHANNELS or not self.is_money(t["amount"], where):
                err(f"{where}: transaction type/channel/amount {t['id']}")
                continue
            amt, d = D(t["amount"]), when.date()
            if (t["type"] in CARD_CREDIT_TYPES) != (amt > 0):
                err(f"{where}: sign of {t['type']}")
            inside = prev_stmt < d <= stmt
            if t["type"] == "还款":
                if inside:
                    repaid_before += amt
                elif d > stmt:
                    repaid_after += amt
            elif d > stmt:
                unbilled -= amt
            elif inside and t["type"] in CARD_CHARGE_TYPES:
                in_period -= amt
            elif inside and t["type"] in CARD_FEE_TYPES:
                fees_in_period -= amt
        if card["status"] != "未激活":
            if in_period != b["new_charges"] or fees_in_period != b["interest_fees"]:
                err(f"{where}: listed charges {in_period}/{fees_in_period} differ from the bill breakdown")
            if repaid_before != b["payments"] or repaid_after != paid:
                err(f"{where}: repayments {repaid_before}/{repaid_after} differ from payments/paid")
        return unbilled

    def check_card_status(self, where: str, card: dict, stmt: date) -> None:
        """Overdue days, bill status and card status agree; an unpaid minimum after the due date is overdue."""
        bill = card["bill"]
        amount, minimum, paid = D(bill["amount"]), D(bill["minimum"]), D(bill["paid"])
        overdue = card["overdue_days"] > 0
        if overdue != (bill["status"] == "逾期") or overdue != (card["status"] == "逾期"):
            self.err(f"{where}: overdue days / bill status / card status disagree")
        if not overdue:
            if (bill["status"] == "已还清") != (paid == amount):
                self.err(f"{where}: bill status {bill['status']} with paid {paid} of {amount}")
            if stmt + timedelta(days=DUE_DAY_OFFSET) < self.as_of and paid < minimum:
                self.err(f"{where}: minimum unpaid after the due date but not overdue")

    def check_holdings(self, c: dict) -> None:
        """At most three holdings of known products, above the minimum, within the customer's risk level
        (except the deliberate mismatch) and bought while the risk assessment was valid."""
        err, cid = self.err, c["id"]
        if not 0 <= len(c["holdings"]) <= 3:
            err(f"{cid}: {len(c['holdings'])} holdings")
        level = int(c["risk_level"][1])
        for h in c["holdings"]:
            self.totals["holdings"] += 1
            code = h["product_code"]
            if code not in self.risk_of or not self.is_money(h["amount"], cid) or D(h["amount"]) < self.min_of[code]:
                err(f"{cid}: holding {code} invalid")
                continue
            if date.fromisoformat(h["bought"]) > self.as_of or h["status"] not in HOLDING_STATUSES:
                err(f"{cid}: holding {code} date/status")
            if self.risk_of[code] > level and cid != RISK_MISMATCH_CUSTOMER:
                err(f"{cid}: holds {code} (R{self.risk_of[code]}) above risk level C{level}")
            if self.risk_of[code] <= level and not c["risk_assessed"] <= h["bought"] < c["risk_expires"]:
                err(f"{cid}: {code} bought outside the risk assessment's validity")
        if cid == RISK_MISMATCH_CUSTOMER and not any(self.risk_of[h["product_code"]] > level for h in c["holdings"]):
            err(f"{RISK_MISMATCH_CUSTOMER}: the deliberate risk mismatch is missing")

    # -- the facts scenario writers rely on --------------------------------------------------

    def check_magic_facts(self) -> None:
        """The magic customers' amounts, dates and states that the scenarios quote."""
        by_id = {c["id"]: c for c in self.data["customers"]}

        def expect(cond, message):
            if not cond:
                self.err(f"magic: {message}")

        c1 = by_id["C001"]["credit_cards"][0]["bill"]
        expect((c1["amount"], c1["minimum"], c1["due_date"], c1["statement_date"]) ==
               ("8632.50", "863.25", "2026-12-15", "2026-11-25"), "C001 bill")
        c10 = by_id["C010"]["credit_cards"][0]["bill"]
        expect((c10["amount"], c10["due_date"]) == ("3086.40", "2026-12-08"), "C010 bill")
        expect(any(t["type"] == "扣费" and t["amount"] == "-1980.00" and t["at"].startswith("2026-11-26")
                   and t["counterparty"] == "某某科技会员自动续费"
                   for t in by_id["C003"]["accounts"][0]["transactions"]), "C003 deduction")
        expect(any(t["type"] == "短信费" for t in by_id["C003"]["accounts"][0]["transactions"]), "C003 SMS fee")
        expect(by_id["C004"]["birth_date"].startswith("1948") and by_id["C004"]["segment"] == "老年", "C004 elderly")
        expect(any(t["type"] == "年费" and t["amount"] == "-600.00" and t["at"].startswith("2026-11-10")
                   for t in by_id["C005"]["credit_cards"][0]["recent_transactions"]), "C005 annual fee")
        a6 = by_id["C006"]["accounts"][0]
        expect(a6["status"] == "正常" and a6["balance"] == "23450.80", "C006 debit card")
        expect(any(t["type"] == "ATM取款" and t["amount"] == "-2000.00" and t["at"].startswith("2026-11-20")
                   and "城南支行" in t["counterparty"] and "未出钞" in t["memo"]
                   for t in by_id["C007"]["accounts"][0]["transactions"]), "C007 ATM non-dispense")
        expect(370000 <= D(by_id["C008"]["accounts"][0]["balance"]) <= 390000, "C008 balance")
        expect(by_id["C009"]["segment"] == "企业"
               and any(h["product_code"] == "RY001" for h in by_id["C009"]["holdings"])
               and by_id["C009"]["risk_level"] == "C4", "C009 corporate")
        expect(by_id["C013"]["accounts"][0]["status"] == "冻结"
               and "司法冻结" in by_id["C013"]["accounts"][0]["status_memo"], "C013 frozen")
        c14 = by_id["C014"]["credit_cards"][0]
        expect(c14["status"] == "逾期" and c14["overdue_days"] == 35 and c14["bill"]["status"] == "逾期", "C014 overdue")
        expect(by_id["C015"]["accounts"][0]["status"] == "挂失", "C015 lost card")
        a16 = by_id["C016"]["accounts"][0]
        expect(a16["status"] == "久悬" and not a16["transactions"], "C016 dormant")
        c17 = by_id["C017"]
        expect(c17["risk_level"] == "C2" and c17["risk_expires"] == "2026-06-30"
               and any(h["product_code"] == "RY001" for h in c17["holdings"]), "C017 risk mismatch")
        expect(any(date.fromisoformat(c["risk_expires"]) < self.as_of for c in self.data["customers"]),
               "some risk levels expired")
