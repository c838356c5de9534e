"""Dashboard and administration pages."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, flash, redirect, render_template, url_for

from sandbox.errors import DomainError
from sandbox.roles import ADMIN
from sandbox.users.services import create_user, list_users
from sandbox.web.forms import CreateUserForm
from sandbox.web.request_context import current_user
from sandbox.web.security import any_user, public, roles_required
from sandbox.web.tx import db, runtime, unit_of_work

bp = Blueprint("main", __name__)


@bp.route("/")
@any_user
def dashboard():
    return render_template("main/dashboard.html", user=current_user())


@bp.get("/favicon.ico")
@public
def favicon():
    """The site icon where browsers and tools look for it by default (pages also link the SVG)."""
    global _FAVICON
    if _FAVICON is None:
        _FAVICON = (Path(current_app.static_folder) / "favicon.ico").read_bytes()
    response = Response(_FAVICON, mimetype="image/vnd.microsoft.icon")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


_FAVICON: bytes | None = None


@bp.route("/admin/users", methods=["GET", "POST"])
@roles_required(ADMIN)
def users():
    form = CreateUserForm()
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work() as s:
                user = create_user(s, runtime().clock, form.username.data, form.role.data,
                                   form.password.data, form.display_name.data or "")
        except DomainError as exc:
            flash(exc.message, "error")
            status = 400
        else:
            flash(f"已创建用户 {user.username}。", "success")
            return redirect(url_for("main.users"))
    return render_template("main/users.html", form=form, users=list_users(db())), status
