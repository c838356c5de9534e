"""Drills: start, the server-side clock, the simulated customer, messages and the event log.

Everything lives in the database, so a drill survives a server restart: a new process
reads the drill, the scenario version it pinned and the contacts' state, and goes on.
Functions take a session and a clock and never commit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from knowledge_base.models import Article
from sandbox.bank.identities import drill_rng, fresh_record
from sandbox.bank.models import Account, CreditCard, Customer
from sandbox.bank.seed import insert_customer
from sandbox.clock import Clock
from sandbox.drill import agenda
from sandbox.drill.facts import (
    contains_any,
    customer_facts,
    customer_record,
    fill,
    identity_variants,
    pool_members,
    record_facts,
    states_fact,
)
from sandbox.drill.models import (
    ConversationMessage,
    Drill,
    DrillContact,
    DrillEvent,
    MessageCounter,
    Scenario,
    ScenarioVersion,
)
from sandbox.drill.prior_orders import create_prior_orders
from sandbox.drill.scenario import LOOKUP_EVENTS, Contact, Rule, ScenarioSpec, Turn, parse_scenario
from sandbox.errors import Conflict, DrillExpired, Forbidden, NotFound, ValidationFailed
from sandbox.exam.faults import round_faults
from sandbox.scoring.compliance import check_text, findings_for, read
from sandbox.scoring.rubric import Ev, Log, hard_fails, score_log
from workorders import vocab

RUNNING, PAUSED, FINISHED = "running", "paused", "finished"
MODES = ("practice", "exam")
MAX_MESSAGE_CHARS = 2000

# Opens a mock-bank conversation for a contact: (session, owner_user_id, customer_id, channel, drill_id) -> id.
ConversationOpener = Callable[[Session, int, str, str, int], int]


# --------------------------------------------------------------------------- scenarios

_SPEC_CACHE: dict[str, ScenarioSpec] = {}


def spec_from_text(text: str) -> ScenarioSpec:
    """Parse a scenario version's YAML once per process (versions never change)."""
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    spec = _SPEC_CACHE.get(key)
    if spec is None:
        spec = _SPEC_CACHE[key] = parse_scenario(text)
    return spec


def scenario_spec(session: Session, scenario_id: str, version: int | None = None) -> ScenarioSpec:
    """The parsed scenario (the current version unless ``version`` is given)."""
    if version is None:
        row = session.get(Scenario, scenario_id)
        if row is None:
            raise NotFound(f"场景 {scenario_id} 不存在。", code="unknown_scenario")
        version = row.version
    # A stored version never changes, so one request (one session) reads its text once,
    # however many hooks and views ask for it.
    key = ("scenario_spec", scenario_id, version)
    if key in session.info:
        return session.info[key]
    text = session.scalar(select(ScenarioVersion.yaml_text).where(
        ScenarioVersion.scenario_id == scenario_id, ScenarioVersion.version == version))
    if text is None:
        raise NotFound(f"场景 {scenario_id} 的第 {version} 版不存在。", code="unknown_scenario")
    spec = spec_from_text(text)
    # The stored version number is authoritative (an edited file may still say ``version: 1``).
    spec = spec if spec.version == version else dataclasses.replace(spec, version=version)
    session.info[key] = spec
    return spec


def validate_scenario(yaml_text: str, file: str = "<upload>") -> ScenarioSpec:
    """Parse and validate an uploaded scenario (no database): call it before opening the transaction."""
    from sandbox.drill.facts import customer_ids

    return parse_scenario(yaml_text, file, customer_ids())


def save_scenario(session: Session, clock: Clock, yaml_text: str, user_id: int | None = None,
                  file: str = "<upload>", spec: ScenarioSpec | None = None) -> Scenario:
    """Store a scenario; a changed text becomes a new version.

    ``spec`` is ``validate_scenario(yaml_text)`` done by the caller before its transaction
    began (an upload is parsed without holding the write lock); without it the text is
    validated here.
    """
    spec = spec if spec is not None else validate_scenario(yaml_text, file)
    row = session.get(Scenario, spec.id)
    now = clock.now()
    if row is not None:
        current = session.scalar(select(ScenarioVersion.yaml_text).where(
            ScenarioVersion.scenario_id == spec.id, ScenarioVersion.version == row.version))
        if current == yaml_text:
            return row
        version = max(row.version + 1, spec.version)
    else:
        version = spec.version
        row = Scenario(id=spec.id, enabled=True)
        session.add(row)
    row.version = version
    row.title = spec.title
    row.difficulty = spec.difficulty
    row.channel = spec.channel
    row.time_limit = spec.time_limit
    row.updated_at = now
    session.flush()
    session.add(ScenarioVersion(scenario_id=spec.id, version=version, yaml_text=yaml_text, created_at=now,
                                created_by=user_id))
    session.flush()
    return row


