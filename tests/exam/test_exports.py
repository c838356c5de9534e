"""Round exports: no cell is a live formula (CSV prefixed, XLSX string cells), scores stay numbers,
and each candidate's totals (automatic and final) and the adjustment comments are there."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

EVIL = '=HYPERLINK("http://evil.example","x")'
NAMES = {"evil": EVIL, "minus": "-1+2", "plus": "+SUM(1,2)", "atsign": "@cmd"}


@pytest.fixture
def marked_round(api, clock):
    """A round of cc-bill-enquiry: four candidates with formula-like names, all handed in, one adjusted."""
    ex = api("examiner")
    rnd = ex.post("/api/v1/rounds", json={"name": "=导出测试", "scenarios": ["cc-bill-enquiry"]}).get_json()
    roster = "".join(f'{u},"{n.replace(chr(34), chr(34) * 2)}"\n' for u, n in NAMES.items())
    resp = ex.post(f"/api/v1/rounds/{rnd['id']}/candidates", json={"csv": roster})
    assert resp.status_code == 200 and len(resp.get_json()["created"]) == 4
    ex.post(f"/api/v1/rounds/{rnd['id']}/start")
    drills = {}
    for username in NAMES:
        candidate = api(username)
        drill = candidate.post(f"/api/v1/rounds/{rnd['id']}/next").get_json()
        clock.advance(15)
        candidate.post(f"/api/v1/drills/{drill['id']}/finish")
        drills[username] = drill["id"]
    report = ex.get(f"/api/v1/drills/{drills['evil']}/report").get_json()
    check = next(c for c in report["checks"] if not c["passed"])
    adjusted = ex.post(f"/api/v1/drills/{drills['evil']}/adjustments",
                       json={"check": check["id"], "points": check["max_points"], "comment": "=复核录像后认定已完成"})
    assert adjusted.status_code == 200
    return {"round": rnd, "drills": drills, "check": check, "examiner": ex, "final": adjusted.get_json()}


def test_xlsx_cells_are_text_never_formulas_with_totals_and_comments(marked_round):
    ex, rid = marked_round["examiner"], marked_round["round"]["id"]
    book = load_workbook(io.BytesIO(ex.get(f"/api/v1/rounds/{rid}/export?format=xlsx").data))
    assert book.sheetnames == ["成绩", "考生汇总"]
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    rows = book["成绩"]
    header = [c.value for c in rows[1]]
    assert header[-5:] == ["调分说明", "考生自动总分", "考生最终总分", "追问得分", "追问满分"]
    col = {name: i for i, name in enumerate(header)}
    by_user = {r[col["用户名"]].value: r for r in rows.iter_rows(min_row=2)}
    evil = by_user["evil"]
    name_cell = evil[col["考生"]]
    assert name_cell.value == EVIL and name_cell.data_type == "s" and name_cell.quotePrefix is True
    assert by_user["minus"][col["考生"]].value == "-1+2" and by_user["minus"][col["考生"]].data_type == "s"
    final = marked_round["final"]
    assert evil[col["最终得分"]].data_type == "n" and evil[col["最终得分"]].value == final["total"]
    assert evil[col["自动评分"]].value == final["auto_total"] and evil[col["自动评分"]].data_type == "n"
    assert evil[col["考生最终总分"]].value == final["total"] and evil[col["考生自动总分"]].value == final["auto_total"]
    comment = evil[col["调分说明"]].value
    assert "=复核录像后认定已完成" in comment and marked_round["check"]["title"] in comment and "examiner" in comment
    assert by_user["plus"][col["调分说明"]].value in (None, "")

    summary = book["考生汇总"]
    head = [c.value for c in summary[1]]
    assert head[:6] == ["考生", "用户名", "题数", "已完成", "自动总分", "最终总分"]
    people = {r[1].value: r for r in summary.iter_rows(min_row=2)}
    assert set(people) == set(NAMES)
    evil_sum = people["evil"]
    assert evil_sum[0].value == EVIL and evil_sum[0].data_type == "s"
    assert evil_sum[4].value == final["auto_total"] and evil_sum[5].value == final["total"]
    assert "=复核录像后认定已完成" in evil_sum[head.index("调分说明")].value
    assert book["成绩"].freeze_panes == "A2"


def test_csv_cells_are_prefixed_and_numbers_stay_numbers(marked_round, runner):
    ex, rid = marked_round["examiner"], marked_round["round"]["id"]
    text = ex.get(f"/api/v1/rounds/{rid}/export?format=csv").get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header = rows[0]
    col = {name: i for i, name in enumerate(header)}
    by_user = {r[col["用户名"]]: r for r in rows[1:]}
    for username, name in NAMES.items():
        assert by_user[username][col["考生"]] == "'" + name
    for row in rows:
        for cell in row:
            assert not cell.lstrip(" \u3000").startswith(("=", "+", "-", "@", "\t", "\r")), cell
    final = marked_round["final"]
    assert float(by_user["evil"][col["最终得分"]]) == final["total"]
    assert float(by_user["evil"][col["考生最终总分"]]) == final["total"]
    assert float(by_user["evil"][col["自动评分"]]) == final["auto_total"]
    assert "=复核录像后认定已完成" in by_user["evil"][col["调分说明"]]
    # The CLI writes the same neutralised file.
    out = runner.invoke(args=["round", "export", str(rid), "--format", "csv", "--output", "-"])
    assert out.exit_code == 0 and "'" + EVIL.replace('"', '""') in out.stdout_bytes.decode("utf-8")
