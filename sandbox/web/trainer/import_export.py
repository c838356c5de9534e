"""Importing and exporting the knowledge base (.jsonl / .csv / .xlsx / .yaml).

An upload is parsed and previewed first (a dry run that writes nothing); the file waits
server-side, readable by the server's user only, until the trainer who uploaded it confirms
or cancels (or a day passes).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectChoice, SelectField, SubmitField

from knowledge_base import articles as kb_articles
from knowledge_base import transfer
from knowledge_base.categories import CATEGORIES, assign_categories
from sandbox.clock import BEIJING
from sandbox.errors import DomainError, NotFound, ValidationFailed
from sandbox.web.request_context import current_user
from sandbox.web.trainer import bp, catch_up, current_username, trainer_only
from sandbox.web.tx import db, discard, runtime, unit_of_work

UPLOAD_DIR = "trainer_uploads"
UPLOAD_MAX_AGE = 24 * 3600
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class ImportForm(FlaskForm):
    file = FileField("文件（.jsonl / .csv / .xlsx / .yaml）")
    fmt = SelectField("格式", choices=[SelectChoice("", "按扩展名判断")] + [SelectChoice(f, f.upper()) for f in transfer.FORMATS])
    replace = BooleanField("替换模式：导入后知识库恰好等于文件内容（文件中没有的文章将被删除）")
    unknown_category = SelectField(
        "别家知识库的分类", choices=[SelectChoice("", "不归并：分类不在固定分类中的行报错")]
        + [SelectChoice(c, f"按名称归并，归不进的归入「{c}」") for c in CATEGORIES], default="")
    submit = SubmitField("上传并预览")


def _upload_dir() -> Path:
    path = runtime().settings.home / UPLOAD_DIR
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _write_private(path: Path, data: bytes) -> None:
    """Write a pending upload readable by the server's user only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _prune_uploads(folder: Path) -> None:
    limit = time.time() - UPLOAD_MAX_AGE
    for item in folder.iterdir():
        try:
            if item.stat().st_mtime < limit:
                item.unlink()
        except OSError:
            continue


def _pending(token: str) -> tuple[Path, Path, dict[str, Any]]:
    """The stored upload for ``token`` (data file, meta file, meta); 404 when gone or not the user's."""
    if not TOKEN_RE.match(token or ""):
        raise NotFound("导入预览不存在或已过期，请重新上传文件。", code="import_not_found")
    folder = _upload_dir()
    data, meta_path = folder / f"{token}.data", folder / f"{token}.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise NotFound("导入预览不存在或已过期，请重新上传文件。", code="import_not_found") from None
    user = current_user()
    if meta.get("user_id") != (user.id if user else None) or not data.exists():
        raise NotFound("导入预览不存在或已过期，请重新上传文件。", code="import_not_found")
    return data, meta_path, meta


def _discard(data: Path, meta_path: Path) -> None:
    for path in (data, meta_path):
        path.unlink(missing_ok=True)


@bp.route("/import", methods=["GET", "POST"])
@trainer_only
def import_():
    form = ImportForm()
    if request.method == "GET":
        return render_template("trainer/import.html", form=form, formats=transfer.FORMATS)
    if not form.validate_on_submit():
        return render_template("trainer/import.html", form=form, formats=transfer.FORMATS), 400
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要导入的文件。", "error")
        return render_template("trainer/import.html", form=form, formats=transfer.FORMATS), 400
    name = os.path.basename(upload.filename)[:200]
    data = upload.read()
    try:
        fmt = transfer.detect_format(Path(name), form.fmt.data or None)
        rows, parse_errors = transfer.parse_bytes(data, fmt)
    except DomainError as exc:
        flash(exc.message, "error")
        return render_template("trainer/import.html", form=form, formats=transfer.FORMATS), 400
    default_category = form.unknown_category.data or None
    moves: dict[str, str] = {}
    if default_category:
        rows, moves = assign_categories(rows, default_category)
    plan = kb_articles.plan_import(db(), rows, replace=bool(form.replace.data), parse_errors=parse_errors)
    discard()  # the dry run only read
    token = None
    if plan.ok and (plan.added or plan.changed or plan.deleted):
        # Keep the file server-side until the trainer confirms; nothing is written before.
        folder = _upload_dir()
        _prune_uploads(folder)
        token = secrets.token_urlsafe(24)
        _write_private(folder / f"{token}.data", data)
        meta = {"name": name, "format": fmt, "replace": bool(form.replace.data),
                "default_category": default_category, "user_id": current_user().id,
                "uploaded_at": runtime().clock.now().isoformat()}
        _write_private(folder / f"{token}.json", json.dumps(meta, ensure_ascii=False).encode("utf-8"))
    return render_template("trainer/import_preview.html", plan=plan, token=token, name=name, fmt=fmt,
                           replace=bool(form.replace.data), rows=len(rows) + len(parse_errors),
                           category_moves=sorted(moves.items()))


@bp.post("/import/<token>/confirm")
@trainer_only
def import_confirm(token: str):
    data, meta_path, meta = _pending(token)
    try:
        rows, parse_errors = transfer.parse_bytes(data.read_bytes(), meta["format"])
        if meta.get("default_category") in CATEGORIES:
            rows, _moves = assign_categories(rows, meta["default_category"])
        with unit_of_work() as s:
            report = kb_articles.import_rows(s, runtime().clock, rows, replace=bool(meta.get("replace")), by=current_username(),
                                          parse_errors=parse_errors)
    except DomainError as exc:
        flash(f"{exc.message}", "error")
        _discard(data, meta_path)
        return redirect(url_for("trainer.import_"))
    _discard(data, meta_path)
    catch_up()
    flash(f"导入完成（{meta.get('name')}）：{report.summary()}。", "success")
    return redirect(url_for("trainer.articles"))


@bp.post("/import/<token>/cancel")
@trainer_only
def import_cancel(token: str):
    data, meta_path, _meta = _pending(token)
    _discard(data, meta_path)
    flash("已取消导入，未做任何改动。", "success")
    return redirect(url_for("trainer.import_"))


@bp.get("/export")
@trainer_only
def export():
    fmt = request.args.get("format", "jsonl")
    if fmt not in transfer.FORMATS:
        raise ValidationFailed(f"不支持的格式 {fmt}；可选：{', '.join(transfer.FORMATS)}。", code="bad_format")
    records = kb_articles.export_records(db())
    stamp = runtime().clock.now().astimezone(BEIJING).strftime("%Y%m%d-%H%M")
    body = transfer.dump_bytes(records, fmt)
    return Response(body, mimetype=transfer.MEDIA_TYPES[fmt].split(";")[0],
                    headers={"Content-Disposition": f'attachment; filename="kb-{stamp}.{fmt}"',
                             "Content-Type": transfer.MEDIA_TYPES[fmt]})
