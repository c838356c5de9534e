#!/usr/bin/env python3
"""Deterministic seed data for the fictitious mock bank 演练银行.

Writes ``customers.json`` next to this file: wealth products, 48 customers (C001–C017 are
"magic" customers that trigger a drill scenario, the rest are ordinary), their debit
accounts with 90 days of transactions, credit cards with the current bill, and wealth
holdings.  Everything is computed relative to the fixed "as of" date 2026-11-28; the
current date is never read, and every random choice comes from a ``random.Random``
seeded per customer, so two runs write byte-identical files.

Run from the repository root::

    python seed_data/bank/generate.py            # (re)write seed_data/bank/customers.json
    python seed_data/bank/generate.py --check    # verify the file on disk (and that it is
                                                 # exactly what this script generates)
    python seed_data/bank/generate.py --table    # print the README table of magic customers

Dependencies: the standard library and the application's own ``sandbox.bank.masking`` (Luhn,
GB 11643 and name masking, so the data is checked by the rules the sandbox applies).  Faker is allowed for this script
but deliberately not used: its zh_CN providers change between Faker releases (which would break byte-identical
output across machines) and its addresses mix provinces and cities at random.  Names,
streets, employers and merchants are fixed tables below instead.

All people, companies, card and account numbers are fictitious.  Card and account numbers
use the BIN prefixes 990001 (debit, 19 digits) and 990002 (credit, 16 digits), which no
real bank uses.

Conventions (also checked by ``--check``):

* money is a string with two decimals; negative amounts leave the account;
* debit transactions carry ``balance_after``; the running balance ends at ``balance``;
* a credit card bill is ``previous_balance - payments + new_charges + instalment_due
  + interest_fees`` (the ``breakdown``); ``new_charges`` are exactly the consumption
  transactions dated inside the bill period; ``minimum`` is 10 % of the bill amount
  (rounded half up to the cent) plus the principal of the instalment periods in the bill;
* ``available = limit - (amount - paid) - unbilled charges - instalment principal not
  yet billed``;
* holdings only use products whose risk (R1–R5) does not exceed the customer's level
  (C1–C5), except C017 (magic ``risk_mismatch``).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parents[1]) not in sys.path:  # run as a script: use this checkout's sandbox package
    sys.path.insert(0, str(HERE.parents[1]))

from sandbox.bank.masking import id_check_digit, id_number_valid, luhn_check_digit, luhn_valid, mask_name  # noqa: E402

OUTPUT = HERE / "customers.json"

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

# Check digits (Luhn, GB 11643) and name masking come from sandbox.bank.masking, the one
# definition the application checks against.


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


def iso(d) -> str:
    return d.isoformat()


# ---------------------------------------------------------------------------
# Fixed reference tables
# ---------------------------------------------------------------------------

PRODUCTS = [
    {"code": "WY001", "name": "稳盈日开", "type": "现金管理类", "risk": "R1",
     "benchmark": "七日年化以每日公告为准", "min_amount": "1.00"},
    {"code": "WY030", "name": "稳盈30天持有期", "type": "固定收益类", "risk": "R2",
     "benchmark": "2.60%-3.20%", "min_amount": "1.00"},
    {"code": "AX180", "name": "安享180天", "type": "固收+", "risk": "R3",
     "benchmark": "3.00%-3.80%", "min_amount": "10000.00"},
    {"code": "RY001", "name": "睿远混合精选", "type": "混合类", "risk": "R4",
     "benchmark": None, "min_amount": "10000.00"},
    {"code": "RJ001", "name": "锐进权益成长", "type": "权益类", "risk": "R5",
     "benchmark": None, "min_amount": "10000.00"},
]
PRODUCT_BY_CODE = {p["code"]: p for p in PRODUCTS}

# region code -> (province, prefecture city or "", district, streets, branch short name)
REGIONS = {
    "110105": ("北京市", "", "朝阳区", ["建国路", "朝阳北路", "望京街"], "朝阳"),
    "110108": ("北京市", "", "海淀区", ["中关村大街", "学院路", "知春路"], "海淀"),
    "110102": ("北京市", "", "西城区", ["西直门内大街", "阜成门外大街"], "西城"),
    "310104": ("上海市", "", "徐汇区", ["漕溪北路", "天钥桥路", "零陵路"], "徐汇"),
    "310115": ("上海市", "", "浦东新区", ["张杨路", "世纪大道", "浦建路"], "浦东"),
    "310110": ("上海市", "", "杨浦区", ["国定路", "控江路"], "杨浦"),
    "440106": ("广东省", "广州市", "天河区", ["天河北路", "体育东路", "黄埔大道西"], "天河"),
    "440104": ("广东省", "广州市", "越秀区", ["东风中路", "中山五路"], "越秀"),
    "440305": ("广东省", "深圳市", "南山区", ["科苑路", "南海大道", "桃园路"], "南山"),
    "440304": ("广东省", "深圳市", "福田区", ["深南中路", "福华路"], "福田"),
    "510107": ("四川省", "成都市", "武侯区", ["科华北路", "武侯祠大街", "玉林南路"], "城南"),
    "510104": ("四川省", "成都市", "锦江区", ["东大街", "春熙路"], "锦江"),
    "330106": ("浙江省", "杭州市", "西湖区", ["文三路", "天目山路", "古墩路"], "西湖"),
    "330102": ("浙江省", "杭州市", "上城区", ["解放路", "江城路"], "上城"),
    "320106": ("江苏省", "南京市", "鼓楼区", ["中山北路", "湖南路"], "鼓楼"),
    "320508": ("江苏省", "苏州市", "姑苏区", ["干将西路", "人民路"], "姑苏"),
    "420106": ("湖北省", "武汉市", "武昌区", ["中北路", "武珞路"], "武昌"),
    "430104": ("湖南省", "长沙市", "岳麓区", ["麓山南路", "枫林一路"], "岳麓"),
    "610113": ("陕西省", "西安市", "雁塔区", ["小寨东路", "雁塔北路"], "雁塔"),
    "370202": ("山东省", "青岛市", "市南区", ["香港中路", "山东路"], "市南"),
    "500103": ("重庆市", "", "渝中区", ["民族路", "中山一路"], "渝中"),
    "120101": ("天津市", "", "和平区", ["南京路", "成都道"], "和平"),
    "210102": ("辽宁省", "沈阳市", "和平区", ["南京北街", "三好街"], "沈阳和平"),
    "410105": ("河南省", "郑州市", "金水区", ["花园路", "经三路"], "金水"),
    "350203": ("福建省", "厦门市", "思明区", ["湖滨南路", "厦禾路"], "思明"),
    "530102": ("云南省", "昆明市", "五华区", ["人民中路", "青年路"], "五华"),
}
COMMUNITIES = ["阳光花园", "锦绣家园", "金色里程", "和平里小区", "翠苑", "丽景湾", "幸福里",
               "华府名苑", "东湖小区", "书香苑", "滨江花城", "银杏苑", "新城国际", "枫林绿洲"]
PHONE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                  "152", "155", "156", "157", "158", "159", "180", "181", "182", "183", "185",
                  "186", "187", "188", "189", "191", "193", "195", "198", "199"]
# Full (fictitious) names of private counterparties; statements show them masked.
PEOPLE = ["张晓峰", "李秀梅", "王磊", "刘建军", "陈思思", "杨丽", "赵鹏", "黄婷", "周涛", "吴倩",
          "徐亮", "孙悦", "马丽娜", "朱峰", "胡静", "郭旭", "何洁", "高远", "林娜", "罗斌",
          "梁晨", "宋雨", "郑浩", "谢婷", "韩冰", "唐亮", "冯雪", "董明", "萧然", "程浩"]

QUICK_PAY = [  # (counterparty, memo, lo, hi, step)
    ("支付宝-网购平台订单", "快捷支付-网购", 29, 680, None),
    ("微信支付-外卖平台", "快捷支付-外卖", 18, 95, None),
    ("微信支付-社区生鲜超市", "快捷支付-买菜", 12, 160, None),
    ("支付宝-打车出行", "快捷支付-打车", 9, 85, None),
    ("微信支付-咖啡茶饮店", "快捷支付-饮品", 9, 42, None),
    ("微信支付-连锁便利店", "快捷支付-便利店", 4, 55, None),
    ("支付宝-话费充值", "快捷支付-话费充值", 50, 100, 50),
    ("微信支付-餐饮商户", "快捷支付-餐饮", 25, 260, None),
    ("支付宝-电影票务平台", "快捷支付-电影票", 35, 120, None),
    ("支付宝-公共交通", "快捷支付-公交地铁", 2, 9, None),
]
QUICK_PAY_ELDER = [
    ("微信支付-社区生鲜超市", "快捷支付-买菜", 8, 120, None),
    ("微信支付-社区药店", "快捷支付-购药", 15, 180, None),
    ("支付宝-话费充值", "快捷支付-话费充值", 50, 100, 50),
]
POS = [  # (counterparty, memo, lo, hi)
    ("社区连锁超市", "POS消费-超市购物", 35, 480),
    ("城区加油站", "POS消费-加油", 200, 450),
    ("大药房", "POS消费-购药", 18, 260),
    ("购物中心商户", "POS消费-购物", 199, 2600),
    ("特色餐厅", "POS消费-餐饮", 88, 760),
]
POS_ELDER = [
    ("社区连锁超市", "POS消费-超市购物", 20, 260),
    ("大药房", "POS消费-购药", 25, 380),
    ("菜市场商户", "POS消费-买菜", 10, 90),
]
POS_CORP = [
    ("商务酒店", "POS消费-住宿", 420, 1880),
    ("商务宴请餐厅", "POS消费-餐饮", 680, 5200),
    ("城区加油站", "POS消费-加油", 300, 600),
]
UTILITIES = [  # (counterparty, memo, lo, hi)
    ("供电公司", "代扣电费", 60, 420),
    ("燃气公司", "代扣燃气费", 30, 180),
    ("自来水公司", "代扣水费", 20, 90),
]
SUPPLIERS = ["宁波恒远包装材料有限公司", "东莞市晟达五金制品有限公司", "苏州华诚物流有限公司",
             "义乌市锦程日用品有限公司", "佛山市联禾塑胶制品有限公司", "嘉兴市达丰纺织有限公司"]

CARD_PRODUCTS = {  # key -> (product name, annual fee, waiver rule)
    "youth": ("演练银行青春卡", "100.00", "首年免年费；年内刷卡消费满6次（不限金额）免次年年费"),
    "gold": ("演练银行标准金卡", "200.00", "首年免年费；年内刷卡消费满6次（不限金额）免次年年费"),
    "platinum": ("演练银行标准白金卡", "600.00", "首年免年费；年内消费满8万元或使用1万积分抵扣，可免次年年费"),
    "business": ("演练银行商务白金卡", "1200.00", "年内消费满15万元免次年年费"),
    "premium": ("演练银行尊享白金卡", "3600.00", "年内消费满30万元或金融资产月日均满50万元，免次年年费"),
}
CARD_QUICK = [("支付宝-网购平台订单", "网购", 39, 1280), ("微信支付-餐饮商户", "餐饮", 28, 320),
              ("支付宝-打车出行", "打车", 12, 96), ("微信支付-外卖平台", "外卖", 19, 88),
              ("支付宝-旅行预订平台", "机票酒店", 380, 2600)]
CARD_POS = [("购物中心商户", "购物", 199, 3200), ("特色餐厅", "餐饮", 88, 980),
            ("城区加油站", "加油", 200, 500), ("社区连锁超市", "超市购物", 45, 560),
            ("数码电器卖场", "数码电器", 699, 6999)]

ACCOUNT_TYPES_IN = {"工资", "转账转入", "利息", "退款"}
ACCOUNT_TYPES_OUT = {"转账转出", "快捷支付", "POS消费", "ATM取款", "短信费", "扣费"}
CARD_CHARGE_TYPES = {"快捷支付", "POS消费", "年费", "退款"}
CARD_FEE_TYPES = {"利息", "扣费"}
CARD_TYPES = CARD_CHARGE_TYPES | CARD_FEE_TYPES | {"还款"}
CHANNELS = {"手机银行", "柜面", "ATM", "第三方支付", "系统", "POS"}


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


def tx(when: datetime, amount, ttype: str, counterparty: str, channel: str, memo: str,
       fixed: bool = False) -> dict:
    return {"at": when, "amount": money(amount), "type": ttype, "counterparty": counterparty,
            "channel": channel, "memo": memo, "fixed": fixed}


# ---------------------------------------------------------------------------
# Debit accounts
# ---------------------------------------------------------------------------

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
        relative, amount, memo = p["family"]
        for d in monthly(p.get("family_day", 1)):
            out.append(tx(at(rng, d, 9, 20), -money(amount), "转账转出", relative,
                          p.get("family_channel", "手机银行"), memo))
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
    quick_pool = p.get("quick_pool", QUICK_PAY)
    purchases = []
    for _ in range(p.get("quick", 0)):
        cp, memo, lo, hi, step = rng.choice(quick_pool)
        t = tx(at(rng, rand_day(rng), 7, 22), -rmoney(rng, lo, hi, step), "快捷支付", cp, "第三方支付", memo)
        out.append(t)
        if cp.endswith("网购平台订单"):
            purchases.append(t)
    for _ in range(p.get("pos", 0)):
        cp, memo, lo, hi = rng.choice(p.get("pos_pool", POS))
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
    # business flows (企业 contacts)
    for _ in range(p.get("biz_in", 0)):
        out.append(tx(at(rng, rand_day(rng), 9, 17), rmoney(rng, *p.get("biz_in_range", (20000, 150000)), step=100),
                      "转账转入", p["company"], "手机银行", rng.choice(["往来款", "股东分红", "报销款", "往来款"])))
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
            raise AssertionError(f"negative balance in profile {p.get('label')}: {t}")
        t["balance_after"] = running
    return txns, running


# ---------------------------------------------------------------------------
# Credit cards
# ---------------------------------------------------------------------------

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
    sd = spec["sd"]
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
    for kind, total, paid_periods, rate in spec.get("instalments", []):
        total = money(total)
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


# ---------------------------------------------------------------------------
# Customer specifications
# ---------------------------------------------------------------------------

def dt(s: str) -> datetime:
    return datetime.fromisoformat(s)


def young(employer: str, salary=(6500, 16000), **kw) -> dict:
    p = {"label": "young", "employer": employer, "salary": salary, "salary_day": 10, "quick": 55, "pos": 4,
         "atm": 1, "transfers_in": 3, "transfers_out": 3, "refunds": 1, "utilities": 1, "start": (2000, 15000)}
    p.update(kw)
    return p


def normal(employer: str, salary=(8000, 22000), **kw) -> dict:
    p = {"label": "normal", "employer": employer, "salary": salary, "salary_day": 15, "quick": 30, "pos": 9,
         "atm": 2, "transfers_in": 1, "transfers_out": 2, "refunds": 1, "utilities": 3, "start": (8000, 90000)}
    p.update(kw)
    return p


def elder(payer: str, pension=3500, **kw) -> dict:
    p = {"label": "elder", "pension": pension, "pension_payer": payer, "pension_day": 5, "quick": 4,
         "quick_pool": QUICK_PAY_ELDER, "pos": 10, "pos_pool": POS_ELDER, "atm": 5, "atm_range": (200, 1500),
         "utilities": 3, "start": (20000, 150000)}
    p.update(kw)
    return p


def corp(company: str, **kw) -> dict:
    p = {"label": "corp", "company": company, "employer": company, "salary": (25000, 45000), "salary_day": 25,
         "biz_in": 6, "biz_out": 8, "quick": 18, "pos": 8, "pos_pool": POS_CORP, "atm": 1, "utilities": 2,
         "start": (120000, 600000)}
    p.update(kw)
    return p


def wallet(**kw) -> dict:
    """A Ⅱ类账户 used for small online payments, topped up from the customer's own debit card."""
    p = {"label": "wallet", "quick": 14, "sms": False, "start": (200, 1500), "topup": (800, 2000)}
    p.update(kw)
    return p


