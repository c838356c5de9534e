"""``bankdrill users``: create and list accounts, print API tokens."""

from __future__ import annotations

import json
import secrets
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from sandbox.accounts import services as accounts
from sandbox.cli import CommandError
from sandbox.errors import DomainError


@click.group("users")
def users() -> None:
    """用户与角色。"""


@users.command("create")
@click.argument("name")
@click.option("--role", required=True, help="candidate | examiner | trainer | admin")
@click.option("--password", default=None, help="不给出时：交互式输入，非交互环境自动生成并打印")
@click.option("--display-name", default="", help="显示名")
@with_appcontext
def create(name: str, role: str, password: str | None, display_name: str) -> None:
    """创建用户。"""
    runtime = current_app.extensions["bankdrill"]
    generated = False
    if password is None:
        if sys.stdin.isatty():
            password = click.prompt("密码", hide_input=True, confirmation_prompt=True)
        else:
            password = f"{secrets.token_urlsafe(9)}{secrets.randbelow(90) + 10}"
            generated = True
    try:
        with runtime.transaction() as s:
            accounts.create_user(s, runtime.clock, name, role, password, display_name)
    except DomainError as exc:
        raise CommandError(exc.message) from exc
    click.echo(f"已创建用户 {name}（{accounts.ROLES[role]}）。")
    if generated:
        click.echo(f"初始密码：{password}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_(as_json: bool) -> None:
    """列出用户。"""
    runtime = current_app.extensions["bankdrill"]
    with runtime.transaction() as s:
        rows = [{"username": u.username, "role": u.role, "display_name": u.display_name,
                 "active": u.active} for u in accounts.list_users(s)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['username']:<16} {accounts.ROLES[row['role']]:<6} {row['display_name']}")


@users.command("token")
@click.argument("name")
@with_appcontext
def token(name: str) -> None:
    """为用户生成一个 API 令牌（只显示这一次）。"""
    runtime = current_app.extensions["bankdrill"]
    try:
        with runtime.transaction() as s:
            value = accounts.issue_token(s, runtime.clock, accounts.get_user(s, name))
    except DomainError as exc:
        raise CommandError(exc.message) from exc
    click.echo(value)
