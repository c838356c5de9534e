"""Scenario errors with their lines: each problem names its file, line and field.

``Collector`` gathers every problem of one file (checking goes on after the first) and
``ScenarioInvalid`` raises them together; ``line_index`` maps a value's path to its line.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from sandbox.errors import ValidationFailed


@dataclass
class ScenarioError:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}"


class ScenarioInvalid(ValidationFailed):
    """A scenario file failed validation; ``errors`` lists each problem with its line."""

    code = "scenario_invalid"

    def __init__(self, errors: list[ScenarioError], code: str | None = None) -> None:
        self.errors = errors
        super().__init__("场景文件有误：\n" + "\n".join(str(e) for e in errors), code=code,
                         details={"errors": [e.__dict__ for e in errors]})


def line_index(root: yaml.Node | None) -> dict[tuple, int]:
    """Map each value's path (tuple of keys/indexes) to its 1-based line in the YAML text."""
    index: dict[tuple, int] = {}

    def walk(node: yaml.Node, path: tuple) -> None:
        index[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value
                index[path + (key,)] = key_node.start_mark.line + 1
                walk(value_node, path + (key,))
                index[path + (key,)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, path + (i,))

    if root is not None:
        walk(root, ())
    return index


class Collector:
    """Collects the problems of one file, each with the line of the value it is about."""

    def __init__(self, file: str, lines: dict[tuple, int]) -> None:
        self.file = file
        self.lines = lines
        self.errors: list[ScenarioError] = []

    def add(self, path: tuple, message: str) -> None:
        line = None
        probe = path
        while probe and line is None:
            line = self.lines.get(probe)
            probe = probe[:-1]
        label = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[")
        self.errors.append(ScenarioError(self.file, line or self.lines.get(()), label or "(文件)", message))
