"""Facts about a contact's mock customer, and how to tell whether a reply states one.

Amounts compare as numbers (``8,632.50元`` = ``8632.5``); dates by month and day
(``12月15日`` = ``2026-12-15``); other facts as normalised text.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def normalise(text: str) -> str:
    """Width- and case-folded text without spaces, for phrase matching."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).lower()


def contains_any(text: str, phrases: list[str] | tuple[str, ...]) -> str | None:
    """The first phrase found in ``text`` (normalised), or None."""
    norm = normalise(text)
    for phrase in phrases:
        p = normalise(str(phrase))
        if p and p in norm:
            return str(phrase)
    return None


@lru_cache(maxsize=1)
def _seed_customers() -> dict[str, dict[str, Any]]:
    import seed_data

    path = Path(seed_data.__file__).parent / "bank" / "customers.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return {c["id"]: c for c in data["customers"]}


def customer_record(customer_id: str) -> dict[str, Any]:
    """The seed record of a mock customer (full data: for the engine, never for display)."""
    return _seed_customers()[customer_id]


def customer_ids() -> set[str]:
    return set(_seed_customers())


def customer_facts(customer_id: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Named facts for templates and checks: name, id_last6, bill_amount, ..."""
    c = customer_record(customer_id)
    facts = {"name": c["name"], "id_last6": c["id_number"][-6:], "phone_last4": c["phone"][-4:],
             "segment": c.get("segment", ""), "risk_level": c.get("risk_level", "")}
    cards = c.get("credit_cards") or []
    if cards:
        card = cards[0]
        bill = card.get("bill") or {}
        facts.update(card_last4=card["number"][-4:], bill_amount=bill.get("amount", ""),
                     bill_minimum=bill.get("minimum", ""), bill_due_date=bill.get("due_date", ""))
    accounts = c.get("accounts") or []
    if accounts:
        facts.update(account_last4=accounts[0]["number"][-4:], balance=accounts[0].get("balance", ""))
    for key in ("card_last4", "bill_amount", "bill_minimum", "bill_due_date", "account_last4", "balance"):
        facts.setdefault(key, "")
    facts.update(extra or {})
    return facts


# ``{fact}`` with a plain name, or the ``{{`` / ``}}`` escapes for literal braces. Nothing else is
# interpreted (no attribute, index, conversion or format spec, unlike ``str.format``).
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fill(template: str, facts: dict[str, str]) -> str:
    """Fill plain ``{name}`` placeholders; unknown names and anything else are left as written."""

    def _one(m: re.Match) -> str:
        token = m.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = m.group(1)
        return str(facts[name]) if name in facts else token

    return PLACEHOLDER.sub(_one, template)


# --------------------------------------------------------------------------- stating facts

_AMOUNT_RE = re.compile(r"\d[\d,，]*(?:\.\d+)?")
_FULL_DATE_RE = re.compile(r"(\d{4})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})")
_MD_RE = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")


def _amounts(text: str) -> set[Decimal]:
    found = set()
    for m in _AMOUNT_RE.finditer(unicodedata.normalize("NFKC", text)):
        raw = m.group().replace(",", "").replace("，", "")
        try:
            found.add(Decimal(raw))
        except InvalidOperation:
            continue
    return found


def _month_days(text: str) -> set[tuple[int, int]]:
    text = unicodedata.normalize("NFKC", text)
    found = {(int(m.group(2)), int(m.group(3))) for m in _FULL_DATE_RE.finditer(text)}
    found |= {(int(m.group(1)), int(m.group(2))) for m in _MD_RE.finditer(text)}
    return found


def states_fact(text: str, value: str) -> bool:
    """True when ``text`` states ``value`` (an amount, a date or a word)."""
    value = (value or "").strip()
    if not value:
        return False
    try:
        d = date.fromisoformat(value)
    except ValueError:
        d = None
    if d is not None:
        return (d.month, d.day) in _month_days(text)
    if re.fullmatch(r"-?\d+(?:\.\d+)?", value):
        return abs(Decimal(value)) in _amounts(text)
    return normalise(value) in normalise(text)
