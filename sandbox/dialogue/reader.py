"""Reading an agent's message: clauses, each with its dialogue act and why.

``read_message(text)`` is the one entry point the rubric, the live hints and the simulated
customer use. Each clause gets the classifier's act, overridden by the hard-fail rules
(``sandbox.dialogue.rules``) where they are sure: a clause the rules read as asking for a
secret or as a promise is one, whatever the model says; a clause the model reads as one
of those but the rules read as the harmless neighbour (a warning, a disclosure) gets the
model's next-best act.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox.dialogue.acts import act_label
from sandbox.dialogue.model import ActModel, shipped_model
from sandbox.dialogue.rules import (
    asks_for_secret,
    could_ask_for_secret,
    promises,
    strict_secret,
    tone,
    warns_about_secret,
)
from sandbox.dialogue.text import Clause, normalise, split_clauses

MAX_CHARS = 2000
# Asking for a secret fails a drill, so a clause that names a secret is read as asking for it
# at a lower probability than the model's argmax (recall matters most; measured on the corpus).
SECRET_THRESHOLD = 0.30
# Acts that cap or fail a drill are taken from the model only when it is confident (a
# promise also needs a word about money, an outcome or a guarantee); otherwise the next act.
PROMISE_THRESHOLD = 0.60
TONE_THRESHOLD = 0.30
# Words that carry contempt, impatience or blame; a clause without one is not read as rude.
_TONE_CUE = re.compile(r"不懂|烦|都说|早就|没办法|没辙|不归|跟我们没|怪|听不|拉倒|吵|闹|凭什么|关我|还来|呵|哟|行不行|快点|赶紧|"
                       r"别问|问什么|有完没完|又来|几遍|百度|看不懂|用点心|耳朵|不是我们|活该|不关|找别人|什么态度|当客服|嚷|啰嗦|"
                       r"费劲|浪费|凑近|不办|记错|网不好|问题出在|上一个|个人说的|你们自己|都不会|这都|连这|"
                       r"管不[了着]|能管的|催|[说讲]不[清明通]|急什么|什么急|急啥|可急的|急也|有什么用|有啥用|解释不[清明通]|多少遍|好多遍|八遍|还用教|研究去")
# Asking for identity details needs a request, a question or the details asked for; "身份证到期后
# 需要更新" or "身份证换了新证" talk about the document and are read as the next act.
_IDENTITY_ASK = re.compile(r"请|麻烦|报|提供|告诉|说一下|说下|多少|核实|核验|验证|确认|吗|嘛|[?？]|什么|哪|念|读|输|发|填|"
                           r"核对|对一下|需要(?:您|先|跟|和|对)|先得|得先|要先|配合|称呼|贵姓|身份(?!证)|本人|对吧|对不对|是不是|"
                           r"姓名|全名|名字|后[六四64]位|最后[六四64]|[六四64]个数|尾号|末[六四64]位|手机号|预留|身份证号|证件号")
_PROMISE_TOPIC = re.compile(r"收益|本金|保本|亏|赔|退|补|免|保证|一定|肯定|绝对|百分|100|包|稳|解冻|批|利率|涨|担保|兜底")


@dataclass
class ReadClause:
    """One clause and how it was read."""

    text: str
    act: str
    confidence: float
    source: str  # "model", "rule" or "fallback"
    index: int
    sentence: int

    @property
    def label(self) -> str:
        return act_label(self.act)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["label"] = self.label
        return out


@dataclass
class Reading:
    """A whole message as read: its clauses in order."""

    text: str
    clauses: list[ReadClause] = field(default_factory=list)

    def acts(self) -> list[str]:
        return [c.act for c in self.clauses]

    def has(self, *acts: str) -> bool:
        return any(c.act in acts for c in self.clauses)

    def first(self, *acts: str) -> ReadClause | None:
        return next((c for c in self.clauses if c.act in acts), None)

    def to_dict(self) -> dict[str, Any]:
        return {"clauses": [c.to_dict() for c in self.clauses]}


def _decide(text: str, ranked: list[tuple[str, float]]) -> tuple[str, float, str]:
    secret = asks_for_secret(text)
    if secret:
        return "ask_secret", 1.0, "rule"
    promise = promises(text)
    if promise:
        return "promise", 1.0, "rule"
    plain = tone(text)
    if plain:
        return plain, 1.0, "rule"
    probability = dict(ranked)
    if secret is None and probability.get("ask_secret", 0.0) >= SECRET_THRESHOLD and could_ask_for_secret(text):
        return "ask_secret", probability["ask_secret"], "model"
    for act, p in ranked:
        if act == "ask_secret" and (secret is False or not could_ask_for_secret(text)):
            continue
        if act == "promise" and (promise is False or p < PROMISE_THRESHOLD or not _PROMISE_TOPIC.search(text)):
            continue
        if act in ("rude", "blame") and (p < TONE_THRESHOLD or not _TONE_CUE.search(text)):
            continue
        if act == "ask_identity" and not _IDENTITY_ASK.search(text):
            continue
        return act, p, "model"
    return "other", 0.0, "fallback"


def read_clauses(clauses: Sequence[Clause], model: ActModel | None = None) -> list[ReadClause]:
    """Act of each clause (``model`` defaults to the shipped one)."""
    model = model or shipped_model()
    if not clauses:
        return []
    texts = [c.text for c in clauses]
    out: list[ReadClause] = []
    if model is None:
        probs = None
    else:
        probs = model.probabilities(texts)
    for i, clause in enumerate(clauses):
        if probs is None:
            ranked: list[tuple[str, float]] = []
        else:
            order = probs[i].argsort()[::-1]
            ranked = [(model.classes[j], float(probs[i, j])) for j in order]  # type: ignore[union-attr]
        act, confidence, source = _decide(clause.text, ranked)
        out.append(ReadClause(clause.text, act, round(confidence, 3), source, clause.index, clause.sentence))
    _secret_by_reference(out)
    return out


# "系统刚发了一条6位动态码，麻烦您把它回复到对话框里": the request points back at the code.
_REFERRING_REQUEST = re.compile(r"(?:把|将)?(?:它|这个|那个|这串|那串|这组|那组)?[^，,。]{0,6}"
                                r"(?:回复|发|报|念|告诉|输入|填)[^，,。]{0,6}"
                                r"(?:对话框|聊天|我|这里|这边|坐席|客服)")


_ASKING = re.compile(r"请提供|提供一下|麻烦提供|告诉我|报一下|说一下|请报")
_AND_ALSO = re.compile(r"^(?:以及|还有|和|及|再加上|连同|外加|另外)")


def _secret_by_reference(clauses: list[ReadClause]) -> None:
    """A clause asking for "it" after a clause of the same sentence that named a secret, or a
    secret listed after a request ("请提供姓名、身份证后六位，以及手机银行的登录密码")."""
    for i, clause in enumerate(clauses):
        if clause.act != "ask_secret" and _AND_ALSO.search(clause.text) and strict_secret(clause.text) and any(
                c.sentence == clause.sentence and _ASKING.search(c.text) for c in clauses[:i]):
            clause.act, clause.confidence, clause.source = "ask_secret", 1.0, "rule"
            continue
        if clause.act == "ask_secret" or not _REFERRING_REQUEST.search(clause.text):
            continue
        if re.search(r"不要|别|勿|不用|无需|不需要|千万|绝不", clause.text):
            continue
        named = any(c.sentence == clause.sentence and c.index < clause.index and strict_secret(c.text)
                    and not warns_about_secret(c.text) for c in clauses[:i])
        if named:
            clause.act, clause.confidence, clause.source = "ask_secret", 1.0, "rule"


def read_message(text: str | None, model: ActModel | None = None) -> Reading:
    """Every clause of an agent message with its act; long messages are read in full
    up to ``MAX_CHARS``."""
    text = (text or "")[:MAX_CHARS]
    return Reading(text, read_clauses(split_clauses(text), model))


def classify(text: str, model: ActModel | None = None) -> str:
    """The act of a single clause-sized utterance (used for evaluation)."""
    ranked: list[tuple[str, float]] = []
    model = model or shipped_model()
    if model is not None:
        probs = model.probabilities([normalise(text)])[0]
        ranked = [(model.classes[j], float(probs[j])) for j in probs.argsort()[::-1]]
    return _decide(normalise(text), ranked)[0]

