"""Login and logout pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from sandbox.accounts.services import authenticate
from sandbox.errors import DomainError
from sandbox.web.forms import LoginForm
from sandbox.web.glue import db, runtime
from sandbox.web.security import public

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        s = db()
        try:
            user = authenticate(s, runtime().clock, form.username.data, form.password.data)
        except DomainError as exc:
            s.commit()  # keep the failure count
            flash(exc.message, "error")
            status = 429 if exc.status == 429 else 401
        else:
            s.commit()
            session.clear()
            session["uid"] = user.id
            session["role"] = user.role
            session.permanent = False
            return redirect(_safe_next(request.args.get("next")) or url_for("main.dashboard"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@public
def logout():
    session.clear()
    flash("您已退出登录。", "info")
    return redirect(url_for("auth.login"))