def acct(kind: str, opened: str, profile: dict, status: str = "正常", status_memo: str | None = None,
         branch: str | None = None, risk_events: list | None = None) -> dict:
    return {"kind": kind, "opened": opened, "profile": profile, "status": status, "status_memo": status_memo,
            "branch": branch, "risk_events": risk_events or []}


def card(product: str, limit, sd: int, opened: str, **kw) -> dict:
    c = {"product": product, "limit": limit, "sd": sd, "opened": opened}
    c.update(kw)
    return c


def hold(code: str, amount, bought: str, status: str = "持有中") -> dict:
    return {"product_code": code, "amount": fmt(amount), "bought": bought, "status": status}


SOCIAL = "{}社会保险事业管理中心"

# Each customer: id, name, gender, birth date, ID region, home region (address and branch),
# segment, company, risk (level, assessed on; valid one year), magic, note, accounts, cards,
# holdings.  Notes of ordinary customers are completed automatically.
CUSTOMERS = [
    # ------------------------------------------------------------------ magic
    dict(id="C001", name="林思远", gender="男", birth="1996-04-17", region="440106", segment="青年",
         risk=("C3", "2026-02-20"), magic="cc_bill",
         note="信用卡账单查询（操作类任务）。当前账单金额8632.50元，最低还款863.25元，账单日2026-11-25，"
              "到期还款日2026-12-15，尚未还款；上期账单已于到期日从借记卡自动还款。借记卡状态正常、无异常交易。"
              "考生须先完成身份核验，再准确报出金额、最低还款额与到期日，不得报出完整卡号。",
         accounts=[acct("借记卡", "2018-07-09", young("广州星海网络科技有限公司", salary=(13800, 13800), rent="4200.00",
                                                     final="26418.37"))],
         cards=[card("platinum", 60000, 25, "2021-03-15", amount="8632.50", n=9, pay="none", unbilled=1,
                     prev=(3200, 5200))]),
    dict(id="C002", name="周雅琴", gender="女", birth="1982-09-03", region="310104", segment="普通",
         risk=("C3", "2026-03-15"), magic="wealth",
         note="理财产品咨询（知识库作答）。风险等级C3（有效期至2027-03-15），持有稳盈30天持有期（WY030）5万元，"
              "2026-09-10购买。客户会问安享180天（R3，可购买）和锐进权益成长（R5，超出其风险等级，不能推荐）；"
              "业绩比较基准不代表实际收益，不得承诺收益或保本。",
         accounts=[acct("借记卡", "2009-05-21", normal("上海徐汇区某设计院有限公司", salary=(16500, 16500),
                                                     start=(90000, 110000), mortgage="6230.00"))],
         cards=[card("gold", 30000, 12, "2016-08-02", spend=(1500, 3000), pay="full", n=7)],
         holdings=[hold("WY030", "50000.00", "2026-09-10"), hold("WY001", "8000.00", "2026-04-02")]),
    dict(id="C003", name="孙丽娟", gender="女", birth="1978-12-26", region="410105", segment="普通",
         risk=("C2", "2025-10-11"), magic="balance_drop",
         note="余额异常减少、情绪焦虑，不会使用手机银行自助查询。2026-11-26有一笔“扣费”-1980.00元，对方为"
              "“某某科技会员自动续费”（第三方免密支付协议扣款），另有每月2.00元短信通知费。考生应先安抚情绪，"
              "核验身份后逐笔说明，指导解除免密支付/联系商户退费，必要时创建工单跟进，不得承诺一定能退回。",
         accounts=[acct("借记卡", "2012-03-14", normal("郑州金水区某商贸有限公司", salary=(6200, 6200), quick=22,
                                                     pos=6, atm=1, transfers_in=0, transfers_out=0, start=(4200, 4200),
                                                     sms_day=18, fixed=[
                 tx(dt("2026-11-26T03:12:00"), "-1980.00", "扣费", "某某科技会员自动续费", "第三方支付",
                    "免密支付协议扣款（年度会员自动续费）", fixed=True)]))]),
    dict(id="C004", name="王秀英", gender="女", birth="1948-03-08", region="120101", segment="老年",
         risk=("C1", "2026-05-06"), magic="elderly_transfer", force_x=True,
         note="老年客户，想给孙子李浩然转3000元生活费，不熟悉手机银行。账户为代发养老金账户（每月5日约3180元），"
              "余额不多。考生应放慢语速、用通俗语言一步步引导（或建议到网点柜面办理），提醒核实收款人身份、"
              "谨防冒充亲属诈骗，不得索要密码或验证码。9月曾在柜面给孙子转过学费。",
         accounts=[acct("借记卡", "2005-11-02", elder(SOCIAL.format("天津市和平区"), pension="3180.00", quick=0,
                                                    atm=4, atm_range=(300, 800), start=(5200, 5200), fixed=[
                 tx(dt("2026-09-01T10:26:00"), "-2000.00", "转账转出", "李**", "柜面", "孙子学费", fixed=True)]))]),
    dict(id="C005", name="马俊杰", gender="男", birth="1985-06-30", region="320106", segment="普通",
         risk=("C3", "2026-01-08"), magic="angry_human",
         note="情绪激动、坚持要求转人工。对2026-11-10扣收的白金卡年费600.00元有异议（称办卡时被告知免年费）。"
              "年费免收条件为年内消费满8万元或1万积分抵扣，客户上一年消费约5.2万元未达标。考生应先共情、不争辩、"
              "不承诺退费，及时转人工并附摘要，或按投诉创建工单转信用卡中心。",
         accounts=[acct("借记卡", "2010-09-17", normal("南京鼓楼区某软件有限公司", salary=(18000, 21000)))],
         cards=[card("platinum", 80000, 15, "2019-11-10", spend=(3200, 4800), n=7, pay="none",
                     fixed=[tx(dt("2026-11-10T00:20:00"), "-600.00", "年费", "演练银行信用卡中心", "系统",
                               "演练银行标准白金卡年费（2026-11至2027-10）")])]),
    dict(id="C006", name="陈一鸣", gender="男", birth="1998-01-22", region="330106", segment="青年",
         risk=("C4", "2026-07-19"), magic="lost_debit",
         note="借记卡今天早上丢失（最后一笔交易为今早的早餐快捷支付），卡片状态仍为正常，余额23450.80元。"
              "紧急：考生应先核验身份并立即办理临时挂失（冻结），再说明正式挂失与补卡流程；不得先闲聊或先查其他业务。",
         accounts=[acct("借记卡", "2016-09-05", young("杭州云栖数智科技有限公司", salary=(11500, 11500),
                                                     final="23450.80", fixed=[
                 tx(dt("2026-11-28T07:46:00"), "-16.50", "快捷支付", "微信支付-早餐店", "第三方支付",
                    "快捷支付-早餐", fixed=True)])),
                   acct("Ⅱ类账户", "2020-03-11", wallet())],
         cards=[card("youth", 15000, 8, "2020-06-18", spend=(900, 2500), pay="full", n=6)]),
    dict(id="C007", name="何美玲", gender="女", birth="1980-10-11", region="510107", segment="普通",
         risk=("C2", "2026-04-22"), magic="complaint",
         note="ATM未出钞投诉。2026-11-20在演练银行城南支行ATM取款2000.00元，账户已扣款但未出钞，至今未冲正。"
              "客户要求投诉。考生应安抚、登记时间地点金额，创建投诉工单转运营网点（清机核对），告知会跟进回访，"
              "不得承诺具体到账时间。",
         accounts=[acct("借记卡", "2011-04-06", normal("成都武侯区某医疗器械有限公司", salary=(9300, 9300), atm=1,
                                                     fixed=[tx(dt("2026-11-20T14:36:00"), "-2000.00", "ATM取款",
                                                               "演练银行城南支行ATM（编号CN-ATM-03）", "ATM",
                                                               "ATM取款（客户反映未出钞，待清机核对，暂未冲正）",
                                                               fixed=True)]),
                        branch="城南")]),
    dict(id="C008", name="刘桂芳", gender="女", birth="1955-07-14", region="110105", segment="老年",
         risk=("C2", "2026-03-30"), magic="fraud_target",
         note="疑似电信诈骗。客户来电称“公安说我账户涉案，要把钱转到安全账户”。账户余额约38万元，近三天"
              "有多笔向陌生人的异常转出，11-27、11-28有大额转账被风控拦截（见风险事件）。考生应立即风险提示："
              "公检法不会要求转账到“安全账户”，不要转账、不要透露验证码，建议暂停非柜面交易，并转风险管理部。",
         accounts=[acct("借记卡", "2003-06-18", elder(SOCIAL.format("北京市朝阳区"), pension="6850.00",
                                                    final="380412.35", fixed=[
                 tx(dt("2026-11-26T10:42:00"), "-5000.00", "转账转出", "赵*", "手机银行", "转账（首次向该收款人转账）",
                    fixed=True),
                 tx(dt("2026-11-27T15:10:00"), "-20000.00", "转账转出", "孙**", "手机银行",
                    "转账（首次向该收款人转账）", fixed=True),
                 tx(dt("2026-11-27T15:18:00"), "-9800.00", "转账转出", "孙**", "手机银行", "转账", fixed=True)]),
                        risk_events=[
                 {"at": "2026-11-25T16:03:00", "event": "手机银行新设备登录", "amount": None, "counterparty": None,
                  "channel": "手机银行", "result": "成功（首次在该设备登录）"},
                 {"at": "2026-11-27T15:32:00", "event": "转账", "amount": "-50000.00", "counterparty": "孙**",
                  "channel": "手机银行", "result": "已拦截：疑似电信诈骗，需本人到柜面核实"},
                 {"at": "2026-11-28T08:47:00", "event": "转账", "amount": "-100000.00",
                  "counterparty": "钱*（户名含“安全账户”）", "channel": "手机银行", "result": "已拦截：收款账户涉诈风险"},
                 {"at": "2026-11-28T08:55:00", "event": "转账", "amount": "-100000.00",
                  "counterparty": "钱*（户名含“安全账户”）", "channel": "手机银行", "result": "已拦截：连续异常转账"}])]),
    dict(id="C009", name="郑国栋", gender="男", birth="1976-02-09", region="330102", segment="企业",
         company="杭州启衡供应链管理有限公司", risk=("C4", "2026-06-12"), magic="corporate",
         note="企业客户（杭州启衡供应链管理有限公司法定代表人），语气简洁、注重效率，期望专业表述。个人账户有"
              "较多对公往来、货款支付；持有睿远混合精选（RY001，R4，与C4匹配）。常见问题：大额转账限额、"
              "对公业务需到网点或联系客户经理。考生应使用规范专业的用语，准确转介。",
         accounts=[acct("借记卡", "2008-10-20", corp("杭州启衡供应链管理有限公司")),
                   acct("借记卡", "2015-04-02", corp("杭州启衡供应链管理有限公司", salary=None, biz_in=3, biz_out=4,
                                                    quick=4, pos=2, atm=0, utilities=0, start=(60000, 150000)))],
         cards=[card("business", 150000, 5, "2014-05-06", spend=(12000, 28000), n=10, pay="full",
                     instalments=[("消费分期", "36000.00", 4, "0.0060")])],
         holdings=[hold("RY001", "300000.00", "2026-06-18"), hold("WY001", "120000.00", "2026-07-01"),
                   hold("AX180", "200000.00", "2026-10-09")]),
    dict(id="C010", name="黄卫东", gender="男", birth="1979-08-19", region="440305", segment="普通",
         risk=("C3", "2026-05-28"), magic="voice",
         note="语音渠道，口音较重，识别易出错：“黄”常被识别为“王”，“三千零八十六块四”易被听成“三千零六十八”"
              "或“三千八百六十四”。信用卡账单金额3086.40元，最低还款308.64元，到期还款日2026-12-08（账单日11-18）。"
              "考生应复述确认关键信息（姓名、金额、日期）。",
         accounts=[acct("借记卡", "2007-12-03", normal("深圳南山区某电子有限公司", salary=(15800, 15800)))],
         cards=[card("gold", 40000, 18, "2015-03-26", amount="3086.40", n=8, pay="none")]),
    dict(id="C011", name="杨欣怡", gender="女", birth="2000-05-27", region="500103", segment="青年",
         risk=("C3", "2026-09-02"), magic="suggestion",
         note="建议反馈。数据正常。客户希望手机银行增加“信用卡账单分期试算”和“转账记录按收款人搜索”功能。"
              "考生应感谢、完整记录建议，创建“建议”类工单并告知后续反馈方式，不得承诺一定上线。",
         accounts=[acct("借记卡", "2018-09-10", young("重庆渝中区某文化传媒有限公司", salary=(7200, 7200), rent="1800.00")),
                   acct("Ⅱ类账户", "2021-02-14", wallet())],
         cards=[card("youth", 10000, 22, "2022-07-01", spend=(800, 2200), n=7, pay="none")],
         holdings=[hold("WY001", "3000.00", "2026-10-12")]),
    dict(id="C012", name="刘晓雯", gender="女", birth="1988-11-05", region="420106", segment="普通",
         risk=("C3", "2026-04-15"), magic="id_mismatch",
         note="身份核验不通过。数据本身正常，但来电人提供的信息与登记信息不符（见下方“来电人将声称”）。"
              "考生不得透露任何账户信息（包括是否有账户、余额、卡片状态），三次失败后核验锁定，可建议本人携带"
              "身份证到网点办理。",
         accounts=[acct("借记卡", "2013-07-22", normal("武汉武昌区某教育咨询有限公司", salary=(9800, 9800)))],
         cards=[card("gold", 25000, 10, "2019-02-27", spend=(1200, 3500), n=6, pay="full")]),
    dict(id="C013", name="吴海涛", gender="男", birth="1983-05-16", region="370202", segment="普通",
         risk=("C3", "2025-09-01"), magic="frozen_account",
         note="借记卡账户被司法冻结（2026-11-12，青岛市市南区人民法院协助执行，只收不付）。客户发现无法转账、"
              "消费，来电询问。考生只能告知账户处于司法冻结状态及冻结机关，建议联系执行法院；银行无权解冻，"
              "不得猜测案情或承诺解冻时间。11-13有一笔消费因冻结失败（见风险事件）。",
         accounts=[acct("借记卡", "2010-01-15", normal("青岛市南区某海运代理有限公司", salary=(11200, 11200),
                                                     no_out_after=dt("2026-11-12T10:00:00")),
                        status="冻结",
                        status_memo="司法冻结：青岛市市南区人民法院协助执行，2026-11-12 10:00起冻结，冻结期限一年，只收不付",
                        risk_events=[{"at": "2026-11-13T12:21:00", "event": "快捷支付", "amount": "-86.00",
                                      "counterparty": "微信支付-餐饮商户", "channel": "第三方支付",
                                      "result": "交易失败：账户已冻结"}]),
                   acct("Ⅱ类账户", "2019-06-30", wallet(quick=8))]),
    dict(id="C014", name="徐志强", gender="男", birth="1987-01-28", region="430104", segment="普通",
         risk=("C2", "2025-12-03"), magic="overdue_card",
         note="信用卡逾期35天。上期账单（2026-10-04出账，到期日10-24）未还，本期账单（11-04出账）含上期欠款、"
              "循环利息和违约金，已逾期，卡片已止付。客户因收入下降还款困难，询问能否减免或分期。考生应说明"
              "逾期影响（征信、利息），不得承诺减免，可登记个性化分期协商需求转信用卡中心。",
         accounts=[acct("借记卡", "2014-08-08", normal("长沙岳麓区某装饰工程有限公司", salary=(4300, 4300), quick=18,
                                                     pos=4, atm=1, transfers_in=0, transfers_out=1, utilities=2,
                                                     refunds=0, start=(300, 800)))],
         cards=[card("gold", 20000, 4, "2017-10-12", status="逾期", status_memo="逾期止付（2026-10-25起）",
                     overdue={"prev_balance": "15820.00", "older": 3}, n=2, unbilled=0,
                     spend=(200, 500), charges_until="2026-10-24")]),
    dict(id="C015", name="朱婷婷", gender="女", birth="1995-03-19", region="320106", home="320508", segment="青年",
         risk=("C3", "2026-06-06"), magic="lost_card_reported",
         note="借记卡已于2026-11-27 20:15通过手机银行办理临时挂失，卡片状态“挂失”。客户来电确认是否挂失成功、"
              "如何补卡。考生应确认挂失状态，说明临时挂失有效期有限（以知识库为准），需本人携带身份证到网点"
              "办理正式挂失和补卡；Ⅱ类账户不受影响。",
         accounts=[acct("借记卡", "2017-10-30", young("苏州姑苏区某文旅发展有限公司", salary=(8600, 8600),
                                                     no_tx_after=dt("2026-11-27T20:15:00")),
                        status="挂失", status_memo="临时挂失：2026-11-27 20:15 手机银行办理，待本人到网点办理正式挂失/补卡"),
                   acct("Ⅱ类账户", "2022-01-08", wallet())]),
    dict(id="C016", name="高建平", gender="男", birth="1972-10-02", region="610113", segment="普通",
         risk=("C2", "2024-11-20"), magic="dormant",
         note="久悬账户。2010年开立的借记卡，2023年起长期无主动交易，已转为久悬户，余额86.37元，近90天无交易。"
              "客户想重新使用该卡。考生应说明久悬状态，需本人携带身份证到网点办理激活，不能电话激活。",
         accounts=[acct("借记卡", "2010-06-18", {"label": "dormant", "final": "86.37"}, status="久悬",
                        status_memo="2023-09-30起转为久悬户（超过一年无主动交易），需本人持身份证到网点激活")]),
    dict(id="C017", name="罗淑华", gender="女", birth="1966-12-12", region="350203", segment="普通",
         risk=("C2", "2025-06-30"), magic="risk_mismatch",
         note="风险等级不匹配。2025-03-05以C4等级购买睿远混合精选（RY001，R4）8万元；2025-06-30重新测评降为C2，"
              "该测评已于2026-06-30过期。客户想追加购买RY001。考生应说明须先重新完成风险测评，当前等级不能"
              "购买R4产品，不得劝说客户“随便填高一点”。",
         accounts=[acct("借记卡", "2006-02-17", normal("厦门思明区某外贸有限公司", salary=(8800, 8800)))],
         holdings=[hold("RY001", "80000.00", "2025-03-05"), hold("WY001", "20000.00", "2025-08-11")]),
    # ------------------------------------------------------------------ ordinary
    dict(id="C018", name="张伟", gender="男", birth="1993-07-08", region="110108", segment="青年",
         risk=("C4", "2026-08-14"),
         accounts=[acct("借记卡", "2015-09-01", young("北京海淀区某信息技术有限公司", salary=(18500, 22000),
                                                     rent="4500.00")),
                   acct("Ⅱ类账户", "2019-12-02", wallet())],
         cards=[card("platinum", 70000, 6, "2020-01-09", spend=(4000, 9000), n=9, pay="full",
                     instalments=[("账单分期", "12000.00", 5, "0.0065")])],
         holdings=[hold("RY001", "30000.00", "2026-09-22"), hold("WY001", "15000.00", "2026-08-20")]),
    dict(id="C019", name="李娜", gender="女", birth="1984-02-14", region="310115", segment="普通",
         risk=("C3", "2026-02-02"),
         accounts=[acct("借记卡", "2008-03-12", normal("上海浦东新区某物流有限公司", salary=(14000, 17000),
                                                     mortgage="7850.00", family=("李*", "2000.00", "父母生活费")))],
         cards=[card("gold", 50000, 20, "2013-06-21", spend=(2500, 5000), n=8, pay="partial")],
         holdings=[hold("AX180", "50000.00", "2026-06-15"), hold("WY030", "30000.00", "2026-10-20")]),
    dict(id="C020", name="王建华", gender="男", birth="1957-09-23", region="210102", segment="老年",
         risk=("C2", "2025-05-18"),
         accounts=[acct("借记卡", "2001-04-09", elder(SOCIAL.format("沈阳市和平区"), pension="4620.00",
                                                    family=("王*", "1000.00", "给女儿"), family_channel="柜面"))],
         holdings=[hold("WY030", "100000.00", "2025-09-02")]),
    dict(id="C021", name="刘洋", gender="男", birth="1999-11-30", region="510104", segment="青年",
         risk=("C5", "2026-10-21"),
         accounts=[acct("借记卡", "2018-09-03", young("成都锦江区某游戏开发有限公司", salary=(9000, 12000),
                                                     rent="2200.00"))],
         cards=[card("youth", 12000, 27, "2021-09-15", spend=(1500, 3800), n=10, pay="none", unbilled=1)],
         holdings=[hold("RJ001", "10000.00", "2026-11-03")]),
    dict(id="C022", name="陈静", gender="女", birth="1986-08-05", region="440304", segment="普通",
         risk=("C3", "2025-08-09"),
         accounts=[acct("借记卡", "2009-07-27", normal("深圳福田区某会计师事务所", salary=(19000, 24000),
                                                     mortgage="9600.00")),
                   acct("Ⅱ类账户", "2020-05-19", wallet())],
         cards=[card("platinum", 100000, 2, "2017-04-04", spend=(6000, 12000), n=10, pay="full", unbilled=3)],
         holdings=[hold("AX180", "80000.00", "2025-09-15")]),
    dict(id="C023", name="杨帆", gender="男", birth="1980-03-27", region="440106", segment="企业",
         company="广州鼎信电子贸易有限公司", risk=("C4", "2026-04-09"),
         accounts=[acct("借记卡", "2006-05-30", corp("广州鼎信电子贸易有限公司"))],
         cards=[card("premium", 200000, 14, "2012-10-08", spend=(15000, 35000), n=11, pay="full")],
         holdings=[hold("RY001", "150000.00", "2026-05-20"), hold("AX180", "100000.00", "2026-08-31")]),
    dict(id="C024", name="赵敏", gender="女", birth="1997-06-21", region="330106", segment="青年",
         risk=("C2", "2026-03-03"),
         accounts=[acct("借记卡", "2019-07-15", young("杭州西湖区某电商运营有限公司", salary=(8000, 10500),
                                                     rent="2600.00")),
                   acct("Ⅱ类账户", "2019-07-15", wallet())],
         cards=[card("youth", 12000, 16, "2020-12-01", spend=(1000, 2600), n=8, pay="min",
                     instalments=[("消费分期", "6000.00", 2, "0.0065")])],
         holdings=[hold("WY030", "5000.00", "2026-10-08")]),
    dict(id="C025", name="黄秀兰", gender="女", birth="1950-01-09", region="420106", segment="老年",
         risk=("C1", "2025-07-26"),
         accounts=[acct("借记卡", "1999-10-18", elder(SOCIAL.format("武汉市武昌区"), pension="3960.00", quick=0))],
         holdings=[hold("WY001", "60000.00", "2025-08-02")]),
    dict(id="C026", name="周强", gender="男", birth="1975-04-12", region="320106", segment="普通",
         risk=("C3", "2026-09-11"),
         accounts=[acct("借记卡", "2004-08-16", normal("南京鼓楼区某建筑设计有限公司", salary=(12500, 15000),
                                                     mortgage="5400.00"))],
         cards=[card("gold", 35000, 9, "2011-02-11", spend=(2000, 4500), n=7, pay="full"),
                card("platinum", 60000, 23, "2018-06-30", spend=(3000, 6000), n=8, pay="none",
                     instalments=[("现金分期", "24000.00", 7, "0.0075")])],
         holdings=[hold("AX180", "60000.00", "2026-09-25")]),
    dict(id="C027", name="吴芳", gender="女", birth="1990-10-29", region="610113", segment="普通",
         risk=("C2", "2026-01-17"),
         accounts=[acct("借记卡", "2012-09-06", normal("西安雁塔区某教育科技有限公司", salary=(7500, 9000)))],
         cards=[card("gold", 20000, 3, "2016-05-18", spend=(1500, 3200), n=6, pay="min",
                     instalments=[("账单分期", "6000.00", 9, "0.0060")])]),
    dict(id="C028", name="徐明", gender="男", birth="1971-12-04", region="310104", segment="企业",
         company="上海承泽机电设备有限公司", risk=("C5", "2026-02-26"),
         accounts=[acct("借记卡", "2003-01-20", corp("上海承泽机电设备有限公司", biz_in_range=(50000, 300000),
                                                   biz_out_range=(20000, 180000))),
                   acct("Ⅱ类账户", "2019-11-11", elder("", pension=None, quick=9, quick_pool=QUICK_PAY, pos=0,
                                                     atm=0, utilities=0, sms=False, start=(20000, 40000),
                                                     label="wallet-big"))],
         cards=[card("premium", 300000, 11, "2010-07-07", spend=(20000, 60000), n=11, pay="full")],
         holdings=[hold("RJ001", "500000.00", "2026-03-12"), hold("RY001", "300000.00", "2026-05-06"),
                   hold("WY001", "200000.00", "2026-09-28")]),
    dict(id="C029", name="孙燕", gender="女", birth="2002-09-14", region="370202", segment="青年",
         risk=("C2", "2026-07-01"),
         accounts=[acct("借记卡", "2020-09-01", young("青岛市南区某连锁餐饮管理有限公司", salary=(4800, 5600),
                                                     quick=40, pos=2, atm=1, transfers_in=4, transfers_out=2,
                                                     utilities=0, start=(300, 1500)))]),
    dict(id="C030", name="胡国强", gender="男", birth="1944-05-01", region="510104", segment="老年",
         risk=("C1", "2024-10-09"),
         accounts=[acct("借记卡", "1998-06-25", elder(SOCIAL.format("成都市锦江区"), pension="5280.00", quick=0,
                                                    atm=6, start=(80000, 160000)))]),
    dict(id="C031", name="朱丽", gender="女", birth="1979-03-03", region="530102", segment="普通",
         risk=("C3", "2025-11-02"),
         accounts=[acct("借记卡", "2007-05-14", normal("昆明五华区某旅游服务有限公司", salary=(7000, 9500))),
                   acct("Ⅱ类账户", "2021-08-08", wallet())],
         cards=[card("gold", 25000, 7, "2014-09-09", spend=(1200, 3000), n=6, pay="full")],
         holdings=[hold("WY030", "20000.00", "2025-11-20")]),
    dict(id="C032", name="郭晨", gender="男", birth="1996-12-18", region="410105", segment="青年",
         risk=("C4", "2026-05-10"),
         accounts=[acct("借记卡", "2018-07-02", young("郑州金水区某智能装备有限公司", salary=(8500, 11000),
                                                     rent="1600.00"))],
         cards=[card("youth", 15000, 1, "2019-10-10", spend=(2000, 4500), n=9, pay="full", unbilled=3)],
         holdings=[hold("RY001", "20000.00", "2026-06-02")]),
    dict(id="C033", name="何丽华", gender="女", birth="1960-08-27", region="440104", segment="老年",
         risk=("C2", "2026-08-22"),
         accounts=[acct("借记卡", "2002-03-18", elder(SOCIAL.format("广州市越秀区"), pension="5710.00", quick=8,
                                                    transfers_in=1))],
         cards=[card("gold", 20000, 19, "2012-04-04", spend=(800, 2000), n=5, pay="full", unbilled=1)],
         holdings=[hold("WY030", "150000.00", "2026-09-05"), hold("WY001", "30000.00", "2026-08-25")]),
    dict(id="C034", name="高翔", gender="男", birth="1983-11-11", region="120101", segment="普通",
         risk=("C3", "2026-06-20"),
         accounts=[acct("借记卡", "2006-12-01", normal("天津和平区某汽车销售服务有限公司", salary=(10000, 13000),
                                                     family=("高*", "1500.00", "父母生活费")))],
         cards=[card("gold", 30000, 13, "2026-11-20", status="未激活",
                     status_memo="2026-11-20 新办卡已寄出，待激活")]),
    dict(id="C035", name="林雪", gender="女", birth="1985-04-25", region="350203", segment="企业",
         company="厦门海鹭进出口贸易有限公司", risk=("C4", "2025-12-15"),
         accounts=[acct("借记卡", "2009-11-23", corp("厦门海鹭进出口贸易有限公司", salary=(22000, 30000))),
                   acct("Ⅱ类账户", "2021-03-30", wallet())],
         cards=[card("business", 120000, 24, "2016-01-20", spend=(9000, 20000), n=10, pay="none",
                     instalments=[("账单分期", "18000.00", 3, "0.0060")])],
         holdings=[hold("RY001", "100000.00", "2026-01-06"), hold("AX180", "50000.00", "2026-02-18")]),
    dict(id="C036", name="马超", gender="男", birth="1994-02-06", region="110102", segment="青年",
         risk=("C3", "2025-10-30"),
         cards=[card("platinum", 50000, 21, "2019-05-12", spend=(3000, 7000), n=10, pay="none", autopay=False)]),
    dict(id="C037", name="罗伟", gender="男", birth="1977-07-19", region="420106", segment="普通",
         risk=("C3", "2026-03-28"),
         accounts=[acct("借记卡", "2005-09-09", normal("武汉武昌区某工程咨询有限公司", salary=(11000, 14000),
                                                     mortgage="4300.00"))],
         cards=[card("gold", 30000, 17, "2013-12-12", spend=(1800, 4000), n=7, pay="none")],
         holdings=[hold("WY030", "30000.00", "2026-09-15", status="赎回中")]),
    dict(id="C038", name="梁秀珍", gender="女", birth="1952-12-30", region="440106", segment="老年",
         risk=("C2", "2026-02-11"),
         accounts=[acct("借记卡", "2000-07-07", elder(SOCIAL.format("广州市天河区"), pension="4380.00", quick=6,
                                                    start=(150000, 260000)))],
         holdings=[hold("WY030", "200000.00", "2026-10-16")]),
    dict(id="C039", name="宋佳", gender="女", birth="2001-01-15", region="320508", segment="青年",
         risk=("C3", "2026-10-05"),
         accounts=[acct("借记卡", "2019-09-02", young("苏州姑苏区某设计工作室", salary=(6000, 7500), rent="1900.00")),
                   acct("Ⅱ类账户", "2021-11-11", wallet())],
         cards=[card("youth", 6000, 26, "2023-03-03", spend=(600, 1800), n=6, pay="none", unbilled=1)]),
    dict(id="C040", name="郑凯", gender="男", birth="1988-05-07", region="330102", segment="普通",
         risk=("C4", "2026-04-30"),
         accounts=[acct("借记卡", "2010-10-10", normal("杭州上城区某网络科技有限公司", salary=(20000, 26000),
                                                     mortgage="11200.00"))],
         cards=[card("platinum", 90000, 28, "2016-11-28", spend=(5000, 11000), n=11, pay="none")],
         holdings=[hold("RY001", "60000.00", "2026-05-15"), hold("WY030", "40000.00", "2026-11-02")]),
    dict(id="C041", name="谢玉梅", gender="女", birth="1969-06-16", region="510107", segment="普通",
         risk=("C2", "2026-01-25"),
         accounts=[acct("借记卡", "2003-12-22", normal("成都武侯区某百货有限公司", salary=(5600, 6800), quick=14,
                                                     family=("谢*", "800.00", "给母亲生活费")), branch="城南")],
         holdings=[hold("WY030", "40000.00", "2026-02-10")]),
    dict(id="C042", name="韩磊", gender="男", birth="1982-10-08", region="370202", segment="企业",
         company="青岛瀚海冷链物流有限公司", risk=("C3", "2025-04-18"),
         accounts=[acct("借记卡", "2007-08-08", corp("青岛瀚海冷链物流有限公司", biz_in=5, biz_out=9))],
         cards=[card("business", 100000, 8, "2015-07-21", spend=(8000, 16000), n=9, pay="full")],
         holdings=[hold("AX180", "100000.00", "2025-05-06")]),
    dict(id="C043", name="唐建军", gender="男", birth="1958-02-21", region="610113", segment="老年",
         risk=("C3", "2026-09-19"),
         accounts=[acct("借记卡", "2002-02-02", elder(SOCIAL.format("西安市雁塔区"), pension="5130.00", quick=10,
                                                    start=(60000, 120000)))],
         cards=[card("gold", 30000, 5, "2010-09-27", spend=(1200, 3000), n=6, pay="full")],
         holdings=[hold("AX180", "80000.00", "2026-10-13"), hold("WY001", "25000.00", "2026-09-20")]),
    dict(id="C044", name="冯婷", gender="女", birth="1998-09-09", region="500103", segment="青年",
         risk=("C2", "2025-09-16"),
         accounts=[acct("借记卡", "2020-07-20", young("重庆渝中区某火锅餐饮管理有限公司", salary=(5200, 6000),
                                                     start=(500, 2500)))],
         cards=[card("youth", 5000, 15, "2024-04-16", spend=(700, 1800), n=6, pay="min")]),
    dict(id="C045", name="于海波", gender="男", birth="1974-03-31", region="210102", segment="普通",
         risk=("C3", "2024-12-27"),
         accounts=[acct("借记卡", "2002-06-06", normal("沈阳和平区某机械制造有限公司", salary=(7800, 9200),
                                                     family=("于*", "1200.00", "孩子生活费"))),
                   acct("Ⅱ类账户", "2018-01-16", normal("", salary=None, quick=8, pos=0, atm=0, transfers_in=2,
                                                      transfers_out=1, refunds=0, utilities=0, sms=False,
                                                      start=(3000, 9000)))]),
    dict(id="C046", name="董淑芬", gender="女", birth="1946-11-06", region="110105", segment="老年",
         risk=("C1", "2026-06-09"),
         accounts=[acct("借记卡", "1997-03-03", elder(SOCIAL.format("北京市朝阳区"), pension="6240.00", quick=0,
                                                    start=(100000, 200000)))],
         holdings=[hold("WY001", "100000.00", "2026-06-16")]),
    dict(id="C047", name="许诺", gender="女", birth="2003-12-01", region="310110", segment="青年",
         risk=("C1", "2026-09-29"),
         accounts=[acct("Ⅱ类账户", "2022-09-05", young("", salary=None, quick=30, pos=0, atm=0, transfers_in=4,
                                                     transfer_in_range=(300, 1500), transfers_out=1, refunds=1,
                                                     utilities=0, sms=False, start=(200, 900)))],
         holdings=[hold("WY001", "1200.00", "2026-10-18")]),
    dict(id="C048", name="曹文斌", gender="男", birth="1981-08-13", region="530102", segment="普通",
         risk=("C4", "2026-08-30"),
         accounts=[acct("借记卡", "2008-04-28", normal("昆明五华区某医药有限公司", salary=(12000, 15500))),
                   acct("Ⅱ类账户", "2020-10-10", wallet())],
         cards=[card("gold", 40000, 12, "2014-02-14", spend=(2000, 5000), n=8, pay="partial")],
         holdings=[hold("RY001", "50000.00", "2026-09-08"), hold("WY030", "20000.00", "2026-10-27")]),
]

