"""The simulated customer's agenda: needs asked in order, answered needs popped, the rest
repeated, identity details given only when asked, mood that follows what the agent does.

Modelled on agenda-based user simulation (Schatzmann et al., 2007): the customer holds a
stack of needs; the agent's dialogue acts (read by ``sandbox.dialogue``) pop or push items;
the customer only says what the agenda says. A contact without ``needs`` keeps the
scenario's v1 rules alone.

``react`` is a pure function: it takes the contact's needs, its state (a JSON-able dict kept
on the drill contact), the agent's message, the customer's facts and returns what the
customer says, the mood change and the new state. The engine persists it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.dialogue.claims import Proposition, match_proposition, read_fact
from sandbox.dialogue.reader import Reading
from sandbox.dialogue.text import normalise
from sandbox.scoring.compliance import JARGON, WRONG_CLAIM, Finding

# How the customer's mood (-5…5) moves with what the agent does, by act or finding kind.
MOOD_EFFECTS: dict[str, int] = {
    "empathize": 1, "rude": -2, "blame": -2, "ask_secret": -2, "promise": 0, "need_met": 1, "jargon": -1,
    "wrong_claim": -1, "ignored": -1, "silence": -1,
}
IDENTITY_PARTS = {
    "name": ("姓名", "名字", "全名", "怎么称呼", "贵姓", "叫什么"),
    "id_last6": ("身份证", "证件", "后六位", "后6位"),
    "phone_last4": ("手机", "电话", "尾号", "后四位", "后4位", "预留"),
}
_IDENTITY_WORDS = {"name": "我叫{name}", "id_last6": "身份证后六位是{id_last6}", "phone_last4": "手机尾号{phone_last4}"}
_REPEAT_PREFIX = ("", "我刚才说了：", "您还没回应我呢，")
# A clause read as closing ends the talk only when it really winds up: it asks whether anything
# else is needed or says goodbye ("欢迎咨询" or "咱们一步步来" mid-conversation do not).
CLOSING_MIN_CONFIDENCE = 0.5
# Words with which an agent asks the customer for details.
REQUEST_CUES = ("请", "麻烦", "提供", "告诉我", "报一下", "说一下", "发一下", "发给我", "报给我", "说下", "报下", "输入",
                "您的姓名是", "怎么称呼", "贵姓", "是多少", "核对一下您的", "确认一下您的", "核实一下您的", "验证一下您的",
                "核实身份", "核验身份", "验证身份", "核实一下身份", "先核实", "先核验", "需要核实", "需要核验")
# A clause that talks about identity details without asking for them (a refusal, a warning).
NOT_REQUEST = ("之前", "以前", "无法", "不能", "不会", "骗子", "可能", "冒用", "泄露", "透露", "不要", "别告诉", "千万",
               "通过后", "核实后", "核验后", "到期")
CLOSING_CUES = ("还有", "其他", "其它", "别的", "再见", "祝您", "祝你", "来电", "先这样", "不打扰", "随时", "欢迎再次",
                "欢迎下次")
_DEFAULT_LINES = {
    "rude": "你这是什么态度？我只是想问清楚。",
    "ask_secret": "啊？这个不是不能告诉别人吗？我不太放心……",
    "all_met": "好的，我明白了。",
    "thanks_bye": "没有了，谢谢你！",
    "closing_early": "等一下，我的问题还没解决呢。",
    "hold": "好的，我等一下。",
    "term": "“{term}”是什么意思？能说得简单点吗？",
    "silence": "您好？还在吗？",
    "give_up": "一直没人回，算了，我还是换个渠道问吧。",
}
# After this many nudges in a row without an answer, the customer gives up and leaves.
MAX_NUDGES = 3
# The agenda customer's lines a scenario may reword per contact (``lines:``).
LINE_KEYS = tuple(_DEFAULT_LINES)


@dataclass(frozen=True)
class Need:
    """One thing the customer wants: how they ask it and what satisfies it."""

    id: str
    asks: tuple[str, ...]
    met_by: dict[str, Any]
    reply: str = ""
    # ``met_by["claim"]`` as propositions, built once with the need (read on every message).
    claims: tuple[Proposition, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        claim = self.met_by.get("claim")
        items = claim if isinstance(claim, list) else [claim] if claim is not None else []
        object.__setattr__(self, "claims", tuple(Proposition.from_dict(item) for item in items))

    def satisfied_by_message(self, text: str, reading: Reading, facts: dict[str, str]) -> bool:
        """Whether an agent message meets this need (a fact bound to its slot, a claim, or an act)."""
        if "fact" in self.met_by:
            return read_fact(text, self.met_by["fact"], facts.get(self.met_by["fact"], "")).stated
        if "claim" in self.met_by:
            return any(match_proposition(text, prop) for prop in self.claims)
        if "acts" in self.met_by:
            about = [normalise(w) for w in self.met_by.get("about") or []]
            norm = normalise(text)
            return any(c.act in self.met_by["acts"] for c in reading.clauses) and (
                not about or any(w in norm for w in about))
        return False

    def satisfied_by_op(self, op: str) -> bool:
        wanted = self.met_by.get("op")
        return bool(wanted) and (op == wanted or (wanted == "lookup" and op.startswith("lookup.")))


@dataclass
class Reaction:
    """What the customer says back and how the mood moves."""

    lines: list[str] = field(default_factory=list)
    mood: int = 0
    ends: bool = False
    state: dict[str, Any] = field(default_factory=dict)
    why: list[str] = field(default_factory=list)
    # The identity details given in this reaction, and the index of that line in ``lines``.
    identity_parts: list[str] = field(default_factory=list)
    identity_line: int | None = None


def initial_state(needs: Sequence[Need]) -> dict[str, Any]:
    """A fresh agenda: every need pending, the first one asked by the opening line."""
    return {"pending": [n.id for n in needs], "met": [], "asked": {needs[0].id: 1} if needs else {},
            "terms": [], "ignored": 0}


def _state_copy(needs: Sequence[Need], state: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of the stored agenda the reaction may change (the stored one stays as it was)."""
    copy = {**initial_state(needs), **(state or {})}
    copy["pending"] = list(copy.get("pending", []))
    copy["met"] = list(copy.get("met", []))
    return copy


