"""Text as the dialogue reader sees it: normalised, numbers made plain, split into clauses.

Normalisation (``normalise``) folds width and script (NFKC, traditional→simplified, 帐→账,
lower case), turns digit-by-digit Chinese numerals into digits ("一八七八〇三五…" → "187803…"),
joins digit groups split by spaces, dashes or dots of a phone/card layout
("9900 0217 4985 3816" → "9900021749853816") and drops thousands separators in amounts
("8,632.50" → "8632.50"). Positional Chinese amounts ("八千六百三十二元") are read by
:func:`chinese_number` when claims are extracted, not rewritten here.

Clauses: a message is split at sentence ends (。！？；!?; newline) and at commas when both
sides carry content, except that a conditional opener ("如果…，" "…的话，") stays with what follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from knowledge_base.text import fold

_CN_DIGIT = {"零": "0", "〇": "0", "○": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
             "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
# Four or more Chinese digits in a row with no unit between them: read digit by digit.
_CN_DIGIT_RUN = re.compile("[零〇○一幺二两三四五六七八九]{4,}")
# Digit groups separated by one layout separator: 9900 0217 / 187-8035-0292 / 440106.1996.
_GROUPED_DIGITS = re.compile(r"(?<![\d.])\d{2,6}(?:[ \u00a0\-_./·、]{1,2}\d{2,8}){1,5}(?![\d])")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?:\D|$))")


def _join_groups(match: re.Match) -> str:
    text = match.group()
    digits = re.sub(r"\D", "", text)
    # Dates (2026-12-15, 2026.12.15, 12/15) and decimals (8632.50) keep their separators.
    if re.fullmatch(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}", text) or re.fullmatch(r"\d{1,2}/\d{1,2}", text):
        return text
    if re.fullmatch(r"\d+\.\d{1,2}", text):
        return text
    # A list of amounts ("1633.20、163.32、2026-12-05"): a dot followed by one or two digits is a
    # decimal point, not a separator between the groups of a card number.
    if re.search(r"\.\d{1,2}(?!\d)", text):
        return text
    if len(digits) >= 11:
        return digits
    return text


def normalise(text: str | None) -> str:
    """The form every reader works on; may change the text's length.

    Cached by text (a pure function of it): one drill message is normalised by many readers
    (claims, needs, compliance), each with the same phrases."""
    if not text:
        return ""
    return _normalise(text)


@lru_cache(maxsize=8192)
def _normalise(text: str) -> str:
    out = fold(text)
    out = _CN_DIGIT_RUN.sub(lambda m: "".join(_CN_DIGIT[c] for c in m.group()), out)
    out = _THOUSANDS.sub("", out)
    out = _GROUPED_DIGITS.sub(_join_groups, out)
    return out


_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG = {"万": 10_000, "亿": 100_000_000}
_CN_NUMBER = re.compile("[零〇一二两三四五六七八九十拾百佰千仟万亿]+(?:点[零〇一二三四五六七八九]+)?")


def chinese_number(text: str) -> float | None:
    """The value of a positional Chinese numeral ("八千六百三十二" → 8632, "八千六" → 8600,
    "两万" → 20000, "三点五" → 3.5), or None when ``text`` is not one."""
    if not text or not _CN_NUMBER.fullmatch(text):
        return None
    integer, _, fraction = text.partition("点")
    total = 0
    section = 0
    digit: int | None = None
    last_unit = 1
    for ch in integer:
        if ch in _CN_DIGIT:
            digit = int(_CN_DIGIT[ch])
        elif ch in _UNITS:
            section += (digit if digit is not None else 1) * _UNITS[ch]
            last_unit = _UNITS[ch]
            digit = None
        elif ch in _BIG:
            section += digit or 0
            total += section * _BIG[ch]
            section = 0
            digit = None
            last_unit = _BIG[ch]
        else:
            return None
    if digit is not None:
        # "八千六" is 8600: a trailing digit after a unit counts one unit lower.
        section += digit * (last_unit // 10 if last_unit >= 10 and integer[-2:-1] in _UNITS else 1)
    value: float = total + section
    if fraction:
        value += float("0." + "".join(_CN_DIGIT[c] for c in fraction))
    return value


@dataclass(frozen=True)
class Clause:
    """One clause of a message: its normalised text and where it came from."""

    text: str
    sentence: int
    index: int


_SENTENCE_END = re.compile(r"[。！？!?；;\n…]+|\.(?!\d)|\s{2,}")
_COMMA = re.compile(r"[，,]")
_CONDITIONAL_OPEN = re.compile(r"^(?:如果|假如|要是|若|万一|只要|一旦|即使|就算|因为|由于|为了)")
_CONTENT = re.compile(r"[\u4e00-\u9fff0-9a-z]")


# A greeting stands alone even when short: "董阿姨好，别着急" is a greeting and then empathy.
_GREETING = re.compile(r"^(?:[\u4e00-\u9fff]{0,4}(?<!还)(?<!也)好|您好|你好|大家好)(?:呀|啊|哈|啦)?[!！~～]*$|"
                       r"^(?:早上|上午|中午|下午|晚上)好|"
                       r"^(?:您|你)?(?:先)?(?:别着急|别急|别担心|别慌|不要着急|不要担心|不用担心|请放心|放心)(?:啊|哈|哦)?$")


def _substantial(part: str) -> bool:
    if _GREETING.search(part) and part not in ("好", "好好", "还好", "也好"):
        return True
    return len(_CONTENT.findall(part)) >= 4


def sentences(text: str) -> list[str]:
    """Sentences of normalised ``text`` (no empty ones)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and _CONTENT.search(s)]


def split_clauses(text: str | None) -> tuple[Clause, ...]:
    """Clauses of a message (normalised), in order.

    Cached by text: one message is split by its reading, by each fact and claim a customer's
    need or a rule looks for, and by the compliance checks, all within one post."""
    return _split_clauses(text or "")


@lru_cache(maxsize=4096)
def _split_clauses(text: str) -> tuple[Clause, ...]:
    out: list[Clause] = []
    for si, sentence in enumerate(sentences(normalise(text))):
        parts = [p.strip() for p in _COMMA.split(sentence)]
        merged: list[str] = []
        pending = ""
        for part in parts:
            if not part:
                continue
            candidate = f"{pending}，{part}" if pending else part
            if not _substantial(part) or _CONDITIONAL_OPEN.search(candidate) and candidate.count("，") == 0 \
                    or candidate.endswith("的话"):
                pending = candidate
                continue
            merged.append(candidate)
            pending = ""
        if pending:
            if merged and not _substantial(pending):
                merged[-1] = f"{merged[-1]}，{pending}"
            else:
                merged.append(pending)
        for part in merged:
            if _CONTENT.search(part):
                out.append(Clause(part, si, len(out)))
    return tuple(out)
