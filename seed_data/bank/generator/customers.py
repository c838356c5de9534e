"""The customer specifications: ``seed_data/bank/customers.yaml``, loaded and validated.

The file has two parts: ``presets`` (named account profiles: how much income, which fixed
outflows, how much spending) and ``customers`` (one entry per customer: identity, segment,
risk assessment, magic scenario, accounts with their profile, credit cards, wealth
holdings).  ``load_customers`` reads it and checks every entry; each problem is reported as
``customers.yaml:LINE: C004 accounts[0].profile.rent: message`` and all of them are raised
together as a :class:`SpecError`, so a trainer fixes the file in one pass.

What is refused: YAML syntax errors, unknown and duplicate keys, missing required fields,
dates that are not ``YYYY-MM-DD`` (times ``YYYY-MM-DDTHH:MM:SS``), amounts that are not
numbers (or have more than two decimals), values outside their table (products, account
kinds, statuses, regions, magic codes, channels, transaction types...), duplicate customer
ids, and combinations the builder cannot honour (an overdue card without ``overdue``, an
instalment total that does not divide into 12 periods, a 久悬 account with a spending
profile...).  The numeric and date rules the *generated* data must meet (balances, bills,
check digits) are ``verify``'s job.

The specifications come back as plain dicts with the file's keys: dates as ISO text,
transaction times as ``datetime``, amounts as ``Decimal``, ranges as ``(lo, hi)``, each
account's profile merged onto its preset, and defaults filled in where the builder reads
them directly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from sandbox.bank.labels import MAGIC_LABELS
from seed_data.bank.generator.basics import money, tx
from seed_data.bank.generator.tables import (
    ACCOUNT_KINDS,
    ACCOUNT_STATUSES,
    ACCOUNT_TYPES_IN,
    ACCOUNT_TYPES_OUT,
    CARD_CREDIT_TYPES,
    CARD_PRODUCTS,
    CARD_STATUSES,
    CARD_TYPES,
    CHANNELS,
    GENDERS,
    HOLDING_STATUSES,
    INSTALMENT_KINDS,
    PAY_MODES,
    POS_POOLS,
    PRODUCT_BY_CODE,
    QUICK_POOLS,
    REGIONS,
    RISK_LEVELS,
    SEGMENTS,
)

CUSTOMERS_FILE = Path(__file__).resolve().parents[1] / "customers.yaml"
CUSTOMER_ID = re.compile(r"^C\d{3}$")
BRANCHES = tuple(sorted({region[4] for region in REGIONS.values()}))

Path_ = tuple[str | int, ...]  # where a value sits in the file: keys and list indexes


class SpecError(ValueError):
    """customers.yaml is not valid; ``problems`` lists each one as ``file:line: where: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# ---------------------------------------------------------------------------
