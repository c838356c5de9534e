"""Fresh identities: every drill contact talks to a customer of its own.

A scenario names a template customer (or a pool of them) from the seed file; at drill start
``fresh_record`` copies the template with a new name of the same gender, a new ID number
born in the same year (valid GB 11643 check character, the gender digit kept right), a new
mobile number and new card and account numbers (same prefixes, valid Luhn digit). Balances,
bills, transactions and holdings stay as they are, so the story still holds; what a candidate
memorised from an earlier drill (name, ID tail, phone tail) does not.

The copy is drawn from a ``random.Random`` the caller seeds (the drill id and contact key),
so a drill's customer can be reproduced; numbers already taken are drawn again.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sandbox.bank.masking import id_check_digit, luhn_check_digit

# Common surnames (each has a confusable one in sandbox.drill.facts.SURNAME_CONFUSIONS).
SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高",
            "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "萧", "田", "董", "潘",
            "袁", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔",
            "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏", "韦", "付", "方", "白", "邹", "孟", "熊", "秦",
            "邱", "江", "尹", "薛", "闫", "段", "雷", "侯", "龙", "史", "陶", "黎", "贺", "顾", "毛", "郝", "龚", "邵")
# Given names by gender and by generation (born before 1970, or later).
GIVEN_NAMES = {
    ("男", "older"): ("建国", "建华", "国强", "志刚", "卫东", "德明", "振华", "海涛", "永康", "文斌", "立新", "春生",
                     "长青", "建军", "国庆", "秀山", "保国", "庆华", "明德", "玉成", "金海", "树林", "宝山", "志远"),
    ("女", "older"): ("秀英", "桂芳", "玉兰", "淑珍", "凤英", "秀兰", "桂英", "丽华", "美华", "翠华", "素芬", "玉梅",
                     "秀珍", "淑华", "桂兰", "丽娟", "慧敏", "金凤", "雪梅", "月娥", "春梅", "爱华", "秀云", "玉珍"),
    ("男", "younger"): ("思远", "一鸣", "子轩", "浩然", "宇航", "俊杰", "晨阳", "嘉豪", "天佑", "博文", "明轩", "志豪",
                       "昊天", "凯文", "睿哲", "梓航", "文博", "鹏飞", "晓东", "家豪", "伟", "磊", "洋", "超", "鑫"),
    ("女", "younger"): ("欣怡", "雨萱", "梓涵", "思琪", "佳怡", "诗涵", "晓雯", "婷婷", "雅琪", "若曦", "可欣", "一诺",
                       "梦瑶", "静怡", "紫萱", "晓彤", "雪莹", "嘉怡", "语嫣", "丽", "娜", "敏", "静", "婷"),
}
# Six-digit administrative codes of city districts (real codes, fictitious people).
REGIONS = ("110105", "110108", "310104", "310115", "320102", "320506", "330106", "330212", "340104", "350203",
           "360102", "370202", "410105", "420106", "430104", "440106", "440304", "440606", "450103", "500103",
           "510107", "520102", "530102", "610113", "210102", "220104", "230103", "130104", "140105", "620102")
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
                   "156", "157", "158", "159", "166", "173", "176", "177", "178", "180", "181", "182", "183", "185",
                   "186", "187", "188", "189", "191", "193", "195", "198", "199")
MAX_DRAWS = 50


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def fresh_name(rng: random.Random, gender: str, birth_year: int, avoid: str = "") -> str:
    """A plausible Chinese name for the gender and generation, different from ``avoid``."""
    generation = "older" if birth_year < 1970 else "younger"
    pool = GIVEN_NAMES[("女" if gender == "女" else "男", generation)]
    for _ in range(MAX_DRAWS):
        name = rng.choice(SURNAMES) + rng.choice(pool)
        if name != avoid and name[:1] != avoid[:1]:
            return name
    return name


def fresh_id_number(rng: random.Random, birth: date, gender: str) -> str:
    """An 18-digit resident ID number: district, birth date, sequence (odd for men), check character."""
    order = _digits(rng, 2) + rng.choice("13579" if gender != "女" else "02468")
    first17 = rng.choice(REGIONS) + birth.strftime("%Y%m%d") + order
    return first17 + id_check_digit(first17)


def fresh_card_number(rng: random.Random, template: str) -> str:
    """A number of the template's length and six-digit prefix with a valid Luhn digit."""
    body = template[:6] + _digits(rng, len(template) - 7)
    return body + luhn_check_digit(body)


