"""/api/v1 rounds: the examiner's practical round, its live board, faults, marking and results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, jsonify, request
from sqlalchemy import select

from sandbox.drill import drill_clock, drill_contacts, event_log, lifecycle
from sandbox.drill.reports import results_released
from sandbox.errors import Forbidden, NotFound, ValidationFailed
from sandbox.exam import rounds as exam
from sandbox.exam.models import Round, RoundCandidate
from sandbox.roles import CANDIDATE, STAFF_ROLES
from sandbox.users.models import User
from sandbox.web.api import bp, json_body
from sandbox.web.api.drills import drill_json, next_action
from sandbox.web.request_context import current_user
from sandbox.web.security import any_user, roles_required
from sandbox.web.tx import db, runtime, unit_of_work


def _datetime(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(f"{field} 必须是 ISO 格式的时间。", code="invalid_datetime") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int(value: Any, field: str, default: int | None = None) -> int | None:
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        raise ValidationFailed(f"{field} 必须是整数。", code="invalid_number")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ValidationFailed(f"{field} 必须是整数。", code="invalid_number") from None
    if not -2**31 < number < 2**31:
        raise ValidationFailed(f"{field} 超出范围。", code="invalid_number")
    return number


def _user_id(value: Any) -> int | None:
    if value in (None, ""):
        return None
    user = db().scalar(select(User).where(User.username == str(value))) if isinstance(value, str) else \
        db().get(User, _int(value, "user"))
    if user is None:
        raise NotFound("考生不存在。", code="unknown_user")
    return user.id


def create_round_from(data: dict[str, Any]) -> Round:
    scenarios = data.get("scenarios")
    return exam.create_round(db(), runtime().clock, current_user(), data.get("name", ""),
                             scenarios if isinstance(scenarios, list) else [],
                             shuffle=bool(data.get("shuffle")),
                             time_per_scenario=_int(data.get("time_per_scenario"), "time_per_scenario"),
                             opens_at=_datetime(data.get("opens_at"), "opens_at"),
                             closes_at=_datetime(data.get("closes_at"), "closes_at"),
                             followups=data.get("followups", False))


@bp.get("/rounds")
@any_user
def rounds_list():
    s = db()
    user = current_user()
    stmt = select(Round).order_by(Round.id.desc())
    if user.role not in STAFF_ROLES:
        stmt = stmt.join(RoundCandidate).where(RoundCandidate.user_id == user.id)
    clock = runtime().clock
    if user.role in STAFF_ROLES:
        return jsonify([exam.round_json(s, clock, r) for r in s.scalars(stmt)])
    return jsonify([{"id": r.id, "name": r.name, "status": r.status, "status_label": exam.STATUS_LABELS[r.status],
                     "progress": exam.candidate_progress(s, r, user.id)} for r in s.scalars(stmt)])


@bp.post("/rounds")
@roles_required(*STAFF_ROLES)
def rounds_create():
    data = json_body()
    with unit_of_work() as s:
        rnd = create_round_from(data)
        body = exam.round_json(s, runtime().clock, rnd)
    return jsonify(body), 201


@bp.get("/rounds/<int:round_id>")
@roles_required(*STAFF_ROLES)
def rounds_get(round_id: int):
    return jsonify(exam.round_json(db(), runtime().clock, exam.get_round(db(), round_id)))


@bp.post("/rounds/<int:round_id>/candidates")
@roles_required(*STAFF_ROLES)
def rounds_add_candidates(round_id: int):
    data = json_body()
    # The CSV is parsed and checked before the transaction (and its lock) begins.
    roster = exam.parse_roster_csv(data["csv"]) if isinstance(data.get("csv"), str) else None
    with unit_of_work() as s:
        rnd = exam.get_round(s, round_id, for_update=True)
        if roster is not None:
            result = exam.import_roster_csv(s, runtime().clock, rnd, roster)
        elif isinstance(data.get("usernames"), list):
            result = exam.add_candidates(s, runtime().clock, rnd, [str(u) for u in data["usernames"]])
        else:
            raise ValidationFailed("请提供 usernames（列表）或 csv（文本）。", code="missing_candidates")
    return jsonify({"added": result.added, "already": result.already,
                    "created": [{"username": u, "password": p} for u, p in result.created]})


@bp.post("/rounds/join")
@roles_required(CANDIDATE)
def rounds_join():
    data = json_body()
    with unit_of_work() as s:
        rnd = exam.join(s, runtime().clock, current_user(), str(data.get("code") or ""))
        body = {"id": rnd.id, "name": rnd.name, "status": rnd.status}
    return jsonify(body)


def _state_change(round_id: int, action) -> Response:
    with unit_of_work() as s:
        rnd = exam.get_round(s, round_id, for_update=True)
        action(s, runtime().clock, rnd)
        body = exam.round_json(s, runtime().clock, rnd)
    return jsonify(body)


@bp.post("/rounds/<int:round_id>/start")
@roles_required(*STAFF_ROLES)
def rounds_start(round_id: int):
    return _state_change(round_id, exam.start_round)


@bp.post("/rounds/<int:round_id>/pause")
@roles_required(*STAFF_ROLES)
def rounds_pause(round_id: int):
    return _state_change(round_id, exam.pause_round)


@bp.post("/rounds/<int:round_id>/resume")
@roles_required(*STAFF_ROLES)
def rounds_resume(round_id: int):
    return _state_change(round_id, exam.resume_round)


@bp.post("/rounds/<int:round_id>/end")
@roles_required(*STAFF_ROLES)
def rounds_end(round_id: int):
    return _state_change(round_id, exam.end_round)


@bp.post("/rounds/<int:round_id>/release")
@roles_required(*STAFF_ROLES)
def rounds_release(round_id: int):
    return _state_change(round_id, lambda s, c, r: exam.release_results(s, r))


@bp.post("/rounds/<int:round_id>/extend")
@roles_required(*STAFF_ROLES)
def rounds_extend(round_id: int):
    data = json_body()
    with unit_of_work() as s:
        rnd = exam.get_round(s, round_id, for_update=True)
        entry = exam.extend_candidate(s, runtime().clock, rnd, _user_id(data.get("user")),
                                      _int(data.get("seconds"), "seconds", 0))
        body = {"user_id": entry.user_id, "extra_seconds": entry.extra_seconds}
    return jsonify(body)


@bp.get("/rounds/<int:round_id>/live")
@roles_required(*STAFF_ROLES)
def rounds_live(round_id: int):
    with unit_of_work() as s:
        rnd = exam.get_round(s, round_id)
        body = {"round": exam.round_json(s, runtime().clock, rnd), "candidates": exam.live_board(s, runtime().clock, rnd)}
    return jsonify(body)


@bp.post("/rounds/<int:round_id>/faults")
@roles_required(*STAFF_ROLES)
def rounds_inject_fault(round_id: int):
    data = json_body()
    with unit_of_work() as s:
        rnd = exam.get_round(s, round_id, for_update=True)
        fault = exam.inject_fault(s, runtime().clock, rnd, current_user(), str(data.get("component") or ""),
                                  user_id=_user_id(data.get("user")), start_in=_int(data.get("start_in"), "start_in", 0),
                                  duration=_int(data.get("duration"), "duration"), message=data.get("message"))
        body = next(f for f in exam.list_faults(s, rnd, runtime().clock.now()) if f["id"] == fault.id)
    return jsonify(body), 201


@bp.post("/rounds/<int:round_id>/faults/<int:fault_id>/restore")
@roles_required(*STAFF_ROLES)
def rounds_restore_fault(round_id: int, fault_id: int):
    with unit_of_work() as s:
        rnd = exam.get_round(s, round_id, for_update=True)
        exam.restore_fault(s, runtime().clock, rnd, fault_id)
        body = next(f for f in exam.list_faults(s, rnd, runtime().clock.now()) if f["id"] == fault_id)
    return jsonify(body)


@bp.get("/rounds/<int:round_id>/progress")
@roles_required(CANDIDATE)
def rounds_progress(round_id: int):
    s = db()
    rnd = exam.get_round(s, round_id)
    exam.candidate_entry(s, rnd, current_user().id)
    return jsonify({"id": rnd.id, "name": rnd.name, "status": rnd.status, "status_label": exam.STATUS_LABELS[rnd.status],
                    **exam.candidate_progress(s, rnd, current_user().id)})


@bp.get("/rounds/<int:round_id>/me")
@roles_required(CANDIDATE)
def rounds_me(round_id: int):
    """The candidate's own round: progress (第 index / count 题, time left) and the ``next`` action."""
    s = db()
    rnd = exam.get_round(s, round_id)
    body = exam.my_round(s, runtime().clock, rnd, current_user().id)
    body["next"] = next_action(rnd.id, body["step"])
    return jsonify(body)


