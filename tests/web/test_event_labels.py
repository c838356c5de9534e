"""Drill event labels have one source (sandbox/web/charts.py); the replay page hands them to its script."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from sandbox.drill.scenario.vocabulary import EVENT_TYPES
from sandbox.web.charts import EVENT_LABELS, LANES

ROUNDS_JS = Path(__file__).resolve().parents[2] / "sandbox" / "static" / "js" / "rounds.js"


def test_every_event_type_has_a_label_and_a_lane():
    written_by_the_engine = set(EVENT_TYPES) | {"contact.closed"}
    assert written_by_the_engine <= set(EVENT_LABELS)
    assert all(EVENT_LABELS[t].strip() for t in EVENT_LABELS)
    laned = {t for _, types in LANES for t in types}
    assert set(EVENT_TYPES) - {"drill.started", "drill.finished", "drill.expired"} <= laned


def test_the_replay_script_defines_no_labels_of_its_own():
    source = ROUNDS_JS.read_text(encoding="utf-8")
    assert "replay.dataset.labels" in source
    for label in ("坐席回复", "查客户资料", "临时挂失", "创建工单", "系统故障"):
        assert label not in source
    assert not re.search(r'"message\.agent"\s*:', source)


def test_the_replay_page_carries_every_event_label(api, login_as):
    cand = api("candidate")
    drill = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry", "mode": "practice"}).get_json()
    assert cand.post(f"/api/v1/drills/{drill['id']}/finish").status_code == 200
    page = login_as("examiner").get(f"/drills/{drill['id']}/replay")
    assert page.status_code == 200
    raw = re.search(r"data-labels='([^']*)'", page.get_data(as_text=True))
    assert raw, "the replay card has no data-labels attribute"
    labels = json.loads(html.unescape(raw.group(1)))
    assert labels == EVENT_LABELS
    for event_type in set(EVENT_TYPES) | {"contact.closed"}:
        assert labels[event_type] == EVENT_LABELS[event_type]