def scenario_titles(session: Session) -> dict[str, str]:
    """Scenario id → its current title (disabled ones too): what pages and exports show for an id."""
    return {row.id: row.title for row in session.execute(select(Scenario.id, Scenario.title))}


def scenario_title(session: Session, scenario_id: str) -> str:
    """The current title of one scenario; the id itself if there is no such scenario."""
    return session.scalar(select(Scenario.title).where(Scenario.id == scenario_id)) or scenario_id


# The scenario list, kept per database and catalogue fingerprint (each scenario's id, current
# version, enabled flag and the length of that version's text): a list request reads the
# small fingerprint and parses nothing unless a scenario was added, edited, enabled or
# disabled (or a restore brought different texts). Bounded: tests make many databases.
_CATALOGUES: OrderedDict[tuple[str, tuple[tuple[str, int, bool, int], ...]], list[tuple[str, ScenarioSpec]]] = \
    OrderedDict()
_CATALOGUES_MAX = 16
_catalogues_lock = threading.Lock()


def list_scenarios(session: Session, include_disabled: bool = False) -> list[ScenarioSpec]:
    """The current version of every (enabled) scenario, in id order."""
    current = ((ScenarioVersion.scenario_id == Scenario.id) & (ScenarioVersion.version == Scenario.version))
    fingerprint = tuple((r[0], r[1], bool(r[2]), r[3] or 0) for r in session.execute(
        select(Scenario.id, Scenario.version, Scenario.enabled, func.length(ScenarioVersion.yaml_text))
        .join(ScenarioVersion, current).order_by(Scenario.id)))
    key = (str(session.get_bind().engine.url), fingerprint)
    with _catalogues_lock:
        specs = _CATALOGUES.get(key)
        if specs is not None:
            _CATALOGUES.move_to_end(key)
    if specs is None:
        specs = []
        for scenario_id, version, text in session.execute(
                select(Scenario.id, Scenario.version, ScenarioVersion.yaml_text).join(ScenarioVersion, current)
                .order_by(Scenario.id)):
            spec = spec_from_text(text)
            specs.append((scenario_id, spec if spec.version == version else dataclasses.replace(spec, version=version)))
        with _catalogues_lock:
            _CATALOGUES[key] = specs
            while len(_CATALOGUES) > _CATALOGUES_MAX:
                _CATALOGUES.popitem(last=False)
    enabled = {scenario_id for scenario_id, _v, on, _n in fingerprint if on}
    return [spec for scenario_id, spec in specs if include_disabled or scenario_id in enabled]


# --------------------------------------------------------------------------- clock


def drill_seconds(drill: Drill, now: datetime) -> float:
    """Seconds of drill time elapsed (pauses excluded), frozen once the drill ends."""
    end = drill.finished_at or drill.paused_at or now
    return max(0.0, (end - drill.started_at).total_seconds() - (drill.paused_seconds or 0.0))


def remaining_seconds(drill: Drill, now: datetime) -> float:
    if drill.status == FINISHED:
        return 0.0
    ref = drill.paused_at or now
    return max(0.0, (drill.deadline - ref).total_seconds())


# --------------------------------------------------------------------------- events and messages


def record_event(session: Session, drill: Drill, now: datetime, type_: str, contact: DrillContact | None = None,
                 **data: Any) -> DrillEvent:
    """Append one event to the drill's log."""
    event = DrillEvent(drill_id=drill.id, conversation_id=contact.conversation_id if contact else None,
                       contact_key=contact.contact_key if contact else None, type=type_, at=now,
                       t=round(drill_seconds(drill, now), 3), data=data)
    session.add(event)
    session.flush()
    return event


def _next_seq(session: Session, conversation_id: int) -> int:
    dialect = session.get_bind().dialect.name
    make_insert = sqlite_insert if dialect == "sqlite" else pg_insert
    session.execute(make_insert(MessageCounter).values(conversation_id=conversation_id, last_seq=0)
                    .on_conflict_do_nothing(index_elements=["conversation_id"]))
    return session.execute(update(MessageCounter).where(MessageCounter.conversation_id == conversation_id)
                           .values(last_seq=MessageCounter.last_seq + 1)
                           .returning(MessageCounter.last_seq)).scalar_one()


