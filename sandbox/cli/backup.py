"""``bankdrill backup FILE`` and ``bankdrill restore FILE [--yes]``: the whole instance."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from sandbox import backup as backups
from sandbox import migrate
from sandbox.batch_writer import flush_batch_writers
from sandbox.cli.errors import CommandError
from sandbox.db import check_connection
from sandbox.errors import DomainError


def _runtime():
    return current_app.extensions["bankdrill"]


@click.command("backup")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@with_appcontext
def backup(file: Path) -> None:
    """把整个实例（所有数据表）备份为一个 zip 文件（JSON，可在 SQLite 与 PostgreSQL 之间迁移）。"""
    runtime = _runtime()
    try:
        check_connection(runtime.engine)
        flush_batch_writers(runtime)
        info = backups.backup(runtime.engine, file, runtime.clock.now())
    except DomainError as exc:
        raise CommandError(exc.message) from exc
    except OSError as exc:
        raise CommandError(f"无法写入 {file}：{exc.strerror or exc}") from exc
    click.echo(f"已备份 {len(info.tables)} 张表、{info.rows} 行到 {file}（数据库版本 {info.revision}）。")


@click.command("restore")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--yes", is_flag=True, help="不再确认")
@with_appcontext
def restore(file: Path, yes: bool) -> None:
    """用备份替换本实例的全部数据（一个事务内完成），然后重建检索索引。"""
    from knowledge_base.articles import bump_version
    from knowledge_base.search import get_kb

    runtime = _runtime()
    try:
        info = backups.inspect(file)
        check_connection(runtime.engine)
        migrate.upgrade(runtime.settings.database_url)
    except DomainError as exc:
        raise CommandError(exc.message) from exc
    if not yes and not click.confirm(
            f"将用 {file}（{info.created_at}，{info.rows} 行）替换本实例的全部数据（含考试成绩），确定继续吗？",
            default=False):
        raise CommandError("已取消，未做任何改动。")
    try:
        flush_batch_writers(runtime)  # searches and token uses made before the restore go into the old data
        restored = backups.restore(runtime.engine, file)
    except DomainError as exc:
        raise CommandError(f"{exc.message}（未做任何改动）") from exc
    # Every running process notices the new KB version and reloads; then rebuild the index here.
    with runtime.transaction() as s:
        bump_version(s, runtime.clock, full=True)
    count = get_kb(runtime).rebuild()
    click.echo(f"已恢复 {len(restored.tables)} 张表、{restored.rows} 行；检索索引已重建（{count} 篇文章）。")
