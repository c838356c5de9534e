"""Masking rules for customer data: the one place every page, API, export and log uses.

Card ``990001******1234`` (first 6 and last 4 at most), ID number
``1101**********123X`` (first 4 and last 4), mobile ``138****5678``, name with the
given name masked (``张*``, ``欧阳**``), address down to the district (``广东省广州市天河区****``).
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\D")

# Runs of digits that look like a full card (16–19), an ID number (17 digits + digit/X)
# or a mainland mobile number (1[3-9] + 9 digits), not embedded in longer digit runs.
CARD_RE = re.compile(r"(?<![\dA-Za-z])\d{16,19}(?![\dA-Za-z])")
ID_RE = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
MOBILE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "尉迟", "长孙", "宇文", "司徒", "夏侯", "公孙")


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


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """GB 11643 check character for the first 17 digits of an ID number."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def id_number_valid(number: str) -> bool:
    value = (number or "").upper()
    return bool(re.fullmatch(r"\d{17}[\dX]", value)) and id_check_digit(value[:17]) == value[17]


def find_clear_pii(text: str) -> list[tuple[str, str]]:
    """Full card, ID or mobile numbers appearing in clear in ``text``.

    Returns ``(kind, masked value)`` pairs, kind in ``card``/``id_number``/``phone``;
    the value is masked so the finding itself can be logged safely.
    """
    found: list[tuple[str, str]] = []
    compact = text or ""
    for m in ID_RE.finditer(compact):
        if id_number_valid(m.group()):
            found.append(("id_number", mask_id_number(m.group())))
    for m in CARD_RE.finditer(compact):
        value = m.group()
        if luhn_valid(value) and not (len(value) == 18 and id_number_valid(value)):
            found.append(("card", mask_card(value)))
    for m in MOBILE_RE.finditer(compact):
        found.append(("phone", mask_phone(m.group())))
    return found


def redact(text: str) -> str:
    """``text`` with every full card, ID and mobile number replaced by its mask."""
    def _id(m: re.Match) -> str:
        return mask_id_number(m.group()) if id_number_valid(m.group()) else m.group()

    def _card(m: re.Match) -> str:
        return mask_card(m.group()) if luhn_valid(m.group()) else m.group()

    out = ID_RE.sub(_id, text or "")
    out = CARD_RE.sub(_card, out)
    return MOBILE_RE.sub(lambda m: mask_phone(m.group()), out)
