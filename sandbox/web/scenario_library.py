"""场景库: trainers list, view, upload/edit (validated by line), rehearse, duplicate, enable/disable."""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from sandbox.bank.masking import Clear
from sandbox.drill.models import Scenario, ScenarioVersion
from sandbox.drill.scenario.errors import ScenarioInvalid
from sandbox.drill.scenario.store import save_scenario, scenario_spec, validate_scenario
from sandbox.drill.scenario.vocabulary import MAX_YAML_BYTES
from sandbox.errors import DomainError
from sandbox.roles import TRAINER_ROLES
from sandbox.web.request_context import current_user
from sandbox.web.security import roles_required
from sandbox.web.tx import db, runtime, unit_of_work

bp = Blueprint("scenario_library", __name__, url_prefix="/trainer/scenarios")
MAX_YAML = MAX_YAML_BYTES


def _text(scenario_id: str, version: int) -> str:
    text = db().scalar(select(ScenarioVersion.yaml_text).where(ScenarioVersion.scenario_id == scenario_id,
                                                              ScenarioVersion.version == version))
    if text is None:
        abort(404)
    return text


@bp.get("/")
@roles_required(*TRAINER_ROLES)
def index():
    rows = list(db().scalars(select(Scenario).order_by(Scenario.id)))
    return render_template("scenarios/index.html", rows=rows)


@bp.get("/<scenario_id>")
@roles_required(*TRAINER_ROLES)
def view(scenario_id: str):
    row = db().get(Scenario, scenario_id) or abort(404)
    version = request.args.get("version", type=int) or row.version
    spec = scenario_spec(db(), scenario_id, version)
    versions = list(db().scalars(select(ScenarioVersion).where(ScenarioVersion.scenario_id == scenario_id)
                                 .order_by(ScenarioVersion.version.desc())))
    return render_template("scenarios/view.html", row=row, spec=spec, text=_text(scenario_id, version),
                           versions=versions, version=version)


def save_upload(yaml_text: str, source: str):
    """Validate an uploaded scenario, then store it: parsing never holds the write lock.

    Raises ScenarioInvalid (with file:line errors) for a refused file, including an
    oversized one, YAML anchors/aliases and bad template placeholders.
    """
    spec = validate_scenario(yaml_text, source)
    with unit_of_work() as s:
        return save_scenario(s, runtime().clock, yaml_text, current_user().id, file=source, spec=spec)


@bp.route("/edit", methods=["GET", "POST"])
@bp.route("/<scenario_id>/edit", methods=["GET", "POST"])
@roles_required(*TRAINER_ROLES)
def edit(scenario_id: str | None = None):
    errors = []
    status = 200
    if request.method == "POST":
        upload = request.files.get("yaml_file")
        text = upload.read(MAX_YAML + 1).decode("utf-8", errors="replace") if upload and upload.filename \
            else request.form.get("yaml_text", "")
        source = f"{upload.filename}（上传）" if upload and upload.filename else "编辑器"
        try:
            row = save_upload(text.replace("\r\n", "\n"), source)
        except ScenarioInvalid as exc:
            errors = exc.errors
            status = 400
        except DomainError as exc:
            flash(exc.message, "error")
            status = 400
        else:
            flash(f"已保存场景 {row.id}（第 {row.version} 版）。", "success")
            return redirect(url_for("scenario_library.view", scenario_id=row.id))
    else:
        text = ""
        if scenario_id:
            row = db().get(Scenario, scenario_id) or abort(404)
            text = _text(scenario_id, row.version)
    # The trainer's own source, in clear: masking it here would save the masks over the numbers.
    return render_template("scenarios/edit.html", scenario_id=scenario_id, text=Clear(text), errors=errors), status


@bp.post("/<scenario_id>/duplicate")
@roles_required(*TRAINER_ROLES)
def duplicate(scenario_id: str):
    row = db().get(Scenario, scenario_id) or abort(404)
    text = _text(scenario_id, row.version)
    existing = set(db().scalars(select(Scenario.id)))
    n = 2
    while f"{scenario_id}-copy{n}"[:64] in existing:
        n += 1
    new_id = f"{scenario_id}-copy{n}"[:64]
    text = re.sub(r"^id:.*$", f"id: {new_id}", text, count=1, flags=re.M)
    text = re.sub(r"^version:.*$", "version: 1", text, count=1, flags=re.M)
    text = re.sub(r"^title:\s*(.*)$", lambda m: f"title: {m.group(1)}（副本）", text, count=1, flags=re.M)
    try:
        spec = validate_scenario(text, f"{new_id}.yaml")
        with unit_of_work() as s:
            new = save_scenario(s, runtime().clock, text, current_user().id, file=f"{new_id}.yaml",
                                spec=spec)
            new.enabled = False  # a template starts disabled until the trainer finishes it
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("scenario_library.view", scenario_id=scenario_id))
    flash(f"已复制为 {new_id}（已停用，编辑完成后再启用）。", "success")
    return redirect(url_for("scenario_library.edit", scenario_id=new_id))


@bp.post("/<scenario_id>/toggle")
@roles_required(*TRAINER_ROLES)
def toggle(scenario_id: str):
    with unit_of_work() as s:
        row = s.get(Scenario, scenario_id) or abort(404)
        row.enabled = not row.enabled
        enabled = row.enabled
    flash("已启用。" if enabled else "已停用（考生不再看到该场景；已创建的考试不受影响）。", "success")
    return redirect(url_for("scenario_library.view", scenario_id=scenario_id))


@bp.post("/<scenario_id>/rehearse")
@roles_required(*TRAINER_ROLES)
def rehearse(scenario_id: str):
    from sandbox.web.rehearse import app_factory, rehearse_in_sandbox

    row = db().get(Scenario, scenario_id) or abort(404)
    result = rehearse_in_sandbox(app_factory(current_app), {scenario_id: _text(scenario_id, row.version)})[0]
    spec = scenario_spec(db(), scenario_id, row.version)
    return render_template("scenarios/rehearsal.html", row=row, spec=spec, result=result)
