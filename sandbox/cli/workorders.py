"""``bankdrill workorders``: list work orders (an examiner's view of every order)."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from sandbox.cli.errors import CommandError
from sandbox.errors import DomainError
from sandbox.roles import ADMIN
from workorders import access, presentation, queries


@click.group("workorders")
def workorders() -> None:
    """工单。"""


@workorders.command("list")
@click.option("--queue", default=None, help="队列，如 信用卡中心")
@click.option("--status", default=None, help="状态，如 处理中")
@click.option("--overdue", type=click.Choice(["true", "false"]), default=None, help="只看超时 / 未超时")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@with_appcontext
def list_(queue: str | None, status: str | None, overdue: str | None, limit: int, as_json: bool) -> None:
    """列出工单（最新在前），超时的标出「超时」。"""
    runtime = current_app.extensions["bankdrill"]
    system = access.Actor(user_id=0, role=ADMIN, label="命令行")
    try:
        f = queries.parse_filter({"queue": queue, "status": status, "overdue": overdue, "limit": limit})
        with runtime.transaction() as s:
            now = runtime.clock.now()
            rows = [presentation.order_to_dict(o, now, history=False)
                    for o in queries.list_orders(s, runtime.clock, system, f)]
    except DomainError as exc:
        raise CommandError(exc.message) from exc
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        click.echo("没有符合条件的工单。")
        return
    for r in rows:
        flag = "  超时" if r["overdue"] else ""
        click.echo(f"{r['number']}  {r['status']:<4} {r['priority']:<2} {r['type']:<4} {r['queue']:<6} {r['title']}{flag}")