Drawn = tuple[str, str]  # (kind, value): ("id_number", …), ("account", …) or ("card", …)


def fresh_record(template: dict[str, Any], code: str, rng: random.Random,
                 taken: Callable[[list[Drawn]], set[Drawn]] = lambda drawn: set()) -> dict[str, Any]:
    """A copy of a seed customer record with a fresh identity and fresh numbers.

    ``taken(drawn)`` says which of the drawn ``(kind, value)`` pairs (an ``id_number``, an
    ``account`` or a ``card`` number) are already used: it is asked once for the whole record
    (one query at a drill start), and again only for numbers drawn anew after a clash. Every
    mention of the old name, ID number, phone and numbers in the record (transactions, the
    examiner's note) is replaced by the new one.
    """
    old_birth = date.fromisoformat(template["birth_date"])
    gender = template.get("gender") or "男"
    # Same year (so the customer stays in the same age group), another day.
    start = date(old_birth.year, 1, 1)
    days = 365 if old_birth.year % 4 else 366

    def draw_id() -> tuple[date, str]:
        birth = start + timedelta(days=rng.randrange(days))
        return birth, fresh_id_number(rng, birth, gender)

    name = fresh_name(rng, gender, old_birth.year, template["name"])
    birth, id_number = draw_id()
    phone = rng.choice(MOBILE_PREFIXES) + _digits(rng, 8)
    numbers: dict[str, Drawn] = {}  # the template's number -> the fresh one

    def draw_number(old: str, kind: str) -> Drawn:
        used = {id_number, phone} | {value for _, value in numbers.values()}
        for _ in range(MAX_DRAWS):
            number = fresh_card_number(rng, old)
            if number not in used:
                break
        return kind, number

    for kind, items in (("account", template.get("accounts") or []), ("card", template.get("credit_cards") or [])):
        for item in items:
            numbers[item["number"]] = draw_number(item["number"], kind)
    for _ in range(MAX_DRAWS):
        clashes = taken([("id_number", id_number), *numbers.values()])
        if not clashes:
            break
        if ("id_number", id_number) in clashes:
            birth, id_number = draw_id()
        for old, drawn in list(numbers.items()):
            if drawn in clashes:
                numbers[old] = draw_number(old, drawn[0])
    replacements: dict[str, str] = {template["name"]: name, template["id_number"]: id_number, template["phone"]: phone}
    replacements.update({old: value for old, (_, value) in numbers.items()})
    text = json.dumps(template, ensure_ascii=False)
    for old, new in sorted(replacements.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(old, new)
    record: dict[str, Any] = json.loads(text)
    record["id"] = code
    record["birth_date"] = birth.isoformat()
    record["examiner_note"] = _note(template, record, name)
    return record


def _note(template: dict[str, Any], record: dict[str, Any], name: str) -> str:
    """The examiner's note with the new identity's tails and form of address."""
    note = str(record.get("examiner_note") or "")
    title = "女士" if (template.get("gender") or "") == "女" else "先生"
    pairs = [(template["id_number"][-6:], record["id_number"][-6:]), (template["phone"][-4:], record["phone"][-4:]),
             (template["name"][:1] + title, name[:1] + title)]
    for old, new in pairs:
        note = note.replace(old, new)
    return note


def drill_rng(drill_id: int, contact_key: str, salt: str = "") -> random.Random:
    """The random source of one drill contact: the same drill always draws the same customer.

    ``salt`` (the drill's start time) keeps drill 1 of one instance from meeting the same
    customer as drill 1 of every other instance."""
    return random.Random(f"bankdrill:{drill_id}:{contact_key}:{salt}")


def clone_template(template: dict[str, Any]) -> dict[str, Any]:
    """A deep copy (the seed records are shared and must not change)."""
    return copy.deepcopy(template)
