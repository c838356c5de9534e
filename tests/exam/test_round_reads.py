"""What a candidate's round costs to show: the plan's scenario versions are read by one query,
however many questions the round has, and the roster row once. (The first time a process meets
a version it also reads and parses its text: a first look at the round does so here.)"""

from __future__ import annotations

import pytest

from tests.statements import statements_sent

SCENARIOS = ["cc-bill-enquiry", "lost-debit-card", "dormant-account"]


def _reads(app, call, table: str) -> tuple[object, int]:
    with statements_sent(app.extensions["bankdrill"].engine) as seen:
        resp = call()
    return resp, sum(f"FROM {table}" in s for s in seen)


@pytest.fixture
def round_id(api) -> int:
    examiner = api("examiner")
    rnd = examiner.post("/api/v1/rounds", json={"name": "三道题", "scenarios": SCENARIOS}).get_json()
    examiner.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"usernames": ["candidate1"]})
    assert examiner.post(f"/api/v1/rounds/{rnd['id']}/start").status_code == 200
    assert api("candidate1").get(f"/api/v1/rounds/{rnd['id']}/me").status_code == 200  # every version parsed
    return rnd["id"]


@pytest.mark.db
def test_the_round_page_reads_the_plans_versions_once(api, app, round_id):
    cand = api("candidate1")
    resp, versions = _reads(app, lambda: cand.get(f"/api/v1/rounds/{round_id}/me"), "scenario_versions")
    body = resp.get_json()
    assert resp.status_code == 200 and versions == 1
    # The time the round gives is every question's own limit, all three not started.
    limits = sum(s["time_limit"] for s in api("examiner").get("/api/v1/scenarios").get_json()
                 if s["id"] in SCENARIOS)
    assert body["progress"]["remaining_seconds"] == limits
    _, roster = _reads(app, lambda: cand.get(f"/api/v1/rounds/{round_id}/me"), "round_candidates")
    assert roster == 1


@pytest.mark.db
def test_starting_and_polling_a_question_read_the_plans_versions_once(api, app, round_id):
    cand = api("candidate1")
    resp, versions = _reads(app, lambda: cand.post(f"/api/v1/rounds/{round_id}/next"), "scenario_versions")
    drill = resp.get_json()
    assert resp.status_code == 201 and versions == 1
    assert drill["progress"]["index"] == 1 and drill["progress"]["count"] == 3
    resp, versions = _reads(app, lambda: cand.get(f"/api/v1/drills/{drill['id']}"), "scenario_versions")
    assert resp.status_code == 200 and versions <= 2  # the question's own, then the two to come together
    assert resp.get_json()["progress"]["remaining_seconds"] == drill["progress"]["remaining_seconds"]
