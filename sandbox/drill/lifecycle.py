"""A drill from start to finish: starting it (each contact gets a customer of its own), moving it
to the present (``tick``: deadline, arrivals, timed faults, the customer's impatience),
refusing operations on a drill that is over or paused, and finishing it with its score.

Everything lives in the database, so a drill survives a server restart: a new process reads
the drill, the scenario version it pinned and the contacts' state, and goes on. Functions take
a session and a clock and never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, literal, select, union_all
from sqlalchemy.orm import Session

from sandbox.bank.conversations import hand_over_conversation, open_drawn_conversation
from sandbox.bank.identities import drill_rng, fresh_record
from sandbox.bank.models import Account, CreditCard, Customer
from sandbox.bank.seed import StoredCustomer, insert_customer
from sandbox.clock import Clock
from sandbox.db import update_columns, write_changes
from sandbox.drill.customer_turns import react, say
from sandbox.drill.drill_clock import FINISHED, PAUSED, PREPARED, RUNNING, drill_seconds, moment_of
from sandbox.drill.drill_contacts import contact_facts, contact_spec
from sandbox.drill.drill_faults import fault_changes, record_fault_changes
from sandbox.drill.event_log import record_event
from sandbox.drill.facts import customer_record, identity_variants, pool_members, record_facts
from sandbox.drill.grading import score_drill
from sandbox.drill.models import Drill, DrillContact, Scenario
from sandbox.drill.prior_orders import create_prior_orders
from sandbox.drill.scenario.model import Contact, ScenarioSpec
from sandbox.drill.scenario.store import scenario_spec
from sandbox.errors import Conflict, DrillExpired, NotFound, ValidationFailed
from sandbox.users.models import User

MODES = ("practice", "exam")


def start_drill(session: Session, clock: Clock, user_id: int, scenario_id: str, mode: str,
                round_id: int | None = None, time_limit: int | None = None,
                scenario_version: int | None = None) -> Drill:
    """Start a drill of ``scenario_id`` for ``user_id``; the first contacts arrive at once."""
    user = _user(session, user_id)
    drill = _new_drill(session, clock, user_id, scenario_id, mode, round_id, scenario_version, owner=user,
                       time_limit=time_limit)
    return _activate(session, clock, drill, user, time_limit, held=False)


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在。", code="unknown_user")
    return user


def prepare_drill(session: Session, clock: Clock, user_id: int, scenario_id: str, mode: str,
                  round_id: int | None = None, scenario_version: int | None = None) -> Drill:
    """Make a drill ready to start without starting its clock (status ``prepared``).

    Its customers are drawn into the mock bank and their conversations opened, held by
    nobody, so no candidate can reach either before ``activate_drill``; no event is logged,
    no customer speaks and no earlier work order exists yet.
    """
    return _new_drill(session, clock, user_id, scenario_id, mode, round_id, scenario_version, owner=None,
                      time_limit=None)


def _new_drill(session: Session, clock: Clock, user_id: int, scenario_id: str, mode: str, round_id: int | None,
               scenario_version: int | None, *, owner: User | None, time_limit: int | None) -> Drill:
    """``prepare_drill``; with ``owner`` (``start_drill``) the drill is written running, its
    clock started now, and its conversations are opened as the owner's: nothing to hand over."""
    if mode not in MODES:
        raise ValidationFailed("模式必须是 practice（练习）或 exam（考试）。", code="invalid_mode")
    row = session.get(Scenario, scenario_id) if isinstance(scenario_id, str) else None
    if row is None or (not row.enabled and round_id is None):
        raise NotFound(f"场景 {scenario_id!r} 不存在或已停用。", code="unknown_scenario")
    version = scenario_version or row.version
    spec = scenario_spec(session, scenario_id, version)
    now = clock.now()
    # Held for later: the clock fields are placeholders until activate_drill sets them.
    status, deadline = (PREPARED, now) if owner is None else \
        (RUNNING, now + timedelta(seconds=time_limit or spec.time_limit))
    drill = Drill(user_id=user_id, scenario_id=spec.id, scenario_version=version, mode=mode, status=status,
                  started_at=now, deadline=deadline, paused_seconds=0.0, round_id=round_id, contacts=[])
    session.add(drill)
    session.flush()
    for index, contact in enumerate(spec.contacts):
        code, stored, facts = draw_customer(session, spec, contact, drill.id, index, salt=now.isoformat())
        conversation_id = open_drawn_conversation(session, clock, owner, stored, contact.channel, drill.id)
        drill.contacts.append(DrillContact(contact_key=contact.key, customer_id=code, channel=contact.channel,
                                           arrives_at=contact.arrives_at, conversation_id=conversation_id,
                                           mood=contact.mood, fired=[], fallback_index=0, last_customer_seq=0,
                                           silence_fired_seq=0, facts=facts))
    session.flush()
    return drill


