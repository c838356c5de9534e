"""``bankdrill round``: list rounds and export their results."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from sandbox.cli.errors import CommandError
from sandbox.errors import DomainError
from sandbox.exam import rounds as exam
from sandbox.exam.models import Round


@click.group("round")
def round_group() -> None:
    """考试场次：列表、导出成绩。"""


@round_group.command("list")
@with_appcontext
def list_() -> None:
    """列出考试场次。"""
    runtime = current_app.extensions["bankdrill"]
    with runtime.transaction() as s:
        for r in s.scalars(select(Round).order_by(Round.id)):
            click.echo(f"{r.id:>4}  {exam.STATUS_LABELS[r.status]:<4} 加入码 {r.join_code}  "
                       f"考生 {len(r.candidates):>3}  {r.name}")


@round_group.command("export")
@click.argument("round_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None, help="输出文件（默认：round-ID.格式）")
@with_appcontext
def export(round_id: int, fmt: str, output: Path | None) -> None:
    """导出一场考试的成绩（每位考生每个场景一行，含五个维度；未完成的行会标明）。"""
    runtime = current_app.extensions["bankdrill"]
    try:
        with runtime.transaction() as s:
            data = exam.results(s, exam.get_round(s, round_id))
    except DomainError as exc:
        raise CommandError(exc.message) from exc
    payload = exam.export_csv(data) if fmt == "csv" else exam.export_xlsx(data)
    target = output or Path(f"round-{round_id}.{fmt}")
    if str(target) == "-":
        sys.stdout.buffer.write(payload)
        return
    try:
        target.write_bytes(payload)
    except OSError as exc:
        raise CommandError(f"无法写入 {target}：{exc.strerror or exc}") from exc
    incomplete = sum(1 for r in data["rows"] if not r["complete"])
    note = f"，其中 {incomplete} 行未完成" if incomplete else ""
    click.echo(f"已导出 {len(data['rows'])} 行到 {target}{note}。")
