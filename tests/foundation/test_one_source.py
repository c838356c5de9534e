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


def test_form_errors_and_pagers_come_from_the_shared_macros():
    templates = ROOT / "sandbox" / "templates"
    pages = [p for p in templates.rglob("*.html") if p.name != "_macros.html"]
    own_errors = [str(p.relative_to(ROOT)) for p in pages if re.search(r"for \w+ in [\w.]+\.errors", p.read_text("utf-8"))]
    own_pagers = [str(p.relative_to(ROOT)) for p in pages if "上一页" in p.read_text("utf-8")]
    assert own_errors == [] and own_pagers == []


def test_the_shared_macros_render_errors_and_keep_filters_on_page_links(app):
    with app.test_request_context():
        from flask import render_template_string

        html = render_template_string(
            '{% from "_macros.html" import field_errors, pager %}{{ field_errors(f) }}'
            "{{ pager('kb.index', 2, 3, {'q': '挂失'}) }}{{ pager('kb.index', 1, 1) }}",
            f=type("F", (), {"errors": ["请填写用户名"]})())
    assert '<p class="field-error">请填写用户名</p>' in html
    assert "第 2 / 3 页" in html and html.count("<nav") == 1
    assert "page=1" in html and "page=3" in html and "q=%E6%8C%82%E5%A4%B1" in html


def test_one_postgresql_test_cluster_helper():
    def runs_initdb(path: Path) -> bool:
        return bool(re.search(r"\{[^}]*\}/initdb|\"initdb\"|'initdb'", path.read_text("utf-8")))

    places = [p for d in ("sandbox", "tests", "benchmarks") for p in (ROOT / d).rglob("*.py")
              if runs_initdb(p) and p != Path(__file__)]
    assert [str(p.relative_to(ROOT)) for p in places] == ["sandbox/devtools/pgcluster.py"]
