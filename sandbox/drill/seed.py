"""Loading the shipped scenario files into the database."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sandbox.drill.scenario.files import scenario_files, seeded_scenarios_dir
from sandbox.drill.scenario.store import save_scenario


def load_seed_scenarios(session: Session, runtime) -> str:
    """Store every scenario in seed_data/scenarios (all must validate, or nothing is seeded)."""
    count = 0
    for path in scenario_files(seeded_scenarios_dir()):
        save_scenario(session, runtime.clock, path.read_text(encoding="utf-8"), file=str(path))
        count += 1
    return f"演练场景 {count} 个"
