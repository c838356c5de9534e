"""``bankdrill users``: create, list, deactivate and reset accounts; issue, list and revoke API tokens."""

from __future__ import annotations

import json
import secrets
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from sandbox.cli.errors import CommandError
from sandbox.errors import DomainError
from sandbox.roles import ROLES
from sandbox.users import services as accounts


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
    click.echo(f"已创建用户 {name}（{ROLES[role]}）。")
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
        state = "" if row["active"] else "  （已停用）"
        click.echo(f"{row['username']:<16} {ROLES[row['role']]:<6} {row['display_name']}{state}")


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


def _local(moment) -> str:  # type: ignore[no-untyped-def]
    from sandbox.clock import BEIJING

    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if moment else "—"


@users.command("tokens")
@click.argument("name")
@click.option("--revoke", "revoke", default=None, metavar="ID|all", help="吊销编号为 ID 的令牌，或 all 吊销全部")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def tokens(name: str, revoke: str | None, as_json: bool) -> None:
    """列出用户的 API 令牌（编号、前缀、创建与最近使用时间，北京时间），或吊销令牌。"""
    runtime = current_app.extensions["bankdrill"]
    token_id = None
    if revoke is not None and revoke != "all":
        try:
            token_id = int(revoke)
        except ValueError as exc:
            raise CommandError(f"--revoke 只能是令牌编号或 all（收到 {revoke!r}）。") from exc
    try:
        with runtime.transaction() as s:
            user = accounts.get_user(s, name)
            if revoke is not None:
                count = accounts.revoke_tokens(s, user, token_id)
            else:
                rows = [{"id": t.id, "prefix": t.prefix, "created_at": t.created_at.isoformat(),
                         "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                         "created": _local(t.created_at), "last_used": _local(t.last_used_at)}
                        for t in accounts.list_tokens(s, user)]
    except DomainError as exc:
        raise CommandError(exc.message) from exc
    if revoke is not None:
        click.echo(f"已吊销用户 {name} 的 {count} 个令牌；使用它们的请求会立即被拒绝（401）。")
        return
    if as_json:
        click.echo(json.dumps([{k: r[k] for k in ("id", "prefix", "created_at", "last_used_at")} for r in rows],
                              ensure_ascii=False))
        return
    if not rows:
        click.echo(f"用户 {name} 没有 API 令牌。")
        return
    click.echo(f"{'编号':<6}{'前缀':<14}{'创建时间':<18}最近使用")
    for r in rows:
        click.echo(f"{r['id']:<8}{r['prefix'] + '…':<15}{r['created']:<22}{r['last_used']}")


@users.command("deactivate")
@click.argument("name")
@with_appcontext
def deactivate(name: str) -> None:
    """停用用户：立即结束其全部登录会话并吊销全部 API 令牌，之后不能登录。"""
    runtime = current_app.extensions["bankdrill"]
    try:
        with runtime.transaction() as s:
            result = accounts.deactivate(s, accounts.get_user(s, name))
    except DomainError as exc:
        raise CommandError(exc.message) from exc
    click.echo(f"已停用用户 {name}：结束 {result['sessions_ended']} 个登录会话，吊销 {result['tokens_revoked']} 个令牌。")


@users.command("activate")
@click.argument("name")
@with_appcontext
def activate(name: str) -> None:
    """重新启用已停用的用户。"""
    runtime = current_app.extensions["bankdrill"]
    try:
        with runtime.transaction() as s:
            accounts.activate(s, accounts.get_user(s, name))
    except DomainError as exc:
        raise CommandError(exc.message) from exc
    click.echo(f"已启用用户 {name}。")


@users.command("reset-password")
@click.argument("name")
@with_appcontext
def reset_password(name: str) -> None:
    """为用户生成新密码（只显示这一次），并结束其全部会话和令牌。"""
    runtime = current_app.extensions["bankdrill"]
    try:
        with runtime.transaction() as s:
            password = accounts.reset_password(s, runtime.clock, accounts.get_user(s, name))
    except DomainError as exc:
        raise CommandError(exc.message) from exc
    click.echo(f"已重置用户 {name} 的密码，原有登录会话和令牌均已失效。")
    click.echo(f"新密码（只显示这一次）：{password}")
