"""Spreadsheet exports (CSV and XLSX) that no cell can turn into a live formula.

Every export of the product (round results, the KB's CSV and XLSX) writes its cells through
:func:`safe_cell` (CSV) or :func:`write_xlsx` (XLSX), so a value a person typed — a roster name
``=HYPERLINK("http://evil.example","x")``, an article title starting with ``@`` — opens in
Excel, WPS or LibreOffice as the text it is. Numbers (scores) stay numbers.

CSV: text that a spreadsheet would read as a formula gets a leading apostrophe (OWASP's advice).
XLSX: text is always stored as a string cell (``data_type 's'``), never a formula; such cells
also carry Excel's quote-prefix style, the file format's own form of the apostrophe, so editing
the cell in Excel keeps it text. :func:`restore_cell` undoes the CSV apostrophe on import, so an
export imports back unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

# What makes a spreadsheet evaluate a cell: = + - @ and the tab / carriage return that some
# programs skip before looking for them.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Spaces some programs trim before parsing a cell.
_LEADING_BLANKS = " \u3000\u00a0"


def needs_neutralising(text: str) -> bool:
    """Whether ``text`` could be read as a formula (or is an apostrophe before one: kept invertible)."""
    stripped = text.lstrip(_LEADING_BLANKS)
    if stripped.startswith(FORMULA_TRIGGERS):
        return True
    return text.startswith("'") and needs_neutralising(text[1:])


def safe_cell(value: Any) -> Any:
    """One CSV cell: text that could be a formula gets a leading ``'``; other values unchanged."""
    if isinstance(value, str) and needs_neutralising(value):
        return "'" + value
    return value


def restore_cell(text: str) -> str:
    """The inverse of :func:`safe_cell` for a CSV cell read back on import."""
    if text.startswith("'") and needs_neutralising(text[1:]):
        return text[1:]
    return text


def write_csv(rows: Iterable[Sequence[Any]], bom: bool = False, lineterminator: str = "\r\n") -> str:
    """CSV text with every cell neutralised (``None`` as an empty cell); ``bom`` for Excel's Chinese."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator=lineterminator)
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return ("\ufeff" if bom else "") + buf.getvalue()


def write_xlsx(sheets: Sequence[tuple[str, Sequence[Sequence[Any]]]], bold_header: bool = True,
               freeze_header: bool = True) -> bytes:
    """An XLSX workbook, one sheet per ``(title, rows)``; text cells are strings, never formulas."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title=title[:31])
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = sheet.cell(row=r, column=c)
                if not isinstance(value, (int, float)):  # bool is an int: stored as a boolean
                    # Control characters cannot be stored in XLSX; they carry no meaning in a report.
                    text = ILLEGAL_CHARACTERS_RE.sub("", value if isinstance(value, str) else str(value))
                    cell.value = text
                    cell.data_type = "s"  # text, never a formula
                    if needs_neutralising(text):
                        cell.quotePrefix = True
                else:
                    cell.value = value
        if bold_header and rows:
            for cell in sheet[1]:
                cell.font = Font(bold=True)
        if freeze_header and rows:
            sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
