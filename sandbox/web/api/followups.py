"""/api/v1 follow-up questions (追问) of a drill: the items, the candidate's answers and the
examiner's marks."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from sandbox.drill import drill_contacts, followups
from sandbox.drill.models import Drill
from sandbox.drill.reports import answers_visible
from sandbox.errors import NotFound
from sandbox.roles import ADMIN, EXAMINER, STAFF_ROLES
from sandbox.web.api import bp, json_body
from sandbox.web.request_context import current_user
from sandbox.web.security import any_user, roles_required
from sandbox.web.tx import db, runtime, unit_of_work


def _drill(drill_id: int, for_update: bool = False, owner_only: bool = False) -> Drill:
    """The drill, if the caller may see it: its candidate, or staff (unless ``owner_only``)."""
    user = current_user()
    owner = None if (user.role in STAFF_ROLES and not owner_only) else user.id
    return drill_contacts.get_drill(db(), drill_id, owner, for_update=for_update)


def followups_json(drill: Drill) -> dict[str, Any]:
    data = followups.drill_section(db(), drill, reveal=answers_visible(db(), runtime().clock, drill, current_user()))
    if data is None:
        return {"drill": drill.id, "enabled": False, "items": [], "count": 0}
    return {"drill": drill.id, "enabled": True, **data}


def _one(drill: Drill, followup_id: str) -> dict[str, Any]:
    body = followups_json(drill)
    item = next((i for i in body["items"] if i["id"] == followup_id), None)
    if item is None:
        raise NotFound("没有这道追问。", code="unknown_followup")
    return item


@bp.get("/drills/<int:drill_id>/followups")
@any_user
def followups_list(drill_id: int):
    """The drill's 追问: questions (and, when visible, key points, coverage, marks, model answers)."""
    return jsonify(followups_json(_drill(drill_id)))


@bp.post("/drills/<int:drill_id>/followups/<followup_id>/answer")
@any_user
def followups_answer(drill_id: int, followup_id: str):
    """The candidate's typed answer: ``{"text", "elapsed_seconds"?}`` (their own drill only)."""
    data = json_body()
    with unit_of_work() as s:
        drill = _drill(drill_id, for_update=True, owner_only=True)
        followups.answer(s, runtime().clock, drill, followups.items_for(s, drill), followup_id,
                         data.get("text"), data.get("elapsed_seconds"))
        item = _one(drill, followup_id)
    return jsonify({"item": item})


@bp.post("/drills/<int:drill_id>/followups/<followup_id>/marks")
@roles_required(EXAMINER, ADMIN)
def followups_mark(drill_id: int, followup_id: str):
    """The examiner's marks: ``{"marks": {key point id: true|false}, "comment"}``."""
    data = json_body()
    with unit_of_work() as s:
        drill = _drill(drill_id, for_update=True)
        followups.mark(s, runtime().clock, drill, followups.items_for(s, drill), current_user().id, followup_id,
                       data.get("marks"), data.get("comment"))
        item = _one(drill, followup_id)
    return jsonify({"item": item})