def _current(needs: Sequence[Need], state: dict[str, Any]) -> Need | None:
    by_id = {n.id: n for n in needs}
    for nid in state.get("pending", []):
        if nid in by_id:
            return by_id[nid]
    return None


def _ask(need: Need, state: dict[str, Any], repeat: bool) -> str:
    count = state.setdefault("asked", {}).get(need.id, 0)
    state["asked"][need.id] = count + 1
    text = need.asks[count % len(need.asks)] if need.asks else ""
    if repeat:
        text = _REPEAT_PREFIX[min(count, len(_REPEAT_PREFIX) - 1)] + text
    return text


def _winds_up(reading: Reading) -> bool:
    """Whether the agent is closing the conversation (see ``CLOSING_CUES``)."""
    return any(c.act == "closing" and (c.source == "rule" or c.confidence >= CLOSING_MIN_CONFIDENCE)
               and any(cue in c.text for cue in CLOSING_CUES) for c in reading.clauses)


def _requests(text: str) -> bool:
    """Whether a clause asks the customer for something (not just mentions identity details:
    "身份核实通过之前我无法透露", "骗子可能拿到了您的身份证号"; nor reads them back to confirm:
    "您的手机尾号是5858，对吗")."""
    if re.search(r"\d{4,}", text) or any(word in text for word in NOT_REQUEST):
        return False
    parts = sum(1 for words in IDENTITY_PARTS.values() if any(w in text for w in words))
    return (any(cue in text for cue in REQUEST_CUES) or text.endswith(("吗", "呢")) or "多少" in text
            or parts >= 2)  # a list of details is asked for ("先核实身份：姓名、身份证后六位、手机后四位")


