"""The work-order state machine: the one transition table.

Every status change goes through :func:`check_transition`; an edge missing from
``TRANSITIONS`` raises :class:`IllegalTransition` naming the allowed next states,
and each edge lists the fields it requires (checked by :func:`missing_fields`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.errors import IllegalTransition, ValidationFailed

NEW, ASSIGNED, IN_PROGRESS, FOLLOW_UP, CLOSED, ESCALATED, CANCELLED = (
    "新建", "已分派", "处理中", "待回访", "已办结", "已升级", "已撤销")
STATES: tuple[str, ...] = (NEW, ASSIGNED, IN_PROGRESS, FOLLOW_UP, CLOSED, ESCALATED, CANCELLED)
TERMINAL: frozenset[str] = frozenset({CLOSED, CANCELLED})
OPEN_STATES: tuple[str, ...] = tuple(s for s in STATES if s not in TERMINAL)
# States in which the order may be put on hold waiting for the customer (SLA pauses).
PAUSABLE: frozenset[str] = frozenset({ASSIGNED, IN_PROGRESS, ESCALATED})

# Field names a transition may require (the API body uses the same names).
ASSIGNEE, RESOLUTION_NOTE, SATISFACTION, REASON = "assignee", "resolution_note", "satisfaction", "note"
FIELD_LABELS = {ASSIGNEE: "处理人", RESOLUTION_NOTE: "处理结果说明", SATISFACTION: "满意度",
                REASON: "原因说明"}


@dataclass(frozen=True)
class Edge:
    """One allowed move, its label for buttons and the fields it requires."""

    label: str
    requires: tuple[str, ...] = ()
    # For edges that need a particular satisfaction result (close vs reopen).
    satisfaction_in: tuple[str, ...] = ()


TRANSITIONS: dict[tuple[str, str], Edge] = {
    (NEW, ASSIGNED): Edge("分派", (ASSIGNEE,)),
    (NEW, ESCALATED): Edge("升级", (REASON,)),
    (NEW, CANCELLED): Edge("撤销", (REASON,)),
    (ASSIGNED, IN_PROGRESS): Edge("开始处理"),
    (ASSIGNED, ESCALATED): Edge("升级", (REASON,)),
    (ASSIGNED, CANCELLED): Edge("撤销", (REASON,)),
    (IN_PROGRESS, FOLLOW_UP): Edge("处理完成，待回访", (RESOLUTION_NOTE,)),
    (IN_PROGRESS, ESCALATED): Edge("升级", (REASON,)),
    (IN_PROGRESS, CANCELLED): Edge("撤销", (REASON,)),
    (FOLLOW_UP, CLOSED): Edge("回访满意，办结", (SATISFACTION,), ("满意", "一般")),
    (FOLLOW_UP, IN_PROGRESS): Edge("回访不满意，重新处理", (SATISFACTION,), ("不满意",)),
    (ESCALATED, ASSIGNED): Edge("重新分派", (ASSIGNEE,)),
    (ESCALATED, IN_PROGRESS): Edge("上级接手处理"),
    (ESCALATED, CANCELLED): Edge("撤销", (REASON,)),
}


def allowed_next(state: str) -> list[str]:
    """The states reachable from ``state`` in one step, in canonical order."""
    return [to for to in STATES if (state, to) in TRANSITIONS]


def check_transition(current: str, target: str) -> Edge:
    """The edge ``current → target``; raises for an unknown or illegal target."""
    if target not in STATES:
        raise ValidationFailed(f"未知的工单状态「{target}」；可选：{'、'.join(STATES)}。",
                               code="unknown_status", details={"allowed": list(STATES)})
    edge = TRANSITIONS.get((current, target))
    if edge is None:
        allowed = allowed_next(current)
        hint = f"可转为：{'、'.join(allowed)}" if allowed else "该状态已结束，不能再变更"
        raise IllegalTransition(f"工单状态不能从「{current}」变为「{target}」；{hint}。",
                                details={"from": current, "to": target, "allowed": allowed})
    return edge


def missing_fields(edge: Edge, values: Mapping[str, Any]) -> list[str]:
    """Required fields of ``edge`` that ``values`` leaves empty."""
    return [name for name in edge.requires if not str(values.get(name) or "").strip()]