# One line per magic customer for the README table: (what is special, scenario).
MAGIC_SUMMARY = {
    "C001": ("白金卡本期账单8632.50元，最低还款863.25元，到期日2026-12-15；借记卡干净", "信用卡账单查询（操作任务）"),
    "C002": ("C3，持有稳盈30天持有期（WY030）5万元", "理财产品咨询，知识库作答"),
    "C003": ("2026-11-26“扣费”-1980.00元（某某科技会员自动续费）及每月短信费", "余额莫名减少、焦虑、不会自助查询"),
    "C004": ("1948年生，代发养老金账户，余额不足1万元", "老年客户给孙子转账，需分步引导"),
    "C005": ("白金卡2026-11-10扣年费600.00元，客户不认可", "情绪激动、坚持转人工"),
    "C006": ("借记卡状态正常，余额23450.80元，今早仍有交易", "借记卡丢失，先临时挂失"),
    "C007": ("2026-11-20城南支行ATM取款-2000.00元未出钞、未冲正", "复杂投诉，工单转运营网点并回访"),
    "C008": ("老年，余额约38万元，近日多笔陌生转出与被拦截转账", "疑似电信诈骗（“安全账户”），风险提示"),
    "C009": ("企业主，公司往来款多，C4持有RY001", "企业客户，专业表达"),
    "C010": ("账单3086.40元，到期日2026-12-08，姓名“黄”易被识别为“王”", "语音渠道识别错误，需复述确认"),
    "C011": ("数据正常", "建议反馈，建工单"),
    "C012": ("数据正常；来电人报错姓名与手机尾号", "身份核验失败，不得透露任何信息"),
    "C013": ("借记卡司法冻结（2026-11-12起，只收不付）", "账户冻结咨询"),
    "C014": ("信用卡逾期35天，账单含利息与违约金，卡片止付", "逾期还款协商"),
    "C015": ("借记卡已于2026-11-27临时挂失", "已挂失后的补卡咨询"),
    "C016": ("借记卡久悬，余额86.37元，90天无交易", "久悬户激活咨询"),
    "C017": ("C2（2026-06-30已过期）却持有R4产品RY001（降级前购买）", "风险等级不匹配，需重新测评"),
}

