"""Logical backups of a whole instance: every table of the metadata to a zip of JSON.

``backup(engine, path)`` reads every table (``import_all_models()``) in one read
transaction and writes ``manifest.json`` (format, Alembic revision, row counts) plus
``tables/<name>.json`` (column names and rows). Values are encoded by column type so
the file moves between SQLite and PostgreSQL: datetimes and dates as ISO text,
decimals as strings, bytes as base64, JSON as JSON.

``restore(engine, path)`` replaces the content of every table in one transaction:
delete children first, insert parents first (the metadata's FK order), then reset the
PostgreSQL sequences. A backup from a revision this code does not know (a newer one)
is refused. The caller rebuilds derived data (the search index) afterwards.

No Flask here; the CLI owns confirmation and messages.
"""

from __future__ import annotations

import base64
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, LargeBinary, Numeric, Table, Time, text
from sqlalchemy.engine import Connection, Engine

from sandbox import __version__
from sandbox.db import import_all_models
from sandbox.errors import ValidationFailed
from sandbox.safe_load import UnsafeInput, ZipLimits, check_zip, load_json

FORMAT = "bankdrill-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH = 500
# A backup holds one JSON file per table plus the manifest; these caps are read from the
# zip's central directory before anything is inflated (a zip bomb is refused at once).
ZIP_LIMITS = ZipLimits(max_entries=500, max_total=1024 * 1024 * 1024, max_ratio=200)
BACKUP_FILE_MODE = 0o600
MAX_JSON_DEPTH = 64  # table → rows → row → a JSON column's own nesting


@dataclass
class BackupInfo:
    revision: str | None
    created_at: str
    tables: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


# --- encoding values --------------------------------------------------------------

def _kind(column: Any) -> str:
    col_type = column.type
    impl = getattr(col_type, "impl", None)
    for candidate in (col_type, impl):
        if candidate is None:
            continue
        if isinstance(candidate, DateTime):
            return "datetime"
        if isinstance(candidate, Date):
            return "date"
        if isinstance(candidate, Time):
            return "time"
        if isinstance(candidate, Float):
            return "float"
        if isinstance(candidate, Numeric):
            return "decimal"
        if isinstance(candidate, LargeBinary):
            return "bytes"
        if isinstance(candidate, JSON):
            return "json"
        if isinstance(candidate, Boolean):
            return "bool"
        if isinstance(candidate, Integer):
            return "int"
    return "plain"


def encode_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if kind in ("date", "time"):
        return value.isoformat()
    if kind == "decimal":
        return str(value)
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind == "float":
        return float(value)
    return value


def decode_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        moment = datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "time":
        return time.fromisoformat(value)
    if kind == "decimal":
        return Decimal(value)
    if kind == "bytes":
        return base64.b64decode(value)
    if kind == "bool":
        return bool(value)
    return value


def _tables() -> list[Table]:
    return list(import_all_models().sorted_tables)


def _revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


# --- backup -------------------------------------------------------------------------

