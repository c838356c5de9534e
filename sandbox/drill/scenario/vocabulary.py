"""The scenario format's words and limits: dimensions, difficulties, channels, event and
operation names, check types, rule conditions, the facts every scenario knows, size limits.

One source for each list: the validators, the rubric, the exam and the pages read them here.
The format itself is documented in docs/scenario-format.md.
"""

from __future__ import annotations

import re

from sandbox.drill.facts import IDENTITY_VARIANT_FACTS
from sandbox.safe_load import YamlLimits

DIMENSIONS = ("智能适配", "专业适配", "沟通与服务", "应急处置", "职业素养")
DIFFICULTIES = ("初级", "中级", "高级")
PERSONAS = ("老年", "青年", "企业", "普通", "情绪激动", "焦虑", "特殊需求")
CHANNELS = ("文字", "语音")
FAULT_COMPONENTS = {"bot": "智能识别/机器人", "kb": "知识库检索", "lookup": "客户信息查询"}

LOOKUP_EVENTS = ("lookup.customer", "lookup.accounts", "lookup.transactions", "lookup.cards", "lookup.bill",
                 "lookup.workorders")
EVENT_TYPES = (
    "drill.started", "drill.finished", "drill.expired", "contact.arrived", "message.customer",
    "message.agent", "asr.recognized", "kb.search", "kb.open", "suggestion.use", "identity.sms",
    "identity.failed", "identity.verified", "identity.locked", *LOOKUP_EVENTS, "freeze",
    "workorder.created", "workorder.updated", "handoff", "handoff.accepted", "fault.started",
    "fault.ended", "fault.blocked", "compliance.flag",
)
# Operation names usable in rules and checks: every event type, plus "lookup" for any lookup.
OP_NAMES = frozenset(EVENT_TYPES) | {"lookup"}

REFERENCE_OPS = {
    "say": {"text"}, "recognize": set(), "kb.search": {"query"}, "kb.open": {"article"},
    "suggestion.use": {"article"}, "identity.sms": set(), "identity.verify": {"method"},
    "lookup.customer": set(), "lookup.accounts": set(), "lookup.cards": set(),
    "lookup.transactions": set(), "lookup.bill": set(), "freeze": {"target"},
    "workorder.create": {"type", "priority", "queue"}, "handoff": {"queue", "summary"}, "finish": set(),
    # The customer's earlier work orders (工单记录) and changes to one of them (``index`` in that list).
    "lookup.workorders": set(), "workorder.note": {"text"}, "workorder.transition": {"to"},
}
CHECK_TYPES = {
    "op": {"op"}, "no_op": {"op"}, "before": {"first", "then"}, "first_reply_within": {"seconds"},
    "reply_fact": {"fact"}, "said_any": {"phrases"}, "article": {"articles"}, "workorder": {"expect"},
    "handoff": set(), "greeting": set(), "closing": set(), "empathy_first": set(),
    "fault_handled": {"within"}, "compliance": set(),
    # Rubric v2: judged by dialogue acts and claims (sandbox.dialogue).
    "claim": {"claim"}, "act": {"acts"}, "tone": set(), "answered": set(), "mood": set(),
}
RULE_CONDITIONS = {"said_any", "said_all", "not_said_any", "said_fact", "op", "after_rule", "not_after_rule", "act",
                   "silence", "mood_below", "mood_at_least"}
TRIGGER_CONDITIONS = {"said_any", "said_all", "said_fact", "op", "silence", "act"}
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
KEY_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
CUSTOMER_ID = re.compile(r"^C\d{3,}$")
DEFAULT_ASR_CONFIDENCE = 0.93
MAX_YAML_BYTES = 200_000
# A scenario is a few hundred nodes, nested about eight deep; anchors and aliases are refused.
SCENARIO_YAML_LIMITS = YamlLimits(max_bytes=MAX_YAML_BYTES, max_nodes=20_000, max_depth=32)
MAX_TURN_CHARS = 2000  # what a drill message may hold (sandbox.drill.event_log's MAX_MESSAGE_CHARS)
MAX_FACT_CHARS = 200

# What an earlier work order of a contact's customer (``prior_workorders``) may say.
PRIOR_ORDER_KEYS = {"days_ago", "type", "category", "priority", "queue", "title", "description", "status", "assignee",
                    "resolution_note", "satisfaction", "staff", "history"}

# Operations an agent performs: the only ones a need can wait for.
AGENT_OPS = frozenset({"identity.sms", "identity.verified", "identity.failed", *LOOKUP_EVENTS, "lookup", "freeze",
                       "workorder.created", "workorder.updated", "handoff", "kb.search", "kb.open", "suggestion.use",
                       "asr.recognized"})

BASE_FACTS = {"name", "id_last6", "phone_last4", "card_last4", "bill_amount", "bill_minimum", "bill_due_date",
              "account_last4", "balance", "segment", "risk_level"} | IDENTITY_VARIANT_FACTS
