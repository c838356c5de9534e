"""Shared words are defined once: role groups in sandbox/roles.py, Beijing time in sandbox/clock.py."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = [p for d in ("sandbox", "knowledge_base", "workorders", "seed_data", "benchmarks")
        for p in (ROOT / d).rglob("*.py") if "migrations" not in p.parts]


def _offenders(pattern: str, allowed: str) -> list[str]:
    rx = re.compile(pattern, re.M)
    return [str(p.relative_to(ROOT)) for p in CODE if p != ROOT / allowed and rx.search(p.read_text(encoding="utf-8"))]


def test_role_names_and_groups_are_defined_only_in_roles():
    assert _offenders(r'^\s*\w+\s*=\s*\(?\s*"(candidate|examiner|trainer|admin)"\s*,', "sandbox/roles.py") == []
    assert _offenders(r"^\s*\w*(STAFF|ROLES|TRAINERS)\w*\s*=\s*\((CANDIDATE|EXAMINER|TRAINER|ADMIN)\b",
                      "sandbox/roles.py") == []
    assert _offenders(r'roles_required\("', "sandbox/roles.py") == []


def test_beijing_time_is_defined_only_in_clock():
    assert _offenders(r"timezone\(timedelta\(hours=8\)", "sandbox/clock.py") == []
    assert _offenders(r"^def local_iso\b", "sandbox/clock.py") == []
