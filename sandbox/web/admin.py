"""The administrator's pages beyond the user list: password reset, role, deactivation, backup and restore.

Every action has a confirmation step: a GET shows what will happen, and only the POST of
that page (with its CSRF token) does it. Backup and restore use the same logical zip as
``bankdrill backup`` / ``bankdrill restore`` (``sandbox.backup``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from pathlib import Path

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectChoice, SelectField, SubmitField
from wtforms.validators import DataRequired

from sandbox import backup as backups
from sandbox.bank.masking import Clear
from sandbox.batch_writer import flush_batch_writers
from sandbox.clock import BEIJING
from sandbox.errors import Conflict, DomainError, NotFound, ValidationFailed
from sandbox.migrate import current_revision
from sandbox.roles import ADMIN, ROLES
from sandbox.users import services as accounts
from sandbox.web.request_context import current_user
from sandbox.web.security import roles_required, upload_limit
from sandbox.web.tx import db, discard, runtime, unit_of_work

bp = Blueprint("admin", __name__, url_prefix="/admin")
log = logging.getLogger("sandbox.security")

STAGING_DIR = "restore-staging"
WORK_DIR = "admin-backups"
TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
MAX_BACKUP_UPLOAD = 512 * 1024 * 1024


class ConfirmForm(FlaskForm):
    submit = SubmitField("确认")


class RoleForm(FlaskForm):
    role = SelectField("新角色", choices=[SelectChoice(value, label) for value, label in ROLES.items()])
    submit = SubmitField("确认修改")


class BackupForm(FlaskForm):
    understood = BooleanField("我知道备份文件含全部数据（完整证件号、手机号、成绩和密码哈希），会妥善保管",
                              validators=[DataRequired("请先勾选确认。")])
    submit = SubmitField("下载备份")


class RestoreForm(FlaskForm):
    file = FileField("备份文件（.zip）", validators=[FileRequired("请选择备份文件。")])
    submit = SubmitField("上传并检查")


def _private_dir(name: str) -> Path:
    """A folder in the instance only this process's user can read (backups hold every secret)."""
    path = runtime().settings.home / name
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _target(user_id: int):  # type: ignore[no-untyped-def]
    return accounts.get_user_by_id(db(), user_id)


