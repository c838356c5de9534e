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
    """Named facts of a seed customer for templates and checks: name, id_last6, bill_amount, ..."""
    return record_facts(customer_record(customer_id), extra)


def record_facts(c: dict[str, Any], extra: dict[str, str] | None = None) -> dict[str, str]:
    """Named facts of a customer record (the seed's shape): identity, first card's bill, first account."""
    facts = {"name": c["name"], "id_last6": c["id_number"][-6:], "phone_last4": c["phone"][-4:],
             "segment": c.get("segment", ""), "risk_level": c.get("risk_level", "")}
    facts.update(identity_variants(c["name"], c.get("gender") or "", c["id_number"], c["phone"]))
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


# --------------------------------------------------------------------------- identity variants

# Surnames a listener (or a recogniser) confuses: southern h/w and f/h, n/l, ch/c, in/ing, tones.
SURNAME_CONFUSIONS = {
    "黄": "王", "王": "黄", "胡": "吴", "吴": "胡", "刘": "牛", "林": "凌", "陈": "程", "程": "陈", "张": "章",
    "章": "张", "李": "黎", "周": "邹", "郑": "曾", "何": "贺", "马": "麻", "孙": "宋", "杨": "阳", "赵": "曹",
    "徐": "许", "许": "徐", "朱": "祝", "高": "郜", "罗": "骆", "郭": "国", "梁": "廖", "宋": "孙", "谢": "薛",
    "韩": "杭", "唐": "汤", "冯": "方", "于": "余", "董": "邓", "曹": "赵", "彭": "庞", "曾": "郑", "萧": "肖",
    "田": "陈", "邓": "董", "叶": "夜", "吕": "李", "蒋": "姜", "沈": "孙", "潘": "庞", "丁": "邓", "江": "姜",
    "苏": "舒", "卢": "鲁", "钟": "宗", "汪": "王", "方": "房", "石": "史", "贺": "何", "姚": "尧", "邹": "周",
}
# Characters of given names typed wrongly with a pinyin input method (same syllable).
GIVEN_NAME_HOMOPHONES = {
    "晓": "小", "小": "晓", "雯": "文", "文": "雯", "婷": "亭", "伟": "卫", "卫": "伟", "丽": "莉", "莉": "丽",
    "静": "靜", "敏": "民", "娜": "纳", "芳": "方", "军": "君", "明": "鸣", "鸣": "明", "华": "化", "强": "墙",
    "磊": "垒", "洋": "阳", "阳": "洋", "帆": "凡", "凡": "帆", "超": "朝", "涛": "滔", "杰": "洁", "洁": "杰",
    "俊": "骏", "霞": "侠", "燕": "艳", "艳": "燕", "红": "虹", "虹": "红", "玲": "铃", "琳": "林", "林": "琳",
    "梅": "玫", "兰": "岚", "秀": "绣", "英": "莹", "桂": "贵", "淑": "书", "建": "健", "健": "建", "平": "萍",
    "萍": "平", "国": "果", "栋": "东", "东": "冬", "冬": "东", "海": "凯", "波": "博", "博": "波", "雪": "学",
    "欣": "心", "怡": "仪", "仪": "怡", "思": "丝", "远": "源", "源": "远", "一": "依", "佳": "嘉", "嘉": "佳",
    "晨": "辰", "辰": "晨", "翔": "祥", "祥": "翔", "凯": "楷", "诺": "娜", "斌": "彬", "彬": "斌", "宇": "雨",
    "雨": "宇", "浩": "豪", "豪": "浩", "鹏": "朋", "婉": "宛", "琴": "勤", "雅": "亚", "美": "梅", "娟": "鹃",
    "敬": "静", "志": "智", "智": "志", "峰": "锋", "锋": "峰", "刚": "钢", "勇": "永", "永": "勇", "丹": "单",
    "慧": "惠", "惠": "慧", "倩": "茜", "颖": "影", "晶": "京", "宁": "凝", "芬": "分", "玉": "宇", "珍": "真",
    "真": "珍", "荣": "容", "容": "荣", "蓉": "容", "成": "诚", "诚": "成", "立": "力", "力": "立", "新": "欣",
    "春": "纯", "秋": "丘", "安": "岸", "亮": "量", "辉": "挥", "涵": "含",
}
_CN_SPOKEN = dict(zip("0123456789Xx", "零一二三四五六七八九叉叉", strict=True))


