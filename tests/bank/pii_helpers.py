"""Searching an answer for a full number in any spelling (shared by the PII output tests)."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import unquote, unquote_plus

from openpyxl import load_workbook

# Independent of the code under test: NFKC (full-width and circled digits), Chinese
# numerals, then every separator and invisible character dropped.
_CHINESE = str.maketrans({c: str(d) for d, cs in enumerate(
    ["〇○零", "一幺壹", "二贰", "三叁", "四肆", "五伍", "六陆", "七柒", "八捌", "九玖"]) for c in cs})
_SEPARATOR = re.compile(r"[\s\-‐‑‒–—―−﹘﹣－.．｡_＿、､·・•‧∙]")


def compact(text: str) -> str:
    """Every digit spelling as ASCII digits, ``X`` for the ID check letter, separators removed."""
    text = unicodedata.normalize("NFKC", text).translate(_CHINESE).upper()
    return "".join(c for c in _SEPARATOR.sub("", text) if unicodedata.category(c) != "Cf")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif value is not None:
        yield str(value)


def texts_of(resp) -> list[str]:
    """What a person or a program can read in an answer: the body as sent, decoded the ways a
    reader would decode it (JSON strings, HTML entities, URL encoding, spreadsheet cells)."""
    data = resp.get_data()
    ctype = resp.headers.get("Content-Type", "")
    if "spreadsheetml" in ctype:
        wb = load_workbook(io.BytesIO(data))
        return [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    text = data.decode("utf-8")
    out = [text]
    if "json" in ctype:
        out += list(_strings(json.loads(text)))
    elif "csv" in ctype:
        out += [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]
    else:
        unescaped = html.unescape(text)
        out += [unescaped, unquote(unescaped), unquote_plus(unescaped)]
    return out


def clear_numbers_in(resp, numbers: Iterable[str]) -> list[str]:
    """The ``numbers`` (ASCII digits, an ID may end in ``X``) readable in clear anywhere in ``resp``."""
    views = [compact(t) for t in texts_of(resp)]
    return [n for n in numbers if any(n.upper() in v for v in views)]


def assert_no_clear(resp, numbers: Iterable[str]) -> None:
    numbers = list(numbers)
    leaked = clear_numbers_in(resp, numbers)
    assert not leaked, f"{resp.request.method} {resp.request.path}: full numbers in clear: " \
                       f"{[n[:3] + '…' for n in leaked]}"
