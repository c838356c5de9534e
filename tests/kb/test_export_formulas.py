"""The KB's CSV and XLSX exports never hold a live formula, and the CSV imports back unchanged."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from knowledge_base import articles
from tests.kb.helpers import jsonl, record

EVIL = record("FX-1", '=HYPERLINK("http://evil.example","x")', questions=["+86 的电话打不通", "@客服 在吗", "普通问法"],
              answer="- 第一步：登录手机银行\n- 第二步：查看账单", plain_answer="=1+1", category="信用卡", tags=["-标签"])


@pytest.mark.db
def test_kb_csv_export_is_neutralised_and_round_trips(runner, runtime, login_as, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl(EVIL), encoding="utf-8")
    assert runner.invoke(args=["kb", "import", str(source)]).exit_code == 0
    trainer = login_as("trainer")
    resp = trainer.get("/trainer/export?format=csv")
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True), newline="")))
    header = rows[0]
    row = next(r for r in rows if r[header.index("id")] == "FX-1")
    assert row[header.index("title")] == "'" + EVIL["title"]
    assert row[header.index("answer")].startswith("'- 第一步") and row[header.index("plain_answer")] == "'=1+1"
    for r in rows:
        for cell in r:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    # Importing the export back changes nothing.
    exported = tmp_path / "out.csv"
    exported.write_bytes(resp.data)
    out = runner.invoke(args=["kb", "import", "--replace", str(exported)])
    assert out.exit_code == 0 and "新增 0 篇，更新 0 篇" in out.output, out.output
    with runtime.transaction() as s:
        assert EVIL in articles.export_records(s)


@pytest.mark.db
def test_kb_xlsx_export_has_string_cells_only(runner, login_as, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl(EVIL), encoding="utf-8")
    assert runner.invoke(args=["kb", "import", str(source)]).exit_code == 0
    book = load_workbook(io.BytesIO(login_as("trainer").get("/trainer/export?format=xlsx").data))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[header.index("id")].value == "FX-1")
    assert row[header.index("title")].value == EVIL["title"] and row[header.index("title")].data_type == "s"
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)
