"""An FAQ spreadsheet as customer-service platforms keep it (标准问 / 相似问 / 答案 / 分类, often
without ids) imports as it is: Chinese column names map to the fields, an id-less row gets a
stable id from its title, so importing the file again updates instead of duplicating."""

from __future__ import annotations

import json

import openpyxl

from knowledge_base import articles, transfer

FAQ_CSV = """标准问,相似问,答案,分类
信用卡账单怎么查,信用卡欠多少钱在哪看|本期账单金额怎么查,可以在手机银行“信用卡—账单”中查看本期应还金额和最低还款额。,信用卡
借记卡丢了怎么挂失,卡丢了怎么办|银行卡找不到了,请立即通过手机银行或客服热线办理临时挂失，再携带身份证到网点办理正式挂失。,借记卡
"""


def _stored(runtime) -> dict[str, dict]:
    with runtime.transaction() as s:
        return {r["id"]: r for r in articles.export_records(s)}


def test_a_chinese_faq_csv_imports_and_reimports_without_copies(runner, runtime, tmp_path):
    source = tmp_path / "faq.csv"
    source.write_text(FAQ_CSV, encoding="utf-8")
    before = _stored(runtime)
    result = runner.invoke(args=["kb", "import", str(source)])
    assert result.exit_code == 0, result.output
    stored = _stored(runtime)
    new = {k: v for k, v in stored.items() if k not in before}
    assert len(new) == 2
    bill = next(v for v in new.values() if v["title"] == "信用卡账单怎么查")
    assert bill["id"] == transfer.derived_id("信用卡账单怎么查") and bill["id"].startswith("Q-")
    assert bill["questions"] == ["信用卡欠多少钱在哪看", "本期账单金额怎么查"] and bill["category"] == "信用卡"
    # The same file again, one answer edited: the same two articles, the edited one updated.
    source.write_text(FAQ_CSV.replace("最低还款额", "最低还款额及到期还款日"), encoding="utf-8")
    result = runner.invoke(args=["kb", "import", str(source)])
    assert result.exit_code == 0, result.output
    again = _stored(runtime)
    assert set(again) == set(stored) and "到期还款日" in again[bill["id"]]["answer"]
    # ... and the search finds the article by a similar question.
    found = runner.invoke(args=["kb", "search", "本期账单金额怎么查"])
    assert bill["id"] in found.output


def test_xlsx_and_jsonl_take_the_chinese_names_too(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["问题编号", "标准问题", "扩展问", "标准答案", "业务分类", "标签"])
    book.active.append(["F-1", "网银登录不了", "网上银行进不去", "请先确认登录密码…", "手机银行", "网银|登录"])
    path = tmp_path / "faq.xlsx"
    book.save(path)
    rows, errors = transfer.parse_bytes(path.read_bytes(), "xlsx")
    assert not errors
    assert rows[0][1] == {"id": "F-1", "title": "网银登录不了", "questions": ["网上银行进不去"],
                          "answer": "请先确认登录密码…", "category": "手机银行", "tags": ["网银", "登录"]}
    line = json.dumps({"标题": "理财能提前赎回吗", "答案": "视产品而定。", "分类": "理财"}, ensure_ascii=False)
    rows, errors = transfer.parse(line + "\n", "jsonl")
    assert not errors and rows[0][1]["id"] == transfer.derived_id("理财能提前赎回吗")


def test_bad_faq_files_are_refused_with_the_line_and_nothing_is_written(runner, runtime, tmp_path):
    before = _stored(runtime)
    cases = {
        "twice.csv": ("标题,标准问,答案\n甲,乙,丙\n", "出现了不止一列"),
        "no_title.csv": ("相似问,答案\n甲,乙\n", "需要 id 或 title"),
        "unknown.csv": ("标准问,颜色,答案\n甲,红,丙\n", "未知列 颜色"),
        "clash.jsonl": ('{"title": "甲", "标题": "乙", "answer": "丙", "category": "理财"}\n', "第 1 行"),
        "same_title.csv": ("标准问,答案,分类\n同一个问题,答一,理财\n同一个问题,答二,理财\n", "第 3 行"),
    }
    for name, (text, expected) in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        result = runner.invoke(args=["kb", "import", str(path)])
        assert result.exit_code == 1, (name, result.output)
        assert expected in result.output, (name, result.output)
    assert _stored(runtime) == before
