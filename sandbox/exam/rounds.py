"""The examiner's round: creation, roster and join code, the shared clock (start, pause,
extend, end), fault injection, marking, release and results. No Flask; never commits.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from sandbox.bank.masking import redact_data
from sandbox.clock import Clock
from sandbox.db import PrimaryKeyLoader, update_columns
from sandbox.drill import drill_clock, event_log, followups, grading, lifecycle
from sandbox.drill.models import Drill, DrillEvent, Scenario
from sandbox.drill.scenario.store import scenario_spec, scenario_specs, scenario_title, scenario_titles
from sandbox.drill.scenario.vocabulary import DIMENSIONS, FAULT_COMPONENTS
from sandbox.errors import Conflict, Forbidden, NotFound, ValidationFailed
from sandbox.exam.faults import round_faults_changed, round_faults_version_read
from sandbox.exam.models import InjectedFault, Round, RoundCandidate, ScoreAdjustment
from sandbox.roles import CANDIDATE
from sandbox.safe_load import iter_csv
from sandbox.spreadsheet import write_csv, write_xlsx
from sandbox.users.models import User
from sandbox.users.services import create_user

DRAFT, RUNNING, PAUSED, ENDED = "draft", "running", "paused", "ended"
STATUS_LABELS = {DRAFT: "未开始", RUNNING: "进行中", PAUSED: "已暂停", ENDED: "已结束"}
JOIN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MAX_NAME = 100
MAX_ROSTER_FIELD = 200  # a username or display name; longer fields answer field_too_long
MAX_ROSTER_ROWS = 5000


# --------------------------------------------------------------------------- creation and roster


def _join_code(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(JOIN_ALPHABET) for _ in range(6))
        if session.scalar(select(Round.id).where(Round.join_code == code)) is None:
            return code


def create_round(session: Session, clock: Clock, examiner: User, name: str, scenario_ids: list[str],
                 shuffle: bool = False, time_per_scenario: int | None = None,
                 opens_at: datetime | None = None, closes_at: datetime | None = None,
                 followups: bool | list[str] = False) -> Round:
    """A new round in draft, pinning the scenarios' current versions and the KB version.

    ``followups``: the scenarios after which the candidate answers the follow-up questions (追问)
    and the examiner marks them (``True``: every scenario)."""
    from knowledge_base.articles import get_version

    name = (name or "").strip()
    if not name:
        raise ValidationFailed("请填写考试名称。", code="missing_name")
    if len(name) > MAX_NAME:
        raise ValidationFailed(f"考试名称不能超过 {MAX_NAME} 字。", code="name_too_long")
    if not isinstance(scenario_ids, list) or not scenario_ids:
        raise ValidationFailed("至少选择一个场景。", code="no_scenarios")
    pinned = []
    for sid in scenario_ids:
        row = session.get(Scenario, sid) if isinstance(sid, str) else None
        if row is None or not row.enabled:
            raise ValidationFailed(f"场景 {sid!r} 不存在或已停用。", code="unknown_scenario")
        if any(p["id"] == sid for p in pinned):
            raise ValidationFailed(f"场景 {sid} 重复。", code="duplicate_scenario")
        pinned.append({"id": sid, "version": row.version})
    if followups is not True and not isinstance(followups, (list, bool)):
        raise ValidationFailed("followups 必须是 true/false 或场景 id 列表。", code="invalid_followups")
    if isinstance(followups, list):
        unknown = [f for f in followups if not any(p["id"] == f for p in pinned)]
        if unknown:
            raise ValidationFailed(f"追问设置里的场景不在本场考试中：{'、'.join(map(str, unknown))}。",
                                   code="unknown_scenario")
    for item in pinned:
        item["followups"] = followups is True or (isinstance(followups, list) and item["id"] in followups)
    if time_per_scenario is not None and not (60 <= int(time_per_scenario) <= 3600):
        raise ValidationFailed("每题时长须在 60 到 3600 秒之间。", code="invalid_time")
    if opens_at and closes_at and closes_at <= opens_at:
        raise ValidationFailed("结束时间必须晚于开始时间。", code="invalid_window")
    rnd = Round(name=name, created_by=examiner.id, created_at=clock.now(), scenarios=pinned, shuffle=bool(shuffle),
                time_per_scenario=int(time_per_scenario) if time_per_scenario else None, opens_at=opens_at,
                closes_at=closes_at, kb_version=get_version(session), join_code=_join_code(session), status=DRAFT)
    session.add(rnd)
    session.flush()
    return rnd


_ROUND_LOADERS: dict[str | None, PrimaryKeyLoader[Round]] = {
    None: PrimaryKeyLoader(Round), "update": PrimaryKeyLoader(Round, for_update=True),
    "share": PrimaryKeyLoader(Round, for_update={"read": True})}


def get_round(session: Session, round_id: int, for_update: bool = False, for_share: bool = False) -> Round:
    """The round, optionally locked: ``for_update`` for changes to the round itself,
    ``for_share`` for work that reads the round's state and must not overlap a change to it
    (a candidate starting a question: many may do so at once, the examiner's pause waits)."""
    loader = _ROUND_LOADERS["update" if for_update else "share" if for_share else None]
    rnd = loader(session, round_id) if isinstance(round_id, int) else None
    if rnd is None:
        raise NotFound("考试场次不存在。", code="unknown_round")
    return rnd


@dataclass
class RosterResult:
    added: list[str] = field(default_factory=list)
    created: list[tuple[str, str]] = field(default_factory=list)  # (username, initial password)
    already: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # skipped: no such user (``skip_unknown``)
    not_candidates: list[str] = field(default_factory=list)  # skipped: not a candidate account


def _roster_entry(session: Session, rnd: Round, user: User, now: datetime, result: RosterResult) -> None:
    if user.role != CANDIDATE:
        raise ValidationFailed(f"{user.username} 不是考生账号。", code="not_a_candidate")
    exists = session.scalar(select(RoundCandidate.id).where(RoundCandidate.round_id == rnd.id,
                                                            RoundCandidate.user_id == user.id))
    if exists:
        result.already.append(user.username)
        return
    session.add(RoundCandidate(round_id=rnd.id, user_id=user.id, added_at=now, extra_seconds=0))
    result.added.append(user.username)


def add_candidates(session: Session, clock: Clock, rnd: Round, usernames: list[str], *,
                   skip_unknown: bool = False) -> RosterResult:
    """Put existing candidate accounts on the roster.

    An unknown name or a non-candidate account refuses the whole list, unless ``skip_unknown``:
    then the known candidates are added and the others listed in ``unknown`` / ``not_candidates``.
    """
    if rnd.status == ENDED:
        raise Conflict("考试已结束，不能再添加考生。", code="round_ended")
    result = RosterResult()
    for name in usernames:
        name = (name or "").strip()
        user = session.scalar(select(User).where(User.username == name))
        if user is None:
            if not skip_unknown:
                raise NotFound(f"用户 {name} 不存在。", code="unknown_user")
            result.unknown.append(name)
            continue
        if skip_unknown and user.role != CANDIDATE:
            result.not_candidates.append(name)
            continue
        _roster_entry(session, rnd, user, clock.now(), result)
    session.flush()
    return result


def parse_roster_csv(text: str) -> list[tuple[int, str, str]]:
    """(line, username, display name) for each roster line; no database, so callers parse
    before their transaction begins. A header line (``username`` / ``用户名``) is skipped.

    Raises 400s: ``field_too_long``, ``invalid_csv``, ``invalid_text``, ``too_many_rows``
    (from :func:`sandbox.safe_load.iter_csv`) and ``empty_roster``.
    """
    rows = []
    for lineno, row in iter_csv(text or "", max_field=MAX_ROSTER_FIELD, max_rows=MAX_ROSTER_ROWS):
        if not row or not row[0].strip() or row[0].strip().lower() in ("username", "用户名"):
            continue
        rows.append((lineno, row[0].strip(), row[1].strip() if len(row) > 1 else ""))
    if not rows:
        raise ValidationFailed("名单为空。", code="empty_roster")
    return rows


def import_roster_csv(session: Session, clock: Clock, rnd: Round,
                      roster: str | list[tuple[int, str, str]]) -> RosterResult:
    """Import ``username[,display name]`` lines; missing candidates are created with a random password.

    ``roster`` is the CSV text or, better, :func:`parse_roster_csv` of it done before the
    transaction. Every line is checked first; on any error nothing is added and the error
    names the line.
    """
    if rnd.status == ENDED:
        raise Conflict("考试已结束，不能再添加考生。", code="round_ended")
    lines = parse_roster_csv(roster) if isinstance(roster, str) else roster
    rows = []
    errors = []
    for lineno, username, display in lines:
        user = session.scalar(select(User).where(User.username == username))
        if user is not None and user.role != CANDIDATE:
            errors.append(f"第 {lineno} 行：{username} 不是考生账号")
        rows.append((lineno, username, display, user))
    if errors:
        raise ValidationFailed("名单有误，未导入任何考生：" + "；".join(errors), code="invalid_roster")
    result = RosterResult()
    now = clock.now()
    for lineno, username, display, user in rows:
        if user is None:
            password = f"{secrets.token_urlsafe(6)}{secrets.randbelow(90) + 10}"
            try:
                user = create_user(session, clock, username, CANDIDATE, password, display)
            except ValidationFailed as exc:
                raise ValidationFailed(f"第 {lineno} 行：{exc.message}（未导入任何考生）", code="invalid_roster") from exc
            result.created.append((username, password))
        _roster_entry(session, rnd, user, now, result)
    session.flush()
    return result


def join(session: Session, clock: Clock, user: User, code: str) -> Round:
    """A candidate joins with the round's code (must be on the roster when there is one)."""
    code = (code or "").strip().upper()
    rnd = session.scalar(select(Round).where(Round.join_code == code)) if code else None
    if rnd is None:
        raise NotFound("加入码不正确，请核对后重新输入。", code="invalid_join_code")
    now = clock.now()
    if rnd.status == ENDED or (rnd.closes_at and now > rnd.closes_at):
        raise Conflict("该考试已结束，加入码已失效。", code="join_code_expired")
    entry = _roster_row(session, rnd.id, user.id)
    if entry is None:
        has_roster = session.scalar(select(RoundCandidate.id).where(RoundCandidate.round_id == rnd.id).limit(1))
        if has_roster:
            raise Forbidden("您不在本场考试的名单中，请联系考官。", code="not_on_roster")
        entry = RoundCandidate(round_id=rnd.id, user_id=user.id, added_at=now, extra_seconds=0)
        session.add(entry)
    entry.joined_at = entry.joined_at or now
    session.flush()
    return rnd


# Built once (unlocked, locked): every 开始作答 and every look at the round reads the candidate's row.
_ROSTER_ROW_READ = select(RoundCandidate).where(RoundCandidate.round_id == bindparam("round_id"),
                                                RoundCandidate.user_id == bindparam("user_id"))
_ROSTER_ROW = {False: _ROSTER_ROW_READ, True: _ROSTER_ROW_READ.with_for_update()}


def _roster_row(session: Session, round_id: int, user_id: int, for_update: bool = False) -> RoundCandidate | None:
    return session.scalar(_ROSTER_ROW[for_update], {"round_id": round_id, "user_id": user_id})


def candidate_entry(session: Session, rnd: Round, user_id: int, for_update: bool = False) -> RoundCandidate:
    """The candidate's row on the round's roster (locked with ``for_update``); Forbidden when absent."""
    entry = _roster_row(session, rnd.id, user_id, for_update)
    if entry is None:
        raise Forbidden("您不在本场考试中。", code="not_on_roster")
    return entry


# --------------------------------------------------------------------------- the round's clock


def round_drills(session: Session, rnd: Round, user_id: int | None = None, open_only: bool = False) -> list[Drill]:
    """The round's drills that have started, by id (``user_id``: one candidate's; ``open_only``:
    not finished). A prepared first question has not started: every reader goes through here."""
    stmt = select(Drill).where(Drill.round_id == rnd.id, Drill.status != drill_clock.PREPARED)
    if user_id is not None:
        stmt = stmt.where(Drill.user_id == user_id)
    if open_only:
        stmt = stmt.where(Drill.status != drill_clock.FINISHED)
    return list(session.scalars(stmt.order_by(Drill.id)))


def start_round(session: Session, clock: Clock, rnd: Round) -> Round:
    if rnd.status != DRAFT:
        raise Conflict(f"考试当前状态为“{STATUS_LABELS[rnd.status]}”，不能开始。", code="illegal_round_state")
    if not rnd.scenarios:
        raise ValidationFailed("至少选择一个场景。", code="no_scenarios")
    rnd.status = RUNNING
    rnd.started_at = clock.now()
    prepare_first_drills(session, clock, rnd)
    return rnd


def prepare_first_drills(session: Session, clock: Clock, rnd: Round) -> None:
    """Prepare every rostered candidate's first question (see ``lifecycle.prepare_drill``).

    When a whole room presses 开始作答 in the same second, each press then only starts a
    clock instead of drawing customers and opening conversations: the work moves to the
    examiner's 开始考试, done once per candidate (about 8 ms each). Called as the round leaves
    its draft, when no candidate can have a drill yet; candidates added later start theirs
    the ordinary way.
    """
    entries = session.scalars(select(RoundCandidate).where(RoundCandidate.round_id == rnd.id)
                              .order_by(RoundCandidate.id))
    for entry in entries:
        first = candidate_plan(rnd, entry.user_id)[0]  # start_round refuses a round without scenarios
        lifecycle.prepare_drill(session, clock, entry.user_id, first["id"], "exam", round_id=rnd.id,
                                scenario_version=first["version"])


def pause_round(session: Session, clock: Clock, rnd: Round) -> Round:
    """Stop the clock for everyone: every open drill of the round pauses."""
    if rnd.status != RUNNING:
        raise Conflict("只有进行中的考试可以暂停。", code="illegal_round_state")
    now = clock.now()
    rnd.status = PAUSED
    rnd.paused_at = now
    for drill in round_drills(session, rnd, open_only=True):
        lifecycle.tick(session, clock, drill)
        if drill.status == drill_clock.RUNNING:
            drill.status = drill_clock.PAUSED
            drill.paused_at = now
            event_log.record_event(session, drill, now, "drill.paused", None)
    return rnd


def resume_round(session: Session, clock: Clock, rnd: Round) -> Round:
    """Start the clock again; every paused drill gets the paused time back."""
    if rnd.status != PAUSED:
        raise Conflict("只有已暂停的考试可以继续。", code="illegal_round_state")
    now = clock.now()
    for drill in round_drills(session, rnd, open_only=True):
        if drill.status == drill_clock.PAUSED and drill.paused_at is not None:
            paused = (now - drill.paused_at).total_seconds()
            drill.paused_seconds = (drill.paused_seconds or 0.0) + paused
            drill.deadline = drill.deadline + timedelta(seconds=paused)
            drill.paused_at = None
            drill.status = drill_clock.RUNNING
            event_log.record_event(session, drill, now, "drill.resumed", None, paused_seconds=round(paused, 1))
    rnd.status = RUNNING
    rnd.paused_at = None
    return rnd


def extend_candidate(session: Session, clock: Clock, rnd: Round, user_id: int, seconds: int) -> RoundCandidate:
    """Give one candidate more time: the current drill and every later one."""
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 1 <= seconds <= 3600:
        raise ValidationFailed("延长时间须为 1 到 3600 秒。", code="invalid_seconds")
    if rnd.status == ENDED:
        raise Conflict("考试已结束。", code="round_ended")
    entry = candidate_entry(session, rnd, user_id)
    entry.extra_seconds += seconds
    now = clock.now()
    for drill in round_drills(session, rnd, user_id, open_only=True):
        drill.deadline = drill.deadline + timedelta(seconds=seconds)
        event_log.record_event(session, drill, now, "drill.extended", None, seconds=seconds)
    return entry


def end_round(session: Session, clock: Clock, rnd: Round) -> Round:
    """End the round: every open drill is finished (and scored) now."""
    if rnd.status == ENDED:
        raise Conflict("考试已经结束。", code="illegal_round_state")
    if rnd.status == PAUSED:
        resume_round(session, clock, rnd)
    for drill in round_drills(session, rnd, open_only=True):
        lifecycle.tick(session, clock, drill)
        lifecycle.finish(session, clock, drill, ended_by="examiner")
    rnd.status = ENDED
    rnd.ended_at = clock.now()
    return rnd


# --------------------------------------------------------------------------- a candidate's drills


def candidate_plan(rnd: Round, user_id: int) -> list[dict[str, Any]]:
    """The scenarios in the order this candidate takes them (shuffled rounds: per candidate, stable)."""
    plan = list(rnd.scenarios)
    if rnd.shuffle:
        seed = int(hashlib.sha256(f"{rnd.id}:{user_id}".encode()).hexdigest()[:12], 16)
        random.Random(seed).shuffle(plan)
    return plan


def _closed(rnd: Round, now: datetime) -> bool:
    return rnd.status == ENDED or bool(rnd.closes_at and now > rnd.closes_at)


def _allotted_seconds(session: Session, rnd: Round, item: dict[str, Any], extra: int) -> int:
    """The time a not-yet-started question of the round gives the candidate."""
    if rnd.time_per_scenario:
        return rnd.time_per_scenario + extra
    return scenario_spec(session, item["id"], item["version"]).time_limit + extra


def candidate_progress(session: Session, rnd: Round, user_id: int, now: datetime | None = None,
                       drills: list[Drill] | None = None, entry: RoundCandidate | None = None) -> dict[str, Any]:
    """Where the candidate is in the round: the plan, the drill in progress, the next scenario,
    ``index`` / ``count`` (第 index / count 题: the question in progress, else the next one, else
    the last), and ``remaining_seconds``: the time the round still gives them (the current
    question's time left plus the full time of every question not started, never past the round's
    closing time), with ``ticking`` when that time is running down now. ``drills`` and ``entry``:
    the candidate's started drills of the round and their roster row, when the caller has already
    read them (``start_next``)."""
    plan = candidate_plan(rnd, user_id)
    if drills is None:
        drills = round_drills(session, rnd, user_id)
    done = {d.scenario_id: d for d in drills}
    current = next((d for d in drills if d.status != drill_clock.FINISHED), None)
    items = []
    for i, p in enumerate(plan, start=1):
        d = done.get(p["id"])
        items.append({"index": i, "scenario": p["id"], "version": p["version"], "drill": d.id if d else None,
                      "status": d.status if d else "pending"})
    nxt = next((p for p in plan if p["id"] not in done), None)
    count = len(plan)
    position = {p["id"]: i for i, p in enumerate(plan, start=1)}
    if current is not None:
        index = position.get(current.scenario_id, count)
    elif nxt is not None:
        index = position[nxt["id"]]
    else:
        index = count
    finished = sum(1 for item in items if item["status"] == drill_clock.FINISHED)
    body: dict[str, Any] = {"plan": items, "current": current.id if current else None,
                            "next": nxt["id"] if nxt else None, "index": index, "count": count,
                            "finished": finished, "complete": count > 0 and finished == count}
    if now is not None:
        body.update(_time_left(session, rnd, user_id, plan, done, current, now, entry))
    return body


def _pending_specs(session: Session, plan: list[dict[str, Any]], done: Any) -> None:
    """The scenarios of the plan not started yet (``done``: the started ones), read together."""
    scenario_specs(session, [(p["id"], p["version"]) for p in plan if p["id"] not in done])


def _time_left(session: Session, rnd: Round, user_id: int, plan: list[dict[str, Any]], done: dict[str, Drill],
               current: Drill | None, now: datetime, entry: RoundCandidate | None = None) -> dict[str, Any]:
    if _closed(rnd, now):
        return {"remaining_seconds": 0.0, "ticking": False}
    if entry is None:
        entry = _roster_row(session, rnd.id, user_id)
    extra = entry.extra_seconds if entry else 0
    left = drill_clock.remaining_seconds(current, now) if current is not None else 0.0
    if not rnd.time_per_scenario:
        _pending_specs(session, plan, done)
    left += sum(_allotted_seconds(session, rnd, p, extra) for p in plan if p["id"] not in done)
    ticking = current is not None and current.status == drill_clock.RUNNING
    if rnd.closes_at is not None:
        until_close = max(0.0, (rnd.closes_at - now).total_seconds())
        if until_close < left:
            left, ticking = until_close, rnd.status == RUNNING
    return {"remaining_seconds": round(left, 1), "ticking": ticking}


# What the candidate can do next in a round, and how the page names it.
NEXT_STATES = {"continue": "继续作答", "start": "开始作答", "next": "下一题", "complete": "本场考试已完成",
               "ended": "本场考试已结束", "wait": "等待考官开考", "not_open": "还没到开考时间",
               "paused": "考官已暂停考试"}


def next_step(rnd: Round, progress: dict[str, Any], now: datetime) -> str:
    """One of NEXT_STATES: ``start`` / ``next`` / ``continue`` can be acted on (POST next)."""
    if progress["current"]:
        return "paused" if rnd.status == PAUSED else "continue"
    if progress["complete"]:
        return "complete"
    if _closed(rnd, now):
        return "ended"
    if rnd.status == DRAFT:
        return "wait"
    if rnd.status == PAUSED:
        return "paused"
    if rnd.opens_at and now < rnd.opens_at:
        return "not_open"
    return "start" if progress["finished"] == 0 else "next"


def my_round(session: Session, clock: Clock, rnd: Round, user_id: int) -> dict[str, Any]:
    """The round as its candidate sees it: status, progress and what to do next (no scores)."""
    entry = candidate_entry(session, rnd, user_id)
    now = clock.now()
    progress = candidate_progress(session, rnd, user_id, now, entry=entry)
    step = next_step(rnd, progress, now)
    return {"id": rnd.id, "name": rnd.name, "status": rnd.status, "status_label": STATUS_LABELS[rnd.status],
            "results_released": rnd.results_released, "progress": progress, "step": step,
            "step_label": NEXT_STATES[step], "can_go_on": step in ("start", "next", "continue")}


def drill_position(session: Session, drill: Drill) -> dict[str, Any] | None:
    """``{index, count, round_id}`` for a drill of a round: which question of the candidate's round it is."""
    if drill.round_id is None:
        return None
    rnd = session.get(Round, drill.round_id)
    if rnd is None:
        return None
    plan = candidate_plan(rnd, drill.user_id)
    index = next((i for i, p in enumerate(plan, start=1) if p["id"] == drill.scenario_id), len(plan))
    return {"round_id": rnd.id, "index": index, "count": len(plan)}


@dataclass
class NextQuestion:
    """What 开始作答 / 下一题 leaves: the drill to work on, the candidate's started drills of the
    round (this one included, by id) and their roster row, so that the answer's progress is
    worked out without reading them again."""

    drill: Drill
    drills: list[Drill]
    entry: RoundCandidate


def next_drill(session: Session, clock: Clock, rnd: Round, user: User) -> Drill:
    """The candidate's drill in progress, or a new one on their next scenario (exam mode).

    The server decides which scenario comes next (the examiner's order, or the candidate's
    stable shuffle); a finished question is never started again and none can be skipped.
    The caller holds the round with a shared lock (many candidates start at once); the
    candidate's roster row is locked here, so two tabs of one candidate never start two drills.
    A first question prepared when the round started (``prepare_first_drills``) only has its
    clock started here.
    """
    return start_next(session, clock, rnd, user).drill


# A candidate's drills of a round with their contacts (the question started next needs its own).
_CANDIDATE_DRILLS = (select(Drill).where(Drill.round_id == bindparam("round_id"), Drill.user_id == bindparam("user_id"))
                     .order_by(Drill.id).options(joinedload(Drill.contacts)))


def start_next(session: Session, clock: Clock, rnd: Round, user: User) -> NextQuestion:
    """``next_drill``, with what ``candidate_progress`` needs afterwards (``NextQuestion``)."""
    entry = candidate_entry(session, rnd, user.id, for_update=True)
    now = clock.now()
    if rnd.status == DRAFT:
        raise Conflict("考试尚未开始，请等待考官开考。", code="round_not_started")
    if rnd.status == PAUSED:
        raise Conflict("考官已暂停考试，请稍候。", code="round_paused")
    if _closed(rnd, now):
        raise Conflict("考试已结束。", code="round_ended")
    if rnd.opens_at and now < rnd.opens_at:
        raise Conflict("还没到开考时间。", code="round_not_open")
    # The round was read in this transaction (the caller's shared lock): a round that never had
    # a fault spares the new question's first tick its read of them.
    round_faults_version_read(session, rnd.id, rnd.faults_version)
    mine = list(session.scalars(_CANDIDATE_DRILLS, {"round_id": rnd.id, "user_id": user.id}).unique())
    prepared = [d for d in mine if d.status == drill_clock.PREPARED]
    started = [d for d in mine if d.status != drill_clock.PREPARED]
    _pending_specs(session, candidate_plan(rnd, user.id), {d.scenario_id for d in started})
    progress = candidate_progress(session, rnd, user.id, drills=started)
    if progress["current"]:
        current = next(d for d in started if d.id == progress["current"])
        lifecycle.tick(session, clock, current)  # a question whose time ran out is handed in first
        if current.status != drill_clock.FINISHED:
            return NextQuestion(current, started, entry)
        progress = candidate_progress(session, rnd, user.id, drills=started)
    if progress["next"] is None:
        raise Conflict("您已完成本场考试的全部题目。", code="round_complete")
    version = next(p["version"] for p in rnd.scenarios if p["id"] == progress["next"])
    spec = scenario_spec(session, progress["next"], version)
    limit = (rnd.time_per_scenario or spec.time_limit) + entry.extra_seconds
    if entry.joined_at is None:
        update_columns(session, entry, joined_at=now)
    ready = next((d for d in prepared if d.scenario_id == progress["next"] and d.scenario_version == version), None)
    if ready is not None:
        drill = lifecycle.activate_drill(session, clock, ready, limit)
    else:
        drill = lifecycle.start_drill(session, clock, user.id, progress["next"], "exam", round_id=rnd.id,
                                      time_limit=limit, scenario_version=version)
    return NextQuestion(drill, sorted([*started, drill], key=lambda d: d.id), entry)


# --------------------------------------------------------------------------- practice during a round


def rounds_holding(session: Session, scenario_id: str, now: datetime) -> list[Round]:
    """Rounds not over yet (draft, running or paused, before their closing time) that pin ``scenario_id``."""
    rows = session.scalars(select(Round).where(Round.status != ENDED).order_by(Round.id))
    return [r for r in rows if not _closed(r, now) and any(p.get("id") == scenario_id for p in r.scenarios or [])]


def reserved_scenarios(session: Session, clock: Clock, user_id: int) -> dict[str, Round]:
    """Scenario id -> the round not over yet, with this user on its roster, that holds it."""
    now = clock.now()
    rows = session.scalars(select(Round).join(RoundCandidate, RoundCandidate.round_id == Round.id)
                           .where(RoundCandidate.user_id == user_id, Round.status != ENDED).order_by(Round.id))
    out: dict[str, Round] = {}
    for rnd in rows:
        if not _closed(rnd, now):
            for p in rnd.scenarios or []:
                out.setdefault(p.get("id"), rnd)
    return out


def ensure_practice_allowed(session: Session, clock: Clock, user_id: int, scenario_id: str) -> None:
    """Refuse a practice drill of a scenario that a round on this user's roster still holds.

    Until that round ends, practising its scenario would show the candidate the customer, the
    reference run and the checks of a question they are about to sit.
    """
    rnd = reserved_scenarios(session, clock, user_id).get(scenario_id)
    if rnd is not None:
        raise Forbidden(f"该场景是您参加的考试“{rnd.name}”的考题，考试结束前不能练习。",
                        code="scenario_reserved_for_exam", details={"round": rnd.id})


def answers_withheld(session: Session, clock: Clock, scenario_id: str) -> bool:
    """Whether a round not over yet pins this scenario (its reference run and checks stay hidden)."""
    return bool(rounds_holding(session, scenario_id, clock.now()))


# --------------------------------------------------------------------------- faults


def inject_fault(session: Session, clock: Clock, rnd: Round, examiner: User, component: str,
                 user_id: int | None = None, start_in: int = 0, duration: int | None = None,
                 message: str | None = None) -> InjectedFault:
    """Take a component down for the round (or one candidate), now or in ``start_in`` seconds."""
    if component not in FAULT_COMPONENTS:
        raise ValidationFailed(f"故障组件必须是 {', '.join(FAULT_COMPONENTS)} 之一。", code="unknown_component")
    if rnd.status == ENDED:
        raise Conflict("考试已结束。", code="round_ended")
    if user_id is not None:
        candidate_entry(session, rnd, user_id)
    if not isinstance(start_in, int) or not 0 <= start_in <= 3600:
        raise ValidationFailed("开始时间须为 0 到 3600 秒之后。", code="invalid_start")
    if duration is not None and (not isinstance(duration, int) or not 1 <= duration <= 7200):
        raise ValidationFailed("持续时间须为 1 到 7200 秒。", code="invalid_duration")
    now = clock.now()
    starts = now + timedelta(seconds=start_in)
    fault = InjectedFault(round_id=rnd.id, user_id=user_id, component=component,
                          message=(message or f"{FAULT_COMPONENTS[component]}服务异常").strip()[:200],
                          starts_at=starts, ends_at=starts + timedelta(seconds=duration) if duration else None,
                          created_by=examiner.id, created_at=now)
    session.add(fault)
    session.flush()
    round_faults_changed(session, rnd)
    return fault


def restore_fault(session: Session, clock: Clock, rnd: Round, fault_id: int) -> InjectedFault:
    fault = session.get(InjectedFault, fault_id)
    if fault is None or fault.round_id != rnd.id:
        raise NotFound("故障记录不存在。", code="unknown_fault")
    now = clock.now()
    if fault.ends_at is None or fault.ends_at > now:
        fault.ends_at = max(now, fault.starts_at)
        round_faults_changed(session, rnd)
    return fault


def list_faults(session: Session, rnd: Round, now: datetime) -> list[dict[str, Any]]:
    rows = session.scalars(select(InjectedFault).where(InjectedFault.round_id == rnd.id).order_by(InjectedFault.id))
    return [{"id": f.id, "component": f.component, "message": f.message, "user_id": f.user_id,
             "starts_at": f.starts_at.isoformat(), "ends_at": f.ends_at.isoformat() if f.ends_at else None,
             "active": f.starts_at <= now and (f.ends_at is None or now < f.ends_at)} for f in rows]


# --------------------------------------------------------------------------- marking and results


def adjust_check(session: Session, clock: Clock, drill: Drill, examiner: User, check_id: str, points: Any,
                 comment: str) -> dict[str, Any]:
    """Change one check's points with a mandatory comment; the auto score stays in the report."""

    if drill.status != drill_clock.FINISHED or not drill.report:
        raise Conflict("演练尚未结束，不能调分。", code="drill_not_finished")
    comment = (comment or "").strip()
    if not comment:
        raise ValidationFailed("调整分数必须填写理由。", code="comment_required")
    if len(comment) > 500:
        raise ValidationFailed("理由不能超过 500 字。", code="comment_too_long")
    check = next((c for c in drill.report["checks"] if c["id"] == check_id), None)
    if check is None:
        raise NotFound(f"评分项 {check_id!r} 不存在。", code="unknown_check")
    try:
        value = float(points)
    except (TypeError, ValueError):
        raise ValidationFailed("分数必须是数字。", code="invalid_points") from None
    if not 0 <= value <= check["max_points"]:
        raise ValidationFailed(f"分数须在 0 到 {check['max_points']:g} 之间。", code="invalid_points")
    now = clock.now()
    session.add(ScoreAdjustment(drill_id=drill.id, check_id=check_id, points=value, previous_points=check["points"],
                                comment=comment, by_user_id=examiner.id, at=now))
    session.flush()
    report = grading.score_drill(session, drill, adjustments_for(session, drill.id))
    drill.report = report
    drill.total = report["total"]
    return report


def adjustments_for(session: Session, drill_id: int) -> dict[str, dict[str, Any]]:
    """The latest adjustment per check (the history is kept in the table)."""
    out: dict[str, dict[str, Any]] = {}
    rows = session.execute(select(ScoreAdjustment, User.username).join(User, User.id == ScoreAdjustment.by_user_id)
                           .where(ScoreAdjustment.drill_id == drill_id).order_by(ScoreAdjustment.id))
    for adj, username in rows:
        out[adj.check_id] = {"points": adj.points, "comment": adj.comment, "by": username, "at": adj.at.isoformat()}
    return out


def adjustment_history(session: Session, drill_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(ScoreAdjustment, User.username).join(User, User.id == ScoreAdjustment.by_user_id)
                           .where(ScoreAdjustment.drill_id == drill_id).order_by(ScoreAdjustment.id))
    return [{"check": a.check_id, "from": a.previous_points, "to": a.points, "comment": a.comment, "by": u,
             "at": a.at.isoformat()} for a, u in rows]


def release_results(session: Session, rnd: Round) -> Round:
    rnd.results_released = True
    return rnd


def results_released(session: Session, drill: Drill) -> bool:
    if drill.round_id is None:
        return drill.mode == "practice"
    rnd = session.get(Round, drill.round_id)
    return bool(rnd and rnd.results_released)


def live_board(session: Session, clock: Clock, rnd: Round) -> list[dict[str, Any]]:
    """Each candidate's current scenario, elapsed time, operations so far and hard fails."""
    now = clock.now()
    rows = []
    for entry in rnd.candidates:
        user = session.get(User, entry.user_id)
        drills = round_drills(session, rnd, entry.user_id)
        current = next((d for d in drills if d.status != drill_clock.FINISHED), None)
        for d in drills:
            if d.status != drill_clock.FINISHED:
                lifecycle.tick(session, clock, d)
        ops = 0
        fails: list[dict[str, Any]] = []
        if current is not None:
            ops = session.query(DrillEvent).filter(DrillEvent.drill_id == current.id,
                                                   DrillEvent.type.notin_(("message.customer", "contact.arrived",
                                                                           "drill.started"))).count()
        for d in drills:
            for f in grading.hard_fails_of(session, d):
                fails.append({"drill": d.id, "t": f["evidence"]["t"], "type": f["evidence"]["type"], "kind": f["kind"],
                              "message": f["message"]})
        rows.append({
            "user_id": entry.user_id, "username": user.username, "display_name": user.label,
            "joined": entry.joined_at is not None, "extra_seconds": entry.extra_seconds,
            "finished": sum(1 for d in drills if d.status == drill_clock.FINISHED), "total": len(rnd.scenarios),
            "current": None if current is None else {
                "drill": current.id, "scenario": current.scenario_id,
                "scenario_title": scenario_title(session, current.scenario_id), "status": current.status,
                "elapsed_seconds": round(drill_clock.drill_seconds(current, now), 1),
                "remaining_seconds": round(drill_clock.remaining_seconds(current, now), 1), "operations": ops},
            "hard_fails": fails,
        })
    return rows


def _adjustment_notes(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The examiner's adjustments in force on a drill's report (one per adjusted check)."""
    out = []
    for c in (report or {}).get("checks", []):
        adj = c.get("adjusted")
        if adj:
            out.append({"check": c["id"], "title": c["title"], "auto_points": c.get("auto_points"),
                        "points": c["points"], "max_points": c["max_points"], "comment": adj.get("comment", ""),
                        "by": adj.get("by")})
    return out


def _points(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def adjustment_text(notes: list[dict[str, Any]]) -> str:
    """Adjustments as one line of text for exports: 评分项：自动 → 调整后，理由（考官）."""
    return "；".join(f"{n['title']}：{_points(n['auto_points'])}→{_points(n['points'])}/{_points(n['max_points'])}，"
                    f"{n['comment']}（{n['by'] or '考官'}）" for n in notes)


def results(session: Session, rnd: Round) -> dict[str, Any]:
    """One row per candidate and scenario (unfinished ones marked incomplete, never an error), and
    one summary per candidate: the round's total (sum over its scenarios, an unfinished one counts 0),
    automatic and final, with the examiner's adjustment comments."""
    rows = []
    summaries = []
    titles = scenario_titles(session)
    for entry in rnd.candidates:
        user = session.get(User, entry.user_id)
        drills = {d.scenario_id: d for d in round_drills(session, rnd, entry.user_id)}
        mine = []
        for p in candidate_plan(rnd, entry.user_id):
            d = drills.get(p["id"])
            complete = d is not None and d.status == drill_clock.FINISHED and d.report is not None
            extra = followups.drill_section(session, d, reveal=True) if complete and d is not None else None
            report_dims = d.report["dimensions"] if complete else {}
            if extra and extra["dimensions"]:
                report_dims = followups.combined_dimensions(report_dims, extra["dimensions"])
            dims = {name: (report_dims[name]["score"] if complete else None) for name in DIMENSIONS}
            mine.append({"username": user.username, "display_name": user.label, "scenario": p["id"],
                         "scenario_title": titles.get(p["id"], p["id"]),
                         "version": p["version"], "drill": d.id if d else None, "complete": complete,
                         "status": "已完成" if complete else ("进行中" if d else "未作答"),
                         "auto_total": d.report.get("auto_total") if complete else None,
                         "total": d.total if complete else None, "hard_fail": bool(d.hard_fail) if complete else None,
                         "dimensions": dims, "adjustments": _adjustment_notes(d.report) if complete else [],
                         "followups": None if not extra else {
                             "count": extra["count"], "answered": extra["answered"], "marked": extra["marked"],
                             "total": extra["total"], "max_total": extra["max_total"], "pending": extra["pending"]}})
        rows.extend(mine)
        done = [r for r in mine if r["complete"]]
        summaries.append({
            "username": user.username, "display_name": user.label, "scenarios": len(mine), "finished": len(done),
            "auto_total": round(sum(r["auto_total"] or 0.0 for r in done), 1),
            "total": round(sum(r["total"] or 0.0 for r in done), 1),
            "max_total": 100.0 * len(mine),
            "average": round(sum(r["total"] or 0.0 for r in done) / len(mine), 1) if mine else None,
            "hard_fails": sum(1 for r in done if r["hard_fail"]),
            "adjustments": [{"scenario": r["scenario"], **n} for r in done for n in r["adjustments"]]})
    return {"round": rnd.id, "name": rnd.name, "status": rnd.status, "released": rnd.results_released,
            "complete": all(r["complete"] for r in rows) and bool(rows), "rows": rows, "candidates": summaries}


EXPORT_HEADERS = ["考生", "用户名", "场景", "版本", "状态", "自动评分", "最终得分", "硬性扣分", *DIMENSIONS,
                  "调分说明", "考生自动总分", "考生最终总分", "追问得分", "追问满分"]
SUMMARY_HEADERS = ["考生", "用户名", "题数", "已完成", "自动总分", "最终总分", "满分", "平均分（最终）", "硬性扣分题数",
                   "调分说明"]


def export_table(data: dict[str, Any]) -> list[list[Any]]:
    """Rows for CSV/XLSX: one per candidate and scenario, dimensions as columns, then the
    adjustment comments and the candidate's round totals (automatic and final)."""
    totals = {c["username"]: c for c in data.get("candidates", [])}
    table: list[list[Any]] = [EXPORT_HEADERS]
    for r in data["rows"]:
        who = totals.get(r["username"], {})
        table.append([r["display_name"], r["username"], r.get("scenario_title") or r["scenario"], r["version"],
                      r["status"] + ("" if r["complete"] else "（未完成）"), r["auto_total"], r["total"],
                      "" if r["hard_fail"] is None else ("是" if r["hard_fail"] else "否"),
                      *[r["dimensions"][d] for d in DIMENSIONS],
                      adjustment_text(r.get("adjustments", [])), who.get("auto_total"), who.get("total"),
                      *_followup_cells(r.get("followups"))])
    return redact_data(table)  # no full card, ID or mobile number leaves in an export (names are free text)


def _followup_cells(data: dict[str, Any] | None) -> list[Any]:
    if not data:
        return ["", ""]
    if data["pending"]:
        return [f"待评阅（{data['pending']} 题）", data["max_total"]]
    return [data["total"], data["max_total"]]


def summary_table(data: dict[str, Any]) -> list[list[Any]]:
    """Rows for the per-candidate sheet: the round's totals and every adjustment comment."""
    table: list[list[Any]] = [SUMMARY_HEADERS]
    for c in data.get("candidates", []):
        notes = "；".join(f"{n['scenario']} · {adjustment_text([n])}" for n in c["adjustments"])
        table.append([c["display_name"], c["username"], c["scenarios"], c["finished"], c["auto_total"], c["total"],
                      c["max_total"], c["average"], c["hard_fails"], notes])
    return redact_data(table)


def export_csv(data: dict[str, Any]) -> bytes:
    """The results as CSV (UTF-8 with a BOM so Excel opens Chinese text correctly); no cell is a formula."""
    return write_csv(export_table(data), bom=True).encode("utf-8")


def export_xlsx(data: dict[str, Any]) -> bytes:
    """The results as XLSX: sheet 成绩 (one row per candidate and scenario) and 考生汇总 (per candidate)."""
    return write_xlsx([("成绩", export_table(data)), ("考生汇总", summary_table(data))])


def round_json(session: Session, clock: Clock, rnd: Round) -> dict[str, Any]:
    return {"id": rnd.id, "name": rnd.name, "status": rnd.status, "status_label": STATUS_LABELS[rnd.status],
            "join_code": rnd.join_code, "scenarios": rnd.scenarios, "shuffle": rnd.shuffle,
            "time_per_scenario": rnd.time_per_scenario, "kb_version": rnd.kb_version,
            "opens_at": rnd.opens_at.isoformat() if rnd.opens_at else None,
            "closes_at": rnd.closes_at.isoformat() if rnd.closes_at else None,
            "started_at": rnd.started_at.isoformat() if rnd.started_at else None,
            "results_released": rnd.results_released, "candidates": len(rnd.candidates),
            "faults": list_faults(session, rnd, clock.now())}