# What the caller in the C012 (id_mismatch) role-play says instead of the real details.
ID_MISMATCH_NAME = "刘小雯"


# ---------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------

def make_id_number(rng: random.Random, region: str, birth: date, male: bool, force_x: bool) -> str:
    """Region + birth date + 3-digit sequence (odd for men, even for women) + check character."""
    for _ in range(1000):
        seq = f"{rng.randint(0, 99):02d}{rng.choice('13579' if male else '02468')}"
        if seq == "000":
            continue
        first17 = f"{region}{birth:%Y%m%d}{seq}"
        check = id_check_digit(first17)
        if not force_x or check == "X":
            return first17 + check
    raise AssertionError("no sequence found")


def make_number(rng: random.Random, prefix: str, length: int, used: set[str], avoid_tails: set[str]) -> str:
    """A Luhn-valid number of ``length`` digits on ``prefix``, unique and with a fresh last 4."""
    while True:
        body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
        number = body + luhn_check_digit(body)
        if number not in used and number[-4:] not in avoid_tails:
            used.add(number)
            avoid_tails.add(number[-4:])
            return number


def make_phone(rng: random.Random, used: set[str]) -> str:
    while True:
        phone = rng.choice(PHONE_PREFIXES) + "".join(str(rng.randint(0, 9)) for _ in range(8))
        if phone not in used and phone[-1] != phone[-2]:
            used.add(phone)
            return phone