def append_message(session: Session, now: datetime, conversation_id: int, speaker: str, text: str,
                   kind: str = "text", asr_text: str | None = None, asr_confidence: float | None = None,
                   author_id: int | None = None) -> ConversationMessage:
    """Add a message with the conversation's next sequence number (gap-free under concurrency)."""
    msg = ConversationMessage(conversation_id=conversation_id, seq=_next_seq(session, conversation_id),
                              speaker=speaker, kind=kind, text=text, asr_text=asr_text,
                              asr_confidence=asr_confidence, recognized=kind != "audio", author_id=author_id,
                              created_at=now)
    session.add(msg)
    session.flush()
    return msg


def messages_after(session: Session, conversation_id: int, after_seq: int = 0, limit: int = 500) -> list[ConversationMessage]:
    return list(session.scalars(select(ConversationMessage).where(
        ConversationMessage.conversation_id == conversation_id, ConversationMessage.seq > after_seq)
        .order_by(ConversationMessage.seq).limit(limit)))


def events_of(session: Session, drill_id: int) -> list[DrillEvent]:
    return list(session.scalars(select(DrillEvent).where(DrillEvent.drill_id == drill_id)
                                .order_by(DrillEvent.t, DrillEvent.id)))


# --------------------------------------------------------------------------- drills


def start_drill(session: Session, clock: Clock, user_id: int, scenario_id: str, mode: str,
                open_conversation: ConversationOpener, round_id: int | None = None,
                time_limit: int | None = None, scenario_version: int | None = None) -> Drill:
    """Start a drill of ``scenario_id`` for ``user_id``; the first contacts arrive at once."""
    if mode not in MODES:
        raise ValidationFailed("模式必须是 practice（练习）或 exam（考试）。", code="invalid_mode")
    row = session.get(Scenario, scenario_id) if isinstance(scenario_id, str) else None
    if row is None or (not row.enabled and round_id is None):
        raise NotFound(f"场景 {scenario_id!r} 不存在或已停用。", code="unknown_scenario")
    version = scenario_version or row.version
    spec = scenario_spec(session, scenario_id, version)
    now = clock.now()
    limit = time_limit or spec.time_limit
    drill = Drill(user_id=user_id, scenario_id=spec.id, scenario_version=version, mode=mode, status=RUNNING,
                  started_at=now, deadline=now + timedelta(seconds=limit), paused_seconds=0.0, round_id=round_id)
    session.add(drill)
    session.flush()
    record_event(session, drill, now, "drill.started", scenario=spec.id, version=version, mode=mode,
                 time_limit=limit)
    for index, contact in enumerate(spec.contacts):
        code, facts = draw_customer(session, spec, contact, drill.id, index, salt=now.isoformat())
        conv_id = open_conversation(session, user_id, code, contact.channel, drill.id)
        session.add(DrillContact(drill_id=drill.id, contact_key=contact.key, customer_id=code,
                                 channel=contact.channel, arrives_at=contact.arrives_at, conversation_id=conv_id,
                                 mood=contact.mood, fired=[], fallback_index=0, last_customer_seq=0,
                                 silence_fired_seq=0, facts=facts))
        if contact.prior_workorders:
            create_prior_orders(session, now, user_id, code, facts.get("name", ""), contact.prior_workorders, facts)
    session.flush()
    session.refresh(drill)
    tick(session, clock, drill, spec)
    return drill


def draw_customer(session: Session, spec: ScenarioSpec, contact: Contact, drill_id: int,
                  index: int, salt: str = "") -> tuple[str, dict[str, str]]:
    """Give a drill contact a customer of its own: the template (or one drawn from the pool)
    copied with a fresh identity into the mock bank. Seeded by the drill id, its start time and
    the contact key, so the same drill always draws the same customer. Returns the copy's code
    and its facts."""
    rng = drill_rng(drill_id, contact.key, salt)
    candidates = pool_members(contact.customer_pool) if contact.customer_pool else []
    template_code = rng.choice(candidates) if candidates else contact.customer
    template = customer_record(template_code)

    def taken(kind: str, value: str) -> bool:
        column = {"id_number": Customer.id_number, "account": Account.number, "card": CreditCard.number}[kind]
        return session.scalar(select(column).where(column == value).limit(1)) is not None

    code = f"D{drill_id}-{index + 1}"
    record = fresh_record(template, code, rng, taken)
    old = identity_variants(template["name"], template.get("gender") or "", template["id_number"], template["phone"])
    new = identity_variants(record["name"], record.get("gender") or "", record["id_number"], record["phone"])
    for key in ("name_typo", "name_misheard", "phone_last4_wrong"):
        record["examiner_note"] = record["examiner_note"].replace(old[key], new[key])
    insert_customer(session, record, drill_id=drill_id, template_code=template_code)
    return code, record_facts(record, spec.facts)


