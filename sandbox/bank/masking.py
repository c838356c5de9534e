"""Masking rules for customer data: the one place every page, API, export and log uses.

Card ``990001******1234`` (first 6 and last 4 at most), ID number
``1101**********123X`` (first 4 and last 4), mobile ``138****5678``, name with the
given name masked (``张*``, ``欧阳**``), address down to the district (``广东省广州市天河区****``).

Finding numbers in free text (``find_clear_pii``, ``redact``) works on a normalised view
of the text, so the spelling does not matter: full-width or other Unicode digits
(``１８７…``), Chinese numerals written as a digit string (``一八七八〇三五…``), groups
split by spaces, dashes, dots, underscores, ``、`` or invisible characters
(``9900 0217 4985 3816``, ``440106-19960417-0956``), and letters glued on either side
(``card9900021749853816x``). Any 16–19 digit number is a card (Luhn or not), 17 digits
plus ``X`` or an 18-digit number with a birth date or a valid check digit is an ID
number, a 15-digit number with a birth date is an old ID number, 11 digits ``1[3-9]…``
(also after ``86``/``0086``) is a mobile number. Amounts (``8632.50``), dates
(``2026-12-15``), work-order numbers (``WO20261128-0001``), ID tails and phone tails
stay readable.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

_DIGITS = re.compile(r"\D")

# Plain digit runs that look like a full card (16–19), an ID number (17 digits + digit/X)
# or a mainland mobile number (1[3-9] + 9 digits), not embedded in longer digit runs.
# (Shapes of already clean digit strings; free text goes through ``find_clear_pii``.)
CARD_RE = re.compile(r"(?<![\dA-Za-z])\d{16,19}(?![\dA-Za-z])")
ID_RE = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
MOBILE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "尉迟", "长孙", "宇文", "司徒",
                      "夏侯", "公孙")


def mask_card(number: str | None) -> str:
    """``9900011234567890123`` → ``990001*********0123`` (keeps first 6 / last 4)."""
    digits = _DIGITS.sub("", number or "")
    if len(digits) <= 10:
        return "*" * len(digits)
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def mask_id_number(number: str | None) -> str:
    """``110105194810123451`` → ``1101**********3451``."""
    value = (number or "").strip().upper()
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(number: str | None) -> str:
    """``13812345678`` → ``138****5678``."""
    digits = _DIGITS.sub("", number or "")
    if len(digits) < 11:
        return "*" * len(digits)
    return digits[:3] + "****" + digits[-4:]


def mask_name(name: str | None) -> str:
    """Keep the surname, mask the given name: ``张三丰`` → ``张**``, ``欧阳修`` → ``欧阳*``."""
    value = (name or "").strip()
    if not value:
        return ""
    surname = value[:2] if value[:2] in _COMPOUND_SURNAMES and len(value) > 2 else value[:1]
    return surname + "*" * (len(value) - len(surname))


_DISTRICT = re.compile(r"^.{2,14}?(?:区|县|旗)")


def mask_address(address: str | None) -> str:
    """Keep the province/city/district, hide the street and the door number.

    ``广东省广州市天河区体育东路378号…`` → ``广东省广州市天河区****``.
    """
    value = (address or "").strip()
    if not value:
        return ""
    m = _DISTRICT.match(value)
    keep = m.group() if m else value[:6]
    return keep + "****" if len(value) > len(keep) else keep


def luhn_valid(number: str) -> bool:
    """True when ``number`` (digits only) passes the Luhn check."""
    if not number.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_check_digit(partial: str) -> str:
    """The digit that makes ``partial`` + digit pass the Luhn check."""
    for digit in "0123456789":
        if luhn_valid(partial + digit):
            return digit
    raise ValueError(partial)  # unreachable: one of ten digits always fits


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """GB 11643 check character for the first 17 digits of an ID number."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def id_number_valid(number: str) -> bool:
    value = (number or "").upper()
    return bool(re.fullmatch(r"\d{17}[\dX]", value)) and id_check_digit(value[:17]) == value[17]


