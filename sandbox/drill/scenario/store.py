"""Stored scenarios: each version's YAML text in the database, parsed once per process.

A changed upload becomes a new version and a drill pins the version it started with, so a
drill survives edits of its scenario. Functions take a session (and a clock to write) and
never commit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.orm import Session

from sandbox.clock import Clock
from sandbox.drill.models import Scenario, ScenarioVersion
from sandbox.drill.scenario.model import ScenarioSpec
from sandbox.drill.scenario.parse import parse_scenario
from sandbox.errors import NotFound

_SPEC_CACHE: dict[str, ScenarioSpec] = {}


def spec_from_text(text: str) -> ScenarioSpec:
    """Parse a scenario version's YAML once per process (versions never change)."""
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    spec = _SPEC_CACHE.get(key)
    if spec is None:
        spec = _SPEC_CACHE[key] = parse_scenario(text)
    return spec


_VERSIONS = ScenarioVersion.__table__
# Built once: every poll asks for its drill's scenario (a statement built per call costs more than the query).
_VERSION_TEXT = select(_VERSIONS.c.yaml_text).where(_VERSIONS.c.scenario_id == bindparam("scenario_id"),
                                                    _VERSIONS.c.version == bindparam("version"))
_VERSION_ROW = select(_VERSIONS.c.id, _VERSIONS.c.created_at).where(
    _VERSIONS.c.scenario_id == bindparam("scenario_id"), _VERSIONS.c.version == bindparam("version"))
# Parsed versions by (database URL, scenario, version, version row id, creation time); bounded,
# oldest dropped first (tests make many databases; a real instance has tens of versions).
_VERSION_SPECS: OrderedDict[tuple[Any, str, int, int, str], ScenarioSpec] = OrderedDict()
_VERSION_SPECS_MAX = 512
_version_specs_lock = threading.Lock()


def scenario_spec(session: Session, scenario_id: str, version: int | None = None) -> ScenarioSpec:
    """The parsed scenario (the current version unless ``version`` is given)."""
    if version is None:
        row = session.get(Scenario, scenario_id)
        if row is None:
            raise NotFound(f"场景 {scenario_id} 不存在。", code="unknown_scenario")
        version = row.version
    # A stored version never changes, so one request (one session) reads its text once,
    # however many hooks and views ask for it.
    key = ("scenario_spec", scenario_id, version)
    if key in session.info:
        return session.info[key]
    params = {"scenario_id": scenario_id, "version": version}
    found = session.execute(_VERSION_ROW, params).first()
    if found is None:
        raise NotFound(f"场景 {scenario_id} 的第 {version} 版不存在。", code="unknown_scenario")
    # The version's row (its id and creation time) names its text within a database, so the
    # text (~20 KB) is read and hashed only the first time a process meets that row.
    version_key = _version_key(session, scenario_id, version, found[0], found[1])
    spec = _VERSION_SPECS.get(version_key)
    if spec is None:
        spec = spec_from_text(session.execute(_VERSION_TEXT, params).scalar_one())
        # The stored version number is authoritative (an edited file may still say ``version: 1``).
        spec = spec if spec.version == version else dataclasses.replace(spec, version=version)
        with _version_specs_lock:
            _VERSION_SPECS[version_key] = spec
            while len(_VERSION_SPECS) > _VERSION_SPECS_MAX:
                _VERSION_SPECS.popitem(last=False)
    session.info[key] = spec
    return spec


_VERSION_ROWS = select(_VERSIONS.c.scenario_id, _VERSIONS.c.version, _VERSIONS.c.id, _VERSIONS.c.created_at).where(
    tuple_(_VERSIONS.c.scenario_id, _VERSIONS.c.version).in_(bindparam("versions", expanding=True)))


def scenario_specs(session: Session, versions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], ScenarioSpec]:
    """``scenario_spec`` of several pinned versions (a round's plan), their rows read by one
    query instead of one each; a version this session already has costs nothing. NotFound when
    one is missing, as ``scenario_spec``."""
    wanted = list(dict.fromkeys(versions))
    missing = {(sid, v) for sid, v in wanted if ("scenario_spec", sid, v) not in session.info}
    if len(missing) > 1:  # one is read by scenario_spec's own query, as cheap as this one
        for sid, version, row_id, created_at in session.execute(_VERSION_ROWS, {"versions": sorted(missing)}):
            version_row_read(session, sid, version, row_id, created_at)
    return {(sid, v): scenario_spec(session, sid, v) for sid, v in wanted}


def _version_key(session: Session, scenario_id: str, version: int, row_id: int,
                 created_at: Any) -> tuple[Any, str, int, int, str]:
    return (session.get_bind().engine.url, scenario_id, version, row_id, str(created_at))


