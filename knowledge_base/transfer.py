"""Import/export files: JSON lines, CSV and YAML, one article per row/item.

CSV cells for ``questions`` and ``tags`` hold a JSON array (what export writes); on
import a cell may also list items separated by ``|`` or new lines.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Sequence

import yaml

from knowledge_base.services import FIELDS, RowError
from sandbox.errors import ValidationFailed

FORMATS = ("jsonl", "csv", "yaml")
LIST_FIELDS = ("questions", "tags")


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise ValidationFailed(f"不支持的格式 {fmt}；可选：{', '.join(FORMATS)}。", code="bad_format")
        return fmt
    suffix = path.suffix.lower().lstrip(".")
    return {"csv": "csv", "yaml": "yaml", "yml": "yaml"}.get(suffix, "jsonl")


def read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError as exc:
        raise ValidationFailed(f"找不到文件 {path}。", code="file_not_found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"无法读取文件 {path}（需 UTF-8 编码）：{exc}", code="file_unreadable") from exc


def parse(text: str, fmt: str) -> tuple[list[tuple[int, Any]], list[RowError]]:
    """(line, raw record) rows and the rows that could not even be parsed."""
    if fmt == "csv":
        return _parse_csv(text)
    if fmt == "yaml":
        return _parse_yaml(text)
    return _parse_jsonl(text)


def _parse_jsonl(text: str) -> tuple[list[tuple[int, Any]], list[RowError]]:
    rows, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            errors.append(RowError(number, f"不是有效的 JSON（{exc.msg}，第 {exc.colno} 列）"))
    return rows, errors


def _split_cell(value: str) -> Any:
    value = (value or "").strip()
    if not value:
        return []
    if value.startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            pass
    return [part.strip() for part in value.replace("\r", "").replace("\n", "|").split("|") if part.strip()]


def _parse_csv(text: str) -> tuple[list[tuple[int, Any]], list[RowError]]:
    rows, errors = [], []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return rows, errors
    except csv.Error as exc:
        return rows, [RowError(1, f"CSV 格式错误：{exc}")]
    header = [h.strip() for h in header]
    unknown = [h for h in header if h not in FIELDS]
    if unknown or "id" not in header:
        return rows, [RowError(1, f"表头无效（未知列 {', '.join(unknown) or '无'}；需要 id 列）")]
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(line, f"CSV 格式错误：{exc}"))
            break
        if any(c.strip() for c in cells):
            if len(cells) != len(header):
                errors.append(RowError(line, f"应有 {len(header)} 列，实际 {len(cells)} 列"))
            else:
                record: dict[str, Any] = dict(zip(header, cells))
                for name in LIST_FIELDS:
                    if name in record:
                        record[name] = _split_cell(record[name])
                for name in ("plain_answer", "status"):
                    if name in record and not record[name]:
                        record.pop(name)
                rows.append((line, record))
        line = reader.line_num + 1
    return rows, errors


def _parse_yaml(text: str) -> tuple[list[tuple[int, Any]], list[RowError]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [], [RowError(mark.line + 1 if mark else 1, f"YAML 格式错误：{getattr(exc, 'problem', exc)}")]
    if data is None:
        return [], []
    if not isinstance(data, list) or node is None or not hasattr(node, "value"):
        return [], [RowError(1, "YAML 文件的顶层必须是文章列表")]
    return [(item_node.start_mark.line + 1, item) for item_node, item in zip(node.value, data)], []


def dump(records: Sequence[dict[str, Any]], fmt: str) -> str:
    if fmt == "csv":
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FIELDS)
        for r in records:
            writer.writerow([json.dumps(r[f], ensure_ascii=False) if f in LIST_FIELDS else r[f] for f in FIELDS])
        return out.getvalue()
    if fmt == "yaml":
        return yaml.safe_dump([{f: r[f] for f in FIELDS} for r in records], allow_unicode=True,
                              sort_keys=False, width=1000)
    return "".join(json.dumps({f: r[f] for f in FIELDS}, ensure_ascii=False) + "\n" for r in records)
