"""The fixed list of knowledge-base categories (also used by work orders) and article statuses."""

from __future__ import annotations

from typing import Any

CATEGORIES: tuple[str, ...] = (
    "账户", "借记卡", "信用卡", "转账汇款", "手机银行", "存款", "理财", "贷款", "征信",
    "反诈", "投诉建议", "外汇", "网点服务", "老年客户", "人工服务",
)

DRAFT, PUBLISHED, RETIRED = "草稿", "已发布", "已下线"
STATUSES: tuple[str, ...] = (DRAFT, PUBLISHED, RETIRED)


def is_category(value: object) -> bool:
    return isinstance(value, str) and value in CATEGORIES


# Words in another bank's own category names that point to one of the fixed categories; the
# first that a name contains decides (longer, more specific words first).
CATEGORY_HINTS: tuple[tuple[str, str], ...] = (
    ("贷记卡", "信用卡"), ("储蓄卡", "借记卡"), ("银行卡", "借记卡"), ("社保卡", "借记卡"), ("工资卡", "借记卡"),
    ("大额存单", "存款"), ("定期", "存款"), ("活期", "存款"), ("储蓄", "存款"),
    ("结售汇", "外汇"), ("外币", "外汇"), ("跨境", "外汇"),
    ("网上银行", "手机银行"), ("电子银行", "手机银行"), ("网银", "手机银行"), ("APP", "手机银行"),
    ("微信银行", "手机银行"), ("云闪付", "手机银行"),
    ("汇款", "转账汇款"), ("转账", "转账汇款"), ("代发", "转账汇款"),
    ("按揭", "贷款"), ("房贷", "贷款"), ("信贷", "贷款"), ("借款", "贷款"),
    ("信用报告", "征信"), ("诈骗", "反诈"), ("防骗", "反诈"), ("风险提示", "反诈"),
    ("基金", "理财"), ("保险", "理财"), ("贵金属", "理财"), ("国债", "理财"),
    ("投诉", "投诉建议"), ("建议", "投诉建议"), ("营业厅", "网点服务"), ("柜面", "网点服务"),
    ("柜台", "网点服务"), ("预约", "网点服务"), ("适老", "老年客户"), ("老年", "老年客户"),
    ("养老", "老年客户"), ("客服", "人工服务"), ("客户服务", "人工服务"), ("人工", "人工服务"),
    ("开户", "账户"), ("销户", "账户"),
    # Not 挂失: losing a card happens to credit and debit cards alike ("挂失与安全" in a card
    # centre's FAQ is about credit cards); such a group takes the importer's default category.
)
NO_CATEGORY = "（无分类）"


def fixed_category(name: object) -> str | None:
    """The fixed category another bank's category name most plainly means, or None.

    A fixed name is itself; a name containing a fixed name means it ("信用卡业务" → 信用卡, the
    longest such name when several fit); otherwise the first hint word it contains decides.
    """
    if not isinstance(name, str) or not name.strip():
        return None
    text = name.strip().upper()
    if text in CATEGORIES:
        return text
    inside = [c for c in CATEGORIES if c in text]
    if inside:
        return max(inside, key=len)
    return next((category for word, category in CATEGORY_HINTS if word in text), None)


def assign_categories(rows: list[tuple[int, Any]], default: str) -> tuple[list[tuple[int, Any]], dict[str, str]]:
    """Give every row whose category is missing or not a fixed one a fixed category.

    Each such row gets ``fixed_category`` of its own category, or ``default`` when nothing fits,
    and keeps its original category as a tag so nothing a trainer wrote is lost. Returns the
    rows (new dicts; the input is not changed) and what each original category became.
    Rows that are not objects are left for validation to report.
    """
    if default not in CATEGORIES:
        raise ValueError(f"归入的分类 {default!r} 无效；可选：{'、'.join(CATEGORIES)}")
    out: list[tuple[int, Any]] = []
    moves: dict[str, str] = {}
    for line, raw in rows:
        if not isinstance(raw, dict) or is_category(raw.get("category")):
            out.append((line, raw))
            continue
        original = raw.get("category")
        label = str(original).strip() if original not in (None, "") else ""
        target = fixed_category(label) or default
        record = dict(raw, category=target)
        tags = record.get("tags")
        if label and isinstance(tags, list) and label not in tags:
            record["tags"] = [*tags, label[:32]]
        elif label and tags in (None, "", []):
            record["tags"] = [label[:32]]
        moves[label or NO_CATEGORY] = target
        out.append((line, record))
    return out, moves
