"""``bankdrill dialogue``: train and evaluate the agent-utterance reader on the corpus."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sandbox.cli.errors import CommandError


@click.group("dialogue", help="话语理解：用标注语料训练与评估坐席话语行为识别模型。")
def dialogue_group() -> None:
    """Commands over the dialogue-act corpus and model."""


def _load(corpus: str | None):
    from sandbox.dialogue.corpus import CorpusError, load_corpus

    try:
        return load_corpus(Path(corpus) if corpus else None)
    except CorpusError as exc:
        raise CommandError(exc.message) from None


@dialogue_group.command("train", help="用语料的训练集重新训练模型，写入随安装发布的模型文件（或 --out）。")
@click.option("--corpus", type=click.Path(exists=True, file_okay=False), help="语料目录（默认随安装的语料）")
@click.option("--out", type=click.Path(dir_okay=False), help="模型输出路径")
@click.option("--all", "use_all", is_flag=True, help="训练时也使用测试集（发布前的最终模型）")
def train_command(corpus: str | None, out: str | None, use_all: bool) -> None:
    from sandbox.dialogue.evaluation import evaluate
    from sandbox.dialogue.model import default_model_path, reset_model, train

    examples = _load(corpus)
    chosen = examples if use_all else [e for e in examples if e.split == "train"]
    model = train(chosen)
    path = Path(out) if out else default_model_path()
    model.save(path)
    reset_model()
    report = evaluate(examples, model)
    click.echo(f"已训练：{len(chosen)} 条语料，{len(model.classes)} 种话语行为；模型写入 {path}")
    click.echo(f"测试集宏平均 F1：{report['macro_f1']:.3f}，准确率：{report['accuracy']:.3f}")


@dialogue_group.command("eval", help="在固定的测试集上评估：每种话语行为的精确率、召回率、F1。")
@click.option("--corpus", type=click.Path(exists=True, file_okay=False), help="语料目录（默认随安装的语料）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.option("--errors", is_flag=True, help="列出识别错误的语句")
def eval_command(corpus: str | None, as_json: bool, errors: bool) -> None:
    from sandbox.dialogue.acts import ACTS
    from sandbox.dialogue.evaluation import evaluate, latency
    from sandbox.dialogue.model import shipped_model

    examples = _load(corpus)
    model = shipped_model()
    if model is None:
        raise CommandError("没有找到已训练的模型，请先运行 bankdrill dialogue train")
    report = evaluate(examples, model)
    report["latency"] = latency([e.text for e in examples if e.split == "test"][:200], model, repeat=1)
    if as_json:
        if not errors:
            report.pop("errors")
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    click.echo(f"测试集 {report['examples']} 条；准确率 {report['accuracy']:.3f}；宏平均 F1 {report['macro_f1']:.3f}")
    click.echo(f"{'话语行为':<16}{'精确率':>8}{'召回率':>8}{'F1':>8}{'样本':>6}")
    for act, label in ACTS.items():
        row = report["acts"][act]
        if row["support"]:
            click.echo(f"{act + ' ' + label:<16}{row['precision']:>9.3f}{row['recall']:>9.3f}{row['f1']:>8.3f}"
                       f"{row['support']:>6}")
    lat = report["latency"]
    click.echo(f"单条消息识别耗时：p50 {lat['p50_ms']} ms，p95 {lat['p95_ms']} ms")
    for name, ok in report["targets"].items():
        click.echo(f"目标 {name}：{'达到' if ok else '未达到'}")
    if errors:
        for e in report["errors"]:
            click.echo(f"  {e['id']} [{e['act']} → {e['read_as']}] {e['text']}")