def contact_facts(row: DrillContact, spec: ScenarioSpec | None = None) -> dict[str, str]:
    """The facts of a drill contact's own customer (fixed at drill start)."""
    if row.facts:
        return dict(row.facts)
    # Drills started before fresh identities talk to the seed customer itself.
    return customer_facts(row.customer_id, spec.facts if spec else None)


def drill_contact_facts(session: Session, drill: Drill) -> dict[str, dict[str, str]]:
    """Facts per contact key of a drill (what its replies are checked against)."""
    spec = scenario_spec(session, drill.scenario_id, drill.scenario_version)
    return {row.contact_key: contact_facts(row, spec) for row in drill.contacts}


def contact_customer(session: Session, drill_id: int, contact_key: str) -> Customer:
    """The mock-bank customer a drill contact talks as (full data: for tools, never for display)."""
    row = session.scalar(select(DrillContact).where(DrillContact.drill_id == drill_id,
                                                    DrillContact.contact_key == contact_key))
    if row is None:
        raise NotFound("演练中没有这位客户。", code="unknown_contact")
    customer = session.scalar(select(Customer).where(Customer.code == row.customer_id))
    if customer is None:
        raise NotFound("没有这位模拟客户。", code="unknown_customer")
    return customer


def get_drill(session: Session, drill_id: int, user_id: int | None = None, for_update: bool = False) -> Drill:
    """The drill; with ``user_id``, refuse (403) a drill that belongs to someone else."""
    drill = session.get(Drill, drill_id, with_for_update=for_update or None)
    if drill is None:
        raise NotFound("演练不存在。", code="unknown_drill")
    if user_id is not None and drill.user_id != user_id:
        raise Forbidden("这不是您的演练。", code="forbidden")
    return drill


def _conversation_of(row: DrillContact) -> int:
    """The contact's conversation id; a contact gets its conversation when it arrives."""
    if row.conversation_id is None:
        raise Conflict("该客户尚未接入。", code="contact_not_arrived")
    return row.conversation_id


def contact_for_conversation(session: Session, conversation_id: int) -> DrillContact | None:
    return session.scalar(select(DrillContact).where(DrillContact.conversation_id == conversation_id))


def _contact_spec(spec: ScenarioSpec, row: DrillContact) -> Contact:
    return spec.contact(row.contact_key)


def _facts(spec: ScenarioSpec, row: DrillContact) -> dict[str, str]:
    return contact_facts(row, spec)


def _say(session: Session, drill: Drill, now: datetime, row: DrillContact, turn: Turn, facts: dict[str, str],
         rule_id: str | None = None) -> ConversationMessage:
    # Templates are checked at upload (plain placeholders, at most 2,000 characters); the cap
    # here keeps a filled template within a message's limit whatever the facts hold.
    text = fill(turn.text, facts)[:MAX_MESSAGE_CHARS]
    if row.channel == "语音":
        asr = fill(turn.asr_text, facts)[:MAX_MESSAGE_CHARS] if turn.asr_text else text
        conf = turn.asr_confidence if turn.asr_confidence is not None else 0.93
        msg = append_message(session, now, _conversation_of(row), "customer", text, kind="audio", asr_text=asr,
                             asr_confidence=conf)
    else:
        msg = append_message(session, now, _conversation_of(row), "customer", text)
    row.last_customer_seq = msg.seq
    row.last_customer_at = now
    record_event(session, drill, now, "message.customer", row, seq=msg.seq, kind=msg.kind, rule=rule_id,
                 mood=row.mood, text=text)
    return msg


def active_faults(session: Session, drill: Drill, spec: ScenarioSpec, now: datetime) -> list[dict[str, Any]]:
    """Faults in force now: the scenario's timed ones plus any an examiner injected."""
    if drill.status == FINISHED:
        return []
    t = drill_seconds(drill, now)
    faults = [{"key": f"scenario-{i}", "component": e.component, "message": e.message, "source": "scenario"}
              for i, e in enumerate(spec.events) if e.at <= t and (e.duration is None or t < e.at + e.duration)]
    faults.extend(round_faults(session, drill, now))
    return faults


