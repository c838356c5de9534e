"""Every seeded 追问 item reads its own model answer as covering all its key points, and a
natural answer that says the opposite covers none of the points it contradicts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sandbox.dialogue.keypoints import cover
from sandbox.drill.scenario.files import load_file, scenario_files, seeded_scenarios_dir

OPPOSITES = yaml.safe_load((Path(__file__).parent / "data" / "followup_opposites.yaml").read_text(encoding="utf-8"))


def _items() -> dict[tuple[str, str], object]:
    items = {}
    for path in scenario_files(seeded_scenarios_dir()):
        spec = load_file(path)
        for followup in spec.followups:
            items[(path.stem, followup.id)] = followup
    return items


ITEMS = _items()


def test_the_seeded_bank_has_its_84_items():
    assert len(ITEMS) == 84


@pytest.mark.parametrize("key", sorted(ITEMS), ids=["/".join(k) for k in sorted(ITEMS)])
def test_the_model_answer_covers_every_key_point(key):
    followup = ITEMS[key]
    missed = [c.point.id for c in cover(followup.model_answer, followup.key_points) if not c.covered]
    assert missed == []


@pytest.mark.parametrize("case", OPPOSITES, ids=[f"{c['scenario']}/{c['followup']}" for c in OPPOSITES])
def test_an_opposite_answer_covers_none_of_the_points_it_contradicts(case):
    followup = ITEMS[(case["scenario"], case["followup"])]
    ids = {p.id for p in followup.key_points}
    assert set(case["contradicts"]) <= ids
    covered = {c.point.id: c.evidence for c in cover(case["answer"], followup.key_points) if c.covered}
    assert {pid: covered[pid] for pid in case["contradicts"] if pid in covered} == {}


def test_the_opposites_cover_at_least_fifteen_items():
    assert len({(c["scenario"], c["followup"]) for c in OPPOSITES}) >= 15
