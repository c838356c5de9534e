"""The trainer's scenario library: upload with line-numbered errors, versions, duplicate, disable, rehearse."""

from __future__ import annotations

import io
import re

from sandbox.drill.scenario.files import seeded_scenarios_dir

TEXT = (seeded_scenarios_dir() / "cc-bill-enquiry.yaml").read_text(encoding="utf-8")
SEEDED_VERSION = int(re.search(r"^version: (\d+)", TEXT, re.M).group(1))


def test_upload_with_a_schema_error_shows_the_line_and_saves_nothing(login_as, api):
    trainer = login_as("trainer")
    broken = TEXT.replace("difficulty: 初级", "difficulty: 地狱级")
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if text.startswith("difficulty:"))
    resp = trainer.post("/trainer/scenarios/cc-bill-enquiry/edit", data={"yaml_text": broken})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and f"第 {line} 行" in page and "difficulty" in page
    assert broken in page  # the trainer's text is kept in the editor
    scenarios = api("candidate").get("/api/v1/scenarios").get_json()
    assert next(s for s in scenarios if s["id"] == "cc-bill-enquiry")["version"] == SEEDED_VERSION


def test_file_upload_creates_a_new_version(login_as, api):
    trainer = login_as("trainer")
    edited = TEXT.replace("time_limit: 480", "time_limit: 600")
    resp = trainer.post("/trainer/scenarios/edit", data={"yaml_file": (io.BytesIO(edited.encode()), "cc.yaml")},
                        content_type="multipart/form-data")
    assert resp.status_code == 302
    page = trainer.get("/trainer/scenarios/cc-bill-enquiry").get_data(as_text=True)
    assert f"第 {SEEDED_VERSION + 1} 版" in page and f"第 {SEEDED_VERSION} 版" in page
    scenarios = api("candidate").get("/api/v1/scenarios").get_json()
    row = next(s for s in scenarios if s["id"] == "cc-bill-enquiry")
    assert row["version"] == SEEDED_VERSION + 1 and row["time_limit"] == 600


def test_duplicate_as_template_and_disable(login_as, api):
    trainer = login_as("trainer")
    resp = trainer.post("/trainer/scenarios/cc-bill-enquiry/duplicate")
    assert resp.status_code == 302 and "cc-bill-enquiry-copy2" in resp.headers["Location"]
    ids = [s["id"] for s in api("candidate").get("/api/v1/scenarios").get_json()]
    assert "cc-bill-enquiry-copy2" not in ids  # a copy starts disabled
    trainer.post("/trainer/scenarios/cc-bill-enquiry/toggle")
    cand = api("candidate")
    assert "cc-bill-enquiry" not in [s["id"] for s in cand.get("/api/v1/scenarios").get_json()]
    resp = cand.post("/api/v1/drills", json={"scenario": "cc-bill-enquiry"})
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "unknown_scenario"


def test_rehearse_shows_the_reference_score(login_as):
    trainer = login_as("trainer")
    resp = trainer.post("/trainer/scenarios/cc-bill-enquiry/rehearse")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="rehearsal-total">100.0<' in page


def test_the_served_scenario_list_follows_every_change_and_is_written_like_jsonify(login_as, api, app):
    """The list's JSON is kept per catalogue: an edit, a disable and an enable each show at once,
    and the bytes are what ``jsonify`` writes (redacted, same separators)."""
    from flask import jsonify

    from sandbox.drill.scenario.store import list_scenarios

    cand = api("candidate")
    first = cand.get("/api/v1/scenarios")
    assert cand.get("/api/v1/scenarios").data == first.data  # served again from the kept body
    with app.test_request_context():
        from sandbox.web.tx import db

        expected = jsonify([spec.summary_dict() for spec in list_scenarios(db())]).get_data()
    assert first.data == expected and first.mimetype == "application/json"

    trainer = login_as("trainer")
    edited = TEXT.replace("time_limit: 480", "time_limit: 660")
    assert trainer.post("/trainer/scenarios/edit", data={"yaml_file": (io.BytesIO(edited.encode()), "cc.yaml")},
                        content_type="multipart/form-data").status_code == 302
    row = next(s for s in cand.get("/api/v1/scenarios").get_json() if s["id"] == "cc-bill-enquiry")
    assert row["time_limit"] == 660 and row["version"] == SEEDED_VERSION + 1
    trainer.post("/trainer/scenarios/cc-bill-enquiry/toggle")
    assert "cc-bill-enquiry" not in [s["id"] for s in cand.get("/api/v1/scenarios").get_json()]
    trainer.post("/trainer/scenarios/cc-bill-enquiry/toggle")
    assert cand.get("/api/v1/scenarios").get_json() == [
        {**s, "time_limit": 660, "version": SEEDED_VERSION + 1} if s["id"] == "cc-bill-enquiry" else s
        for s in first.get_json()]
