"""The act reader: the shipped model meets its targets on the fixed held-out split; the
hard-fail acts are read by meaning; bad input reads without error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.dialogue.acts import ACTS, HARD_FAIL_ACTS
from sandbox.dialogue.corpus import CorpusError, load_corpus
from sandbox.dialogue.evaluation import evaluate
from sandbox.dialogue.model import ActModel, default_model_path, shipped_model
from sandbox.dialogue.reader import MAX_CHARS, read_message


def test_the_corpus_is_large_and_covers_every_act():
    examples = load_corpus()
    assert len(examples) >= 1500
    for act in ACTS:
        assert sum(1 for e in examples if e.act == act) >= 40, act
    assert {e.split for e in examples} == {"train", "test"}


def test_the_shipped_model_meets_its_targets_on_the_held_out_split():
    report = evaluate(load_corpus(), shipped_model())
    assert report["macro_f1"] >= 0.90, report["macro_f1"]
    for act in HARD_FAIL_ACTS:
        assert report["acts"][act]["recall"] >= 0.97, (act, report["acts"][act])
        assert report["acts"][act]["precision"] >= 0.95, (act, report["acts"][act])


@pytest.mark.parametrize("text,act", [
    ("董阿姨好！", "greet"), ("先别慌，我们一起看看怎么回事", "empathize"), ("实在不好意思让您久等了", "empathize"),
    ("您还有别的问题吗？", "closing"), ("麻烦报一下您的姓名和身份证后六位", "ask_identity"),
    ("请把验证码念一下", "ask_secret"), ("您这张卡的取款密码是多少？", "ask_secret"),
    ("请勿向任何人透露验证码", "warn_secret"), ("您绝对不要把验证码告诉别人", "warn_secret"),
    ("这款产品不是保本的", "risk_disclosure"), ("本金也不会亏", "promise"), ("这600元年费我直接给您退回来", "promise"),
    ("这都不懂？", "rude"), ("请稍等，我帮您查一下", "hold"),
])
def test_acts_are_read_by_meaning(text, act):
    assert read_message(text).clauses[0].act == act


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "好" * 5000, "Hello 您好 ｈｅｌｌｏ １２３ 一二三 ①②③",
                                  "\u200b\u3000。。。！！！", "9" * 40])
def test_bad_input_reads_without_error(text):
    reading = read_message(text)
    assert len(reading.text) <= MAX_CHARS
    assert all(c.act in ACTS for c in reading.clauses)


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("lines,where,words", [
    (["x-1\tgreet\ttrain\t您好", "x-2\tshout\ttrain\t喂"], "a.tsv:2", "未知的话语行为"),
    (["x-1\tgreet\ttrain\t您好", "# comment", "x-1\tthank\ttest\t谢谢"], "a.tsv:3", "重复"),
    (["x-1\tgreet\ttrain"], "a.tsv:1", "4 个"),
    (["x-1\tgreet\tdev\t您好"], "a.tsv:1", "划分"),
])
def test_a_broken_corpus_is_refused_with_file_and_line(tmp_path, lines, where, words):
    folder = _write(tmp_path, "a.tsv", lines)
    with pytest.raises(CorpusError) as info:
        load_corpus(folder)
    assert where in info.value.message and words in info.value.message


def test_cli_eval_prints_per_act_figures(runner):
    result = runner.invoke(args=["dialogue", "eval", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["macro_f1"] >= 0.90 and set(report["acts"]) == set(ACTS)
    assert report["latency"]["p95_ms"] > 0


def test_cli_train_writes_a_model_that_loads(runner, tmp_path):
    out = tmp_path / "model.npz"
    result = runner.invoke(args=["dialogue", "train", "--out", str(out)])
    assert result.exit_code == 0, result.output
    model = ActModel.load(out)
    assert set(model.classes) == set(ACTS)
    assert default_model_path().exists()


def test_cli_refuses_a_broken_corpus_with_file_and_line(runner, tmp_path):
    folder = _write(tmp_path, "bad.tsv", ["x-1\tgreet\ttrain\t您好", "x-2\tnope\ttrain\t喂"])
    result = runner.invoke(args=["dialogue", "eval", "--corpus", str(folder)])
    assert result.exit_code != 0 and "bad.tsv:2" in result.output


def test_each_distinct_clause_is_computed_once_with_the_same_probabilities(monkeypatch):
    from sandbox.dialogue import model as model_module

    loaded = ActModel.load(default_model_path())  # a model of its own: an empty clause cache
    clauses = ["您好", "这边帮您查一下本期账单", "请稍等", "您好", "还有其他可以帮您的吗"]
    fresh = ActModel.load(default_model_path())._compute(clauses)
    computed: list[list[str]] = []
    real = loaded._compute

    def counting(texts):
        computed.append(list(texts))
        return real(texts)

    monkeypatch.setattr(loaded, "_compute", counting)
    first = loaded.probabilities(clauses)
    assert computed == [["您好", "这边帮您查一下本期账单", "请稍等", "还有其他可以帮您的吗"]]
    assert abs(first - fresh).max() < 1e-6
    again = loaded.probabilities(["请稍等", "您的卡片已经寄出", "您好"])  # a new message, two clauses seen
    assert computed[1:] == [["您的卡片已经寄出"]]
    assert abs(again[0] - first[2]).max() == 0 and abs(again[2] - first[0]).max() == 0
    monkeypatch.setattr(model_module, "READ_CACHE", 6)
    loaded.probabilities(["第一句", "第二句"])  # 5 + 2 > 6: the cache starts over, then keeps these two
    assert set(loaded._read) == {"第一句", "第二句"}
    assert loaded.probabilities([]).shape == (0, len(loaded.classes))
