"""Import/export files: JSON lines, CSV, YAML and XLSX, one article per row/item.

CSV and XLSX cells for ``questions`` and ``tags`` hold a JSON array (what export
writes); on import a cell may also list items separated by ``|`` or new lines. An
XLSX file is read from its first sheet, header in row 1; line numbers are sheet rows.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from knowledge_base.articles import FIELDS, RowError
from sandbox.errors import ValidationFailed
from sandbox.safe_load import (
    UnsafeInput,
    YamlLimits,
    ZipLimits,
    bad_text_reason,
    check_zip,
    iter_csv,
    load_json,
    load_yaml,
    yaml_error_line,
)
from sandbox.spreadsheet import restore_cell, write_csv, write_xlsx

FORMATS = ("jsonl", "csv", "yaml", "xlsx")
BINARY_FORMATS = ("xlsx",)
MEDIA_TYPES = {"jsonl": "application/x-ndjson; charset=utf-8", "csv": "text/csv; charset=utf-8",
               "yaml": "application/yaml; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
MAX_XLSX_ROWS = 100_000
MAX_JSON_DEPTH = 16  # an article record is two levels deep
# Whole-file caps, checked before parsing (the web upload is also capped at 16 MB by Flask).
YAML_LIMITS = YamlLimits(max_bytes=32 * 1024 * 1024, max_nodes=1_000_000, max_depth=16)
XLSX_LIMITS = ZipLimits(max_entries=500, max_total=256 * 1024 * 1024, max_ratio=100)
LIST_FIELDS = ("questions", "tags", "forbidden_claims")
# The names other knowledge bases and the FAQ spreadsheets of customer-service platforms give
# the same fields (标准问 / 相似问 / 答案 …), matched after trimming, upper-cased. Export always
# writes the English names.
FIELD_ALIASES: dict[str, str] = {
    **dict.fromkeys(("编号", "ID", "知识编号", "问题编号", "文章编号", "KEY"), "id"),
    **dict.fromkeys(("标题", "标准问", "标准问题", "标准问法", "问题", "QUESTION", "TITLE"), "title"),
    **dict.fromkeys(("相似问", "相似问法", "相似问题", "扩展问", "扩展问法", "扩展问题", "SIMILAR_QUESTIONS"),
                    "questions"),
    **dict.fromkeys(("答案", "回答", "标准答案", "规范话术", "答复", "ANSWER"), "answer"),
    **dict.fromkeys(("通俗版", "通俗答案", "通俗说法"), "plain_answer"),
    **dict.fromkeys(("分类", "类别", "业务分类", "业务类别", "CATEGORY"), "category"),
    **dict.fromkeys(("标签", "关键词", "TAGS"), "tags"),
    **dict.fromkeys(("状态", "STATUS"), "status"),
    **dict.fromkeys(("禁止说法",), "forbidden_claims"),
}
DERIVED_ID_PREFIX = "Q-"


def canonical_field(name: str) -> str:
    """The field a column or key name stands for (itself when it is no known name)."""
    key = name.strip()
    if key in FIELDS:
        return key
    return FIELD_ALIASES.get(key.upper(), key)


def derived_id(title: str) -> str:
    """A stable id for an article given without one: the same title gives the same id on every
    import, so re-importing the file updates the articles instead of adding copies."""
    return DERIVED_ID_PREFIX + hashlib.sha1(" ".join(title.split()).encode("utf-8")).hexdigest()[:12]


def _canonical_rows(rows: list[tuple[int, Any]], errors: list[RowError]) -> list[tuple[int, Any]]:
    """Rename alias keys to the fields and give id-less rows their derived id; a row naming one
    field twice (``title`` and ``标题``) becomes an error."""
    kept: list[tuple[int, Any]] = []
    for line, raw in rows:
        if not isinstance(raw, dict):
            kept.append((line, raw))
            continue
        record: dict[Any, Any] = {}
        clash = None
        for key, value in raw.items():
            name = canonical_field(key) if isinstance(key, str) else key
            if name in record:
                clash = name
                break
            record[name] = value
        if clash is not None:
            errors.append(RowError(line, f"有两列（键）都表示字段 {clash}，请只保留一个"))
            continue
        if record.get("id") in (None, "") and isinstance(record.get("title"), str) and record["title"].strip():
            record["id"] = derived_id(record["title"])
        kept.append((line, record))
    return kept


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise ValidationFailed(f"不支持的格式 {fmt}；可选：{', '.join(FORMATS)}。", code="bad_format")
        return fmt
    suffix = path.suffix.lower().lstrip(".")
    return {"csv": "csv", "yaml": "yaml", "yml": "yaml", "xlsx": "xlsx"}.get(suffix, "jsonl")


def read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError as exc:
        raise ValidationFailed(f"找不到文件 {path}。", code="file_not_found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"无法读取文件 {path}（需 UTF-8 编码）：{exc}", code="file_unreadable") from exc


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ValidationFailed(f"找不到文件 {path}。", code="file_not_found") from exc
    except OSError as exc:
        raise ValidationFailed(f"无法读取文件 {path}：{exc.strerror or exc}", code="file_unreadable") from exc


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"文件不是 UTF-8 编码（第 {exc.start + 1} 个字节处无法解码）。",
                               code="file_unreadable") from exc


def parse_bytes(data: bytes, fmt: str) -> tuple[list[tuple[int, Any]], list[RowError]]:
    """Like :func:`parse` for the raw bytes of a file of any format (XLSX included)."""
    if fmt == "xlsx":
        rows, errors = _parse_xlsx(data)
        return _screen(_canonical_rows(rows, errors), errors)
    return parse(decode(data), fmt)


def parse(text: str, fmt: str) -> tuple[list[tuple[int, Any]], list[RowError]]:
    """(line, raw record) rows and the rows that could not even be parsed.

    Parsing goes through :mod:`sandbox.safe_load` (no YAML aliases, capped size, nodes,
    depth and CSV fields); a row holding text no database can store (NUL, a lone
    surrogate) becomes a row error. Callers parse before opening any transaction.
    """
    parser = {"csv": _parse_csv, "yaml": _parse_yaml}.get(fmt, _parse_jsonl)
    rows, errors = parser(text)
    return _screen(_canonical_rows(rows, errors), errors)


def _bad_text(value: Any) -> str | None:
    if isinstance(value, str):
        return bad_text_reason(value)
    if isinstance(value, dict):
        return next((r for r in map(_bad_text, [*value.keys(), *value.values()]) if r), None)
    if isinstance(value, (list, tuple)):
        return next((r for r in map(_bad_text, value) if r), None)
    return None


def _screen(rows: list[tuple[int, Any]], errors: list[RowError]) -> tuple[list[tuple[int, Any]], list[RowError]]:
    """Move rows with unstorable text to the errors."""
    kept = []
    for line, record in rows:
        reason = _bad_text(record)
        if reason:
            errors.append(RowError(line, f"{reason}，请删除后重新导入"))
        else:
            kept.append((line, record))
    return kept, sorted(errors, key=lambda e: e.line)


def _parse_jsonl(text: str) -> tuple[list[tuple[int, Any]], list[RowError]]:
    rows, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, load_json(line, max_depth=MAX_JSON_DEPTH, text_check=False)))
        except json.JSONDecodeError as exc:
            errors.append(RowError(number, f"不是有效的 JSON（{exc.msg}，第 {exc.colno} 列）"))
        except UnsafeInput as exc:
            errors.append(RowError(number, exc.reason))
    return rows, errors


def _split_cell(value: str) -> Any:
    value = (value or "").strip()
    if not value:
        return []
    if value.startswith("["):
        try:
            return load_json(value, max_depth=MAX_JSON_DEPTH, text_check=False)
        except (json.JSONDecodeError, UnsafeInput):
            pass
    return [part.strip() for part in value.replace("\r", "").replace("\n", "|").split("|") if part.strip()]


def _parse_csv(text: str) -> tuple[list[tuple[int, Any]], list[RowError]]:
    rows: list[tuple[int, Any]] = []
    errors: list[RowError] = []
    records = iter_csv(text)
    try:
        try:
            _line, header = next(records)
        except StopIteration:
            return rows, errors
        header = [canonical_field(h) for h in header]
        problem = _header_problem(header)
        if problem:
            return rows, [RowError(1, problem)]
        for line, cells in records:
            if any(c.strip() for c in cells):
                if len(cells) != len(header):
                    errors.append(RowError(line, f"应有 {len(header)} 列，实际 {len(cells)} 列"))
                else:
                    rows.append((line, _table_record(header, [restore_cell(c) for c in cells])))
    except UnsafeInput as exc:
        # The CSV cannot be read past this record (malformed quoting, an over-long field).
        errors.append(RowError(exc.line or 1, exc.reason))
    return rows, errors


def _header_problem(header: list[str]) -> str | None:
    """Why a CSV/XLSX header (already mapped to field names) cannot be read, or None."""
    unknown = [h for h in header if h not in FIELDS]
    twice = sorted({h for h in header if header.count(h) > 1})
    if unknown or twice or not {"id", "title"} & set(header):
        parts = [f"未知列 {', '.join(unknown)}" if unknown else "",
                 f"字段 {', '.join(twice)} 出现了不止一列" if twice else "",
                 "需要 id 或 title（标题 / 标准问）列" if not {"id", "title"} & set(header) else ""]
        return (f"表头无效（{'；'.join(p for p in parts if p)}）；可用列名：{', '.join(FIELDS)}"
                "，或其中文名（标准问、相似问、答案、分类…）")
    return None


def _table_record(header: list[str], cells: Sequence[str]) -> dict[str, Any]:
    """One CSV/XLSX row as a raw record (list cells split, empty optional cells dropped)."""
    record: dict[str, Any] = dict(zip(header, cells, strict=False))
    for name in LIST_FIELDS:
        if name in record:
            record[name] = _split_cell(record[name])
    for name in ("plain_answer", "status"):
        if name in record and not record[name]:
            record.pop(name)
    return record


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parse_xlsx(data: bytes) -> tuple[list[tuple[int, Any]], list[RowError]]:
    import openpyxl

    try:
        # The central directory first: a zip bomb is refused before anything is inflated.
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_zip(archive, XLSX_LIMITS, "XLSX 文件")
    except UnsafeInput as exc:
        return [], [RowError(1, exc.reason)]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return [], [RowError(1, f"不是有效的 XLSX 文件（{type(exc).__name__}）")]
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions some spreadsheet programs write.
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
        return [], [RowError(1, f"不是有效的 XLSX 文件（{type(exc).__name__}）")]
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        return [], [RowError(1, f"XLSX 文件已损坏或无法读取（{type(exc).__name__}）")]
    rows: list[tuple[int, Any]] = []
    errors: list[RowError] = []
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            return rows, errors
        values = sheet.iter_rows(values_only=True)
        try:
            header_cells = next(values)
        except StopIteration:
            return rows, errors
        header = [_cell_text(h).strip() for h in header_cells]
        while header and not header[-1]:
            header.pop()
        header = [canonical_field(h) for h in header]
        problem = _header_problem(header)
        if problem:
            return rows, [RowError(1, problem)]
        for line, cells in enumerate(values, start=2):
            if line > MAX_XLSX_ROWS + 1:
                errors.append(RowError(line, f"行数超过上限 {MAX_XLSX_ROWS}"))
                break
            texts = [_cell_text(c) for c in cells]
            extra = [t for t in texts[len(header):] if t.strip()]
            texts = (texts + [""] * len(header))[:len(header)]
            if not any(t.strip() for t in texts) and not extra:
                continue
            if extra:
                errors.append(RowError(line, f"表头只有 {len(header)} 列，此行多出 {len(extra)} 个非空单元格"))
                continue
            rows.append((line, _table_record(header, texts)))
    finally:
        book.close()
    return rows, errors


def _parse_yaml(text: str) -> tuple[list[tuple[int, Any]], list[RowError]]:
    try:
        data, node = load_yaml(text, YAML_LIMITS, what="YAML 文件", text_check=False)
    except UnsafeInput as exc:
        return [], [RowError(exc.line or 1, exc.reason)]
    except yaml.YAMLError as exc:
        return [], [RowError(yaml_error_line(exc) or 1, f"YAML 格式错误：{getattr(exc, 'problem', None) or exc}")]
    if data is None:
        return [], []
    if not isinstance(data, list) or node is None or not hasattr(node, "value"):
        return [], [RowError(1, "YAML 文件的顶层必须是文章列表")]
    return [(item_node.start_mark.line + 1, item) for item_node, item in zip(node.value, data, strict=True)], []


def dump(records: Sequence[dict[str, Any]], fmt: str) -> str:
    if fmt == "csv":
        # Every cell neutralised: an article text starting with "=" or "-" is never a live formula.
        return write_csv([FIELDS, *([json.dumps(r[f], ensure_ascii=False) if f in LIST_FIELDS else r[f]
                                     for f in FIELDS] for r in records)], lineterminator="\n")
    if fmt == "yaml":
        return yaml.safe_dump([{f: r[f] for f in FIELDS} for r in records], allow_unicode=True,
                              sort_keys=False, width=1000)
    return "".join(json.dumps({f: r[f] for f in FIELDS}, ensure_ascii=False) + "\n" for r in records)


def dump_bytes(records: Sequence[dict[str, Any]], fmt: str) -> bytes:
    """The export file's bytes in any format (text formats as UTF-8)."""
    if fmt == "xlsx":
        return _dump_xlsx(records)
    return dump(records, fmt).encode("utf-8")


def _dump_xlsx(records: Sequence[dict[str, Any]]) -> bytes:
    rows = [list(FIELDS)]
    for r in records:
        rows.append([json.dumps(r[name], ensure_ascii=False) if name in LIST_FIELDS else (r[name] or "")
                     for name in FIELDS])
    return write_xlsx([("articles", rows)], bold_header=False, freeze_header=False)