def identity_details(reading: Reading) -> list[str]:
    """Which identity details an agent's ask_identity clauses ask for (all three when unspecific)."""
    asked: list[str] = []
    identity = [c for c in reading.clauses if c.act == "ask_identity"]
    # One clause that asks carries the rest of its list ("麻烦说一下姓名、身份证后六位，还有预留手机号后四位").
    requests = identity if any(_requests(c.text) for c in identity) else []
    requests = [c for c in requests if not re.search(r"\d{4,}", c.text)]
    for clause in requests:
        text = clause.text
        for part, words in IDENTITY_PARTS.items():
            if any(w in text for w in words) and part not in asked:
                asked.append(part)
    if not asked and requests:
        asked = list(IDENTITY_PARTS)
    # "验证码" names a code, not an identity detail.
    return asked


def identity_reply(parts: Sequence[str], facts: dict[str, str]) -> str:
    """The customer's answer with only the details asked for."""
    said = "，".join(_IDENTITY_WORDS[p].format(**facts) for p in parts if p in _IDENTITY_WORDS)
    return f"好的，{said}。" if said else ""


def react(needs: Sequence[Need], state: dict[str, Any], text: str, reading: Reading, findings: Sequence[Finding],
          facts: dict[str, str], identity_given: bool, lines: dict[str, str] | None = None,
          effects: dict[str, int] | None = None, claimed: dict[str, str] | None = None) -> Reaction:
    """The customer's answer to one agent message (``claimed``: identity details the caller
    gives instead of the real ones, for a caller who is not who they say)."""
    lines = {**_DEFAULT_LINES, **(lines or {})}
    effects = {**MOOD_EFFECTS, **(effects or {})}
    state = _state_copy(needs, state)
    state["nudges"] = 0
    out = Reaction(state=state)
    acts = set(reading.acts())
    # Tone first: what hurts is heard before what informs.
    for act in ("rude", "blame"):
        if act in acts:
            out.mood += effects[act]
            out.why.append(act)
    if "ask_secret" in acts:
        out.mood += effects["ask_secret"]
        out.lines.append(lines["ask_secret"])
        out.why.append("ask_secret")
    elif acts & {"rude", "blame"}:
        out.lines.append(lines["rude"])
    if "empathize" in acts and not acts & {"rude", "blame"}:
        out.mood += effects["empathize"]
        out.why.append("empathize")
    if any(f.kind == WRONG_CLAIM for f in findings):
        out.mood += effects["wrong_claim"]
        out.why.append("wrong_claim")
    # Identity details, only those asked for.
    asked = identity_details(reading)
    if asked and not identity_given:
        reply = identity_reply(asked, {**facts, **(claimed or {})})
        if reply:
            out.identity_parts, out.identity_line = list(asked), len(out.lines)
            out.lines.append(reply)
            state["identity_given"] = sorted(set(state.get("identity_given", [])) | set(asked))
    # Needs: every pending need this message meets is popped (answered early ones are skipped later).
    met_now = _pop_met(out, [n for n in needs if n.id in state["pending"]
                             and n.satisfied_by_message(text, reading, facts)], effects["need_met"])
    if met_now:
        state["ignored"] = 0
    # An unexplained term: ask what it means (once per term).
    for f in findings:
        if f.kind == JARGON and f.phrase not in state.get("terms", []):
            state.setdefault("terms", []).append(f.phrase)
            out.lines.append(lines["term"].replace("{term}", f.phrase))
            out.mood += effects["jargon"]
            out.why.append("jargon")
            break
    current = _current(needs, state)
    if _winds_up(reading):
        if current is None:
            out.lines.append(lines["thanks_bye"])
            out.ends = True
            return _clamp(out)
        out.lines.append(lines["closing_early"] + _ask(current, state, repeat=False))
        return _clamp(out)
    if met_now:
        if current is not None:
            out.lines.append(_ask(current, state, repeat=False))
        else:
            out.lines.append(lines["all_met"])
        return _clamp(out)
    if asked or "ask_secret" in acts or "ask_identity" in acts:
        # Identity talk (a request, or reading details back to confirm them) is not ignoring the
        # customer's question: it comes back after verification.
        return _clamp(out)
    if acts & {"hold"} and not out.lines:
        out.lines.append(lines["hold"])
        return _clamp(out)
    if current is not None and not out.lines:
        state["ignored"] = int(state.get("ignored", 0)) + 1
        if state["ignored"] >= 2:
            out.mood += effects["ignored"]
            out.why.append("ignored")
        out.lines.append(_ask(current, state, repeat=True))
    return _clamp(out)