def address(rng: random.Random, region: str) -> str:
    province, city, district, streets, _ = REGIONS[region]
    return (f"{province}{city}{district}{rng.choice(streets)}{rng.randint(1, 399)}号"
            f"{rng.choice(COMMUNITIES)}{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{rng.randint(1, 28)}"
            f"{rng.randint(1, 4):02d}室")


def add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def build_customer(spec: dict, used_numbers: set[str], used_phones: set[str]) -> dict:
    rng = random.Random(f"{SEED}/{spec['id']}")
    birth = date.fromisoformat(spec["birth"])
    male = spec["gender"] == "男"
    home = spec.get("home", spec["region"])
    branch_default = REGIONS[home][4]
    id_number = make_id_number(rng, spec["region"], birth, male, spec.get("force_x", False))
    phone = make_phone(rng, used_phones)
    level, assessed = spec["risk"]
    assessed_d = date.fromisoformat(assessed)
    tails: set[str] = set()

    # numbers first: card repayments and own transfers link accounts and cards
    acct_specs = spec.get("accounts", [])
    numbers = [make_number(rng, DEBIT_PREFIX, 19, used_numbers, tails) for _ in acct_specs]
    card_numbers = [make_number(rng, CREDIT_PREFIX, 16, used_numbers, tails) for _ in spec.get("cards", [])]
    profiles = [dict(a["profile"], fixed=list(a["profile"].get("fixed", []))) for a in acct_specs]
    main = next((i for i, a in enumerate(acct_specs) if a["kind"] == "借记卡" and a["status"] == "正常"
                 and a["profile"].get("label") != "dormant"), None)

    cards = []
    for cspec, number in zip(spec.get("cards", []), card_numbers, strict=True):
        debit = {"number": numbers[main]} if main is not None else None
        c, mirror = build_card(rng, cspec, number, debit)
        cards.append(c)
        if main is not None:
            profiles[main]["fixed"].extend(mirror)

    # wealth purchases inside the window are paid from the main debit account
    for h in spec.get("holdings", []):
        bought = date.fromisoformat(h["bought"])
        if main is not None and bought >= WINDOW_START:
            product = PRODUCT_BY_CODE[h["product_code"]]
            profiles[main]["fixed"].append(tx(datetime(bought.year, bought.month, bought.day, 10, rng.randint(0, 59)),
                                              -Decimal(h["amount"]), "转账转出",
                                              f"演练银行理财-{product['name']}（{product['code']}）", "手机银行",
                                              "购买理财产品", fixed=True))

    # Ⅱ类账户 are topped up monthly from the main debit account
    for i, a in enumerate(acct_specs):
        if a["kind"] == "Ⅱ类账户" and "topup" in a["profile"] and main is not None:
            day = rng.randint(11, 16)
            for d in monthly(day):
                amount = rmoney(rng, *a["profile"]["topup"], step=100)
                when = at(rng, d, 12, 21)
                profiles[main]["fixed"].append(tx(when, -amount, "转账转出", f"{mask_name(spec['name'])}（本人尾号"
                                                  f"{numbers[i][-4:]}）", "手机银行", "本人账户互转", fixed=True))
                profiles[i]["fixed"].append(tx(when, amount, "转账转入", f"{mask_name(spec['name'])}（本人尾号"
                                               f"{numbers[main][-4:]}）", "手机银行", "本人账户互转", fixed=True))

    accounts = []
    for a, number, p in zip(acct_specs, numbers, profiles, strict=True):
        branch = a["branch"] or branch_default
        if p.get("label") == "dormant":
            txns, balance = [], money(p["final"])
        else:
            txns, balance = settle_account(rng, debit_transactions(rng, p, f"{branch}支行"), p)
        accounts.append({"number": number, "kind": a["kind"], "status": a["status"], "status_memo": a["status_memo"],
                         "balance": fmt(balance), "currency": "CNY", "opened": a["opened"],
                         "branch": f"演练银行{branch}支行", "risk_events": a["risk_events"], "transactions": txns})

    note = spec.get("note")
    if not note:
        age = AS_OF.year - birth.year - ((AS_OF.month, AS_OF.day) < (birth.month, birth.day))
        parts = [f"常规演练客户（{spec['segment']}客群，{age}岁，{REGIONS[home][1] or REGIONS[home][0]}）"]
        if any(c["status"] == "未激活" for c in cards):
            parts.append("新办信用卡尚未激活，可用于“卡片刷不了”类咨询")
        if any(c["instalments"] for c in cards):
            parts.append("信用卡有分期，最低还款额含当期分期本金")
        if any(h.get("status") == "赎回中" for h in spec.get("holdings", [])):
            parts.append("有一笔理财正在赎回中（资金尚未到账）")
        if not accounts:
            parts.append("本行仅有信用卡，无借记账户，还款来自他行")
        if add_years(assessed_d, 1) < AS_OF:
            parts.append("风险测评已过期，购买理财前需重新测评")
        note = "；".join(parts) + "。可用于一般查询类演练。"
    note += f"核验要素：姓名{spec['name']}，证件号后六位{id_number[-6:]}，手机尾号{phone[-4:]}。"
    if spec.get("magic") == "id_mismatch":
        wrong_tail = phone[-4:-2] + phone[-1] + phone[-2]
        note += (f"来电人将声称：姓名“{ID_MISMATCH_NAME}”，证件号后六位{id_number[-6:]}（正确），手机尾号{wrong_tail}"
                 f"（错误，与登记的{phone[-4:]}不符），并称“手机号换了，收不到验证码”。")

    return {
        "id": spec["id"], "name": spec["name"], "gender": spec["gender"], "id_number": id_number, "phone": phone,
        "birth_date": spec["birth"], "segment": spec["segment"], "company": spec.get("company"),
        "risk_level": level, "risk_assessed": assessed, "risk_expires": iso(add_years(assessed_d, 1)),
        "address": address(rng, home), "magic": spec.get("magic"), "examiner_note": note,
        "accounts": accounts, "credit_cards": cards, "holdings": list(spec.get("holdings", [])),
    }


