"""The held-out search sets over the second bank's articles (benchmarks/kb_sets/jiangzhou) stay valid.

The checker is a stdlib script outside the packages; these tests load it from its file and run it on
both sets, so an edit that breaks a set (unknown target, copied question, duplicate...) fails CI.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETS = ROOT / "benchmarks" / "kb_sets"
JIANGZHOU = SETS / "jiangzhou"


@pytest.fixture(scope="module")
def checker():
    spec = importlib.util.spec_from_file_location("check_eval_set", SETS / "check_eval_set.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def articles(checker):
    return checker.load_articles([JIANGZHOU])


def test_the_articles_are_the_two_files(articles):
    assert len(articles) == 157
    assert {a.id[:5] for a in articles.values()} == {"JZ-SB", "JZ-HN", "JZ-CK", "JZ-ZH", "JZ-DK", "JZ-GZ", "JZ-ZX",
                                                     "JZ-SJ", "JZ-SZ", "JZ-XY", "JZ-JF", "JZ-FZ", "JZ-LC", "JZ-SH",
                                                     "JZ-FW"}


def test_the_eval_set_is_clean_and_covers_every_published_article(checker, articles):
    report = checker.check_set(articles, JIANGZHOU / "eval.jsonl")
    assert report.mode == "plain"
    assert report.errors == []
    assert report.lines >= 320
    assert report.never_targeted == []
    assert max(report.per_article.values()) <= 4
    assert report.lengths["3-8"] >= report.lines // 5 and report.lengths["40-80"] >= 20


def test_the_homophone_set_is_clean_and_new(checker, articles):
    report = checker.check_set(articles, JIANGZHOU / "homophones.jsonl", exclude_texts=[JIANGZHOU / "eval.jsonl"])
    assert report.mode == "homophones"
    assert report.errors == []
    assert report.lines >= 150
    assert set(report.kinds) == {"ime", "asr"}
    assert 0.5 <= report.kinds["ime"] / report.lines <= 0.7
    assert max(report.per_article.values()) <= 4


def test_the_command_line_passes_on_both_sets(checker, capsys):
    code = checker.main([str(JIANGZHOU), "--eval", str(JIANGZHOU / "eval.jsonl"),
                         "--eval", str(JIANGZHOU / "homophones.jsonl"), "--exclude-texts", str(JIANGZHOU / "eval.jsonl")])
    out = capsys.readouterr().out
    assert code == 0
    assert "错误 0 条" in out and "homophones.jsonl" in out


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


@pytest.fixture()
def small_kb(tmp_path, checker):
    arts = [{"id": "A1", "title": "银行卡丢了怎么挂失", "questions": ["卡丢了怎么办", "挂失要带什么"],
             "answer": "…", "category": "借记卡", "status": "已发布"},
            {"id": "A2", "title": "信用卡年费怎么收", "questions": ["年费多少钱"], "answer": "…", "category": "信用卡",
             "status": "已发布"},
            {"id": "A3", "title": "旧产品", "questions": [], "answer": "…", "category": "存款", "status": "已下线"}]
    _write(tmp_path / "articles_x.jsonl", arts)
    return checker.load_articles([tmp_path])


def test_the_checker_reports_each_kind_of_mistake(checker, small_kb, tmp_path):
    path = _write(tmp_path / "eval.jsonl", [
        {"text": "我的储蓄卡找不着了", "target": "A1"},
        {"text": "我的储蓄卡找不着了！", "target": "A1"},          # duplicate once punctuation is ignored
        {"text": "请问卡丢了怎么办呀", "target": "A1"},            # contains a listed question
        {"text": "银行卡丢了怎么挂失", "target": "A1"},            # the title itself
        {"text": "以前那个产品还有吗", "target": "A3"},            # not published
        {"text": "这个问题没有文章", "target": "B9"},              # unknown target
        {"text": "  ", "target": "A1"},                          # empty text
        "{not json",
        {"text": "卡丢了要带啥去挂", "target": "A1"},              # fifth use of A1 (max 4)
        {"text": "挂失都要带什么", "target": "A1"},                # a near copy: a warning only
    ])
    report = checker.check_set(small_kb, path)
    text = "\n".join(report.errors)
    assert "与第1行重复" in text
    assert "包含A1 的列出问题：「卡丢了怎么办」" in text
    assert "与A1 的标题相同" in text
    assert "A3 未发布" in text
    assert "B9 不存在" in text
    assert "缺少或为空的字段 text" in text
    assert "不是合法的 JSON" in text
    assert "A1 被用了 6 次" in text
    assert "从未作为目标：A2" in text  # coverage is required for a plain set
    assert report.warnings == ["第10行 text「挂失都要带什么」与A1 的列出问题过于相近：「挂失要带什么」"]
    assert not report.ok


def test_the_checker_checks_homophone_lines(checker, small_kb, tmp_path):
    plain = _write(tmp_path / "eval.jsonl", [{"text": "信用卡每年扣多少钱", "target": "A2"}])
    path = _write(tmp_path / "homophones.jsonl", [
        {"text": "信用咔每年口多少钱", "clean": "信用卡每年扣多少钱", "target": "A2", "kind": "ime"},  # clean reused
        {"text": "银行卡没了咋办", "clean": "银行卡没了咋办", "target": "A1", "kind": "asr"},           # no error
        {"text": "因行卡丢乐要去那里瓜师", "clean": "银行卡丢了要去哪里挂失", "target": "A1", "kind": "ime"},
        {"text": "心用卡年废", "clean": "信用卡年费", "target": "A2", "kind": "typo"},
    ])
    report = checker.check_set(small_kb, path, exclude_texts=[plain])
    text = "\n".join(report.errors)
    assert report.mode == "homophones"
    assert "clean 已出现在排除的集合中" in text
    assert "text 与 clean 相同" in text
    assert "有 4 处不同" in text
    assert "kind 应为 ime 或 asr" in text
    code = checker.main([str(tmp_path / "articles_x.jsonl"), "--eval", str(path)])
    assert code == 1


def test_a_homophone_set_only_reports_coverage(checker, small_kb, tmp_path):
    path = _write(tmp_path / "homophones.jsonl",
                  [{"text": "银行卡丢了要去哪里挂师", "clean": "银行卡丢了要去哪里挂失", "target": "A1", "kind": "ime"}])
    report = checker.check_set(small_kb, path)
    assert report.ok and report.never_targeted == ["A2"] and report.kinds == {"ime": 1}
    assert not checker.check_set(small_kb, path, require_coverage=True).ok