@bp.post("/rounds/<int:round_id>/next")
@roles_required(CANDIDATE)
def rounds_next(round_id: int):
    with unit_of_work() as s:
        rnd = exam.get_round(s, round_id, for_share=True)
        started = exam.start_next(s, runtime().clock, rnd, current_user())
        body = drill_json(started.drill, started=started)
    return jsonify(body), 201


@bp.get("/rounds/<int:round_id>/results")
@roles_required(*STAFF_ROLES)
def rounds_results(round_id: int):
    with unit_of_work() as s:
        rnd = exam.get_round(s, round_id)
        for entry in rnd.candidates:
            for d in exam.round_drills(s, rnd, entry.user_id, open_only=True):
                lifecycle.tick(s, runtime().clock, d)
        body = exam.results(s, rnd)
    return jsonify(body)


@bp.get("/rounds/<int:round_id>/export")
@roles_required(*STAFF_ROLES)
def rounds_export(round_id: int):
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise ValidationFailed("format 只能是 csv 或 xlsx。", code="invalid_format")
    data = exam.results(db(), exam.get_round(db(), round_id))
    if fmt == "csv":
        payload, mimetype = exam.export_csv(data), "text/csv; charset=utf-8"
    else:
        payload = exam.export_xlsx(data)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(payload, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename=round-{round_id}-results.{fmt}"})


@bp.post("/drills/<int:drill_id>/adjustments")
@roles_required(*STAFF_ROLES)
def drills_adjust(drill_id: int):
    data = json_body()
    with unit_of_work() as s:
        drill = drill_contacts.get_drill(s, drill_id, for_update=True)
        report = exam.adjust_check(s, runtime().clock, drill, current_user(), str(data.get("check") or ""),
                                   data.get("points"), str(data.get("comment") or ""))
        history = exam.adjustment_history(s, drill.id)
    return jsonify({"total": report["total"], "auto_total": report["auto_total"], "adjustments": history})


@bp.get("/drills/<int:drill_id>/events")
@any_user
def drills_events(drill_id: int):
    """The drill's event log (for replay): staff, or the candidate once results are released."""
    s = db()
    user = current_user()
    drill = drill_contacts.get_drill(s, drill_id, None if user.role in STAFF_ROLES else user.id)
    if user.role not in STAFF_ROLES and (drill.status != drill_clock.FINISHED or not results_released(s, drill)):
        raise Forbidden("成绩发布后才能回放。", code="results_not_released")
    return jsonify({"drill": drill.id, "events": [
        {"id": e.id, "t": e.t, "type": e.type, "contact": e.contact_key, "data": _redacted(e.data or {})}
        for e in event_log.events_of(s, drill.id)]})


def _redacted(value: Any) -> Any:
    """Event data with any full card/ID/mobile number masked (a candidate may have typed one)."""
    from sandbox.bank.masking import redact

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value