def react_op(needs: Sequence[Need], state: dict[str, Any], op: str,
             effects: dict[str, int] | None = None) -> Reaction:
    """The customer's answer to an operation the agent did (a freeze, a verification…)."""
    effects = {**MOOD_EFFECTS, **(effects or {})}
    state = _state_copy(needs, state)
    state["ops"] = sorted(set(state.get("ops", [])) | {op})
    out = Reaction(state=state)
    met = _pop_met(out, [n for n in needs if n.id in state["pending"] and n.satisfied_by_op(op)], effects["need_met"])
    current = _current(needs, state)
    # After verification, or once an operation settled what was asked, the customer goes on.
    if current is not None and (op == "identity.verified" or met):
        out.lines.append(_ask(current, state, repeat=False))
    return _clamp(out)


def react_silence(needs: Sequence[Need], state: dict[str, Any], lines: dict[str, str] | None = None,
                  effects: dict[str, int] | None = None) -> Reaction:
    """The customer's nudge after the agent has been silent for the contact's patience:
    are you there, and the pending question again; the mood falls."""
    lines = {**_DEFAULT_LINES, **(lines or {})}
    effects = {**MOOD_EFFECTS, **(effects or {})}
    state = _state_copy(needs, state)
    out = Reaction(state=state)
    current = _current(needs, state)
    state["nudges"] = int(state.get("nudges", 0)) + 1
    out.mood += effects["silence"]
    out.why.append("silence")
    if state["nudges"] >= MAX_NUDGES:
        out.lines.append(lines["give_up"])
        out.ends = True
        return _clamp(out)
    out.lines.append(lines["silence"] + (_ask(current, state, repeat=False) if current is not None else ""))
    return _clamp(out)


def _pop_met(out: Reaction, met_now: list[Need], mood: int) -> list[Need]:
    """Move the needs just met from pending to met; their replies are said and the mood rises."""
    for need in met_now:
        out.state["pending"].remove(need.id)
        out.state["met"].append(need.id)
        if need.reply:
            out.lines.append(need.reply)
    if met_now:
        out.mood += mood
        out.why.append("need_met:" + ",".join(n.id for n in met_now))
    return met_now


def _clamp(out: Reaction) -> Reaction:
    out.mood = max(-3, min(3, out.mood))
    out.lines = [re.sub(r"\s+", " ", line).strip() for line in out.lines if line and line.strip()]
    return out


def needs_from_spec(raw: Sequence[dict[str, Any]] | None) -> tuple[Need, ...]:
    """Needs of a contact from its scenario data (validated by the scenario parser).

    A scenario's needs are a tuple that lives as long as its parsed version: built once per
    such tuple (every agent message reads them), anything else every time."""
    if isinstance(raw, tuple):
        kept = _NEEDS_BUILT.get(id(raw))
        if kept is not None and kept[0] is raw:
            return kept[1]
    out = []
    for i, item in enumerate(raw or []):
        asks = item.get("ask") or []
        asks = [asks] if isinstance(asks, str) else list(asks)
        out.append(Need(str(item.get("id") or f"need-{i + 1}"), tuple(str(a) for a in asks),
                        dict(item.get("met_by") or {}), str(item.get("reply") or "")))
    needs = tuple(out)
    if isinstance(raw, tuple):
        with _needs_lock:
            _NEEDS_BUILT[id(raw)] = (raw, needs)  # holding ``raw`` keeps its id from being reused
            while len(_NEEDS_BUILT) > _NEEDS_BUILT_MAX:
                _NEEDS_BUILT.pop(next(iter(_NEEDS_BUILT)))
    return needs


# Needs built per scenario tuple (by id, with the tuple itself); bounded, oldest dropped first.
_NEEDS_BUILT: dict[int, tuple[Sequence[dict[str, Any]], tuple[Need, ...]]] = {}
_NEEDS_BUILT_MAX = 2048
_needs_lock = threading.Lock()