def finalise_transactions(customers: list[dict]) -> None:
    """Give every transaction an id and turn Decimals / datetimes into their JSON strings."""
    seq = 0

    def render(t: dict, with_balance: bool) -> dict:
        nonlocal seq
        seq += 1
        out = {"id": f"T{t['at']:%Y%m%d}{seq:06d}", "at": t["at"].isoformat(timespec="seconds"),
               "amount": fmt(t["amount"]), "type": t["type"], "counterparty": t["counterparty"],
               "channel": t["channel"], "memo": t["memo"]}
        if with_balance:
            out["balance_after"] = fmt(t["balance_after"])
        return out

    for c in customers:
        for a in c["accounts"]:
            a["transactions"] = [render(t, True) for t in a["transactions"]]
        for card_ in c["credit_cards"]:
            card_["recent_transactions"] = [render(t, False) for t in card_["recent_transactions"]]


def generate() -> dict:
    used_numbers: set[str] = set()
    used_phones: set[str] = set()
    customers = [build_customer(spec, used_numbers, used_phones) for spec in CUSTOMERS]
    finalise_transactions(customers)
    return {"as_of": iso(AS_OF), "bank": BANK, "products": PRODUCTS, "customers": customers}


def dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


# ---------------------------------------------------------------------------
# Self-check
# ---------------------------------------------------------------------------

