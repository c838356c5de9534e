"""Stored scenario versions, parsed once per process: a request asks for its drill's version by
the version row's identity and reads the (~20 KB) text only the first time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, event, insert, select

from sandbox.drill.models import ScenarioVersion
from sandbox.drill.scenario.store import scenario_spec, scenario_specs
from sandbox.errors import NotFound

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


def _post_watching(app, cand, conv: int, text: str) -> list[str]:
    seen: list[str] = []
    listener = lambda conn, cursor, stmt, *a: seen.append(" ".join(stmt.split()))  # noqa: E731
    engine = app.extensions["bankdrill"].engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert cand.post(f"/api/v1/conversations/{conv}/messages", json={"text": text}).status_code == 201
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return seen


@pytest.mark.db
def test_a_drill_message_reads_its_version_row_with_its_drill(api, app):
    cand = api("candidate")
    conv = cand.post("/api/v1/drills", json={"scenario": SCENARIO}).get_json()["conversations"][0]["id"]
    seen = _post_watching(app, cand, conv, "您好，请稍等。")
    assert not [s for s in seen if s.startswith("SELECT") and "FROM scenario_versions" in s]
    assert [s for s in seen if "JOIN scenario_versions" in s]


@pytest.mark.db
def test_a_drill_message_after_its_version_row_was_replaced_parses_the_new_text(api, app, runtime):
    """As for a restore above: the row read with the drill names another text, so the post
    does not use the old parse (it reads the text and parses it)."""
    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": SCENARIO}).get_json()
    conv = drill["conversations"][0]["id"]
    with runtime.session_factory() as s, s.begin():
        version = s.scalar(select(ScenarioVersion.version).where(ScenarioVersion.scenario_id == SCENARIO)
                           .order_by(ScenarioVersion.version.desc()))
        row = s.scalar(select(ScenarioVersion).where(ScenarioVersion.scenario_id == SCENARIO,
                                                     ScenarioVersion.version == version))
        text = row.yaml_text
        s.execute(delete(ScenarioVersion).where(ScenarioVersion.id == row.id))
        s.execute(insert(ScenarioVersion).values(scenario_id=SCENARIO, version=version, yaml_text=text + "\n# 恢复\n",
                                                 created_at=datetime(2026, 11, 30, 8, 0, tzinfo=UTC)))
    seen = _post_watching(app, cand, conv, "您好，请稍等。")
    assert [s for s in seen if s.startswith("SELECT") and "yaml_text" in s]  # the new row's text, parsed


@pytest.mark.db
def test_several_versions_are_read_by_one_query_and_a_replaced_one_is_parsed_anew(runtime):
    ids = [SCENARIO, "lost-debit-card", "dormant-account"]
    with runtime.session_factory() as s, s.begin():
        firsts = {sid: scenario_spec(s, sid) for sid in ids}
    wanted = [(sid, spec.version) for sid, spec in firsts.items()]
    with runtime.session_factory() as s, s.begin():
        seen = _statements(s)
        specs = scenario_specs(s, wanted + wanted[:1])  # a repeat costs nothing
        assert list(specs) == wanted and all(specs[sid, v] is firsts[sid] for sid, v in wanted)
        assert len(seen) == 1 and "yaml_text" not in seen[0]
        assert scenario_spec(s, "lost-debit-card", firsts["lost-debit-card"].version) is firsts["lost-debit-card"]
        assert len(seen) == 1  # the session has them now
        with pytest.raises(NotFound):
            scenario_specs(s, [(SCENARIO, 999), ("no-such-scenario", 1)])
    with runtime.session_factory() as s, s.begin():
        row = s.scalar(select(ScenarioVersion).where(ScenarioVersion.scenario_id == SCENARIO,
                                                     ScenarioVersion.version == firsts[SCENARIO].version))
        text = row.yaml_text.replace(f"title: {firsts[SCENARIO].title}", "title: 信用卡账单查询（恢复的版本）", 1)
        s.execute(delete(ScenarioVersion).where(ScenarioVersion.id == row.id))
        s.execute(insert(ScenarioVersion).values(scenario_id=SCENARIO, version=row.version, yaml_text=text,
                                                 created_at=datetime(2026, 11, 30, 8, 0, tzinfo=UTC)))
    with runtime.session_factory() as s, s.begin():
        specs = scenario_specs(s, wanted)
        assert specs[wanted[0]].title == "信用卡账单查询（恢复的版本）"
        assert specs[wanted[1]] is firsts["lost-debit-card"]