def activate_drill(session: Session, clock: Clock, drill: Drill, time_limit: int | None = None) -> Drill:
    """Start a prepared drill's clock now: its conversations go to its candidate, the
    contacts' earlier work orders are written, and the first contacts arrive."""
    if drill.status != PREPARED:
        raise Conflict("这道题已经开始。", code="drill_already_started")
    return _activate(session, clock, drill, _user(session, drill.user_id), time_limit, held=True)


def _activate(session: Session, clock: Clock, drill: Drill, user: User, time_limit: int | None, *,
              held: bool) -> Drill:
    """``activate_drill``; ``held``: prepared ahead, so its clock starts now and its conversations
    go to ``user``; otherwise (``start_drill``) both were written with the drill."""
    spec = scenario_spec(session, drill.scenario_id, drill.scenario_version)
    limit = time_limit or spec.time_limit
    if held:
        now = clock.now()
        update_columns(session, drill, status=RUNNING, started_at=now, deadline=now + timedelta(seconds=limit),
                       paused_seconds=0.0)
    else:
        now = drill.started_at
    record_event(session, drill, now, "drill.started", scenario=spec.id, version=drill.scenario_version,
                 mode=drill.mode, time_limit=limit)
    for row in drill.contacts:
        if held and row.conversation_id is not None:
            hand_over_conversation(session, clock, row.conversation_id, user)
        contact = contact_spec(spec, row)
        if contact.prior_workorders:
            facts = row.facts or {}
            create_prior_orders(session, now, user.id, row.customer_id, facts.get("name", ""),
                                contact.prior_workorders, facts)
    session.flush()
    tick(session, clock, drill, spec)
    return drill


# Which of a fresh customer's drawn numbers are already used, in one query (built once).
_TAKEN = union_all(
    select(literal("id_number"), Customer.id_number).where(
        Customer.id_number.in_(bindparam("id_numbers", expanding=True))),
    select(literal("account"), Account.number).where(Account.number.in_(bindparam("accounts", expanding=True))),
    select(literal("card"), CreditCard.number).where(CreditCard.number.in_(bindparam("cards", expanding=True))))


