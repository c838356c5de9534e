"""The fixed list of knowledge-base categories (also used by work orders) and article statuses."""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = (
    "账户", "借记卡", "信用卡", "转账汇款", "手机银行", "存款", "理财", "贷款", "征信",
    "反诈", "投诉建议", "外汇", "网点服务", "老年客户", "人工服务",
)

DRAFT, PUBLISHED, RETIRED = "草稿", "已发布", "已下线"
STATUSES: tuple[str, ...] = (DRAFT, PUBLISHED, RETIRED)


def is_category(value: object) -> bool:
    return isinstance(value, str) and value in CATEGORIES
