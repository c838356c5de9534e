"""Safe loading of untrusted files and bodies: YAML, JSON, CSV and zip archives.

Every import path (scenario upload and CLI, knowledge-base import, round rosters,
backup restore, JSON request bodies) parses through this module, *before* it opens a
database transaction, so a hostile file costs milliseconds and never holds a lock.

What it refuses, each with a stable error code (HTTP 400) and a Chinese message that
names the line where one is known:

* YAML anchors and aliases (``&a`` / ``*a``: the "billion laughs" alias bomb), more
  nodes or deeper nesting than the caller allows, files over the size cap;
* JSON nested deeper than the cap (checked before parsing, so no RecursionError);
* text holding NUL characters or lone UTF-16 surrogates (``"\\ud800"``), which no
  database column can store;
* CSV fields longer than the cap and malformed CSV;
* zip archives with too many entries, too much uncompressed data or a suspicious
  compression ratio (zip bombs), checked from the central directory before reading.

No Flask here: the web layer and the CLI turn :class:`UnsafeInput` into answers.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import yaml

from sandbox.errors import ValidationFailed

# --------------------------------------------------------------------------- errors


class UnsafeInput(ValidationFailed):
    """An input refused before parsing finished; ``line`` is 1-based when known."""

    code = "unsafe_input"

    def __init__(self, reason: str, *, code: str, line: int | None = None, column: int | None = None,
                 field: str | None = None) -> None:
        details: dict[str, Any] = {}
        if line is not None:
            details["line"] = line
        if field is not None:
            details["field"] = field
        where = (f"第 {line} 行" + (f"第 {column} 列" if column else "") + "：") if line is not None else ""
        super().__init__(where + reason, code=code, details=details)
        self.reason = reason  # the message without its location (for callers that print lines themselves)
        self.line = line
        self.field = field


# --------------------------------------------------------------------------- text


_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def bad_text_reason(value: str) -> str | None:
    """Why ``value`` cannot be stored (a NUL character, a lone surrogate), or None."""
    match = _BAD_TEXT.search(value)
    if match is None:
        return None
    return "含有空字符（NUL）" if match.group() == "\x00" else "含有无效的 Unicode 字符（不成对的代理项）"


def check_text(value: Any, field: str = "") -> None:
    """Raise ``invalid_text`` when any string in ``value`` (keys included, nested) cannot be stored."""
    stack: list[tuple[Any, str]] = [(value, field)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            reason = bad_text_reason(item)
            if reason:
                where = f"字段 {path} " if path else ""
                raise UnsafeInput(f"{where}{reason}，请删除后重试。", code="invalid_text", field=path or None)
        elif isinstance(item, dict):
            for key, sub in item.items():
                shown = _BAD_TEXT.sub("\ufffd", str(key))  # the path is echoed back: never the bad character
                sub_path = f"{path}.{shown}" if path else shown
                stack.append((key, sub_path))
                stack.append((sub, sub_path))
        elif isinstance(item, (list, tuple)):
            stack.extend((sub, f"{path}[{i}]") for i, sub in enumerate(item))


def _size_check(data: str | bytes, max_bytes: int | None, what: str) -> None:
    if max_bytes is None:
        return
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise UnsafeInput(f"{what}过大（{size} 字节，上限 {max_bytes} 字节）。", code="file_too_large")


# --------------------------------------------------------------------------- YAML


@dataclass(frozen=True)
class YamlLimits:
    """Caps for one kind of YAML file."""

    max_bytes: int = 200_000
    max_nodes: int = 20_000
    max_depth: int = 32


def _mark_line(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None


class _GuardedLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors/aliases and counts nodes and depth while composing."""

    limits = YamlLimits()

    def __init__(self, stream: str, limits: YamlLimits) -> None:
        super().__init__(stream)
        self.limits = limits
        self._nodes = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102 (PyYAML hook)
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            line = _mark_line(event.start_mark)
            raise UnsafeInput("不允许使用 YAML 锚点或别名（& / *），请把内容直接写出。",
                              code="yaml_alias", line=line)
        self._nodes += 1
        if self._nodes > self.limits.max_nodes:
            line = _mark_line(event.start_mark)
            raise UnsafeInput(f"YAML 节点过多（上限 {self.limits.max_nodes} 个）。",
                              code="yaml_too_many_nodes", line=line)
        self._depth += 1
        try:
            if self._depth > self.limits.max_depth:
                line = _mark_line(event.start_mark)
                raise UnsafeInput(f"YAML 嵌套过深（上限 {self.limits.max_depth} 层）。",
                                  code="yaml_too_deep", line=line)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str, limits: YamlLimits = YamlLimits(), what: str = "YAML 文件",
              text_check: bool = True) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document safely; returns (data, root node) so callers can map values to lines.

    Raises :class:`UnsafeInput` for refused input (``yaml_alias``, ``yaml_too_deep``,
    ``yaml_too_many_nodes``, ``file_too_large``, and ``invalid_text`` unless the caller
    screens text itself); syntax errors stay ``yaml.YAMLError`` so callers can report
    them their own way.
    """
    _size_check(text, limits.max_bytes, what)
    loader = _GuardedLoader(text, limits)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        try:
            data = loader.construct_document(node)
        except (ValueError, TypeError, OverflowError) as exc:
            # e.g. an integer with more digits than Python converts; a value, not a syntax error.
            raise yaml.constructor.ConstructorError(None, None, f"无法解析的取值：{exc}", node.start_mark) from None
    finally:
        loader.dispose()
    if text_check:
        check_text(data)
    return data, node


def yaml_error_line(exc: yaml.YAMLError) -> int | None:
    """The 1-based line a PyYAML error points at, if any."""
    return _mark_line(getattr(exc, "problem_mark", None))


# --------------------------------------------------------------------------- JSON

MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


def json_depth(data: str | bytes) -> int:
    """The deepest array/object nesting in a JSON text (strings ignored), without parsing it."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if raw.count(b"[") + raw.count(b"{") <= 1:
        return raw.count(b"[") + raw.count(b"{")
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", raw))
    if not brackets:
        return 0
    return max(0, max(accumulate(1 if b in (0x5B, 0x7B) else -1 for b in brackets)))


def check_json_depth(data: str | bytes, max_depth: int = MAX_JSON_DEPTH, line: int | None = None) -> None:
    """Raise ``json_too_deep`` when ``data`` nests deeper than ``max_depth``."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return  # cannot nest deeper than the brackets it holds
    depth = json_depth(raw)
    if depth > max_depth:
        raise UnsafeInput(f"JSON 嵌套过深（{depth} 层，上限 {max_depth} 层）。", code="json_too_deep", line=line)


def load_json(data: str | bytes, max_depth: int = MAX_JSON_DEPTH, max_bytes: int | None = None,
              text_check: bool = True, line: int | None = None) -> Any:
    """Parse JSON after checking size and depth; refuse NUL and lone surrogates in any string.

    Syntax errors stay ``json.JSONDecodeError`` (a ValueError) for the caller to report.
    """
    _size_check(data, max_bytes, "JSON 内容")
    check_json_depth(data, max_depth, line)
    value = json.loads(data)
    if text_check:
        try:
            check_text(value)
        except UnsafeInput as exc:
            if line is None:
                raise
            raise UnsafeInput(exc.reason, code=exc.code, line=line, field=exc.field) from None
    return value


# --------------------------------------------------------------------------- CSV

CSV_MAX_FIELD = 131_072  # the csv module's own default limit


def iter_csv(text: str, max_field: int = CSV_MAX_FIELD, max_rows: int | None = None) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) for each CSV record; the line is where the record starts.

    Raises :class:`UnsafeInput`: ``field_too_long`` (a cell over ``max_field``
    characters), ``invalid_csv`` (malformed quoting), ``invalid_text`` (NUL or a lone
    surrogate), ``too_many_rows``.
    """
    reader = csv.reader(io.StringIO(text or "", newline=""))
    line = 1
    count = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise UnsafeInput(f"字段过长（超过 {min(max_field, csv.field_size_limit())} 个字符）。",
                                  code="field_too_long", line=line) from None
            raise UnsafeInput(f"CSV 格式错误（{exc}）。", code="invalid_csv", line=line) from None
        for i, cell in enumerate(cells, start=1):
            if len(cell) > max_field:
                raise UnsafeInput(f"字段过长（{len(cell)} 个字符，上限 {max_field}）。", code="field_too_long",
                                  line=line, column=i)
            reason = bad_text_reason(cell)
            if reason:
                raise UnsafeInput(f"{reason}。", code="invalid_text", line=line, column=i)
        count += 1
        if max_rows is not None and count > max_rows:
            raise UnsafeInput(f"行数过多（上限 {max_rows} 行）。", code="too_many_rows", line=line)
        yield line, cells
        line = reader.line_num + 1


# --------------------------------------------------------------------------- zip


@dataclass(frozen=True)
class ZipLimits:
    """Caps read from the central directory before any entry is decompressed."""

    max_entries: int = 1_000
    max_total: int = 200 * 1024 * 1024
    max_ratio: int = 100
    ratio_floor: int = 1024 * 1024  # entries smaller than this are not ratio-checked


def check_zip(zf: zipfile.ZipFile, limits: ZipLimits = ZipLimits(), what: str = "压缩文件") -> None:
    """Refuse a zip bomb: too many entries, too much data once unpacked, or a too-high ratio."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise UnsafeInput(f"{what}包含的文件过多（{len(infos)} 个，上限 {limits.max_entries} 个）。",
                          code="zip_too_many_entries")
    total = 0
    for info in infos:
        total += info.file_size
        if total > limits.max_total:
            raise UnsafeInput(f"{what}解压后过大（超过 {limits.max_total // (1024 * 1024)} MB）。",
                              code="zip_too_large")
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise UnsafeInput(f"{what}中的 {info.filename} 压缩比异常（疑似压缩炸弹），已拒绝。",
                              code="zip_ratio_too_high")


def open_zip(source: Any, limits: ZipLimits = ZipLimits(), what: str = "压缩文件") -> zipfile.ZipFile:
    """Open a zip (path, bytes or file object) and check it; BadZipFile/OSError pass through."""
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    zf = zipfile.ZipFile(source)
    try:
        check_zip(zf, limits, what)
    except BaseException:
        zf.close()
        raise
    return zf
