"""Who may do what with work orders: the acting user (``Actor``) and the access checks.

Candidates reach only the orders they created; examiners and admins reach all; trainers have
no access to work orders (a declared decision).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.errors import Forbidden
from sandbox.roles import STAFF_ROLES, WORK_ORDER_ROLES
from workorders.models import WorkOrder


@dataclass(frozen=True)
class Actor:
    """Who is acting: enough to check access and label history without a query."""

    user_id: int
    role: str
    label: str

    @classmethod
    def of(cls, user: Any) -> Actor:
        return cls(user_id=user.id, role=user.role, label=user.label)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


def require_work_order_role(actor: Actor) -> None:
    """Trainers author content; they have no access to work orders (declared decision)."""
    if actor.role not in WORK_ORDER_ROLES:
        raise Forbidden("您的角色无权查看或处理工单。")


def check_access(actor: Actor, order: WorkOrder) -> None:
    """Candidates reach only orders they created; examiners and admins reach all."""
    require_work_order_role(actor)
    if not actor.is_staff and order.creator_id != actor.user_id:
        raise Forbidden("这不是您创建的工单，无权查看或修改。")


def check_conversation_access(actor: Actor, owner_user_id: int) -> None:
    """An order may name a conversation only its creator owns; examiners and admins may name any."""
    require_work_order_role(actor)
    if not actor.is_staff and owner_user_id != actor.user_id:
        raise Forbidden("这不是您的会话，不能为它创建工单。", code="forbidden",
                        details={"field": "conversation_id"})
