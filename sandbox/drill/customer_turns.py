"""The simulated customer: what it says when a contact arrives, when the agent writes, when an
operation is done on it and when the agent keeps it waiting.

A contact's scenario rules fire first; an agenda customer (``needs``) then answers by its agenda
(sandbox.drill.agenda), otherwise the contact's fallback lines take turns. Every line goes into
the conversation and the event log. Functions take a session and never commit.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sandbox.clock import Clock
from sandbox.drill import agenda
from sandbox.drill.drill_contacts import contact_facts, contact_spec, conversation_of
from sandbox.drill.event_log import MAX_MESSAGE_CHARS, append_message, record_event
from sandbox.drill.facts import contains_any, fill, states_fact
from sandbox.drill.models import ConversationMessage, Drill, DrillContact
from sandbox.drill.scenario.model import Contact, Rule, ScenarioSpec, Turn
from sandbox.drill.scenario.vocabulary import LOOKUP_EVENTS
from sandbox.scoring.compliance import read


def say(session: Session, drill: Drill, now: datetime, row: DrillContact, turn: Turn, facts: dict[str, str],
        rule_id: str | None = None) -> ConversationMessage:
    """One line of the customer into the conversation (audio on a voice channel) and the event log."""
    # Templates are checked at upload (plain placeholders, at most 2,000 characters); the cap
    # here keeps a filled template within a message's limit whatever the facts hold.
    text = fill(turn.text, facts)[:MAX_MESSAGE_CHARS]
    if row.channel == "语音":
        asr = fill(turn.asr_text, facts)[:MAX_MESSAGE_CHARS] if turn.asr_text else text
        conf = turn.asr_confidence if turn.asr_confidence is not None else 0.93
        msg = append_message(session, now, conversation_of(row), "customer", text, kind="audio", asr_text=asr,
                             asr_confidence=conf)
    else:
        msg = append_message(session, now, conversation_of(row), "customer", text)
    row.last_customer_seq = msg.seq
    row.last_customer_at = now
    record_event(session, drill, now, "message.customer", row, seq=msg.seq, kind=msg.kind, rule=rule_id,
                 mood=row.mood, text=text)
    return msg


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


def react(session: Session, drill: Drill, now: datetime, spec: ScenarioSpec, row: DrillContact,
          trigger: dict[str, Any]) -> list[ConversationMessage]:
    """Let the simulated customer answer ``trigger`` by the scenario's rules."""
    if row.closed or not row.arrived:
        return []
    contact = contact_spec(spec, row)
    facts = contact_facts(row, spec)
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
            said.append(say(session, drill, now, row, turn, facts, rule.id))
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
        said.append(say(session, drill, now, row, turn, facts, "fallback"))
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
        # The message's findings as the post worked them out (a term the agent explained
        # earlier, or the customer used first, is not one).
        findings = trigger["findings"]
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
    said = [say(session, drill, now, row, turn, facts, "agenda") for turn in turns]
    if reaction.ends:
        row.closed = True
        record_event(session, drill, now, "contact.closed", row, rule="agenda")
    return said


_SMS_CODE_RE = re.compile(r"验证码\s*(\d{6})")


def confirm_sms(session: Session, clock: Clock, drill: Drill, spec: ScenarioSpec,
                row: DrillContact) -> list[ConversationMessage]:
    """The simulated customer confirms the SMS code on their own phone (never tells it to the agent).

    A caller who is not the registered customer (their claimed phone differs) never receives it.
    """
    from sandbox.bank import identity
    from sandbox.bank.models import Conversation, PhoneMessage
    from sandbox.users.models import User

    now = clock.now()
    contact = contact_spec(spec, row)
    facts = contact_facts(row, spec)
    real_tail = facts["phone_last4"]
    if fill(contact.claims.get("phone_last4", real_tail), facts) != real_tail:
        return [say(session, drill, now, row, Turn("我手机上没收到验证码啊……是不是发错号码了？"), facts, "sms-not-received")]
    body = session.scalar(select(PhoneMessage.body).where(PhoneMessage.conversation_id == row.conversation_id)
                          .order_by(PhoneMessage.id.desc()).limit(1))
    match = _SMS_CODE_RE.search(body or "")
    if match is None:
        return []
    conversation = session.get_one(Conversation, conversation_of(row))
    owner = session.get_one(User, drill.user_id)
    result = identity.verify(session, clock, conversation, owner, {"method": "sms", "code": match.group(1)})
    said = [say(session, drill, now, row, Turn("收到短信了，我已经在手机上点了确认。"), facts, "sms-confirmed")]
    if result.verified:
        record_event(session, drill, now, "identity.verified", row, method="sms", allowed=True)
        said += react(session, drill, now, spec, row, {"kind": "op", "op": "identity.verified"})
    return said