# YAML with line numbers
# ---------------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """SafeLoader without implicit timestamps: dates stay text and are checked here, with their line."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse(text: str, file: str) -> tuple[Any, dict[Path_, int], list[tuple[Path_, int]]]:
    """(data, line of every path, (path, line) of every repeated key); raises SpecError on a YAML syntax error."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([f"{file}{line}: YAML: {problem}"]) from None
    finally:
        loader.dispose()

    lines: dict[Path_, int] = {}
    duplicates: list[tuple[Path_, int]] = []

    def walk(node: yaml.Node, path: Path_) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                if key in seen:
                    duplicates.append((path + (key,), key_node.start_mark.line + 1))
                seen.add(key)
                lines[path + (key,)] = key_node.start_mark.line + 1
                walk(value_node, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, path + (i,))

    if root is not None:
        walk(root, ())
    return data, lines, duplicates


def _label(path: Path_) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(file)"


# ---------------------------------------------------------------------------
# Field checks
# ---------------------------------------------------------------------------

class _Checker:
    """Collects problems with their line, naming each customer by its id; the checkers below report here."""

    def __init__(self, file: str, lines: dict[Path_, int]) -> None:
        self.file = file
        self.lines = lines
        self.problems: list[tuple[int, str]] = []  # (line, message)
        self.names: dict[Path_, str] = {}  # ("customers", 3) -> "C004"

    def error(self, path: Path_, message: str, line: int | None = None) -> None:
        probe = path
        while line is None and probe:
            line = self.lines.get(probe)
            probe = probe[:-1]
        line = line or self.lines.get(()) or 1
        where = _label(path)
        for prefix, cid in self.names.items():
            if path[: len(prefix)] == prefix:
                rest = path[len(prefix):]
                where = f"{cid} {_label(rest)}" if rest else cid
        self.problems.append((line, f"{self.file}:{line}: {where}: {message}"))

    def mapping(self, value: Any, path: Path_, allowed: dict[str, Callable], required: tuple[str, ...] = ()) -> dict:
        """Check a mapping's keys and each value with its checker; returns {key: normalised value}."""
        if not isinstance(value, dict):
            self.error(path, f"must be a mapping of fields, not {_kind(value)}")
            return {}
        out: dict[str, Any] = {}
        for key in value:
            if key not in allowed:
                self.error(path + (str(key),), f"unknown key {key!r} (allowed: {', '.join(allowed)})")
        for key in required:
            if key not in value:
                self.error(path, f"missing required field {key!r}")
        for key, check in allowed.items():
            if key in value:
                out[key] = check(self, value[key], path + (key,))
        return out

    def listing(self, value: Any, path: Path_, item: Callable) -> list:
        """A list whose items each pass ``item``; null means an empty list."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(path, f"must be a list, not {_kind(value)}")
            return []
        return [item(self, v, path + (i,)) for i, v in enumerate(value)]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: f"text {value!r}", bool: f"{value!r}"}.get(
        type(value), repr(value))


def free_text(c: _Checker, value: Any, path: Path_) -> str | None:
    """Any text (empty allowed); null allowed."""
    if value is None or isinstance(value, str):
        return value
    c.error(path, f"must be text, not {_kind(value)}")
    return None


def name(c: _Checker, value: Any, path: Path_) -> str | None:
    """Non-empty text."""
    if isinstance(value, str) and value.strip():
        return value
    c.error(path, f"must be non-empty text, not {_kind(value)}")
    return None


def one_of(*choices: str) -> Callable:
    """A checker for a value from a fixed table."""
    def check(c: _Checker, value: Any, path: Path_) -> str | None:
        if isinstance(value, str) and value in choices:
            return value
        c.error(path, f"unknown value {value!r} (allowed: {', '.join(choices)})")
        return None
    return check


def a_date(c: _Checker, value: Any, path: Path_) -> str | None:
    """A date ``YYYY-MM-DD``, returned as ISO text."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError as exc:
            c.error(path, f"bad date {value!r}: {exc}")
            return None
    c.error(path, f"bad date {value!r} (write YYYY-MM-DD)")
    return None