def _due(drill: Drill, spec: ScenarioSpec, now: datetime) -> bool:
    """Whether tick() has anything to do (checked before taking the write lock)."""
    if drill.status != RUNNING:
        return False
    if now >= drill.deadline:
        return True
    t = drill_seconds(drill, now)
    for row in drill.contacts:
        if not row.arrived and row.arrives_at <= t:
            return True
        if row.arrived and not row.closed and row.last_customer_at and row.silence_fired_seq < row.last_customer_seq \
                and (row.last_agent_at is None or row.last_agent_at < row.last_customer_at):
            silent = (now - row.last_customer_at).total_seconds()
            contact = _contact_spec(spec, row)
            if any("silence" in r.when and silent >= r.when["silence"] for r in contact.rules):
                return True
            if contact.needs and silent >= contact.patience:
                return True
    return False


def tick(session: Session, clock: Clock, drill: Drill, spec: ScenarioSpec | None = None) -> bool:
    """Advance the drill to now: deadline, arrivals, timed faults, customer impatience.

    Returns True when something changed. Safe to call from every poll.
    """
    spec = spec or scenario_spec(session, drill.scenario_id, drill.scenario_version)
    now = clock.now()
    changed = drill.status != FINISHED and _record_fault_changes(session, drill, spec, now)
    if not _due(drill, spec, now):
        return changed
    if now >= drill.deadline:
        finish(session, clock, drill, ended_by="deadline")
        return True
    t = drill_seconds(drill, now)
    for row in drill.contacts:
        contact = _contact_spec(spec, row)
        if not row.arrived and row.arrives_at <= t:
            row.arrived = True
            record_event(session, drill, now, "contact.arrived", row, customer=row.customer_id, channel=row.channel)
            facts = _facts(spec, row)
            for turn in contact.opening:
                _say(session, drill, now, row, turn, facts)
            continue
        if row.arrived and not row.closed and row.last_customer_at and row.silence_fired_seq < row.last_customer_seq \
                and (row.last_agent_at is None or row.last_agent_at < row.last_customer_at):
            silent = (now - row.last_customer_at).total_seconds()
            if not _react(session, drill, now, spec, row, {"kind": "silence", "seconds": silent}):
                # Nothing (more) to say until the customer's next turn; a message resets the timer itself.
                if any(silent >= r.when["silence"] for r in contact.rules if "silence" in r.when) or (
                        contact.needs and silent >= contact.patience):
                    row.silence_fired_seq = row.last_customer_seq
    _record_fault_changes(session, drill, spec, now)
    return True


def _fault_changes(session: Session, drill: Drill, spec: ScenarioSpec, now: datetime
                   ) -> tuple[dict[str, dict[str, Any]], set[str], set[str]]:
    active = {f["key"]: f for f in active_faults(session, drill, spec, now)}
    started: set[str] = set()
    ended: set[str] = set()
    for e in session.scalars(select(DrillEvent).where(DrillEvent.drill_id == drill.id,
                                                      DrillEvent.type.in_(("fault.started", "fault.ended")))):
        key = (e.data or {}).get("key")
        if key is not None:
            (started if e.type == "fault.started" else ended).add(key)
    return active, started, ended


def needs_tick(session: Session, clock: Clock, drill: Drill) -> bool:
    """Whether tick() would change anything now (a read-only check, so polls need no write lock)."""
    if drill.status == FINISHED:
        return False
    spec = scenario_spec(session, drill.scenario_id, drill.scenario_version)
    now = clock.now()
    if _due(drill, spec, now):
        return True
    if not spec.events and drill.round_id is None:
        return False
    active, started, ended = _fault_changes(session, drill, spec, now)
    return bool(set(active) - started or started - set(active) - ended)


def _record_fault_changes(session: Session, drill: Drill, spec: ScenarioSpec, now: datetime) -> bool:
    """Log each fault's start and end in the drill's event log, once."""
    if not spec.events and drill.round_id is None:
        return False
    active, started, ended = _fault_changes(session, drill, spec, now)
    changed = False
    for key, f in active.items():
        if key not in started:
            record_event(session, drill, now, "fault.started", None, key=key, component=f["component"],
                         message=f["message"], source=f["source"])
            changed = True
    for key in started - set(active) - ended:
        record_event(session, drill, now, "fault.ended", None, key=key)
        changed = True
    return changed


