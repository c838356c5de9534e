"""The typed model of a parsed scenario: contacts with their rules and turns, timed events,
checks, and the scenario itself (``ScenarioSpec``). Frozen dataclasses, built by
``sandbox.drill.scenario.parse``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.dialogue.keypoints import KeyPoint


@dataclass(frozen=True)
class Turn:
    text: str
    asr_text: str | None = None
    asr_confidence: float | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    when: dict[str, Any]
    replies: tuple[Turn, ...]
    mood: int = 0
    once: bool = True
    ends: bool = False


@dataclass(frozen=True)
class Contact:
    key: str
    customer: str
    channel: str
    arrives_at: int
    mood: int
    patience: int
    claims: dict[str, str]
    opening: tuple[Turn, ...]
    rules: tuple[Rule, ...]
    fallback: tuple[Turn, ...]
    needs: tuple[dict[str, Any], ...] = ()
    # v2: draw the customer from a pool (``customer`` is then the pool's first member, for tools
    # that need one id); per-contact mood effects and wordings of the agenda customer's lines.
    customer_pool: dict[str, Any] = field(default_factory=dict)
    mood_effects: dict[str, int] = field(default_factory=dict)
    lines: dict[str, str] = field(default_factory=dict)
    # Voice: what recognition makes of the identity details the customer gives (templates), and
    # with what confidence; e.g. ``{name: "{name_misheard}", id_last6: "{id_last6_dropped}"}``.
    identity_asr: dict[str, Any] = field(default_factory=dict)
    # Earlier work orders of this customer, created at drill start (sandbox.drill.prior_orders).
    prior_workorders: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class TimedEvent:
    at: int
    type: str
    component: str
    duration: int | None
    message: str


@dataclass(frozen=True)
class Check:
    id: str
    type: str
    dimension: str
    points: int
    title: str
    params: dict[str, Any]


@dataclass(frozen=True)
class FollowUp:
    """A follow-up question (追问) asked after the drill, with what a good answer covers."""

    id: str
    question: str
    dimension: str
    key_points: tuple[KeyPoint, ...]
    model_answer: str

    def to_dict(self, with_answers: bool = True) -> dict[str, Any]:
        """The item; without answers only the question (what a candidate sees before answering)."""
        data: dict[str, Any] = {"id": self.id, "question": self.question, "dimension": self.dimension}
        if with_answers:
            data["key_points"] = [{"id": p.id, "text": p.text} for p in self.key_points]
            data["model_answer"] = self.model_answer
        return data


@dataclass(frozen=True)
class ScenarioSpec:
    id: str
    version: int
    title: str
    summary: str
    difficulty: str
    persona: tuple[str, ...]
    tags: tuple[str, ...]
    time_limit: int
    brief: str
    expected_outcome: str
    facts: dict[str, str]
    contacts: tuple[Contact, ...]
    events: tuple[TimedEvent, ...]
    reference_run: tuple[dict[str, Any], ...]
    checks: tuple[Check, ...]
    raw: dict[str, Any] = field(compare=False, repr=False, default_factory=dict)
    followups: tuple[FollowUp, ...] = ()

    def followup(self, followup_id: str) -> FollowUp:
        for item in self.followups:
            if item.id == followup_id:
                return item
        raise KeyError(followup_id)

    @property
    def channel(self) -> str:
        return "语音" if any(c.channel == "语音" for c in self.contacts) else "文字"

    def contact(self, key: str) -> Contact:
        for c in self.contacts:
            if c.key == key:
                return c
        raise KeyError(key)

    def summary_dict(self) -> dict[str, Any]:
        """The public, answer-free description (what `scenarios list --json` prints)."""
        return {"id": self.id, "version": self.version, "title": self.title, "summary": self.summary,
                "difficulty": self.difficulty, "channel": self.channel, "persona": list(self.persona),
                "tags": list(self.tags), "time_limit": self.time_limit, "contacts": len(self.contacts)}