MONEY_RE = re.compile(r"^-?\d+\.\d{2}$")
MAGIC = {"C001": "cc_bill", "C002": "wealth", "C003": "balance_drop", "C004": "elderly_transfer",
         "C005": "angry_human", "C006": "lost_debit", "C007": "complaint", "C008": "fraud_target",
         "C009": "corporate", "C010": "voice", "C011": "suggestion", "C012": "id_mismatch",
         "C013": "frozen_account", "C014": "overdue_card", "C015": "lost_card_reported", "C016": "dormant",
         "C017": "risk_mismatch"}


def verify(data: dict) -> tuple[list[str], dict]:
    """All problems found in ``data`` (empty when fine) and the totals."""
    errors: list[str] = []
    err = errors.append
    D = Decimal
    as_of = date.fromisoformat(data["as_of"])
    window_start = as_of - timedelta(days=90)

    def is_money(v, where):
        if not (isinstance(v, str) and MONEY_RE.match(v)):
            err(f"{where}: bad money {v!r}")
            return False
        return True

    if data.get("bank") != BANK or data["products"] != PRODUCTS:
        err("top level: bank or products differ from the brief")
    risk_of = {p["code"]: int(p["risk"][1]) for p in data["products"]}
    min_of = {p["code"]: D(p["min_amount"]) for p in data["products"]}
    ids = [c["id"] for c in data["customers"]]
    if ids != [f"C{i:03d}" for i in range(1, len(ids) + 1)] or len(ids) < 44:
        err("customer ids must run C001.. with at least 44 customers")
    numbers, phones, tx_ids = set(), set(), set()
    totals = {"customers": len(ids), "accounts": 0, "credit_cards": 0, "account_transactions": 0,
              "card_transactions": 0, "holdings": 0, "id_numbers_with_X": 0}

    for c in data["customers"]:
        cid = c["id"]
        # identity
        idn, birth = c["id_number"], date.fromisoformat(c["birth_date"])
        if not id_number_valid(idn):
            err(f"{cid}: ID check digit invalid")
        if idn[:6] not in REGIONS:
            err(f"{cid}: unknown region code {idn[:6]}")
        if idn[6:14] != birth.strftime("%Y%m%d"):
            err(f"{cid}: birth date in ID differs from birth_date")
        if (int(idn[16]) % 2 == 1) != (c["gender"] == "男") or c["gender"] not in ("男", "女"):
            err(f"{cid}: gender parity")
        totals["id_numbers_with_X"] += idn.endswith("X")
        if add_years(birth, 18) > as_of:
            err(f"{cid}: under 18")
        if not re.fullmatch(r"1(3\d|5\d|8\d|9\d)\d{8}", c["phone"]) or c["phone"] in phones:
            err(f"{cid}: phone invalid or duplicate")
        phones.add(c["phone"])
        seg = c["segment"]
        if seg not in ("老年", "青年", "企业", "普通"):
            err(f"{cid}: segment {seg}")
        if (seg == "老年") != (birth.year <= 1961):
            err(f"{cid}: 老年 must mean born 1961 or earlier")
        if seg == "青年" and birth.year < 1990:
            err(f"{cid}: 青年 born {birth.year}")
        if (seg == "企业") != bool(c.get("company")):
            err(f"{cid}: company only and always for 企业")
        if c["risk_level"] not in ("C1", "C2", "C3", "C4", "C5"):
            err(f"{cid}: risk level")
        if date.fromisoformat(c["risk_expires"]) <= date.fromisoformat(c["risk_assessed"]):
            err(f"{cid}: risk dates")
        if c["magic"] != MAGIC.get(cid):
            err(f"{cid}: magic {c['magic']!r}, expected {MAGIC.get(cid)!r}")
        if not c["examiner_note"] or not c["address"] or not c["name"]:
            err(f"{cid}: empty name/address/note")

        # accounts
        if not 0 <= len(c["accounts"]) <= 3:
            err(f"{cid}: {len(c['accounts'])} accounts")
        for a in c["accounts"]:
            totals["accounts"] += 1
            n = a["number"]
            where = f"{cid} account {n[-4:]}"
            if not (len(n) == 19 and n.startswith(DEBIT_PREFIX) and luhn_valid(n)) or n in numbers:
                err(f"{where}: number invalid or duplicate")
            numbers.add(n)
            if a["kind"] not in ("借记卡", "Ⅱ类账户") or a["status"] not in ("正常", "冻结", "挂失", "久悬"):
                err(f"{where}: kind/status")
            if a["currency"] != "CNY" or not a["branch"].startswith("演练银行") or not a["branch"].endswith("支行"):
                err(f"{where}: currency/branch")
            if a["kind"] == "Ⅱ类账户" and any(t["type"] in ("ATM取款", "POS消费") for t in a["transactions"]):
                err(f"{where}: a Ⅱ类账户 has no physical card (no ATM/POS)")
            if not is_money(a["balance"], where) or D(a["balance"]) < 0:
                continue
            txns = a["transactions"]
            if a["status"] == "久悬" and txns:
                err(f"{where}: dormant account with transactions")
            prev_at, running = None, None
            for t in txns:
                totals["account_transactions"] += 1
                if t["id"] in tx_ids or not t["id"].startswith("T"):
                    err(f"{where}: transaction id {t['id']}")
                tx_ids.add(t["id"])
                when = datetime.fromisoformat(t["at"])
                if not window_start <= when.date() <= as_of:
                    err(f"{where}: {t['id']} outside the 90-day window")
                if when.date() == as_of and when.hour >= AS_OF_CUTOFF_HOUR:
                    err(f"{where}: {t['id']} later than the drill morning of the as-of date")
                if prev_at and when <= prev_at:
                    err(f"{where}: not sorted by time at {t['id']}")
                prev_at = when
                if not (is_money(t["amount"], where) and is_money(t["balance_after"], where)):
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

        type1 = [a["opened"] for a in c["accounts"] if a["kind"] == "借记卡"]
        if len(type1) > 1 and sum(o >= "2016-12-01" for o in type1) > 0:
            err(f"{cid}: several I类 accounts, one opened after the 2016-12-01 one-account rule")

        # credit cards
        if not 0 <= len(c["credit_cards"]) <= 2:
            err(f"{cid}: {len(c['credit_cards'])} cards")
        for card_ in c["credit_cards"]:
            totals["credit_cards"] += 1
            n = card_["number"]
            where = f"{cid} card {n[-4:]}"
            if not (len(n) == 16 and n.startswith(CREDIT_PREFIX) and luhn_valid(n)) or n in numbers:
                err(f"{where}: number invalid or duplicate")
            numbers.add(n)
            if card_["status"] not in ("正常", "冻结", "挂失", "逾期", "未激活"):
                err(f"{where}: status")
            sd, bill = card_["statement_day"], card_["bill"]
            if not (isinstance(sd, int) and 1 <= sd <= 28) or card_["due_day_offset"] != DUE_DAY_OFFSET:
                err(f"{where}: statement day / offset")
                continue
            stmt, prev_stmt = statement_dates(sd)
            if (bill["statement_date"], bill["period_end"], bill["period_start"], bill["due_date"]) != (
                    iso(stmt), iso(stmt), iso(prev_stmt + timedelta(days=1)),
                    iso(stmt + timedelta(days=DUE_DAY_OFFSET))):
                err(f"{where}: bill dates inconsistent with statement day {sd}")
            for key in ("amount", "minimum", "paid"):
                is_money(bill[key], f"{where} bill.{key}")
            for key in ("limit", "available"):
                is_money(card_[key], f"{where} {key}")
            amount, minimum, paid = D(bill["amount"]), D(bill["minimum"]), D(bill["paid"])
            inst_principal = sum((D(i["per_period"]) for i in card_["instalments"]), D(0))
            inst_due = sum((D(i["per_period"]) + D(i["fee_per_period"]) for i in card_["instalments"]), D(0))
            if minimum != money(amount * D("0.1")) + inst_principal:
                err(f"{where}: minimum {minimum} is not 10% of {amount} plus instalment principal")
            if not (0 <= minimum <= amount and 0 <= paid <= amount):
                err(f"{where}: minimum/paid out of range")
            for i in card_["instalments"]:
                if i["kind"] not in ("账单分期", "现金分期", "消费分期") or D(i["per_period"]) * i["periods"] != D(i["total"]) \
                        or not 0 <= i["paid_periods"] < i["periods"] or i["current_period"] != i["paid_periods"] + 1 \
                        or D(i["remaining_principal"]) != D(i["total"]) - D(i["per_period"]) * i["current_period"]:
                    err(f"{where}: instalment arithmetic")
            b = {k: D(v) for k, v in bill["breakdown"].items()}
            if b["previous_balance"] - b["payments"] + b["new_charges"] + b["instalment_due"] + b["interest_fees"] \
                    != amount or b["instalment_due"] != inst_due:
                err(f"{where}: bill breakdown does not add up")
            txns = card_["recent_transactions"]
            if card_["status"] == "未激活":
                if txns or amount != 0:
                    err(f"{where}: inactive card with activity")
            elif not 5 <= len(txns) <= 15:
                err(f"{where}: {len(txns)} recent transactions")
            in_period, fees_in_period, repaid_before, repaid_after, unbilled = D(0), D(0), D(0), D(0), D(0)
            prev_at = None
            for t in txns:
                totals["card_transactions"] += 1
                if t["id"] in tx_ids:
                    err(f"{where}: duplicate transaction id {t['id']}")
                tx_ids.add(t["id"])
                when = datetime.fromisoformat(t["at"])
                if when.date() > as_of or (prev_at and when <= prev_at) \
                        or (when.date() == as_of and when.hour >= AS_OF_CUTOFF_HOUR):
                    err(f"{where}: transaction time {t['at']}")
                prev_at = when
                if t["type"] not in CARD_TYPES or t["channel"] not in CHANNELS or not is_money(t["amount"], where):
                    err(f"{where}: transaction type/channel/amount {t['id']}")
                    continue
                amt, d = D(t["amount"]), when.date()
                if (t["type"] == "还款" or t["type"] == "退款") != (amt > 0):
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
            if card_["status"] != "未激活":
                if in_period != b["new_charges"] or fees_in_period != b["interest_fees"]:
                    err(f"{where}: listed charges {in_period}/{fees_in_period} differ from the bill breakdown")
                if repaid_before != b["payments"] or repaid_after != paid:
                    err(f"{where}: repayments {repaid_before}/{repaid_after} differ from payments/paid")
            remaining = sum((D(i["remaining_principal"]) for i in card_["instalments"]), D(0))
            if D(card_["available"]) != D(card_["limit"]) - (amount - paid) - unbilled - remaining \
                    or D(card_["available"]) < 0:
                err(f"{where}: available {card_['available']} inconsistent")
            overdue = card_["overdue_days"] > 0
            if overdue != (bill["status"] == "逾期") or overdue != (card_["status"] == "逾期"):
                err(f"{where}: overdue days / bill status / card status disagree")
            if not overdue:
                if (bill["status"] == "已还清") != (paid == amount):
                    err(f"{where}: bill status {bill['status']} with paid {paid} of {amount}")
                if stmt + timedelta(days=DUE_DAY_OFFSET) < as_of and paid < minimum:
                    err(f"{where}: minimum unpaid after the due date but not overdue")
            if not card_["annual_fee"]["waiver_rule"] or not is_money(card_["annual_fee"]["amount"], where):
                err(f"{where}: annual fee")

        # holdings
        if not 0 <= len(c["holdings"]) <= 3:
            err(f"{cid}: {len(c['holdings'])} holdings")
        level = int(c["risk_level"][1])
        for h in c["holdings"]:
            totals["holdings"] += 1
            code = h["product_code"]
            if code not in risk_of or not is_money(h["amount"], cid) or D(h["amount"]) < min_of[code]:
                err(f"{cid}: holding {code} invalid")
                continue
            if date.fromisoformat(h["bought"]) > as_of or h["status"] not in ("持有中", "赎回中"):
                err(f"{cid}: holding {code} date/status")
            if risk_of[code] > level and cid != "C017":
                err(f"{cid}: holds {code} (R{risk_of[code]}) above risk level C{level}")
            if risk_of[code] <= level and not c["risk_assessed"] <= h["bought"] < c["risk_expires"]:
                err(f"{cid}: {code} bought outside the risk assessment's validity")
        if cid == "C017" and not any(risk_of[h["product_code"]] > level for h in c["holdings"]):
            err("C017: the deliberate risk mismatch is missing")

    # the facts scenario writers rely on
    by_id = {c["id"]: c for c in data["customers"]}

    def expect(cond, message):
        if not cond:
            err(f"magic: {message}")

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
    expect(by_id["C009"]["segment"] == "企业" and any(h["product_code"] == "RY001" for h in by_id["C009"]["holdings"])
           and by_id["C009"]["risk_level"] == "C4", "C009 corporate")
    expect(by_id["C013"]["accounts"][0]["status"] == "冻结" and "司法冻结" in by_id["C013"]["accounts"][0]["status_memo"],
           "C013 frozen")
    c14 = by_id["C014"]["credit_cards"][0]
    expect(c14["status"] == "逾期" and c14["overdue_days"] == 35 and c14["bill"]["status"] == "逾期", "C014 overdue")
    expect(by_id["C015"]["accounts"][0]["status"] == "挂失", "C015 lost card")
    a16 = by_id["C016"]["accounts"][0]
    expect(a16["status"] == "久悬" and not a16["transactions"], "C016 dormant")
    c17 = by_id["C017"]
    expect(c17["risk_level"] == "C2" and c17["risk_expires"] == "2026-06-30"
           and any(h["product_code"] == "RY001" for h in c17["holdings"]), "C017 risk mismatch")
    expect(any(date.fromisoformat(c["risk_expires"]) < as_of for c in data["customers"]), "some risk levels expired")
    return errors, totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify customers.json instead of writing it")
    parser.add_argument("--table", action="store_true", help="print the README table of magic customers")
    args = parser.parse_args(argv)
    text = dumps(generate())
    if args.table:
        data = json.loads(text)
        print("| 编号 | 姓名 | 客群 | magic | 特殊之处 | 演练场景 | 证件后六位 / 手机尾号 |")
        print("|---|---|---|---|---|---|---|")
        for c in data["customers"]:
            if c["magic"]:
                special, scenario = MAGIC_SUMMARY[c["id"]]
                print(f"| {c['id']} | {c['name']} | {c['segment']} | `{c['magic']}` | {special} | {scenario} | "
                      f"{c['id_number'][-6:]} / {c['phone'][-4:]} |")
        return 0
    if not args.check:
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUTPUT}")
        return 0
    problems = []
    if dumps(generate()) != text:
        problems.append("two generations differ (not deterministic)")
    if not OUTPUT.exists():
        problems.append(f"{OUTPUT.name} missing: run without --check first")
        on_disk = text
    else:
        on_disk = OUTPUT.read_text(encoding="utf-8")
        if on_disk != text:
            problems.append(f"{OUTPUT.name} is not what this script generates: regenerate it")
    errors, totals = verify(json.loads(on_disk))
    problems.extend(errors)
    for p in problems:
        print("FAIL", p)
    print(" ".join(f"{k}={v}" for k, v in totals.items()))
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