def version_row_read(session: Session, scenario_id: str, version: int, row_id: int, created_at: Any) -> None:
    """The row of a scenario version (its id and creation time), read by the caller along with
    something else (a drill message reads it with its drill): when this process has parsed that
    version, ``scenario_spec`` in this session answers without a query of its own."""
    spec = _VERSION_SPECS.get(_version_key(session, scenario_id, version, row_id, created_at))
    if spec is not None:
        session.info.setdefault(("scenario_spec", scenario_id, version), spec)


def validate_scenario(yaml_text: str, file: str = "<upload>") -> ScenarioSpec:
    """Parse and validate an uploaded scenario (no database): call it before opening the transaction."""
    from sandbox.drill.facts import customer_ids

    return parse_scenario(yaml_text, file, customer_ids())


def save_scenario(session: Session, clock: Clock, yaml_text: str, user_id: int | None = None,
                  file: str = "<upload>", spec: ScenarioSpec | None = None) -> Scenario:
    """Store a scenario; a changed text becomes a new version.

    ``spec`` is ``validate_scenario(yaml_text)`` done by the caller before its transaction
    began (an upload is parsed without holding the write lock); without it the text is
    validated here.
    """
    spec = spec if spec is not None else validate_scenario(yaml_text, file)
    row = session.get(Scenario, spec.id)
    now = clock.now()
    if row is not None:
        current = session.scalar(select(ScenarioVersion.yaml_text).where(
            ScenarioVersion.scenario_id == spec.id, ScenarioVersion.version == row.version))
        if current == yaml_text:
            return row
        version = max(row.version + 1, spec.version)
    else:
        version = spec.version
        row = Scenario(id=spec.id, enabled=True)
        session.add(row)
    row.version = version
    row.title = spec.title
    row.difficulty = spec.difficulty
    row.channel = spec.channel
    row.time_limit = spec.time_limit
    row.updated_at = now
    session.flush()
    session.add(ScenarioVersion(scenario_id=spec.id, version=version, yaml_text=yaml_text, created_at=now,
                                created_by=user_id))
    session.flush()
    return row


def scenario_titles(session: Session) -> dict[str, str]:
    """Scenario id → its current title (disabled ones too): what pages and exports show for an id."""
    return {row.id: row.title for row in session.execute(select(Scenario.id, Scenario.title))}


def scenario_title(session: Session, scenario_id: str) -> str:
    """The current title of one scenario; the id itself if there is no such scenario."""
    return session.scalar(select(Scenario.title).where(Scenario.id == scenario_id)) or scenario_id


# The scenario list, kept per database and catalogue fingerprint (each scenario's id, current
# version and enabled flag, and that version's row id and creation time, which a restore from
# another instance would not share; no text is read): a list request reads the
# small fingerprint and parses nothing unless a scenario was added, edited, enabled or
# disabled (or a restore brought different texts). Bounded: tests make many databases.
_CATALOGUES: OrderedDict[tuple[str, tuple[tuple[str, int, bool, int, str], ...]], list[tuple[str, ScenarioSpec]]] = \
    OrderedDict()
_CATALOGUES_MAX = 16
_catalogues_lock = threading.Lock()


def list_scenarios(session: Session, include_disabled: bool = False) -> list[ScenarioSpec]:
    """The current version of every (enabled) scenario, in id order."""
    current = ((ScenarioVersion.scenario_id == Scenario.id) & (ScenarioVersion.version == Scenario.version))
    fingerprint = tuple((r[0], r[1], bool(r[2]), r[3], str(r[4])) for r in session.execute(
        select(Scenario.id, Scenario.version, Scenario.enabled, ScenarioVersion.id, ScenarioVersion.created_at)
        .join(ScenarioVersion, current).order_by(Scenario.id)))
    key = (str(session.get_bind().engine.url), fingerprint)
    # One thread builds a missing catalogue while the others wait for it: parsing 28 scenarios
    # in every worker thread at once (a server's first requests) cost seconds under the GIL.
    with _catalogues_lock:
        specs = _CATALOGUES.get(key)
        if specs is not None:
            _CATALOGUES.move_to_end(key)
        else:
            specs = []
            for scenario_id, version, text in session.execute(
                    select(Scenario.id, Scenario.version, ScenarioVersion.yaml_text).join(ScenarioVersion, current)
                    .order_by(Scenario.id)):
                spec = spec_from_text(text)
                specs.append((scenario_id,
                              spec if spec.version == version else dataclasses.replace(spec, version=version)))
            _CATALOGUES[key] = specs
            while len(_CATALOGUES) > _CATALOGUES_MAX:
                _CATALOGUES.popitem(last=False)
    enabled = {row[0] for row in fingerprint if row[2]}
    return [spec for scenario_id, spec in specs if include_disabled or scenario_id in enabled]
