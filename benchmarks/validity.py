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
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.web.validity import DEFAULT_BANDS, KINDS, Row, default_band, validity_in_sandbox  # noqa: E402


def _kinds(rows: list[Row]) -> list[str]:
    seen = {r.kind for r in rows}
    extra = sorted(seen - set(KINDS))
    return [k for k in KINDS if k in seen] + extra


def _cell(rows: list[Row]) -> str:
    parts = []
    for r in rows:
        if r.error:
            parts.append("error")
            continue
        hf = " HF" if r.hard_fail else ""
        parts.append(f"{r.total:g}{hf} {'✔' if r.in_band else '✘'}")
    return " / ".join(parts) or "—"


def markdown_table(rows: list[Row]) -> str:
    """Scenario × kind; a cell lists each run of that kind (score, HF = hard fail, ✔/✘ band)."""
    kinds = _kinds(rows)
    head = "| scenario | " + " | ".join(kinds) + " |"
    rule = "|---|" + "---|" * len(kinds)
    bands = "| *band* | " + " | ".join(default_band(k).label() for k in kinds) + " |"
    lines = [head, rule, bands]
    for scenario in dict.fromkeys(r.scenario for r in rows):
        mine = [r for r in rows if r.scenario == scenario]
        lines.append(f"| {scenario} | " + " | ".join(_cell([r for r in mine if r.kind == k]) for k in kinds) + " |")
    return "\n".join(lines)


def summary(rows: list[Row]) -> list[dict]:
    """Per kind: runs, min / mean / max score, hard fails, runs in band, errors."""
    out = []
    for kind in _kinds(rows):
        mine = [r for r in rows if r.kind == kind]
        scores = [r.total for r in mine if r.total is not None]
        out.append({"kind": kind, "band": default_band(kind).label(), "runs": len(mine),
                    "min": min(scores) if scores else None, "mean": round(statistics.mean(scores), 1) if scores else None,
                    "max": max(scores) if scores else None, "hard_fails": sum(1 for r in mine if r.hard_fail),
                    "in_band": sum(1 for r in mine if r.in_band), "errors": sum(1 for r in mine if r.error)})
    return out


def summary_table(rows: list[Row]) -> str:
    lines = ["| kind | band | runs | min | mean | max | hard fails | in band |", "|---|---|---|---|---|---|---|---|"]
    for s in summary(rows):
        err = f" ({s['errors']} errors)" if s["errors"] else ""
        lines.append(f"| {s['kind']} | {s['band']} | {s['runs']} | {s['min']} | {s['mean']} | {s['max']} | "
                     f"{s['hard_fails']} | {s['in_band']}/{s['runs']}{err} |")
    total = len(rows)
    ok = sum(1 for r in rows if r.in_band)
    lines.append(f"| **all** | | {total} | | | | {sum(1 for r in rows if r.hard_fail)} | {ok}/{total} |")
    return "\n".join(lines)


def runs_table(rows: list[Row]) -> str:
    lines = ["| scenario | run | kind | total | hard fail | band | failed checks | end mood |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        score = "error: " + (r.error or "") if r.error else f"{r.total:g}"
        hf = ", ".join(r.hard_fails) if r.hard_fail else ""
        moods = ", ".join(f"{k}: {v}" for k, v in r.moods.items()) if len(r.moods) > 1 else "".join(r.moods.values())
        lines.append(f"| {r.scenario} | {r.run} | {r.kind} | {score} | {hf} | {r.band} {'✔' if r.in_band else '✘'} | "
                     f"{', '.join(r.failed_checks)} | {moods} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
    parser.add_argument("--runs", action="store_true", help="also list every run with its failed checks")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--dir", type=Path, default=None,
                        help="variant runs from this folder instead of seed_data/validity (e.g. benchmarks/holdout)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = validity_in_sandbox(args.scenario, args.dir)
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
