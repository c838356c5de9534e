"""What of a drill's report each person may see (plain values, a session and a clock: the web
layer passes its request session)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sandbox.clock import Clock
from sandbox.drill import drill_clock, drill_contacts, followups
from sandbox.drill.facts import customer_facts, fill
from sandbox.drill.models import Drill
from sandbox.drill.scenario.store import scenario_spec
from sandbox.exam.rounds import answers_withheld as _withheld
from sandbox.exam.rounds import results_released as _released
from sandbox.roles import STAFF_ROLES
from sandbox.users.models import User

PENDING_MESSAGE = "已交卷，成绩将在考官发布后可见。"
WITHHELD_MESSAGE = "该场景正用作尚未结束的考试考题，参考答案与逐项评分将在考试结束后公开。"


def results_released(session: Session, drill: Drill) -> bool:
    """Practice reports are instant; exam results wait until the examiner releases them."""
    return _released(session, drill)


def scores_visible(session: Session, drill: Drill, user: User) -> bool:
    """Whether ``user`` may see this drill's score fields (total, hard fail, checks, evidence).

    Examiners and admins always; the candidate once the drill is over and, for an exam, once
    the examiner has released the round's results.
    """
    if drill.status != drill_clock.FINISHED:
        return False
    return user.role in STAFF_ROLES or results_released(session, drill)


def answers_withheld(session: Session, clock: Clock, drill: Drill, user: User) -> bool:
    """A candidate's practice report of a scenario a round not over yet holds: no reference, no checks."""
    return drill.mode == "practice" and user.role == "candidate" and _withheld(session, clock, drill.scenario_id)


def reference_steps(session: Session, drill: Drill) -> list[dict[str, Any]]:
    """The scenario's model answer with its templates filled in (the drill's own customers)."""
    spec = scenario_spec(session, drill.scenario_id, drill.scenario_version)
    contact_facts = drill_contacts.drill_contact_facts(session, drill)
    out = []
    for step in spec.reference_run:
        key = step.get("contact") or spec.contacts[0].key
        facts = contact_facts.get(key) or customer_facts(spec.contact(key).customer, spec.facts)
        item = {k: v for k, v in step.items()}
        if isinstance(item.get("text"), str):
            item["text"] = fill(item["text"], facts)
        out.append(item)
    return out


def answers_visible(session: Session, clock: Clock, drill: Drill, user: User) -> bool:
    """Whether ``user`` sees the key points, marks and model answers of the drill's 追问: staff
    always; the candidate once the scores are visible and the answers no longer withheld."""
    if user.role in STAFF_ROLES:
        return True
    return scores_visible(session, drill, user) and not answers_withheld(session, clock, drill, user)


def visible_report(session: Session, clock: Clock, drill: Drill, user: User) -> dict[str, Any]:
    """The report as ``user`` may see it; hidden (pending) for candidates until released."""
    base = {"drill": drill.id, "status": drill.status, "mode": drill.mode, "scenario": drill.scenario_id}
    if drill.status != drill_clock.FINISHED:
        return {**base, "released": False}
    if not scores_visible(session, drill, user):
        return {**base, "released": False, "message": PENDING_MESSAGE}
    report = dict(drill.report or {})
    spec = scenario_spec(session, drill.scenario_id, drill.scenario_version)
    report.update(base)
    report["released"] = True
    if answers_withheld(session, clock, drill, user):
        report.update(checks=[], reference_run=[], expected_outcome=None, answers_withheld=True,
                      withheld_message=WITHHELD_MESSAGE, followups=followups.drill_section(session, drill, reveal=False))
        return report
    extra = followups.drill_section(session, drill, reveal=True)
    report["followups"] = extra
    if extra and extra["dimensions"]:
        report["dimensions_with_followups"] = followups.combined_dimensions(report.get("dimensions") or {},
                                                                            extra["dimensions"])
    first = spec.contacts[0]
    facts = drill_contacts.drill_contact_facts(session, drill).get(first.key) or customer_facts(first.customer, spec.facts)
    report["expected_outcome"] = fill(spec.expected_outcome, facts)
    report["reference_run"] = reference_steps(session, drill)
    report["answers_withheld"] = False
    return report