def numbers_taken(session: Session, drawn: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of the ``(kind, value)`` pairs (``id_number``, ``account``, ``card``) the mock bank
    already holds, in one query."""
    values = {kind: [v for k, v in drawn if k == kind] for kind in ("id_number", "account", "card")}
    return {(kind, value) for kind, value in session.execute(_TAKEN, {
        "id_numbers": values["id_number"], "accounts": values["account"], "cards": values["card"]})}


def draw_customer(session: Session, spec: ScenarioSpec, contact: Contact, drill_id: int,
                  index: int, salt: str = "") -> tuple[str, StoredCustomer, dict[str, str]]:
    """Give a drill contact a customer of its own: the template (or one drawn from the pool)
    copied with a fresh identity into the mock bank. Seeded by the drill id, its start time and
    the contact key, so the same drill always draws the same customer. Returns the copy's code,
    the ids its rows were given and its facts."""
    rng = drill_rng(drill_id, contact.key, salt)
    candidates = pool_members(contact.customer_pool) if contact.customer_pool else []
    template_code = rng.choice(candidates) if candidates else contact.customer
    template = customer_record(template_code)

    code = f"D{drill_id}-{index + 1}"
    record = fresh_record(template, code, rng, lambda drawn: numbers_taken(session, drawn))
    old = identity_variants(template["name"], template.get("gender") or "", template["id_number"], template["phone"])
    new = identity_variants(record["name"], record.get("gender") or "", record["id_number"], record["phone"])
    for key in ("name_typo", "name_misheard", "phone_last4_wrong"):
        record["examiner_note"] = record["examiner_note"].replace(old[key], new[key])
    stored = insert_customer(session, record, drill_id=drill_id, template_code=template_code)
    return code, stored, record_facts(record, spec.facts)


def due_moment(drill: Drill, spec: ScenarioSpec) -> datetime | None:
    """The first moment at which tick() has something to do, if nothing changes the drill before
    it: the deadline, a contact's arrival, a customer's silence rule or patience running out.
    None while the clock is not running (prepared, paused, finished). Faults are apart
    (``drill_faults.next_fault_change``)."""
    if drill.status != RUNNING:
        return None
    moments = [drill.deadline]
    for row in drill.contacts:
        if not row.arrived:
            moments.append(moment_of(drill, row.arrives_at))
        elif not row.closed and row.last_customer_at and row.silence_fired_seq < row.last_customer_seq \
                and (row.last_agent_at is None or row.last_agent_at < row.last_customer_at):
            contact = contact_spec(spec, row)
            waits = [r.when["silence"] for r in contact.rules if "silence" in r.when]
            if contact.needs:
                waits.append(contact.patience)
            if waits:
                moments.append(row.last_customer_at + timedelta(seconds=min(waits)))
    return min(moments)


def _due(drill: Drill, spec: ScenarioSpec, now: datetime) -> bool:
    """Whether tick() has anything to do (checked before taking the write lock)."""
    moment = due_moment(drill, spec)
    return moment is not None and now >= moment


def tick(session: Session, clock: Clock, drill: Drill, spec: ScenarioSpec | None = None) -> bool:
    """Advance the drill to now: deadline, arrivals, timed faults, customer impatience.

    Returns True when something changed. Safe to call from every poll.
    """
    if drill.status == PREPARED:
        return False  # its clock has not started
    spec = spec or scenario_spec(session, drill.scenario_id, drill.scenario_version)
    now = clock.now()
    changed = drill.status != FINISHED and record_fault_changes(session, drill, spec, now)
    if not _due(drill, spec, now):
        return changed
    if now >= drill.deadline:
        finish(session, clock, drill, ended_by="deadline")
        return True
    t = drill_seconds(drill, now)
    for row in drill.contacts:
        contact = contact_spec(spec, row)
        if not row.arrived and row.arrives_at <= t:
            row.arrived = True
            record_event(session, drill, now, "contact.arrived", row, customer=row.customer_id, channel=row.channel)
            facts = contact_facts(row, spec)
            for turn in contact.opening:
                say(session, drill, now, row, turn, facts)
            continue
        if row.arrived and not row.closed and row.last_customer_at and row.silence_fired_seq < row.last_customer_seq \
                and (row.last_agent_at is None or row.last_agent_at < row.last_customer_at):
            silent = (now - row.last_customer_at).total_seconds()
            if not react(session, drill, now, spec, row, {"kind": "silence", "seconds": silent}):
                # Nothing (more) to say until the customer's next turn; a message resets the timer itself.
                if any(silent >= r.when["silence"] for r in contact.rules if "silence" in r.when) or (
                        contact.needs and silent >= contact.patience):
                    row.silence_fired_seq = row.last_customer_seq
    for row in drill.contacts:
        write_changes(session, row)  # arrivals and replies: one UPDATE each, no flush at the commit
    # The faults were logged above, for this same moment; arrivals and replies do not change them.
    return True


def needs_tick(session: Session, clock: Clock, drill: Drill) -> bool:
    """Whether tick() would change anything now (a read-only check, so polls need no write lock)."""
    if drill.status in (FINISHED, PREPARED):  # no clock running: nothing to bring up to date
        return False
    spec = scenario_spec(session, drill.scenario_id, drill.scenario_version)
    now = clock.now()
    if _due(drill, spec, now):
        return True
    if not spec.events and drill.round_id is None:
        return False
    active, started, ended = fault_changes(session, drill, spec, now)
    return bool(set(active) - started or started - set(active) - ended)


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
    if drill.status == PREPARED:
        raise Conflict("这道题还没有开始。", code="drill_not_started")
    if drill.status == FINISHED:
        raise DrillExpired("演练已结束（已到时间或已交卷），不能再操作。", code="drill_expired")
    if drill.status == PAUSED:
        raise Conflict("考官已暂停本场考试，请稍候。", code="drill_paused")


def finish(session: Session, clock: Clock, drill: Drill, ended_by: str = "candidate") -> Drill:
    """End the drill (by the candidate, the deadline or an examiner) and score it."""
    if drill.status == FINISHED:
        return drill
    if drill.status == PREPARED:
        raise Conflict("这道题还没有开始。", code="drill_not_started")
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