def ensure_open(session: Session, clock: Clock, drill: Drill) -> ScenarioSpec:
    """Refuse operations on a finished or expired drill (ending it at its deadline)."""
    spec = scenario_spec(session, drill.scenario_id, drill.scenario_version)
    tick(session, clock, drill, spec)
    refuse_if_closed(drill)
    return spec


def refuse_if_closed(drill: Drill) -> None:
    """Raise when the drill takes no operations: finished (expired or handed in) or paused.

    Call it after tick() (ensure_open does), or when needs_tick() said there is nothing to do.
    """
    if drill.status == FINISHED:
        raise DrillExpired("演练已结束（已到时间或已交卷），不能再操作。", code="drill_expired")
    if drill.status == PAUSED:
        raise Conflict("考官已暂停本场考试，请稍候。", code="drill_paused")


# --------------------------------------------------------------------------- the simulated customer


def _phrases(phrases: list[str], facts: dict[str, str]) -> list[str]:
    """A rule's phrases with their ``{fact}`` placeholders filled (``"{phone_last4}"``)."""
    return [fill(str(p), facts) for p in phrases]


def _matches(rule: Rule, trigger: dict[str, Any], row: DrillContact, facts: dict[str, str]) -> bool:
    when = rule.when
    kind = trigger["kind"]
    said_keys = {"said_any", "said_all", "not_said_any", "said_fact", "act"}
    if "silence" in when:
        if kind != "silence" or trigger["seconds"] < when["silence"]:
            return False
    elif kind == "silence":
        return False
    if "op" in when:
        if kind != "op":
            return False
        op = when["op"]
        if not (trigger["op"] == op or (op == "lookup" and trigger["op"] in LOOKUP_EVENTS)):
            return False
    if said_keys & set(when):
        if kind != "message":
            return False
        text = trigger["text"]
        if "said_any" in when and not contains_any(text, _phrases(when["said_any"], facts)):
            return False
        if "said_all" in when and not all(contains_any(text, [p]) for p in _phrases(when["said_all"], facts)):
            return False
        if "not_said_any" in when and contains_any(text, _phrases(when["not_said_any"], facts)):
            return False
        if "said_fact" in when and not states_fact(text, facts.get(when["said_fact"], "")):
            return False
        if "act" in when:
            wanted = when["act"] if isinstance(when["act"], list) else [when["act"]]
            if not read(text).has(*wanted):
                return False
    elif kind == "message" and not ({"op", "silence"} & set(when)):
        return False
    fired = set(row.fired or [])
    if "after_rule" in when and when["after_rule"] not in fired:
        return False
    if "not_after_rule" in when and when["not_after_rule"] in fired:
        return False
    if "mood_below" in when and not row.mood < when["mood_below"]:
        return False
    if "mood_at_least" in when and not row.mood >= when["mood_at_least"]:
        return False
    return True


def _react(session: Session, drill: Drill, now: datetime, spec: ScenarioSpec, row: DrillContact,
           trigger: dict[str, Any]) -> list[ConversationMessage]:
    """Let the simulated customer answer ``trigger`` by the scenario's rules."""
    if row.closed or not row.arrived:
        return []
    contact = _contact_spec(spec, row)
    facts = _facts(spec, row)
    said: list[ConversationMessage] = []
    fired = list(row.fired or [])
    for rule in contact.rules:
        if rule.once and rule.id in fired:
            continue
        if not _matches(rule, trigger, row, facts):
            continue
        fired.append(rule.id)
        row.fired = list(fired)
        row.mood = max(-5, min(5, row.mood + rule.mood))
        for turn in rule.replies:
            said.append(_say(session, drill, now, row, turn, facts, rule.id))
        if rule.ends:
            row.closed = True
            record_event(session, drill, now, "contact.closed", row, rule=rule.id)
            break
    if contact.needs and not row.closed and trigger["kind"] in ("message", "op"):
        said += _agenda_react(session, drill, now, contact, row, facts, trigger, [m.text for m in said])
    elif contact.needs and not row.closed and not said and trigger["kind"] == "silence" \
            and trigger["seconds"] >= contact.patience:
        said += _agenda_react(session, drill, now, contact, row, facts, trigger)
    elif not said and trigger["kind"] == "message" and contact.fallback and not row.closed:
        turn = contact.fallback[row.fallback_index % len(contact.fallback)]
        row.fallback_index += 1
        said.append(_say(session, drill, now, row, turn, facts, "fallback"))
    return said