def a_time(c: _Checker, value: Any, path: Path_) -> datetime | None:
    """A date and time ``YYYY-MM-DDTHH:MM:SS``."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", value):
        try:
            return datetime.fromisoformat(value)
        except ValueError as exc:
            c.error(path, f"bad date and time {value!r}: {exc}")
            return None
    c.error(path, f"bad date and time {value!r} (write YYYY-MM-DDTHH:MM:SS)")
    return None


def _number(c: _Checker, value: Any, path: Path_) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        quoted = isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", value)
        c.error(path, f"not a number: {_kind(value)}" + (" (write it without quotes)" if quoted else ""))
        return None
    if isinstance(value, float) and not math.isfinite(value):
        c.error(path, f"not a finite number: {value!r}")
        return None
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def amount(c: _Checker, value: Any, path: Path_) -> Decimal | None:
    """Yuan, a number with at most two decimals (``-1980.00``; negative leaves the account)."""
    number = _number(c, value, path)
    if number is not None and money(number) != number:
        c.error(path, f"amount {value!r} has more than two decimals")
        return None
    return number


def positive(c: _Checker, value: Any, path: Path_) -> Decimal | None:
    """An amount above zero."""
    number = amount(c, value, path)
    if number is not None and number <= 0:
        c.error(path, f"must be above zero, not {value!r}")
        return None
    return number


def rate(c: _Checker, value: Any, path: Path_) -> Decimal | None:
    """A fraction in [0, 1) such as ``0.0060`` (0.60 % a period)."""
    number = _number(c, value, path)
    if number is not None and not 0 <= number < 1:
        c.error(path, f"rate {value!r} must be at least 0 and below 1")
        return None
    return number


def amount_range(c: _Checker, value: Any, path: Path_) -> tuple[Decimal, Decimal] | None:
    """``[lo, hi]``: two amounts, ``0 <= lo <= hi``."""
    if not (isinstance(value, list) and len(value) == 2):
        c.error(path, f"must be a range [lo, hi], not {_kind(value)}")
        return None
    lo, hi = positive_or_zero(c, value[0], path + (0,)), positive_or_zero(c, value[1], path + (1,))
    if lo is None or hi is None:
        return None
    if lo > hi:
        c.error(path, f"range [{value[0]}, {value[1]}] runs backwards")
        return None
    return lo, hi


def positive_or_zero(c: _Checker, value: Any, path: Path_) -> Decimal | None:
    """An amount of zero or more."""
    number = amount(c, value, path)
    if number is not None and number < 0:
        c.error(path, f"must not be negative, not {value!r}")
        return None
    return number


def integer(lo: int, hi: int) -> Callable:
    """A checker for a whole number in [lo, hi]."""
    def check(c: _Checker, value: Any, path: Path_) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            c.error(path, f"must be a whole number from {lo} to {hi}, not {_kind(value)}")
            return None
        return value
    return check


def flag(c: _Checker, value: Any, path: Path_) -> bool | None:
    """true or false."""
    if isinstance(value, bool):
        return value
    c.error(path, f"must be true or false, not {_kind(value)}")
    return None


def nullable(check: Callable) -> Callable:
    """``check``, or null (for a profile field: not set, even if the preset sets it)."""
    def wrapped(c: _Checker, value: Any, path: Path_) -> Any:
        return None if value is None else check(c, value, path)
    return wrapped


COUNT = integer(0, 500)
DAY = integer(1, 28)


# ---------------------------------------------------------------------------
# Transactions, profiles, accounts, cards, holdings
# ---------------------------------------------------------------------------

def transaction(types: set[str], incoming: set[str]) -> Callable:
    """A checker for one fixed transaction of ``types`` (``incoming`` ones above zero, the others below).

    Returns the builder's transaction dict.
    """
    fields = {"at": a_time, "amount": amount, "type": one_of(*sorted(types)), "counterparty": name,
              "channel": one_of(*sorted(CHANNELS)), "memo": name}

    def check(c: _Checker, value: Any, path: Path_) -> dict | None:
        t = c.mapping(value, path, fields, required=tuple(fields))
        if len(t) != len(fields) or any(v is None for v in t.values()):
            return None
        if (t["type"] in incoming) != (t["amount"] > 0):
            c.error(path + ("amount",), f"a {t['type']} transaction must be "
                    f"{'above' if t['type'] in incoming else 'below'} zero, not {value['amount']!r}")
        return tx(t["at"], t["amount"], t["type"], t["counterparty"], t["channel"], t["memo"], fixed=True)
    return check


def family(c: _Checker, value: Any, path: Path_) -> dict | None:
    """A monthly transfer to a relative: ``{to, amount, memo}``."""
    fields = {"to": name, "amount": positive, "memo": name}
    out = c.mapping(value, path, fields, required=tuple(fields))
    return out if len(out) == len(fields) else None


PROFILE_FIELDS: dict[str, Callable] = {
    # income
    "employer": free_text, "salary": amount_range, "salary_day": DAY, "salary_memo": name,
    "pension": positive, "pension_payer": name, "pension_day": DAY,
    "transfers_in": COUNT, "transfer_in_range": amount_range,
    # fixed monthly outflows
    "rent": positive, "rent_day": DAY, "mortgage": positive, "mortgage_day": DAY,
    "family": family, "family_day": DAY, "family_channel": one_of(*sorted(CHANNELS)),
    "utilities": integer(0, 3), "sms": flag, "sms_day": DAY,
    # variable spending
    "quick": COUNT, "quick_pool": one_of(*QUICK_POOLS), "pos": COUNT, "pos_pool": one_of(*POS_POOLS),
    "atm": COUNT, "atm_range": amount_range, "transfers_out": COUNT, "transfer_out_range": amount_range,
    "refunds": COUNT,
    # a company owner's business flows (with the employer, i.e. the own company)
    "biz_in": COUNT, "biz_in_range": amount_range, "biz_out": COUNT, "biz_out_range": amount_range,
    # given transactions and limits
    "fixed": lambda c, v, p: [t for t in c.listing(v, p, transaction(ACCOUNT_TYPES_IN | ACCOUNT_TYPES_OUT,
                                                                      ACCOUNT_TYPES_IN)) if t],
    "no_out_after": a_time, "no_tx_after": a_time,
    # balance
    "final": positive_or_zero, "start": amount_range, "interest": flag, "topup": amount_range,
}


def profile_fields(c: _Checker, value: Any, path: Path_, in_preset: bool) -> dict:
    """One profile's own fields (null values kept: they clear the preset's).

    An account's profile names its ``preset``; a preset holds no transactions of its own.
    """
    allowed = {k: nullable(check) for k, check in PROFILE_FIELDS.items()}
    if in_preset:
        del allowed["fixed"]
    else:
        allowed = {"preset": name, **allowed}
    return c.mapping(value, path, allowed)


def account(presets: dict[str, dict], company: str | None) -> Callable:
    """A checker for one account: its fields and its profile merged onto the preset."""
    fields = {"kind": one_of(*ACCOUNT_KINDS), "opened": a_date, "status": one_of(*ACCOUNT_STATUSES),
              "status_memo": free_text, "branch": nullable(one_of(*BRANCHES)), "risk_events": risk_events,
              "profile": lambda c, v, p: profile_fields(c, v, p, in_preset=False)}

    def check(c: _Checker, value: Any, path: Path_) -> dict:
        a = c.mapping(value, path, fields, required=("kind", "opened", "profile"))
        own = a.get("profile") or {}
        ppath = path + ("profile",)
        profile: dict[str, Any] = {}
        preset = own.pop("preset", None)
        if preset is not None:
            if preset in presets:
                profile.update(presets[preset])
            else:
                c.error(ppath + ("preset",), f"unknown preset {preset!r} (presets: {', '.join(presets)})")
        profile.update(own)
        profile = {k: v for k, v in profile.items() if v is not None}
        if "employer" not in profile and company:
            profile["employer"] = company
        if a.get("status") == "久悬":
            if preset is not None or set(profile) - {"employer"} != {"final"}:
                c.error(ppath, "a 久悬 account has no transactions: its profile is only its balance, {final: ...}")
        else:
            if profile.get("salary") and not profile.get("employer"):
                c.error(ppath, "salary needs an employer (who pays it)")
            if (profile.get("biz_in") or profile.get("biz_out")) and not profile.get("employer"):
                c.error(ppath, "biz_in/biz_out need an employer (the own company)")
            if profile.get("pension") and not profile.get("pension_payer"):
                c.error(ppath, "pension needs a pension_payer")
            if "topup" in profile and a.get("kind") == "借记卡":
                c.error(ppath + ("topup",), "only a Ⅱ类账户 is topped up from the main debit account")
        profile["where"] = _label(path)  # named in the builder's own errors
        return {"kind": a.get("kind"), "opened": a.get("opened"), "status": a.get("status") or "正常",
                "status_memo": a.get("status_memo"), "branch": a.get("branch"),
                "risk_events": a.get("risk_events") or [], "profile": profile}
    return check


def risk_events(c: _Checker, value: Any, path: Path_) -> list[dict]:
    """Refused transfers, failed payments, new-device logins shown with an account."""
    fields = {"at": a_time, "event": name, "amount": nullable(amount), "counterparty": free_text,
              "channel": one_of(*sorted(CHANNELS)), "result": name}

    def event(c: _Checker, item: Any, p: Path_) -> dict:
        e = c.mapping(item, p, fields, required=("at", "event", "channel", "result"))
        when, value_ = e.get("at"), e.get("amount")
        return {"at": when.isoformat(timespec="seconds") if when else None, "event": e.get("event"),
                "amount": None if value_ is None else str(money(value_)), "counterparty": e.get("counterparty"),
                "channel": e.get("channel"), "result": e.get("result")}
    return c.listing(value, path, event)


def instalment(c: _Checker, value: Any, path: Path_) -> dict | None:
    """An instalment plan over 12 periods: ``{kind, total, paid_periods, rate}``."""
    fields = {"kind": one_of(*INSTALMENT_KINDS), "total": positive, "paid_periods": integer(0, 11), "rate": rate}
    out = c.mapping(value, path, fields, required=tuple(fields))
    if len(out) != len(fields) or any(v is None for v in out.values()):
        return None
    if money(out["total"] / 12) * 12 != out["total"]:
        c.error(path + ("total",), f"total {value['total']!r} does not divide into 12 equal periods to the cent")
    return out


def overdue(c: _Checker, value: Any, path: Path_) -> dict | None:
    """An unpaid previous bill: ``{prev_balance, older}`` (older: charges before the previous statement)."""
    out = c.mapping(value, path, {"prev_balance": positive, "older": integer(1, 15)}, required=("prev_balance",))
    return out if out.get("prev_balance") is not None else None


CARD_FIELDS: dict[str, Callable] = {
    "product": one_of(*CARD_PRODUCTS), "limit": positive, "statement_day": DAY, "opened": a_date,
    "status": one_of(*CARD_STATUSES), "status_memo": free_text,
    "amount": positive, "prev": amount_range, "spend": amount_range, "n": integer(0, 15),
    "pay": one_of(*PAY_MODES), "unbilled": integer(0, 5), "autopay": flag, "linked": flag,
    "fixed": lambda c, v, p: [t for t in c.listing(v, p, transaction(CARD_TYPES, CARD_CREDIT_TYPES)) if t],
    "instalments": lambda c, v, p: [i for i in c.listing(v, p, instalment) if i],
    "overdue": overdue, "charges_until": a_date,
}


def card(c: _Checker, value: Any, path: Path_) -> dict:
    """One credit card (keys as in the file, checked)."""
    out = c.mapping(value, path, CARD_FIELDS, required=("product", "limit", "statement_day", "opened"))
    if isinstance(value, dict):
        if ("overdue" in value) != (value.get("status") == "逾期"):
            c.error(path, "a card is 逾期 exactly when it has an overdue bill (status 逾期 and overdue: {...} go together)")
        if "amount" in value and "spend" in value:
            c.error(path + ("spend",), "amount fixes the bill; spend would be ignored: give one of them")
    return {k: v for k, v in out.items() if v is not None}


def holding(c: _Checker, value: Any, path: Path_) -> dict:
    """A wealth holding: ``{product, amount, bought, status}``."""
    fields = {"product": one_of(*PRODUCT_BY_CODE), "amount": positive, "bought": a_date,
              "status": one_of(*HOLDING_STATUSES)}
    out = c.mapping(value, path, fields, required=("product", "amount", "bought"))
    out.setdefault("status", "持有中")
    return out


def summary(c: _Checker, value: Any, path: Path_) -> tuple[str, str] | None:
    """The magic customer's line in the README table: ``{special, scenario}``."""
    out = c.mapping(value, path, {"special": name, "scenario": name}, required=("special", "scenario"))
    return (out["special"], out["scenario"]) if out.get("special") and out.get("scenario") else None