def identity_variants(name: str, gender: str, id_number: str, phone: str) -> dict[str, str]:
    """Facts derived from an identity, for scenarios whose caller gets it wrong or is misheard.

    ``surname``, ``given_name``, ``title`` (先生/女士), ``honorific`` (林先生), ``name_typo``
    (a given-name character typed as its homophone), ``name_misheard`` (the surname heard as a
    confusable one), ``phone_last4_wrong`` (the last two digits swapped), ``id_last6_spoken``
    (the digits in Chinese), ``id_last6_dropped`` (one digit lost by the recogniser).
    """
    surname, given = (name[:1], name[1:]) if name else ("", "")
    title = "先生" if gender == "男" else "女士"
    typo = given
    for i, ch in enumerate(given):
        if GIVEN_NAME_HOMOPHONES.get(ch):
            typo = given[:i] + GIVEN_NAME_HOMOPHONES[ch] + given[i + 1:]
            break
    if typo == given and given:
        # No known homophone: the common slip of typing the last character twice.
        typo = given[:-1] + given[-1] * 2 if len(given) == 1 else given[0] + given[0]
    tail4 = phone[-4:]
    wrong = tail4[:2] + tail4[3] + tail4[2] if tail4[2] != tail4[3] else tail4[:3] + str((int(tail4[3]) + 1) % 10)
    last6 = id_number[-6:]
    return {"surname": surname, "given_name": given, "title": title, "honorific": surname + title,
            "name_typo": surname + typo,
            "name_misheard": SURNAME_CONFUSIONS.get(surname, "王" if surname != "王" else "黄") + given,
            "phone_last4_wrong": wrong, "id_last6_spoken": "".join(_CN_SPOKEN.get(ch, ch) for ch in last6),
            "id_last6_dropped": last6[:4] + last6[5:]}


IDENTITY_VARIANT_FACTS = frozenset({"surname", "given_name", "title", "honorific", "name_typo", "name_misheard",
                                    "phone_last4_wrong", "id_last6_spoken", "id_last6_dropped"})


# --------------------------------------------------------------------------- customer pools

POOL_FEATURES = {
    "credit_card": "有信用卡", "bill": "信用卡本期有待还账单", "debit_account": "有借记账户",
    "holdings": "持有理财产品", "company": "企业主（有公司）", "two_accounts": "有两个及以上账户",
    "ordinary": "普通客户（没有特殊剧情）",
}
POOL_KEYS = ("segment", "magic", "gender", "has")


def _features(c: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    cards = c.get("credit_cards") or []
    if cards:
        out.add("credit_card")
        bill = cards[0].get("bill") or {}
        try:
            if Decimal(str(bill.get("amount") or "0")) > 0:
                out.add("bill")
        except InvalidOperation:
            pass
    accounts = c.get("accounts") or []
    if any(a.get("kind") == "借记卡" for a in accounts):
        out.add("debit_account")
    if len(accounts) >= 2:
        out.add("two_accounts")
    if c.get("holdings"):
        out.add("holdings")
    if c.get("company"):
        out.add("company")
    if not c.get("magic"):
        out.add("ordinary")
    return out


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def pool_members(pool: dict[str, Any], records: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """Ids of the customers a pool matches, sorted (``segment``/``magic``/``gender``: any of the
    listed values; ``has``: every listed feature of ``POOL_FEATURES``)."""
    records = _seed_customers() if records is None else records
    out = []
    for cid, c in sorted(records.items()):
        if "segment" in pool and c.get("segment") not in _as_list(pool["segment"]):
            continue
        if "magic" in pool and (c.get("magic") or "") not in _as_list(pool["magic"]):
            continue
        if "gender" in pool and c.get("gender") not in _as_list(pool["gender"]):
            continue
        if "has" in pool and not set(_as_list(pool["has"])) <= _features(c):
            continue
        out.append(cid)
    return out


def seed_records() -> dict[str, dict[str, Any]]:
    """Every seed customer record by id (read-only; for validation and pools)."""
    return _seed_customers()


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
