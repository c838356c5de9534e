"""Earlier work orders of a drill's customer (``prior_workorders`` in a scenario contact).

A follow-up call (闭环跟进) needs history: at drill start each such contact's customer gets
the work orders the scenario declares, dated in the past by the injected clock, with their
status reached along the work-order state machine and their timeline notes. They belong to
the candidate's sandbox (created under the candidate's user, labelled as earlier staff), so
the candidate finds them in the work-order list and through the conversation's
``/workorders`` lookup, and can add a note or move them on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sandbox.drill.facts import fill
from sandbox.roles import CANDIDATE
from workorders import access, changes, creation, states
from workorders.models import WorkOrder
from workorders.vocab import VISIBILITY_INTERNAL

# The statuses an earlier order may be left in, and the path the state machine takes to each.
PATHS: dict[str, tuple[str, ...]] = {
    states.NEW: (),
    states.ASSIGNED: (states.ASSIGNED,),
    states.IN_PROGRESS: (states.ASSIGNED, states.IN_PROGRESS),
    states.FOLLOW_UP: (states.ASSIGNED, states.IN_PROGRESS, states.FOLLOW_UP),
    states.CLOSED: (states.ASSIGNED, states.IN_PROGRESS, states.FOLLOW_UP, states.CLOSED),
}
DEFAULT_STAFF = "客服中心"
DEFAULT_ASSIGNEE = "运营网点处理组"
MAX_DAYS_AGO = 365


@dataclass(frozen=True)
class _At:
    """A clock stopped at one moment (the work-order services read the time from a clock)."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment


def create_prior_orders(session: Session, now: datetime, owner_id: int, customer_code: str, customer_name: str,
                        specs: Sequence[Mapping[str, Any]], facts: Mapping[str, str] | None = None
                        ) -> list[WorkOrder]:
    """Create the earlier work orders ``specs`` (validated by the scenario parser) for one customer.

    Each spec: ``days_ago``, ``type``, ``category``, ``priority``, ``queue``, ``title``,
    ``description``, ``status`` (default 新建), ``assignee``, ``resolution_note``,
    ``satisfaction``, ``staff`` (who handled it) and ``history`` (``[{days_ago, note,
    visibility}]`` notes on its timeline). Texts are templates filled with ``facts``.
    Returns the orders, oldest first; never commits.
    """
    facts = dict(facts or {})
    out = []
    for spec in sorted(specs, key=lambda s: -int(s.get("days_ago", 0))):
        out.append(_create_one(session, now, owner_id, customer_code, customer_name, spec, facts))
    return out


def _create_one(session: Session, now: datetime, owner_id: int, customer_code: str, customer_name: str,
                spec: Mapping[str, Any], facts: dict[str, str]) -> WorkOrder:
    def text(key: str, default: str = "") -> str:
        return fill(str(spec.get(key) or default), facts)

    created = now - timedelta(days=int(spec.get("days_ago", 0)))
    actor = access.Actor(user_id=owner_id, role=CANDIDATE, label=text("staff", DEFAULT_STAFF))
    order = creation.create_order(session, _At(created), actor, {
        "type": spec["type"], "category": spec["category"], "priority": spec.get("priority") or None,
        "queue": spec.get("queue") or None, "title": text("title"), "description": text("description"),
        "customer_id": customer_code, "customer_name": customer_name})
    notes = sorted(spec.get("history") or [], key=lambda h: -int(h.get("days_ago", 0)))
    path = PATHS[spec.get("status") or states.NEW]
    # The status moves in the hour after creation, except the steps after the first note
    # (待回访 and 已办结 come after the handling the notes describe).
    step_at = created
    for target in path:
        if target in (states.FOLLOW_UP, states.CLOSED) and notes:
            step_at = max(step_at, now - timedelta(days=int(notes[-1].get("days_ago", 0)))) + timedelta(minutes=30)
        else:
            step_at = step_at + timedelta(minutes=20)
        for note in [n for n in notes if now - timedelta(days=int(n.get("days_ago", 0))) <= step_at]:
            _note(session, now, actor, order.number, note, facts)
            notes.remove(note)
        changes.transition(session, _At(step_at), actor, order.number, target, {
            "assignee": text("assignee", DEFAULT_ASSIGNEE), "resolution_note": text("resolution_note"),
            "satisfaction": spec.get("satisfaction") or "满意", "visibility": VISIBILITY_INTERNAL})
    for note in notes:
        _note(session, now, actor, order.number, note, facts)
    session.flush()
    return order


def _note(session: Session, now: datetime, actor: access.Actor, number: str, note: Mapping[str, Any],
          facts: dict[str, str]) -> None:
    at = now - timedelta(days=int(note.get("days_ago", 0)))
    changes.add_note(session, _At(at), actor, number, fill(str(note["note"]), facts),
                     note.get("visibility") or VISIBILITY_INTERNAL)
