"""Scoring a drill: its event log, its contacts' facts and the forbidden claims of the KB articles
it relied on, handed to the rubric (sandbox.scoring.rubric, a pure function of the log)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge_base.models import Article
from sandbox.drill.drill_contacts import contact_facts
from sandbox.drill.event_log import events_of
from sandbox.drill.facts import customer_facts
from sandbox.drill.models import Drill, DrillEvent
from sandbox.drill.scenario.model import ScenarioSpec
from sandbox.drill.scenario.store import scenario_spec
from sandbox.drill.scenario.vocabulary import LOOKUP_EVENTS
from sandbox.scoring.rubric import Ev, Log, hard_fails, score_log


def events_for_scoring(session: Session, drill_id: int) -> list[Ev]:
    """The drill's event log as the rubric reads it."""
    return [Ev(e.id, e.type, e.t, e.contact_key, dict(e.data or {})) for e in events_of(session, drill_id)]


def article_forbidden_claims(session: Session, spec: ScenarioSpec, events: list[Ev]) -> list[dict[str, Any]]:
    """Forbidden claims of the KB articles a drill relies on: those it opened or cited and
    those its scenario's checks name."""
    ids = {str(e.data.get("article")) for e in events if e.type in ("kb.open", "suggestion.use") and e.data.get("article")}
    for check in spec.checks:
        if check.type == "article":
            ids.update(str(a) for a in check.params.get("articles") or [])
    if not ids:
        return []
    rows = session.scalars(select(Article.forbidden_claims).where(Article.external_id.in_(sorted(ids))))
    return [dict(c) for claims in rows for c in (claims or [])]


def score_drill(session: Session, drill: Drill, adjustments: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Score a drill from its event log (reads only); the rubric is a pure function of the log."""
    spec = scenario_spec(session, drill.scenario_id, drill.scenario_version)
    events = events_for_scoring(session, drill.id)
    facts = {c.key: customer_facts(c.customer, spec.facts) for c in spec.contacts}
    facts.update({row.contact_key: contact_facts(row, spec) for row in drill.contacts})
    return score_log(spec, events, facts, adjustments=adjustments,
                     forbidden=article_forbidden_claims(session, spec, events))


def hard_fails_of(session: Session, drill: Drill) -> list[dict[str, Any]]:
    """The drill's hard fails so far, by the rubric's one rule (the examiner's live board)."""
    spec = scenario_spec(session, drill.scenario_id, drill.scenario_version)
    rows = session.scalars(select(DrillEvent).where(DrillEvent.drill_id == drill.id,
                                                    DrillEvent.type.in_(LOOKUP_EVENTS + ("message.agent",)))
                           .order_by(DrillEvent.t, DrillEvent.id))
    events = [Ev(e.id, e.type, e.t, e.contact_key, dict(e.data or {})) for e in rows]
    return hard_fails(Log(events, spec, {}))
