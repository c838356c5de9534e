"""What of a drill's report each person may see."""

from __future__ import annotations

from typing import Any

from sandbox.accounts.models import User
from sandbox.drill import engine
from sandbox.drill.facts import customer_facts, fill
from sandbox.drill.models import Drill
from sandbox.web.glue import db

STAFF_ROLES = ("examiner", "admin")


def results_released(drill: Drill) -> bool:
    """Practice reports are instant; exam results wait until the examiner releases them."""
    from sandbox.exam.service import results_released as released

    return released(db(), drill)


def reference_steps(drill: Drill) -> list[dict[str, Any]]:
    """The scenario's model answer with its templates filled in."""
    spec = engine.scenario_spec(db(), drill.scenario_id, drill.scenario_version)
    out = []
    for step in spec.reference_run:
        key = step.get("contact") or spec.contacts[0].key
        facts = customer_facts(spec.contact(key).customer, spec.facts)
        item = {k: v for k, v in step.items()}
        if isinstance(item.get("text"), str):
            item["text"] = fill(item["text"], facts)
        out.append(item)
    return out


def visible_report(drill: Drill, user: User) -> dict[str, Any]:
    """The report as ``user`` may see it; hidden (pending) for candidates until released."""
    base = {"drill": drill.id, "status": drill.status, "mode": drill.mode, "scenario": drill.scenario_id}
    if drill.status != engine.FINISHED:
        return {**base, "released": False}
    if user.role not in STAFF_ROLES and not results_released(drill):
        return {**base, "released": False, "message": "已交卷，成绩将在考官发布后可见。"}
    report = dict(drill.report or {})
    spec = engine.scenario_spec(db(), drill.scenario_id, drill.scenario_version)
    report.update(base)
    report["released"] = True
    report["expected_outcome"] = fill(spec.expected_outcome, customer_facts(spec.contacts[0].customer, spec.facts))
    report["reference_run"] = reference_steps(drill)
    return report
