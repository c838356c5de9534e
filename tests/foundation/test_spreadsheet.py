"""The one function every export writes its cells through (sandbox.spreadsheet)."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from sandbox.spreadsheet import FORMULA_TRIGGERS, restore_cell, safe_cell, write_csv, write_xlsx

LEADS = st.sampled_from(["", "=", "+", "-", "@", "\t", "\r", "'", "''", " =", "\u3000@", "'=", "a"])


@given(lead=LEADS, rest=st.text(max_size=30))
def test_no_csv_cell_starts_a_formula_and_import_gets_the_text_back(lead, rest):
    text = lead + rest
    cell = safe_cell(text)
    assert not cell.lstrip(" \u3000\u00a0").startswith(FORMULA_TRIGGERS)
    assert restore_cell(cell) == text
    parsed = next(csv.reader(io.StringIO(write_csv([[text]]), newline="")), [""])
    assert restore_cell(parsed[0]) == text


def test_numbers_and_plain_text_are_unchanged():
    assert safe_cell(-3.5) == -3.5 and safe_cell(0) == 0 and safe_cell(None) is None
    assert safe_cell("信用卡账单查询") == "信用卡账单查询" and safe_cell("") == ""
    assert safe_cell("=1+1") == "'=1+1" and safe_cell("-5") == "'-5" and safe_cell("\t=1") == "'\t=1"
    assert write_csv([["=1", 2.5, None]]) == "'=1,2.5,\r\n"


def test_xlsx_text_is_a_string_cell_and_numbers_are_numbers():
    data = write_xlsx([("表", [["名称", "分数"], ['=HYPERLINK("http://evil.example","x")', 87.5], ["@cmd", -2]])])
    sheet = load_workbook(io.BytesIO(data))["表"]
    assert sheet["A2"].value == '=HYPERLINK("http://evil.example","x")' and sheet["A2"].data_type == "s"
    assert sheet["A2"].quotePrefix is True and sheet["A3"].data_type == "s" and sheet["A1"].font.b
    assert sheet["B2"].value == 87.5 and sheet["B3"].value == -2 and sheet["B3"].data_type == "n"
    assert sheet["A1"].quotePrefix is False
