"""The fixed "as of" date, the bank's constants, and the money and date helpers every part uses.

Everything is computed relative to ``AS_OF``; the current date is never read.  Money is a
``Decimal`` rounded half up to the cent while building and a two-decimal string in the JSON.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

AS_OF = date(2026, 11, 28)
WINDOW_START = AS_OF - timedelta(days=90)  # 2026-08-30
SEED = "yanlian-bank-2026-11-28"
BANK = "演练银行"
DEBIT_PREFIX = "990001"
CREDIT_PREFIX = "990002"
CENT = Decimal("0.01")
DUE_DAY_OFFSET = 20
DEMAND_RATE = Decimal("0.0005")  # 活期 0.05 % a year
INTEREST_DAY = date(2026, 9, 21)  # quarterly interest credited on the 21st of Mar/Jun/Sep/Dec
# Transactions on the as-of date itself all happen before 09:00 (the drills run later that day).
AS_OF_CUTOFF_HOUR = 9


# ---------------------------------------------------------------------------
# Number helpers
# ---------------------------------------------------------------------------

def money(value) -> Decimal:
    """``value`` as a Decimal rounded half up to the cent."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def fmt(value) -> str:
    """Money as the JSON string form ``"-1234.50"``."""
    q = money(value)
    return str(q if q != 0 else Decimal("0.00"))


def rmoney(rng: random.Random, lo, hi, step=None) -> Decimal:
    """A random amount in [lo, hi]; multiples of ``step`` yuan when given, else any cent."""
    if step:
        step = Decimal(str(step))
        n_lo = int(-(-Decimal(str(lo)) // step))
        n_hi = int(Decimal(str(hi)) // step)
        return money(step * rng.randint(n_lo, n_hi))
    return money(Decimal(rng.randint(int(Decimal(str(lo)) * 100), int(Decimal(str(hi)) * 100))) / 100)


def iso(d: date) -> str:
    """A date (or datetime) in ISO form."""
    return d.isoformat()


# ---------------------------------------------------------------------------
# Date helpers
# ---------------------------------------------------------------------------

def monthly(day: int) -> list[date]:
    """Dates with the given day of month inside the 90-day window."""
    out = []
    for y, m in ((2026, 8), (2026, 9), (2026, 10), (2026, 11)):
        try:
            d = date(y, m, day)
        except ValueError:
            continue
        if WINDOW_START <= d <= AS_OF:
            out.append(d)
    return out


def rand_day(rng: random.Random, start: date = WINDOW_START, end: date = AS_OF) -> date:
    """A random day in [start, end]."""
    return start + timedelta(days=rng.randint(0, (end - start).days))


def at(rng: random.Random, d: date, h0: int = 8, h1: int = 21) -> datetime:
    """A time on day ``d`` between ``h0``:00 and ``h1``:59 (before 09:00 on the as-of date)."""
    if d == AS_OF:
        h1 = min(h1, AS_OF_CUTOFF_HOUR - 1)
        h0 = min(h0, h1)
    return datetime(d.year, d.month, d.day, rng.randint(h0, h1), rng.randint(0, 59))


def statement_dates(sd: int) -> tuple[date, date]:
    """(latest statement date on or before AS_OF, the one before it) for statement day ``sd``."""
    y, m = AS_OF.year, AS_OF.month
    cur = date(y, m, sd)
    if cur > AS_OF:
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        cur = date(y, m, sd)
    py, pm = (cur.year, cur.month - 1) if cur.month > 1 else (cur.year - 1, 12)
    return cur, date(py, pm, sd)


def add_years(d: date, years: int) -> date:
    """``d`` moved by whole years (29 February becomes 28 February)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def tx(when: datetime, amount, ttype: str, counterparty: str, channel: str, memo: str,
       fixed: bool = False) -> dict:
    """A transaction while building (Decimal amount, datetime ``at``); ``fixed`` ones survive the profile's filters."""
    return {"at": when, "amount": money(amount), "type": ttype, "counterparty": counterparty,
            "channel": channel, "memo": memo, "fixed": fixed}