def id_birth_date_plausible(yyyymmdd: str) -> bool:
    """True when ``yyyymmdd`` reads as a birth date 1900-01-01 … 2099-12-31 (no calendar check)."""
    if len(yyyymmdd) != 8 or not yyyymmdd.isdigit() or yyyymmdd[:2] not in ("19", "20"):
        return False
    month, day = int(yyyymmdd[4:6]), int(yyyymmdd[6:])
    return 1 <= month <= 12 and 1 <= day <= 31


# --------------------------------------------------------------------------- normalised view
#
# ``text.translate(_VIEW)`` has the same length as ``text`` (one character for one), so a
# span found in the view is the same span of the original text. In the view every digit
# is an ASCII digit, the ID check letter is ``X``, separators are one of `` -._、·`` and
# invisible characters are ``_GLUE`` (they join what they sit between).

_GLUE = "\x01"
_SEPARATORS = " -._、·"
_CHINESE_DIGITS = {
    "〇": 0, "○": 0, "零": 0, "一": 1, "幺": 1, "壹": 1, "二": 2, "贰": 2, "三": 3, "叁": 3, "四": 4, "肆": 4,
    "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}
_SEPARATOR_CHARS = {
    "-": "-‐‑‒–—―−﹘﹣－⁃", ".": ".．｡", "_": "_＿", "、": "、､", "·": "·・•‧∙",
}
_INVISIBLE = "\x01\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f" \
             "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\u3164" \
             "\ufeff\uffa0"


def _build_view_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in range(0x80, 0x20000):
        value = unicodedata.digit(chr(cp), None)
        if value is not None:
            table[cp] = str(value)
        elif chr(cp).isspace():
            table[cp] = " "
    for cp in range(0x20):
        if chr(cp).isspace():
            table[cp] = " "
    for ch, value in _CHINESE_DIGITS.items():
        table[ord(ch)] = str(value)
    for ch in "xXｘＸ":
        table[ord(ch)] = "X"
    for canonical, chars in _SEPARATOR_CHARS.items():
        for ch in chars:
            table[ord(ch)] = canonical
    for ch in _INVISIBLE:
        table[ord(ch)] = _GLUE
    for ch in _SEPARATORS + "0123456789X":
        table.pop(ord(ch), None)  # already canonical
    return table


_VIEW = _build_view_table()
_RUN = re.compile(r"[0-9]+")
_GAP = re.compile(r"[ \-._、·\x01]+")
_TAIL_X = re.compile(r"[ \-._、·\x01]*X")
_MAX_GAP = 3  # separator characters between two groups of one number (" - " is three)
_MIN_DIGITS = 11


def normalize_digits(text: str) -> str:
    """``text`` with every digit spelling as ASCII digits and separators canonical (same length).

    Tests use it to search a response for a number in any spelling: drop the characters
    of ``NUMBER_SEPARATORS`` afterwards and compare digit strings.
    """
    return (text or "").translate(_VIEW)


NUMBER_SEPARATORS = _SEPARATORS + _GLUE


def _classify(digits: str, x: bool) -> str | None:
    """The kind of a number spelled with ``digits`` (plus a trailing ``X`` when ``x``)."""
    n = len(digits)
    if x and n == 17:
        return "id_number"
    if n == 13 and digits.startswith("86") and MOBILE_RE.fullmatch(digits[2:]):
        return "phone"
    if n == 15 and digits.startswith("0086") and MOBILE_RE.fullmatch(digits[4:]):
        return "phone"
    if 16 <= n <= 19:
        if n == 18 and (id_number_valid(digits) or id_birth_date_plausible(digits[6:14])):
            return "id_number"
        return "card"
    if n == 15 and id_birth_date_plausible("19" + digits[6:12]):
        return "id_number"  # the old 15-digit ID number (YYMMDD birth date)
    if n == 11 and MOBILE_RE.fullmatch(digits):
        return "phone"
    return None


def _masked(kind: str, digits: str, x: bool) -> str:
    if kind == "card":
        return mask_card(digits)
    if kind == "id_number":
        return mask_id_number(digits + ("X" if x and len(digits) == 17 else ""))
    return digits[:-11] + mask_phone(digits[-11:])


def _is_ipv4(groups: list[tuple[int, int, str]], kinds: list[str]) -> bool:
    return len(groups) == 4 and all(k == "." for k in kinds) and all(
        len(d) <= 3 and int(d) <= 255 for _, _, d in groups)


def _chain_hits(groups: list[tuple[int, int, str]], kinds: list[str], x_end: int | None
                ) -> list[tuple[int, int, str, str]]:
    """Numbers in one chain of digit groups joined by separators: ``(start, end, kind, masked)``.

    Groups count as one number only where the separators between them are alike, so
    ``2026-12-15 2026-12-16`` stays two dates and ``WO20261128-0001 2026`` a work order and a
    year. The longest runs that make a number win: the whole chain
    (``9900 0217 4985 3816``), else a part of it (``+86 138 1234 5678``, a card then a year).
    """
    n = len(groups)
    candidates: list[tuple[int, int, int, str, str, int]] = []
    for i in range(n):
        digits = ""
        for j in range(i, n):
            if j > i and kinds[j - 1] != kinds[i]:
                break
            digits += groups[j][2]
            if len(digits) > 19:
                break
            if j > i and _is_ipv4(groups[i:j + 1], kinds[i:j]):
                continue
            x = x_end is not None and j == n - 1
            kind = _classify(digits, x)
            if kind:
                end = x_end if x_end is not None and x and kind == "id_number" else groups[j][1]
                candidates.append((len(digits), i, j, kind, _masked(kind, digits, x), end))
    hits: list[tuple[int, int, str, str]] = []
    taken: set[int] = set()
    for _, i, j, kind, masked, end in sorted(candidates, key=lambda c: (-c[0], c[1])):
        if taken.isdisjoint(range(i, j + 1)):
            taken.update(range(i, j + 1))
            hits.append((groups[i][0], end, kind, masked))
    return sorted(hits)


def _class_items(chars: set[str]) -> str:
    """The inside of a regex character class matching ``chars`` (as ranges)."""
    points = sorted(ord(c) for c in chars)
    parts, i = [], 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        lo, hi = re.escape(chr(points[i])), re.escape(chr(points[j]))
        parts.append(lo if i == j else f"{lo}-{hi}")
        i = j + 1
    return "".join(parts)


_DECIMAL = re.compile(r"\d")
_SPACE = re.compile(r"\s")
# ``\d`` and ``\s`` are quick category tests; the other digit and separator characters are
# few (superscript and circled digits, Chinese numerals, dashes, dots, invisible characters).
_OTHER_DIGITS = {chr(cp) for cp, v in _VIEW.items() if v.isdigit() and not _DECIMAL.match(chr(cp))}
_OTHER_SPAN = {chr(cp) for cp in _VIEW if not _DECIMAL.match(chr(cp)) and not _SPACE.match(chr(cp))}
# A stretch of text made only of digits, separators, the ID check letter and invisible
# characters, starting with a digit: only such stretches can hold a number.
_SPAN = re.compile(r"[\d" + _class_items(_OTHER_DIGITS) + r"][\d\s" + _class_items(
    _OTHER_SPAN | set(_SEPARATORS + "X")) + "]*")
_SPAN_ASCII = re.compile(r"[0-9][0-9\s\-._Xx\x01]*")  # the same for ASCII text (twice as fast)


def _find(text: str) -> list[tuple[int, int, str, str]]:
    """Every full card, ID or mobile number in ``text`` in any spelling: ``(start, end, kind, masked)``."""
    if not text or len(text) < _MIN_DIGITS:
        return []
    hits: list[tuple[int, int, str, str]] = []
    for m in (_SPAN_ASCII if text.isascii() else _SPAN).finditer(text):
        if m.end() - m.start() >= _MIN_DIGITS:
            offset = m.start()
            hits.extend((offset + s, offset + e, kind, masked)
                        for s, e, kind, masked in _find_in_view(m.group().translate(_VIEW)))
    return hits


def _find_in_view(view: str) -> list[tuple[int, int, str, str]]:
    """Numbers in one stretch of the normalised view (positions relative to it)."""
    runs = [(m.start(), m.end()) for m in _RUN.finditer(view)]
    if sum(e - s for s, e in runs) < _MIN_DIGITS:
        return []
    hits: list[tuple[int, int, str, str]] = []
    groups: list[tuple[int, int, str]] = []
    kinds: list[str] = []

    def close_chain(next_start: int) -> None:
        if not groups:
            return
        end = groups[-1][1]
        tail = _TAIL_X.match(view, end, next_start)  # the ID check letter, glued or after a separator
        x_end = tail.end() if tail and len(tail.group().replace(_GLUE, "")) <= _MAX_GAP + 1 else None
        if sum(len(d) for _, _, d in groups) >= _MIN_DIGITS:
            hits.extend(_chain_hits(groups, kinds, x_end))
        groups.clear()
        kinds.clear()

    for start, end in runs:
        if groups:
            gap = view[groups[-1][1]:start]
            visible = gap.replace(_GLUE, "")
            if not visible and _GAP.fullmatch(gap):
                prev = groups.pop()
                groups.append((prev[0], end, prev[2] + view[start:end]))  # invisible joiner: one group
                continue
            if _GAP.fullmatch(gap) and len(visible) <= _MAX_GAP:
                kinds.append("".join(sorted(set(visible))))
                groups.append((start, end, view[start:end]))
                continue
            close_chain(start)
        groups.append((start, end, view[start:end]))
    close_chain(len(view))
    return hits


def find_clear_pii(text: str) -> list[tuple[str, str]]:
    """Full card, ID or mobile numbers appearing in clear in ``text``, in any spelling.

    Returns ``(kind, masked value)`` pairs, kind in ``card``/``id_number``/``phone``;
    the value is masked so the finding itself can be logged safely.
    """
    return [(kind, masked) for _, _, kind, masked in _find(text or "")]


def redact(text: str) -> str:
    """``text`` with every full card, ID and mobile number (any spelling) replaced by its mask."""
    text = text or ""
    if len(text) <= _CACHED_LENGTH:
        clean = _redact_cached(str(text))
        return text if clean == text else clean  # the very object when nothing changed
    return _redact(text)


# Answers repeat the same short strings (scenario titles, article titles, labels, names):
# remembering their redaction saves most of the scan. A pure function of the text.
_CACHED_LENGTH = 400


@functools.lru_cache(maxsize=16384)
def _redact_cached(text: str) -> str:
    return _redact(text)


def _redact(text: str) -> str:
    hits = _find(text)
    if not hits:
        return text
    out, pos = [], 0
    for start, end, _, masked in hits:
        out.append(text[pos:start])
        out.append(masked)
        pos = end
    out.append(text[pos:])
    return "".join(out)


class Clear(str):
    """A value shown in clear on purpose (the audited examiner reveal, a trainer's own source
    text): ``redact_data`` and the output filters leave it as it is."""

    __slots__ = ()


def redact_data(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, tuples, strings) with every string redacted.

    Other values (numbers, ``None``, dates) and ``Clear`` strings are returned unchanged;
    containers are copied only when something in them changed.
    """
    if isinstance(value, str):
        if isinstance(value, Clear):
            return value
        return redact(value)
    if isinstance(value, dict):
        out = {k: redact_data(v) for k, v in value.items()}
        return value if all(out[k] is value[k] for k in value) else out
    if isinstance(value, (list, tuple)):
        items = [redact_data(v) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    return value
