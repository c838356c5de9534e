"""Import in the browser (dry run, then confirm, all or nothing) and XLSX import/export."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from sqlalchemy import func, select

from knowledge_base import articles, transfer
from knowledge_base.models import ArticleVersion
from tests.kb.helpers import jsonl, record


def _upload(client, name: str, data: bytes, replace: bool = False, fmt: str = ""):
    form = {"file": (io.BytesIO(data), name), "fmt": fmt}
    if replace:
        form["replace"] = "y"
    return client.post("/trainer/import", data=form, content_type="multipart/form-data")


def _snapshot(runtime):
    with runtime.transaction() as s:
        return (articles.export_records(s), s.scalar(select(func.count(ArticleVersion.id))),
                articles.get_version(s))


@pytest.mark.db
def test_dry_run_reports_without_writing_then_confirm_imports_all(login_as, runtime, app):
    trainer = login_as("trainer")
    with runtime.transaction() as s:
        existing = articles.export_records(s)[:2]
    changed = dict(existing[1], title=existing[1]["title"] + "（新版）")
    lines = [json.dumps(record("IMP-NEW-1", "新文章一"), ensure_ascii=False),
             json.dumps(existing[0], ensure_ascii=False),
             json.dumps(changed, ensure_ascii=False),
             "{broken json",
             json.dumps(record("IMP-BAD", "坏分类", category="火星"), ensure_ascii=False)]
    before = _snapshot(runtime)
    resp = _upload(trainer, "batch.jsonl", ("\n".join(lines) + "\n").encode())
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "将新增 1 篇，更新 1 篇，未变 1 篇，删除 0 篇，拒绝 2 行" in page
    assert "第 4 行" in page and "不是有效的 JSON" in page and "第 5 行" in page and "火星" in page
    assert "IMP-NEW-1" in page and changed["id"] in page and "<td>title</td>" in page  # the changed field is named
    assert "confirm-import" not in page  # rejected rows: nothing can be confirmed
    assert _snapshot(runtime) == before
    assert not list(runtime.settings.home.glob("trainer_uploads/*"))  # nothing kept for a file that cannot import

    # The same file without the bad lines: a dry run first, still nothing written...
    resp = _upload(trainer, "batch.jsonl", ("\n".join(lines[:3]) + "\n").encode())
    page = resp.get_data(as_text=True)
    assert "将新增 1 篇，更新 1 篇，未变 1 篇，删除 0 篇，拒绝 0 行" in page and "confirm-import" in page
    assert _snapshot(runtime) == before
    token = page.split("/trainer/import/")[1].split("/confirm")[0]
    stored = runtime.settings.home / "trainer_uploads" / f"{token}.data"
    assert stored.exists()
    # ...another user cannot confirm it...
    assert login_as("admin").post(f"/trainer/import/{token}/confirm").status_code == 404
    assert _snapshot(runtime) == before
    # ...the trainer confirms: everything lands, the upload is gone and cannot be replayed.
    resp = trainer.post(f"/trainer/import/{token}/confirm")
    assert resp.status_code == 302
    after, _, _ = _snapshot(runtime)
    by_id = {r["id"]: r for r in after}
    assert by_id["IMP-NEW-1"]["title"] == "新文章一" and by_id[changed["id"]]["title"] == changed["title"]
    assert not stored.exists()
    assert trainer.post(f"/trainer/import/{token}/confirm").status_code == 404
    assert trainer.post("/trainer/import/../../secret_key/confirm").status_code in (404, 405)


@pytest.mark.db
def test_replace_mode_preview_lists_deletions_and_cancel_discards(login_as, runtime):
    trainer = login_as("trainer")
    with runtime.transaction() as s:
        keep = articles.export_records(s)[:3]
        total = len(articles.list_articles(s))
    resp = _upload(trainer, "three.jsonl", jsonl(*keep).encode(), replace=True)
    page = resp.get_data(as_text=True)
    assert f"删除 {total - 3} 篇" in page and "plan-deleted" in page
    token = page.split("/trainer/import/")[1].split("/confirm")[0]
    assert trainer.post(f"/trainer/import/{token}/cancel").status_code == 302
    assert trainer.post(f"/trainer/import/{token}/confirm").status_code == 404
    with runtime.transaction() as s:
        assert len(articles.list_articles(s)) == total


def test_bad_uploads(login_as, runtime):
    trainer = login_as("trainer")
    before = _snapshot(runtime)
    assert trainer.post("/trainer/import", data={}, content_type="multipart/form-data").status_code == 400
    resp = _upload(trainer, "x.csv", "id,title\n".encode("gbk") + "标题".encode("gbk"))
    assert resp.status_code == 400 and "UTF-8" in resp.get_data(as_text=True)
    resp = _upload(trainer, "x.xlsx", b"PK\x03\x04 not really a workbook")
    assert resp.status_code == 200 and "不是有效的 XLSX 文件" in resp.get_data(as_text=True)
    resp = _upload(trainer, "x.jsonl", b"{}", fmt="pdf")
    assert resp.status_code == 400
    resp = _upload(trainer, "same.jsonl", b"")
    assert "无需导入" in resp.get_data(as_text=True)
    assert _snapshot(runtime) == before


TRICKY = record("XL-1", "=SUM(A1:A2) 公式样的标题", questions=["问法一|竖线", "多行\n问法", "@提及"],
                answer="**加粗**\n\n1. 第一步\n2. 第二步\n\n| a | b |\n|---|---|", plain_answer="+86 开头",
                category="信用卡", tags=["标签, 一", "0123"], status="草稿")


@pytest.mark.db
def test_xlsx_round_trip_cli_and_web(runner, runtime, login_as, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl(TRICKY), encoding="utf-8")
    assert runner.invoke(args=["kb", "import", str(source)]).exit_code == 0
    with runtime.transaction() as s:
        before = articles.export_records(s)
    out = tmp_path / "kb.xlsx"
    result = runner.invoke(args=["kb", "export", str(out)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    sheet = book.active
    assert [c.value for c in sheet[1]] == list(articles.FIELDS)
    assert all(c.data_type == "s" for row in sheet.iter_rows(min_row=2) for c in row if c.value)
    rows, errors = transfer.parse_bytes(out.read_bytes(), "xlsx")
    assert not errors
    records, problems = articles.validate_rows(rows)
    assert not problems and records == before
    # Re-import with --replace: nothing changes.
    result = runner.invoke(args=["kb", "import", "--replace", str(out)])
    assert result.exit_code == 0 and "新增 0 篇，更新 0 篇，未变" in result.output and "删除 0 篇" in result.output
    # --format overrides the extension.
    odd = tmp_path / "kb.data"
    assert runner.invoke(args=["kb", "export", "--format", "xlsx", str(odd)]).exit_code == 0
    assert odd.read_bytes()[:2] == b"PK"
    # The browser download is the same content, and uploading it back changes nothing.
    trainer = login_as("trainer")
    resp = trainer.get("/trainer/export?format=xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    assert 'filename="kb-' in resp.headers["Content-Disposition"]
    rows, errors = transfer.parse_bytes(resp.data, "xlsx")
    assert not errors and articles.validate_rows(rows)[0] == before
    page = _upload(trainer, "kb.xlsx", resp.data, replace=True).get_data(as_text=True)
    assert f"将新增 0 篇，更新 0 篇，未变 {len(before)} 篇，删除 0 篇，拒绝 0 行" in page
    for fmt in ("jsonl", "csv", "yaml"):
        assert trainer.get(f"/trainer/export?format={fmt}").status_code == 200
    assert trainer.get("/trainer/export?format=exe").status_code == 400


def test_xlsx_rows_with_errors_have_sheet_line_numbers(runner, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "title", "questions", "answer", "category"])
    sheet.append(["X-1", "好的", "问一|问二", "答", "借记卡"])
    sheet.append([None, None, None, None, None])
    sheet.append(["X-2", "坏的", "", "答", "火星"])
    sheet.append(["X-3", "多列", "", "答", "借记卡", "多出来"])
    path = tmp_path / "bad.xlsx"
    book.save(path)
    result = runner.invoke(args=["kb", "import", str(path)])
    assert result.exit_code == 1
    assert "第 4 行" in result.output and "第 5 行" in result.output and "第 2 行" not in result.output
    bad_header = openpyxl.Workbook()
    bad_header.active.append(["编号", "颜色"])
    bad_header.save(path)
    result = runner.invoke(args=["kb", "import", str(path)])
    assert result.exit_code == 1 and "表头无效" in result.output
