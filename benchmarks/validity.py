"""Does the mark separate good agents from bad ones? Known agents played through the real API.

    python benchmarks/validity.py [--scenario ID ...] [--runs] [--json]

Builds a throwaway seeded instance (as ``bankdrill scenarios rehearse`` does), then for every
seeded scenario plays the reference run and every variant run of
``seed_data/validity/<scenario>.yaml`` in its own practice drill, through the /api/v1
endpoints with a test client and a clock the player moves. Prints a Markdown table
(scenario × kind → score, ✔ when the score lies in the kind's band, ✘ when not), a summary
per kind (min / mean / max and how many runs are in band) and, with ``--runs``, one line per
run with the checks it failed. ``--json`` prints the rows instead. Method: VALIDITY.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.web.validity import DEFAULT_BANDS, markdown_table, runs_table, summary, summary_table, validity_in_sandbox  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
    parser.add_argument("--runs", action="store_true", help="also list every run with its failed checks")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--dir", type=Path, default=None,
                        help="variant runs from this folder instead of seed_data/validity (e.g. benchmarks/holdout)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    from sandbox.app import create_app

    rows = validity_in_sandbox(create_app, args.scenario, args.dir)
    elapsed = time.perf_counter() - started
    if args.json:
        print(json.dumps({"rows": [r.to_dict() for r in rows], "summary": summary(rows),
                          "bands": {k: b.label() for k, b in DEFAULT_BANDS.items()}}, ensure_ascii=False, indent=1))
    else:
        print(markdown_table(rows))
        print()
        print(summary_table(rows))
        if args.runs:
            print()
            print(runs_table(rows))
        print(f"\n{len(rows)} runs in {elapsed:.0f} s")
    return 1 if any(r.error for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