def region(c: _Checker, value: Any, path: Path_) -> str | None:
    """A six-digit region code of the REGIONS table (written with or without quotes)."""
    code = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if isinstance(code, str) and code in REGIONS:
        return code
    c.error(path, f"unknown region {value!r} (known: {', '.join(REGIONS)})")
    return None


def customer(presets: dict[str, dict], seen: dict[str, int]) -> Callable:
    """A checker for one customer entry."""
    def check(c: _Checker, value: Any, path: Path_) -> dict:
        cid = value.get("id") if isinstance(value, dict) else None
        if isinstance(cid, str):
            c.names[path] = cid
        company = value.get("company") if isinstance(value, dict) and isinstance(value.get("company"), str) else None
        fields = {
            "id": name, "name": name, "gender": one_of(*GENDERS), "birth": a_date, "region": region,
            "home": region, "segment": one_of(*SEGMENTS), "company": free_text, "risk_level": one_of(*RISK_LEVELS),
            "risk_assessed": a_date, "magic": nullable(one_of(*MAGIC_LABELS)), "force_x": flag,
            "caller_name": name, "summary": summary, "note": free_text,
            "accounts": lambda c, v, p: c.listing(v, p, account(presets, company)),
            "cards": lambda c, v, p: c.listing(v, p, card),
            "holdings": lambda c, v, p: c.listing(v, p, holding),
        }
        out = c.mapping(value, path, fields,
                        required=("id", "name", "gender", "birth", "region", "segment", "risk_level", "risk_assessed"))
        if not isinstance(value, dict):
            return out
        if "id" in value:
            if not (isinstance(cid, str) and CUSTOMER_ID.match(cid)):
                c.error(path + ("id",), f"customer id {cid!r} must be C and three digits (C001)")
            elif cid in seen:
                c.error(path + ("id",), f"duplicate customer id {cid} (first at line {seen[cid]})")
            else:
                seen[cid] = c.lines.get(path + ("id",), 0)
        magic = value.get("magic")
        if magic and "summary" not in value:
            c.error(path, "a magic customer needs its README line, summary: {special: ..., scenario: ...}")
        if not magic and "summary" in value:
            c.error(path + ("summary",), "only magic customers have a README line")
        if (magic == "id_mismatch") != ("caller_name" in value):
            c.error(path, "caller_name (the wrong name the caller gives) goes with magic id_mismatch, and only there")
        out.setdefault("home", out.get("region"))
        for key in ("company", "magic", "caller_name", "summary", "note"):
            out.setdefault(key, None)
        out.setdefault("force_x", False)
        for key in ("accounts", "cards", "holdings"):
            out.setdefault(key, [])
        return out
    return check