def _agenda_react(session: Session, drill: Drill, now: datetime, contact: Contact, row: DrillContact,
                  facts: dict[str, str], trigger: dict[str, Any],
                  rule_lines: list[str] | None = None) -> list[ConversationMessage]:
    """The agenda-driven customer's answer to a message or an operation (needs in order).

    ``rule_lines``: what the scenario's rules already made the customer say to this message;
    identity details a rule line already gave are not given a second time."""
    needs = agenda.needs_from_spec(contact.needs)
    state = dict(row.agenda or agenda.initial_state(needs))
    given_before = list(state.get("identity_given", []))
    verified = any(e == "identity.verified" for e in state.get("ops", []))
    if trigger["kind"] == "op":
        reaction = agenda.react_op(needs, state, trigger["op"], contact.mood_effects)
    elif trigger["kind"] == "silence":
        reaction = agenda.react_silence(needs, state, contact.lines, contact.mood_effects)
    else:
        text = trigger["text"]
        claimed = {k: fill(v, facts) for k, v in contact.claims.items()}
        # What was said before: a term the agent explained earlier, or the customer used first,
        # needs no explanation now.
        earlier = [m for m in messages_after(session, _conversation_of(row), 0) if m.text]
        agent_before = "".join(m.text for m in earlier if m.speaker == "agent" and m.text != text)
        heard = "".join((m.asr_text or m.text) for m in earlier if m.speaker == "customer")
        findings = findings_for(read(text), agent_before, heard=heard)
        reaction = agenda.react(needs, state, text, read(text), findings, facts,
                                identity_given=verified, lines=contact.lines, effects=contact.mood_effects,
                                claimed=claimed)
    row.agenda = reaction.state
    row.mood = max(-5, min(5, row.mood + reaction.mood))
    if reaction.identity_line is not None and rule_lines:
        claimed_now = {**facts, **{k: fill(v, facts) for k, v in contact.claims.items()}}
        spoken = {"id_last6": facts.get("id_last6_spoken", "")}
        given = [p for p in reaction.identity_parts
                 if any(v and v in line for line in rule_lines for v in (claimed_now.get(p, ""), spoken.get(p, "")))]
        if given and set(given) == set(reaction.identity_parts):
            del reaction.lines[reaction.identity_line]
            reaction.identity_line = None
    turns = [Turn(line) for line in reaction.lines]
    # Only what the customer says for the first time is misheard; a detail said again on
    # request comes through (the customer speaks more carefully).
    first_time = set(reaction.identity_parts) - set(given_before)
    if reaction.identity_line is not None and contact.identity_asr and row.channel == "语音" and first_time:
        misheard = {k: fill(str(v), facts) for k, v in contact.identity_asr.items()
                    if k != "confidence" and k in first_time}
        claimed = {k: fill(v, facts) for k, v in contact.claims.items()}
        asr = agenda.identity_reply(reaction.identity_parts, {**facts, **claimed, **misheard})
        turns[reaction.identity_line] = Turn(reaction.lines[reaction.identity_line], asr,
                                             float(contact.identity_asr.get("confidence", 0.6)))
    said = [_say(session, drill, now, row, turn, facts, "agenda") for turn in turns]
    if reaction.ends:
        row.closed = True
        record_event(session, drill, now, "contact.closed", row, rule="agenda")
    return said


@dataclass
class AgentReply:
    message: ConversationMessage
    customer_replies: list[ConversationMessage]
    hints: list[dict[str, str]]


