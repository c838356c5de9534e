"""Scenario files on disk: the YAML files of a folder, reading and validating one file, and the
folder of the seeded scenarios (``bankdrill scenarios validate PATH`` checks files)."""

from __future__ import annotations

from pathlib import Path

from sandbox.drill.scenario.errors import ScenarioError, ScenarioInvalid
from sandbox.drill.scenario.model import ScenarioSpec
from sandbox.drill.scenario.parse import parse_scenario


def scenario_files(path: Path) -> list[Path]:
    """The YAML files at ``path`` (a file or a folder)."""
    if path.is_dir():
        return sorted(list(path.glob("*.yaml")) + list(path.glob("*.yml")))
    return [path]


def load_file(path: Path, customer_ids: set[str] | None = None) -> ScenarioSpec:
    """Read and validate one file; unreadable files are reported like validation errors."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioInvalid([ScenarioError(str(path), None, "(文件)", f"无法读取：{exc}")]) from None
    return parse_scenario(text, str(path), customer_ids)


def seeded_scenarios_dir() -> Path:
    import seed_data

    return Path(seed_data.__file__).parent / "scenarios"