# ---------------------------------------------------------------------------
# The file
# ---------------------------------------------------------------------------

def parse_customers(text: str, file: str = "customers.yaml") -> list[dict]:
    """The validated customer specifications of one customers.yaml text; raises SpecError listing every problem."""
    data, lines, duplicates = _parse(text, file)
    c = _Checker(file, lines)
    if not isinstance(data, dict):
        raise SpecError([f"{file}:1: (file): must be a mapping with presets and customers"])
    for key in data:
        if key not in ("presets", "customers"):
            c.error((str(key),), f"unknown key {key!r} (allowed: presets, customers)")
    presets: dict[str, dict] = {}
    raw_presets = data.get("presets") or {}
    if not isinstance(raw_presets, dict):
        c.error(("presets",), f"must be a mapping of preset names to profiles, not {_kind(raw_presets)}")
        raw_presets = {}
    for preset_name, fields in raw_presets.items():
        presets[str(preset_name)] = profile_fields(c, fields, ("presets", str(preset_name)), in_preset=True)
    if not data.get("customers"):
        c.error(("customers",) if "customers" in data else (), "missing required field 'customers' (a list)")
    seen: dict[str, int] = {}
    customers = c.listing(data.get("customers"), ("customers",), customer(presets, seen))
    for path, line in duplicates:
        c.error(path, f"duplicate key {path[-1]!r} (the later value would silently win)", line=line)
    if c.problems:
        raise SpecError([message for _, message in sorted(c.problems, key=lambda p: p[0])])
    return customers


def load_customers(path: Path | None = None) -> list[dict]:
    """The validated customer specifications of ``path`` (``CUSTOMERS_FILE``, customers.yaml, by default)."""
    path = path or CUSTOMERS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    return parse_customers(text, path.name)
