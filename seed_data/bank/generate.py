#!/usr/bin/env python3
"""Deterministic seed data for the fictitious mock bank 演练银行.

Reads the customer specifications in ``customers.yaml`` next to this file (validated first:
every problem is reported as file:line and nothing is written), and writes
``customers.json``: wealth products, 48 customers (C001–C017 are "magic" customers that
trigger a drill scenario, the rest are ordinary), their debit accounts with 90 days of
transactions, credit cards with the current bill, and wealth holdings.  Everything is
computed relative to the fixed "as of" date 2026-11-28; the current date is never read, and
every random choice comes from a ``random.Random`` seeded per customer, so two runs write
byte-identical files.  The work is done by the ``generator`` package beside this script.

Run from the repository root::

    python seed_data/bank/generate.py            # (re)write seed_data/bank/customers.json
    python seed_data/bank/generate.py --check    # verify the file on disk (and that it is
                                                 # exactly what this script generates)
    python seed_data/bank/generate.py --table    # print the README table of magic customers

Dependencies: PyYAML and the application's own ``sandbox.bank.masking`` (Luhn, GB 11643 and
name masking, so the data is checked by the rules the sandbox applies).

Conventions (also checked by ``--check``):

* money is a string with two decimals; negative amounts leave the account;
* debit transactions carry ``balance_after``; the running balance ends at ``balance``;
* a credit card bill is ``previous_balance - payments + new_charges + instalment_due
  + interest_fees`` (the ``breakdown``); ``new_charges`` are exactly the consumption
  transactions dated inside the bill period; ``minimum`` is 10 % of the bill amount
  (rounded half up to the cent) plus the principal of the instalment periods in the bill;
* ``available = limit - (amount - paid) - unbilled charges - instalment principal not
  yet billed``;
* holdings only use products whose risk (R1–R5) does not exceed the customer's level
  (C1–C5), except C017 (magic ``risk_mismatch``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parents[1]) not in sys.path:  # run as a script: use this checkout's packages
    sys.path.insert(0, str(HERE.parents[1]))

from seed_data.bank.generator.assemble import dumps, generate  # noqa: E402
from seed_data.bank.generator.customers import SpecError, load_customers  # noqa: E402
from seed_data.bank.generator.verify import verify  # noqa: E402

OUTPUT = HERE / "customers.json"


def table(specs: list[dict], data: dict) -> list[str]:
    """The README table of magic customers (lines of Markdown)."""
    summary = {spec["id"]: spec["summary"] for spec in specs}
    lines = ["| 编号 | 姓名 | 客群 | magic | 特殊之处 | 演练场景 | 证件后六位 / 手机尾号 |", "|---|---|---|---|---|---|---|"]
    for c in data["customers"]:
        if c["magic"]:
            special, scenario = summary[c["id"]]
            lines.append(f"| {c['id']} | {c['name']} | {c['segment']} | `{c['magic']}` | {special} | {scenario} | "
                         f"{c['id_number'][-6:]} / {c['phone'][-4:]} |")
    return lines


def check(text: str) -> int:
    """Verify customers.json on disk against ``text`` (this run's output) and its own rules; 0 when fine."""
    problems = []
    if dumps(generate()) != text:
        problems.append("two generations differ (not deterministic)")
    if not OUTPUT.exists():
        problems.append(f"{OUTPUT.name} missing: run without --check first")
        on_disk = text
    else:
        on_disk = OUTPUT.read_text(encoding="utf-8")
        if on_disk != text:
            problems.append(f"{OUTPUT.name} is not what this script generates: regenerate it")
    errors, totals = verify(json.loads(on_disk))
    problems.extend(errors)
    for p in problems:
        print("FAIL", p)
    print(" ".join(f"{k}={v}" for k, v in totals.items()))
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 0 if not problems else 1


def main(argv: list[str] | None = None) -> int:
    """The command line: write customers.json, or ``--check`` it, or print the ``--table``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify customers.json instead of writing it")
    parser.add_argument("--table", action="store_true", help="print the README table of magic customers")
    args = parser.parse_args(argv)
    try:
        specs = load_customers()
    except SpecError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in customers.yaml: nothing written", file=sys.stderr)
        return 2
    text = dumps(generate(specs))
    if args.table:
        print("\n".join(table(specs, json.loads(text))))
        return 0
    if not args.check:
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUTPUT}")
        return 0
    return check(text)


if __name__ == "__main__":
    sys.exit(main())