def post_agent_message(session: Session, clock: Clock, drill: Drill, row: DrillContact, text: str,
                       author_id: int) -> AgentReply:
    """The candidate writes to a contact; the simulated customer answers; hints in practice mode."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("消息不能为空。", code="empty_message")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ValidationFailed(f"消息过长（最多 {MAX_MESSAGE_CHARS} 字）。", code="message_too_long")
    spec = ensure_open(session, clock, drill)
    if not row.arrived:
        raise Conflict("该客户尚未接入。", code="contact_not_arrived")
    if row.closed:
        raise Conflict("该会话已结束。", code="conversation_closed")
    now = clock.now()
    earlier = "\n".join(m.text for m in messages_after(session, _conversation_of(row), 0) if m.speaker == "agent")
    findings = check_text(text, earlier)
    msg = append_message(session, now, _conversation_of(row), "agent", text, author_id=author_id)
    row.last_agent_at = now
    record_event(session, drill, now, "message.agent", row, seq=msg.seq, text=text,
                 flags=[f.to_dict() for f in findings])
    for finding in findings:
        record_event(session, drill, now, "compliance.flag", row, **finding.to_dict())
    replies = _react(session, drill, now, spec, row, {"kind": "message", "text": text})
    hints = [f.to_dict() for f in findings] if drill.mode == "practice" else []
    return AgentReply(msg, replies, hints)


def on_operation(session: Session, clock: Clock, drill: Drill, row: DrillContact | None, op: str,
                 **data: Any) -> list[ConversationMessage]:
    """Log an operation on the drill (lookup, search, work order...) and let the customer react."""
    now = clock.now()
    record_event(session, drill, now, op, row, **data)
    if row is None or data.get("allowed") is False:
        return []
    spec = scenario_spec(session, drill.scenario_id, drill.scenario_version)
    said = _react(session, drill, now, spec, row, {"kind": "op", "op": op})
    if op == "identity.sms":
        said += _customer_confirms_sms(session, clock, drill, spec, row)
    return said


_SMS_CODE_RE = re.compile(r"验证码\s*(\d{6})")


def _customer_confirms_sms(session: Session, clock: Clock, drill: Drill, spec: ScenarioSpec,
                           row: DrillContact) -> list[ConversationMessage]:
    """The simulated customer confirms the SMS code on their own phone (never tells it to the agent).

    A caller who is not the registered customer (their claimed phone differs) never receives it.
    """
    from sandbox.bank import identity
    from sandbox.bank.models import Conversation, PhoneMessage
    from sandbox.users.models import User

    now = clock.now()
    contact = _contact_spec(spec, row)
    facts = _facts(spec, row)
    real_tail = facts["phone_last4"]
    if fill(contact.claims.get("phone_last4", real_tail), facts) != real_tail:
        return [_say(session, drill, now, row, Turn("我手机上没收到验证码啊……是不是发错号码了？"), facts, "sms-not-received")]
    body = session.scalar(select(PhoneMessage.body).where(PhoneMessage.conversation_id == row.conversation_id)
                          .order_by(PhoneMessage.id.desc()).limit(1))
    match = _SMS_CODE_RE.search(body or "")
    if match is None:
        return []
    conversation = session.get_one(Conversation, _conversation_of(row))
    owner = session.get_one(User, drill.user_id)
    result = identity.verify(session, clock, conversation, owner, {"method": "sms", "code": match.group(1)})
    said = [_say(session, drill, now, row, Turn("收到短信了，我已经在手机上点了确认。"), facts, "sms-confirmed")]
    if result.verified:
        record_event(session, drill, now, "identity.verified", row, method="sms", allowed=True)
        said += _react(session, drill, now, spec, row, {"kind": "op", "op": "identity.verified"})
    return said


def recognize(session: Session, clock: Clock, drill: Drill, row: DrillContact) -> list[ConversationMessage]:
    """Run voice recognition over the contact's audio turns not yet recognised."""
    ensure_open(session, clock, drill)
    if row.channel != "语音":
        raise Conflict("文字渠道无需语音识别。", code="not_voice")
    pending = list(session.scalars(select(ConversationMessage).where(
        ConversationMessage.conversation_id == row.conversation_id, ConversationMessage.kind == "audio",
        ConversationMessage.recognized.is_(False)).order_by(ConversationMessage.seq)))
    now = clock.now()
    for msg in pending:
        msg.recognized = True
        record_event(session, drill, now, "asr.recognized", row, seq=msg.seq, transcript=msg.asr_text,
                     confidence=msg.asr_confidence)
    return pending


def finish(session: Session, clock: Clock, drill: Drill, ended_by: str = "candidate") -> Drill:
    """End the drill (by the candidate, the deadline or an examiner) and score it."""
    if drill.status == FINISHED:
        return drill
    now = clock.now()
    end = min(now, drill.deadline) if ended_by == "deadline" else now
    if drill.paused_at is not None:
        drill.paused_seconds += (end - drill.paused_at).total_seconds()
        drill.paused_at = None
    drill.status = FINISHED
    drill.ended_by = ended_by
    drill.finished_at = end
    record_event(session, drill, end, "drill.expired" if ended_by == "deadline" else "drill.finished",
                 ended_by=ended_by)
    report = score_drill(session, drill)
    drill.report = report
    drill.total = report["total"]
    drill.hard_fail = report["hard_fail"]
    return drill


mood_label = vocab.mood_label


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
