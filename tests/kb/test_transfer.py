import json

import pytest
from sqlalchemy import func, select

from knowledge_base import articles
from knowledge_base.models import Article, ArticleVersion
from tests.kb.helpers import jsonl, record


def _count(runtime):
    with runtime.transaction() as s:
        return s.scalar(select(func.count(Article.id)))


@pytest.mark.db
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "yaml"])
def test_export_import_round_trip_is_lossless(runner, runtime, tmp_path, fmt):
    tricky = record("RT-1", "含,逗号\"引号|竖线的标题", questions=["问法一|带竖线", "问法二,逗号", "多行\n问法"],
                    answer="**加粗**\n\n1. 第一步\n2. 第二步\n\n| a | b |\n|---|---|", plain_answer="说人话：\"好\"",
                    category="信用卡", tags=["标签, 一", "二"], status="草稿")
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl(tricky), encoding="utf-8")
    assert runner.invoke(args=["kb", "import", str(source)]).exit_code == 0
    first = tmp_path / f"out1.{fmt}"
    out = runner.invoke(args=["kb", "export", str(first)])
    assert out.exit_code == 0, out.output
    with runtime.transaction() as s:
        before = articles.export_records(s)
    assert tricky in before
    # Re-import the export with --replace: nothing changes, then export again: identical bytes.
    out = runner.invoke(args=["kb", "import", "--replace", str(first)])
    assert out.exit_code == 0, out.output
    assert "新增 0 篇，更新 0 篇" in out.output and "删除 0 篇" in out.output
    second = tmp_path / f"out2.{fmt}"
    assert runner.invoke(args=["kb", "export", str(second)]).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    with runtime.transaction() as s:
        assert articles.export_records(s) == before


@pytest.mark.db
def test_import_is_all_or_nothing_with_line_numbers(runner, runtime, tmp_path):
    before = _count(runtime)
    lines = [
        json.dumps(record("OK-1", "正常文章一")),
        "",
        "{not json",
        json.dumps(record("OK-2", "坏分类", category="不存在的分类")),
        json.dumps(record("OK-1", "重复的编号")),
        json.dumps({**record("OK-3", ""), "title": ""}),
        json.dumps({**record("OK-4", "字段写错"), "question": ["x"]}),
        json.dumps(record("OK-5", "问法不是列表", questions="只有一个")),
        json.dumps(["不是对象"]),
        json.dumps(record("OK-6", "正常文章二")),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = runner.invoke(args=["kb", "import", str(path)])
    assert out.exit_code == 1
    reported = [line.split("：")[0] for line in out.output.splitlines() if line.startswith("第 ")]
    assert reported == [f"第 {n} 行" for n in (3, 4, 5, 6, 7, 8, 9)], out.output
    assert "与第 1 行重复" in out.output
    assert "未导入任何内容" in out.output
    assert _count(runtime) == before
    with runtime.transaction() as s:
        assert s.scalar(select(Article).where(Article.external_id == "OK-1")) is None


def test_csv_and_yaml_errors_have_line_numbers(runner, tmp_path):
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text("id,title,questions,answer,category,tags\n"
                        "C-1,标题,问一|问二,答案,借记卡,\n"
                        "C-2,标题,,答案,没有这个分类,\n", encoding="utf-8")
    out = runner.invoke(args=["kb", "import", str(csv_path)])
    assert out.exit_code == 1 and "第 3 行" in out.output and "第 2 行" not in out.output
    yaml_path = tmp_path / "bad.yaml"
    yaml_path.write_text("- id: Y-1\n  title: 好\n  answer: 答\n  category: 借记卡\n"
                         "- id: Y-2\n  title: 坏\n  answer: 答\n  category: 火星\n", encoding="utf-8")
    out = runner.invoke(args=["kb", "import", str(yaml_path)])
    assert out.exit_code == 1 and "第 5 行" in out.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("- id: [unclosed\n", encoding="utf-8")
    assert runner.invoke(args=["kb", "import", str(broken)]).exit_code == 1


def test_csv_import_accepts_pipe_lists(runner, runtime, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("id,title,questions,answer,category,tags,plain_answer,status\n"
                    "C-9,管道分隔,问一|问二,答案,借记卡,甲|乙,,\n", encoding="utf-8")
    out = runner.invoke(args=["kb", "import", str(path)])
    assert out.exit_code == 0, out.output
    with runtime.transaction() as s:
        article = articles.get_article(s, "C-9")
        assert article.questions == ["问一", "问二"] and article.tags == ["甲", "乙"]
        assert article.status == "已发布"


@pytest.mark.db
def test_replace_makes_the_kb_exactly_the_file(runner, runtime, tmp_path):
    path = tmp_path / "only.jsonl"
    path.write_text(jsonl(record("ONLY-1", "唯一文章一"), record("ONLY-2", "唯一文章二")), encoding="utf-8")
    out = runner.invoke(args=["kb", "import", "--replace", str(path)])
    assert out.exit_code == 0, out.output
    with runtime.transaction() as s:
        assert [r["id"] for r in articles.export_records(s)] == ["ONLY-1", "ONLY-2"]
        # Deleted articles keep their last state in the history.
        assert s.scalar(select(func.count(ArticleVersion.id))) > 0
    hits = runner.invoke(args=["kb", "search", "唯一文章", "--json"])
    assert {r["id"] for r in json.loads(hits.output)["results"]} == {"ONLY-1", "ONLY-2"}


def test_import_reports_unreadable_files(runner, tmp_path):
    out = runner.invoke(args=["kb", "import", str(tmp_path / "missing.jsonl")])
    assert out.exit_code == 1 and "找不到文件" in out.output
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert runner.invoke(args=["kb", "import", str(binary)]).exit_code == 1


@pytest.mark.db
def test_every_save_keeps_the_previous_version(runtime):
    from tests.kb.helpers import save

    save(runtime, "V-1", "版本测试", answer="第一版")
    save(runtime, "V-1", "版本测试", answer="第二版")
    save(runtime, "V-1", "版本测试", answer="第二版")  # unchanged: no new version
    with runtime.transaction() as s:
        article = articles.get_article(s, "V-1")
        assert article.version == 2 and article.answer == "第二版"
        history = articles.article_versions(s, "V-1")
        assert [(v.version, v.snapshot["answer"]) for v in history] == [(1, "第一版")]
