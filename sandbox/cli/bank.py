"""``bankdrill bank``: the mock bank for staff (full details, never shown to candidates)."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from sandbox.bank import lookups


@click.group("bank")
def bank() -> None:
    """模拟银行（面向工作人员，显示完整信息）。"""


@bank.command("customers")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（含完整证件号、手机号、卡号）")
@with_appcontext
def customers(as_json: bool) -> None:
    """列出全部模拟客户及核验要素（完整信息，仅供考官/培训师备考使用）。"""
    runtime = current_app.extensions["bankdrill"]
    with runtime.transaction() as s:
        rows = lookups.staff_customers(s)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("还没有模拟客户（请先运行 bankdrill init）。")
        return
    for r in rows:
        click.echo(f"{r['id']}  {r['name']:<6} {r['gender']}  证件 {r['id_number']}  手机 {r['phone']}  "
                   f"{r['segment']} {r['risk_level']}  {r['magic'] or ''}")
        for a in r["accounts"]:
            click.echo(f"      账户 {a['number']}  {a['kind']} {a['status']}  余额 {a['balance']}")
        for k in r["cards"]:
            click.echo(f"      信用卡 {k['number']}  {k['product']} {k['status']}")
