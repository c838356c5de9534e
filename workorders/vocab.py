"""The closed vocabularies of work orders and handoffs (one place for each list).

``CATEGORIES`` are the knowledge base's categories (knowledge_base/categories.py).
"""

from __future__ import annotations

from knowledge_base.categories import CATEGORIES as KB_CATEGORIES

TYPES: tuple[str, ...] = ("咨询", "投诉", "建议", "业务办理", "故障")
PRIORITIES: tuple[str, ...] = ("紧急", "高", "中", "低")
QUEUES: tuple[str, ...] = ("人工坐席", "信用卡中心", "风险管理部", "运营网点", "科技运维")
CATEGORIES: tuple[str, ...] = tuple(KB_CATEGORIES)

# Follow-up (回访): how the call went and what the customer said.
CONTACT_RESULTS: tuple[str, ...] = ("已接通", "未接通", "客户拒绝回访")
CONTACT_REACHED = "已接通"
SATISFACTION: tuple[str, ...] = ("满意", "一般", "不满意")
SATISFIED: tuple[str, ...] = ("满意", "一般")
UNSATISFIED = "不满意"

# Who may read a history entry: staff only, or also what the customer was told.
VISIBILITY_INTERNAL = "internal"
VISIBILITY_CUSTOMER = "customer"
VISIBILITIES: dict[str, str] = {VISIBILITY_INTERNAL: "内部备注", VISIBILITY_CUSTOMER: "告知客户"}

# Handoff (转人工) summary vocabularies.
VERIFICATION_STATUSES: tuple[str, ...] = ("已核验", "未核验", "核验失败")
MOODS: tuple[str, ...] = ("平静", "焦虑", "不满", "愤怒")


def mood_label(mood: int) -> str:
    """A simulated customer's mood (-5…5) in the handoff summary's words (one of ``MOODS``)."""
    if mood >= 0:
        return "平静"
    if mood >= -2:
        return "焦虑"
    if mood == -3:
        return "不满"
    return "愤怒"

# Defaults used by the console panel and by callback orders.
DEFAULT_TYPE = "咨询"
DEFAULT_PRIORITY = "中"
DEFAULT_QUEUE = "人工坐席"
CALLBACK_TYPES: tuple[str, ...] = ("咨询", "业务办理")
CALLBACK_CATEGORY = "人工服务"
CALLBACK_QUEUE = "人工坐席"

# Text limits (characters).
MAX_TITLE = 100
MAX_DESCRIPTION = 2000
MAX_NOTE = 1000
MAX_ASSIGNEE = 64
MAX_SUMMARY_FIELD = 500
MAX_TRANSCRIPT_ENTRIES = 500
MAX_TRANSCRIPT_TEXT = 2000