def backup(engine: Engine, path: Path, now: datetime,
           progress: Callable[[str, int], None] | None = None) -> BackupInfo:
    """Write every table to the zip file ``path`` (a consistent snapshot)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    info = BackupInfo(revision=None, created_at=now.astimezone(UTC).isoformat())
    try:
        with engine.connect().execution_options(**options) as conn, conn.begin():
            info.revision = _revision(conn)
            # Mode 0600 from the start: a backup holds every full number and the password hashes.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, BACKUP_FILE_MODE)
            if hasattr(os, "fchmod"):
                os.fchmod(fd, BACKUP_FILE_MODE)  # a leftover .part file keeps its old mode under O_TRUNC
            with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for table in _tables():
                    columns = list(table.columns)
                    kinds = [_kind(c) for c in columns]
                    order = [c for c in table.primary_key.columns] or columns
                    rows = []
                    for row in conn.execute(table.select().order_by(*order)):
                        rows.append([encode_value(k, v) for k, v in zip(kinds, row, strict=True)])
                    body = {"table": table.name, "columns": [c.name for c in columns], "rows": rows}
                    zf.writestr(f"tables/{table.name}.json", json.dumps(body, ensure_ascii=False))
                    info.tables[table.name] = len(rows)
                    if progress is not None:
                        progress(table.name, len(rows))
                manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "app_version": __version__,
                            "revision": info.revision, "created_at": info.created_at,
                            "dialect": engine.dialect.name, "tables": info.tables}
                zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return info


# --- restore ------------------------------------------------------------------------

def read_manifest(zf: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest = load_json(zf.read(MANIFEST).decode("utf-8"), max_depth=MAX_JSON_DEPTH, text_check=False)
    except (KeyError, ValueError, UnicodeDecodeError, UnsafeInput) as exc:
        raise ValidationFailed("这不是本系统的备份文件（缺少或无法读取 manifest.json）。", code="bad_backup") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValidationFailed("这不是本系统的备份文件（格式标记不符）。", code="bad_backup")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValidationFailed(f"不支持的备份格式版本 {manifest.get('format_version')}。", code="bad_backup")
    return manifest


def open_backup(path: Path) -> zipfile.ZipFile:
    """Open a backup zip after checking its entry count, unpacked size and ratios."""
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError as exc:
        raise ValidationFailed(f"找不到备份文件 {path}。", code="file_not_found") from exc
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValidationFailed(f"{path} 不是有效的备份文件（无法作为 zip 打开）。", code="bad_backup") from exc
    try:
        check_zip(zf, ZIP_LIMITS, "备份文件")
    except BaseException:
        zf.close()
        raise
    return zf


def inspect(path: Path) -> BackupInfo:
    with open_backup(path) as zf:
        manifest = read_manifest(zf)
    return BackupInfo(revision=manifest.get("revision"), created_at=str(manifest.get("created_at", "")),
                      tables=dict(manifest.get("tables") or {}))


def check_revision(backup_revision: str | None, current: str | None) -> None:
    """Refuse a backup this code cannot read: from a newer (unknown) revision, or a future one."""
    from alembic.script import ScriptDirectory

    from sandbox.migrate import alembic_config

    if backup_revision == current:
        return
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    known = {rev.revision for rev in script.walk_revisions()}
    if backup_revision is None or backup_revision not in known:
        raise ValidationFailed(f"备份来自更新的数据库版本 {backup_revision}（本程序最新为 {current}），"
                               "请先升级程序再恢复。", code="backup_too_new")
    # An older revision of ours: its tables are a subset of today's; missing columns take
    # their defaults (checked per column below).
    ancestors = {rev.revision for rev in script.iterate_revisions(current, "base")} if current else set()
    if backup_revision not in ancestors:
        raise ValidationFailed(f"备份的数据库版本 {backup_revision} 不在当前版本 {current} 的升级路径上，无法恢复。",
                               code="backup_incompatible")


def _rows_for(zf: zipfile.ZipFile, table: Table) -> list[dict[str, Any]]:
    name = f"tables/{table.name}.json"
    try:
        body = load_json(zf.read(name).decode("utf-8"), max_depth=MAX_JSON_DEPTH, text_check=False)
    except KeyError:
        return []  # a table added after the backup was made: restored empty
    except UnsafeInput as exc:
        raise ValidationFailed(f"备份中的 {name} 无法读取：{exc.reason}", code=exc.code) from exc
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        raise ValidationFailed(f"备份中的 {name} 已损坏。", code="bad_backup") from exc
    if not isinstance(body, dict):
        raise ValidationFailed(f"备份中的 {name} 已损坏。", code="bad_backup")
    columns = body.get("columns") or []
    known = {c.name: c for c in table.columns}
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise ValidationFailed(f"备份中表 {table.name} 有本程序不认识的列 {', '.join(unknown)}。", code="backup_incompatible")
    for column in table.columns:
        if column.name not in columns and not column.nullable and column.default is None \
                and column.server_default is None and not column.primary_key:
            raise ValidationFailed(f"备份中表 {table.name} 缺少必填列 {column.name}。", code="backup_incompatible")
    kinds = [_kind(known[c]) for c in columns]
    out = []
    for raw in body.get("rows") or []:
        if len(raw) != len(columns):
            raise ValidationFailed(f"备份中表 {table.name} 的一行列数不符。", code="bad_backup")
        out.append({c: decode_value(k, v) for c, k, v in zip(columns, kinds, raw, strict=True)})
    return out


def read_rows(path: Path, table_name: str) -> list[dict[str, Any]]:
    """The decoded rows of one table in a backup, to check it before restoring (e.g. who can log in)."""
    tables = {t.name: t for t in _tables()}
    with open_backup(path) as zf:
        read_manifest(zf)
        return _rows_for(zf, tables[table_name])


def restore(engine: Engine, path: Path, progress: Callable[[str, int], None] | None = None) -> BackupInfo:
    """Replace every table's content with the backup's, in one transaction.

    The whole file is read, checked and decoded first; the write transaction only
    deletes and inserts, so a damaged or hostile file never holds the database lock.
    """
    tables = _tables()
    with open_backup(path) as zf:
        manifest = read_manifest(zf)
        info = BackupInfo(revision=manifest.get("revision"), created_at=str(manifest.get("created_at", "")))
        with engine.connect() as conn:
            check_revision(info.revision, _revision(conn))
        contents = {table.name: _rows_for(zf, table) for table in tables}
    options = {"sqlite_immediate": True} if engine.dialect.name == "sqlite" else {}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        check_revision(info.revision, _revision(conn))
        for table in reversed(tables):
            conn.execute(table.delete())
        for table in tables:
            rows = contents[table.name]
            for start in range(0, len(rows), BATCH):
                conn.execute(table.insert(), rows[start:start + BATCH])
            info.tables[table.name] = len(rows)
            if progress is not None:
                progress(table.name, len(rows))
        for statement in _AFTER_RESTORE:
            conn.execute(statement)
        if engine.dialect.name == "postgresql":
            _reset_sequences(conn, tables)
    return info


# Rows an older revision wrote that today's code reads differently, put right after a restore
# (a migration does the same to a database it upgrades; a restore copies rows and runs none).
_AFTER_RESTORE = (
    # A round's faults_version of 0 means "no fault ever injected" (its drills read no faults);
    # rounds from before the counter (migration 0016) may have faults with it still at 0.
    text("UPDATE rounds SET faults_version = 1 WHERE faults_version = 0 "
         "AND EXISTS (SELECT 1 FROM injected_faults WHERE injected_faults.round_id = rounds.id)"),
)


def _reset_sequences(conn: Connection, tables: list[Table]) -> None:
    for table in tables:
        for column in table.primary_key.columns:
            if _kind(column) != "int" or column.autoincrement is False:
                continue
            sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                    {"t": table.name, "c": column.name}).scalar()
            if sequence:
                conn.execute(text(f'SELECT setval(:s, COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, '
                                  'false)'),
                             {"s": sequence})


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows per table (for checks and the CLI summary)."""
    from sqlalchemy import func, select

    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in _tables()}
