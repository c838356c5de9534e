"""Interview practice pages: the question list with one's past attempts, a question's answer
page (typed box, recorder, the self-introduction's countdown) and a past attempt's result."""

from __future__ import annotations

from flask import Blueprint, render_template

from sandbox.errors import NotFound
from sandbox.interview import practice
from sandbox.interview.bank import load_bank
from sandbox.roles import ALL_ROLES
from sandbox.web.api.interview import recording_json, transcriber_json
from sandbox.web.request_context import current_user
from sandbox.web.security import roles_required
from sandbox.web.tx import db, runtime

bp = Blueprint("interview", __name__)
PRACTICE_ROLES = ALL_ROLES  # everyone who may drill may practise the interview questions


@bp.get("/practice/interview")
@roles_required(*PRACTICE_ROLES)
def index():
    bank = load_bank()
    attempts = practice.user_attempts(db(), current_user().id)
    titles = {q.id: q.question for q in bank.questions}
    return render_template("interview/index.html", groups=bank.by_category(), attempts=attempts, titles=titles)


@bp.get("/practice/interview/<question_id>")
@roles_required(*PRACTICE_ROLES)
def question(question_id: str):
    q = load_bank().get(question_id)
    attempts = practice.user_attempts(db(), current_user().id, q.id)
    return render_template("interview/question.html", q=q, attempts=attempts, transcriber=transcriber_json(),
                           max_seconds=min(q.time_limit, runtime().settings.recording_max_seconds))


@bp.get("/practice/interview/attempts/<int:attempt_id>")
@roles_required(*PRACTICE_ROLES)
def attempt(attempt_id: int):
    row = practice.own_attempt(db(), attempt_id, current_user().id)
    try:
        q = load_bank().get(row.question_id)
    except NotFound:
        q = None  # a question since removed from the bank: the answer and its marks stay readable
    recording = practice.attempt_recording(db(), row)
    return render_template("interview/attempt.html", attempt=row, q=q,
                           recording=recording_json(recording) if recording else None)