def _confirm_page(user, action: str, title: str, lines: list[str], button: str, danger: bool = False,
                  form: FlaskForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("admin/confirm.html", target=user, title=title, lines=lines, button=button,
                           danger=danger, form=form or ConfirmForm(),
                           action=url_for(f"admin.{action}", user_id=user.id)), status


# --- users ------------------------------------------------------------------------------

@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@roles_required(ADMIN)
def reset_password(user_id: int):
    """Give the user a new random password, shown once; their sessions and tokens end."""
    user = _target(user_id)
    form = ConfirmForm()
    lines = [f"将为 {user.label}（{user.username}）生成一个新密码，原密码立即失效。",
             "该用户所有已登录的浏览器和 API 令牌都会立即失效。",
             "新密码只在下一页显示一次，请当面或通过安全渠道告知本人。"]
    if not form.validate_on_submit():
        return _confirm_page(user, "reset_password", "重置密码", lines, "确认重置", True, form,
                             400 if request.method == "POST" else 200)
    with unit_of_work() as s:
        user = s.merge(user)
        password = accounts.reset_password(s, runtime().clock, user)
    log.info("admin %s reset the password of %s", current_user().username, user.username)
    # Rendered, never flashed: the flash would sit in the (signed, not encrypted) cookie.
    return render_template("admin/password_done.html", target=user, password=password)


@bp.route("/users/<int:user_id>/role", methods=["GET", "POST"])
@roles_required(ADMIN)
def change_role(user_id: int):
    """Give the user another role (the last active administrator keeps theirs)."""
    user = _target(user_id)
    form = RoleForm()
    if request.method == "GET":
        form.role.data = user.role
    lines = [f"当前角色：{ROLES[user.role]}。修改后立即生效（该用户下一次操作即按新角色判断权限）。"]
    if not form.validate_on_submit():
        return _confirm_page(user, "change_role", f"修改 {user.label} 的角色", lines, "确认修改", False, form,
                             400 if request.method == "POST" else 200)
    try:
        with unit_of_work() as s:
            user = s.merge(user)
            old = user.role
            accounts.set_role(s, user, form.role.data)
    except DomainError as exc:
        flash(exc.message, "error")
        return _confirm_page(user, "change_role", f"修改 {user.label} 的角色", lines, "确认修改", False, form, exc.status)
    log.info("admin %s changed the role of %s from %s to %s", current_user().username, user.username, old, user.role)
    flash(f"已将 {user.username} 的角色改为{ROLES[user.role]}。", "success")
    return redirect(url_for("main.users"))


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@roles_required(ADMIN)
def deactivate(user_id: int):
    """Stop the user logging in; their sessions and tokens end at once."""
    user = _target(user_id)
    form = ConfirmForm()
    lines = [f"停用后 {user.label}（{user.username}）不能再登录；已登录的浏览器和 API 令牌立即失效。",
             "其历史数据（演练、成绩、工单）保留，可随时重新启用。"]
    if not form.validate_on_submit():
        return _confirm_page(user, "deactivate", "停用用户", lines, "确认停用", True, form,
                             400 if request.method == "POST" else 200)
    try:
        if user.id == current_user().id:
            raise Conflict("不能停用自己的账号；请由另一名管理员操作。", code="cannot_deactivate_self")
        with unit_of_work() as s:
            user = s.merge(user)
            result = accounts.deactivate(s, user)
    except DomainError as exc:
        flash(exc.message, "error")
        return _confirm_page(user, "deactivate", "停用用户", lines, "确认停用", True, form, exc.status)
    log.info("admin %s deactivated %s", current_user().username, user.username)
    flash(f"已停用 {user.username}：结束 {result['sessions_ended']} 个登录会话，吊销 {result['tokens_revoked']} 个令牌。",
          "success")
    return redirect(url_for("main.users"))


@bp.route("/users/<int:user_id>/activate", methods=["GET", "POST"])
@roles_required(ADMIN)
def activate(user_id: int):
    """Let a deactivated user log in again."""
    user = _target(user_id)
    form = ConfirmForm()
    lines = [f"重新启用后 {user.label}（{user.username}）可以用原密码登录。"]
    if not form.validate_on_submit():
        return _confirm_page(user, "activate", "启用用户", lines, "确认启用", False, form,
                             400 if request.method == "POST" else 200)
    with unit_of_work() as s:
        user = s.merge(user)
        accounts.activate(s, user)
    log.info("admin %s activated %s", current_user().username, user.username)
    flash(f"已启用 {user.username}。", "success")
    return redirect(url_for("main.users"))


# --- backup and restore -----------------------------------------------------------------------

def _backup_page(backup_form: BackupForm | None = None, restore_form: RestoreForm | None = None,
                 status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("admin/backup.html", backup_form=backup_form or BackupForm(),
                           restore_form=restore_form or RestoreForm()), status


@bp.get("/backup")
@roles_required(ADMIN)
def backup_page():
    return _backup_page()


@bp.post("/backup/download")
@roles_required(ADMIN)
def backup_download():
    """The whole instance as the ``bankdrill backup`` zip, after the admin ticked the warning."""
    form = BackupForm()
    if not form.validate_on_submit():
        flash("请先勾选确认，再下载备份。", "error")
        return _backup_page(backup_form=form, status=400)
    rt = runtime()
    folder = _private_dir(WORK_DIR)
    path = folder / f"{secrets.token_hex(16)}.zip"
    flush_batch_writers(rt)  # the backup holds every search and token use made before it
    try:
        info = backups.backup(rt.engine, path, rt.clock.now())
        stream = path.open("rb")  # streamed from the open file; the name is gone at once
    finally:
        path.unlink(missing_ok=True)
    log.info("admin %s downloaded a backup (%d rows)", current_user().username, info.rows)
    stamp = rt.clock.now().astimezone(BEIJING).strftime("%Y%m%d-%H%M")
    return send_file(stream, mimetype="application/zip", as_attachment=True,
                     download_name=f"bankdrill-backup-{stamp}.zip", max_age=0)


def _staged(token: str) -> tuple[Path, dict]:
    """The upload waiting for confirmation; 404 when gone, malformed or another admin's."""
    if not TOKEN_RE.match(token or ""):
        raise NotFound("待恢复的备份不存在或已失效，请重新上传。", code="restore_not_found")
    folder = _private_dir(STAGING_DIR)
    path, meta_path = folder / f"{token}.zip", folder / f"{token}.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise NotFound("待恢复的备份不存在或已失效，请重新上传。", code="restore_not_found") from None
    if meta.get("user_id") != current_user().id or not path.exists():
        raise NotFound("待恢复的备份不存在或已失效，请重新上传。", code="restore_not_found")
    return path, meta


def _discard(token: str) -> None:
    folder = _private_dir(STAGING_DIR)
    for suffix in (".zip", ".json"):
        (folder / f"{token}{suffix}").unlink(missing_ok=True)


def _check_backup(path: Path) -> backups.BackupInfo:
    """Refuse a backup that cannot be restored here, before anything is replaced."""
    info = backups.inspect(path)
    backups.check_revision(info.revision, current_revision(runtime().engine))
    users = backups.read_rows(path, "users")
    if not any(u.get("role") == ADMIN and u.get("active") for u in users):
        raise ValidationFailed("该备份中没有启用中的管理员账号，恢复后将无人能管理本实例，已拒绝。", code="backup_without_admin")
    return info


@bp.post("/restore")
@roles_required(ADMIN)
@upload_limit(MAX_BACKUP_UPLOAD)
def restore_upload():
    """Keep the uploaded zip aside, check it, and show what a restore would replace."""
    form = RestoreForm()
    if not form.validate_on_submit():
        flash("请选择要恢复的备份文件（.zip）。", "error")
        return _backup_page(restore_form=form, status=400)
    folder = _private_dir(STAGING_DIR)
    for old in folder.iterdir():  # one pending restore at a time: an older upload is discarded
        old.unlink(missing_ok=True)
    token = secrets.token_hex(16)
    path = folder / f"{token}.zip"
    form.file.data.save(str(path))
    os.chmod(path, 0o600)
    try:
        info = _check_backup(path)
    except DomainError as exc:
        _discard(token)
        flash(f"{exc.message}（未做任何改动）", "error")
        return _backup_page(restore_form=form, status=400)
    meta = {"user_id": current_user().id, "name": os.path.basename(form.file.data.filename or "")[:200]}
    (folder / f"{token}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    # The token is a random nonce, not a customer's number: shown in clear (a digit run in it may
    # look like a mobile number to the page's redaction, which would break the link).
    return render_template("admin/restore_confirm.html", info=info, name=meta["name"], form=ConfirmForm(),
                           confirm_url=Clear(url_for("admin.restore_confirm", token=token)))


@bp.post("/restore/<token>")
@roles_required(ADMIN)
def restore_confirm(token: str):
    """Replace every table with the staged backup's (one transaction), then rebuild the search index."""
    from knowledge_base.articles import bump_version
    from knowledge_base.search import get_kb

    path, meta = _staged(token)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if request.form.get("cancel"):
        _discard(token)
        flash("已取消恢复，未做任何改动。", "success")
        return redirect(url_for("admin.backup_page"))
    rt = runtime()
    discard()  # nothing of this request's session may hold the database while every table is replaced
    try:
        _check_backup(path)
        flush_batch_writers(rt)  # searches and token uses made before the restore go into the old data
        restored = backups.restore(rt.engine, path)
    except DomainError as exc:
        _discard(token)
        flash(f"{exc.message}（未做任何改动）", "error")
        return _backup_page(status=400)
    _discard(token)
    with rt.transaction() as s:
        bump_version(s, rt.clock, full=True)  # every process reloads its search index
    articles = get_kb(rt).rebuild()
    log.warning("admin %s restored a backup (%s, %d rows)", g.user.username, meta.get("name"), restored.rows)
    still_in = accounts.user_for_session(db(), rt.clock, g.get("session_sid")) is not None
    discard()
    return render_template("admin/restore_done.html", info=restored, articles=articles, name=meta.get("name"),
                           still_logged_in=still_in)
