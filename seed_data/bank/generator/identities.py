"""Identities and numbers: GB 11643 ID numbers, Luhn-valid card and account numbers, phones, addresses.

All are fictitious.  Card and account numbers use the BIN prefixes 990001 (debit, 19 digits)
and 990002 (credit, 16 digits), which no real bank uses; check digits come from
``sandbox.bank.masking``.
"""

from __future__ import annotations

import random
from datetime import date

from sandbox.bank.masking import id_check_digit, luhn_check_digit
from seed_data.bank.generator.tables import COMMUNITIES, PHONE_PREFIXES, REGIONS


def make_id_number(rng: random.Random, region: str, birth: date, male: bool, force_x: bool) -> str:
    """Region + birth date + 3-digit sequence (odd for men, even for women) + check character."""
    for _ in range(1000):
        seq = f"{rng.randint(0, 99):02d}{rng.choice('13579' if male else '02468')}"
        if seq == "000":
            continue
        first17 = f"{region}{birth:%Y%m%d}{seq}"
        check = id_check_digit(first17)
        if not force_x or check == "X":
            return first17 + check
    raise AssertionError("no sequence found")


def make_number(rng: random.Random, prefix: str, length: int, used: set[str], avoid_tails: set[str]) -> str:
    """A Luhn-valid number of ``length`` digits on ``prefix``, unique and with a fresh last 4."""
    while True:
        body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
        number = body + luhn_check_digit(body)
        if number not in used and number[-4:] not in avoid_tails:
            used.add(number)
            avoid_tails.add(number[-4:])
            return number


def make_phone(rng: random.Random, used: set[str]) -> str:
    """A mobile number not used yet whose last two digits differ."""
    while True:
        phone = rng.choice(PHONE_PREFIXES) + "".join(str(rng.randint(0, 9)) for _ in range(8))
        if phone not in used and phone[-1] != phone[-2]:
            used.add(phone)
            return phone


def address(rng: random.Random, region: str) -> str:
    """A street address in ``region`` (province, city, district, street, community, flat)."""
    province, city, district, streets, _ = REGIONS[region]
    return (f"{province}{city}{district}{rng.choice(streets)}{rng.randint(1, 399)}号"
            f"{rng.choice(COMMUNITIES)}{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{rng.randint(1, 28)}"
            f"{rng.randint(1, 4):02d}室")
