"""Stored scenario versions, parsed once per process: a request asks for its drill's version by
the version row's identity and reads the (~20 KB) text only the first time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, event, insert, select

from sandbox.drill.models import ScenarioVersion
from sandbox.drill.scenario.store import scenario_spec

SCENARIO = "cc-bill-enquiry"


def _statements(session) -> list[str]:
    seen: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute",
                 lambda *a: None if a[2].startswith("BEGIN") else seen.append(a[2]))
    return seen


@pytest.mark.db
def test_a_version_already_parsed_is_not_read_again(runtime):
    with runtime.session_factory() as s, s.begin():
        first = scenario_spec(s, SCENARIO)
    with runtime.session_factory() as s, s.begin():
        seen = _statements(s)
        again = scenario_spec(s, SCENARIO, first.version)
        assert again is first
        assert len(seen) == 1 and "yaml_text" not in seen[0]
        scenario_spec(s, SCENARIO, first.version)  # the same session: no statement at all
        assert len(seen) == 1


@pytest.mark.db
def test_a_version_row_replaced_with_another_text_is_parsed_anew(runtime):
    """A restore from another instance may bring the same scenario and version number with a
    different text: its row is another one, so the cached parse of the old row is not used."""
    with runtime.session_factory() as s, s.begin():
        old = scenario_spec(s, SCENARIO)
        row = s.scalar(select(ScenarioVersion).where(ScenarioVersion.scenario_id == SCENARIO,
                                                     ScenarioVersion.version == old.version))
        text = row.yaml_text.replace(f"title: {old.title}", "title: 信用卡账单查询（恢复的版本）", 1)
        assert text != row.yaml_text
        s.execute(delete(ScenarioVersion).where(ScenarioVersion.id == row.id))
        s.execute(insert(ScenarioVersion).values(scenario_id=SCENARIO, version=old.version, yaml_text=text,
                                                 created_at=datetime(2026, 11, 30, 8, 0, tzinfo=UTC)))
    with runtime.session_factory() as s, s.begin():
        assert scenario_spec(s, SCENARIO, old.version).title == "信用卡账单查询（恢复的版本）"
