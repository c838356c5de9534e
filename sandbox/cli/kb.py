"""``bankdrill kb``: import, export, search, evaluate and reindex the knowledge base."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from knowledge_base import articles, embedding, transfer
from knowledge_base import evaluate as kb_eval
from knowledge_base.categories import CATEGORIES, assign_categories, is_category
from knowledge_base.search import get_kb
from sandbox.cli.errors import CommandError
from sandbox.errors import DomainError


def _runtime():
    return current_app.extensions["bankdrill"]


@click.group("kb")
def kb() -> None:
    """知识库：导入、导出、检索、评测、重建索引。"""


class _StageBar:
    """One ``click.progressbar`` on stderr for the import's stages (读取/校验/向量/写入/索引).

    Each stage is an equal share of the bar; the label names the stages under way (the
    vectors are encoded while the index is analysed). Thread-safe: the encoding thread
    reports too."""

    SHARE = 1000

    def __init__(self, enabled: bool, force: bool) -> None:
        self._lock = threading.Lock()
        self._fraction = dict.fromkeys(articles.IMPORT_STAGES, 0.0)
        self._started: dict[str, None] = {}
        self._last_finished = articles.STAGE_READ
        self._bar: Any = None
        if enabled:
            self._bar = click.progressbar(length=self.SHARE * len(articles.IMPORT_STAGES),
                                          label=articles.STAGE_READ, file=sys.stderr,
                                          show_eta=False, width=30)
            if force and hasattr(self._bar, "_is_atty"):
                self._bar._is_atty = True  # --progress into a pipe: draw the bar anyway

    def __enter__(self) -> _StageBar:
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self._bar is None:
            return
        with self._lock:
            self._fraction[stage] = 1.0 if total <= 0 else min(1.0, done / total)
            self._started.setdefault(stage, None)  # insertion order: the order stages began
            if self._fraction[stage] >= 1:
                self._last_finished = stage
            running = [name for name in self._started if self._fraction[name] < 1]
            label = "、".join(running) or self._last_finished
            changed, self._bar.label = label != self._bar.label, label
            step = int(sum(self._fraction.values()) * self.SHARE) - self._bar.pos
            if step > 0:
                self._bar.update(step)
            elif changed:
                self._bar.render_progress()


class _Timings:
    """Seconds from the start of the command to the end of each stage (``--timings``)."""

    def __init__(self, bar: _StageBar) -> None:
        self._bar = bar
        self._started = time.perf_counter()
        self._first: dict[str, float] = {}
        self.ended: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter() - self._started
        self._first.setdefault(stage, now)
        if done >= total:
            self.ended[stage] = now
        self._bar(stage, done, total)

    def summary(self) -> dict[str, float]:
        """Per stage: its own duration (from its first report to its end); 合计: the whole command."""
        out = {stage: round(self.ended[stage] - self._first.get(stage, 0.0), 3)
               for stage in articles.IMPORT_STAGES if stage in self.ended}
        out["合计"] = round(time.perf_counter() - self._started, 3)
        return out


# Files from this size on start the encoder processes before they are read (about the
# 2,000 texts of embedding.PROCESS_MIN_TEXTS, ~300 articles); a smaller import, or one with
# little to encode, stops them unused (one model load on the other core).
PRESTART_ENCODERS_BYTES = 512 * 1024


@kb.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--replace", is_flag=True, help="导入后知识库恰好等于文件中的文章（其余文章删除）")
@click.option("--format", "fmt", type=click.Choice(transfer.FORMATS), default=None,
              help="文件格式（默认按扩展名判断，其余按 jsonl）")
@click.option("--progress/--no-progress", default=None,
              help="在终端（标准错误）显示各阶段进度条（默认：仅当标准错误是终端时显示）")
@click.option("--default-category", type=click.Choice(CATEGORIES), default=None,
              help="别家知识库的分类不在固定分类中（或没有分类）时：按分类名归入相近的固定分类，"
                   "归不进的归入此分类；原分类保留为标签")
@click.option("--timings", is_flag=True, hidden=True, help="在标准错误输出各阶段耗时（JSON，基准测试用）")
@with_appcontext
def import_(file: Path, replace: bool, fmt: str | None, progress: bool | None, default_category: str | None,
            timings: bool) -> None:
    """导入文章：先校验每一行，全部正确才导入，否则一篇也不导入。

    向量计算、写入数据库与重建检索索引在同一次导入中完成（一个事务、一次索引构建）。"""
    runtime = _runtime()
    show = progress if progress is not None else sys.stderr.isatty()
    bar = _StageBar(enabled=show, force=bool(progress))
    clock = _Timings(bar)
    job = articles.BulkImport(index=get_kb(runtime).index, progress=clock)
    moves: dict[str, str] = {}
    rows: list[tuple[int, Any]] = []
    try:
        if file.stat().st_size >= PRESTART_ENCODERS_BYTES:  # the encoders load while the file is read
            embedding.prestart_processes()
    except OSError:
        pass  # reported by read_bytes below
    try:
        with bar:
            clock(articles.STAGE_READ, 0, 1)
            fmt = transfer.detect_format(file, fmt)
            rows, parse_errors = transfer.parse_bytes(transfer.read_bytes(file), fmt)
            if default_category:
                rows, moves = assign_categories(rows, default_category)
            clock(articles.STAGE_READ, 1, 1)
            try:
                with runtime.transaction() as s:
                    report = job.run(s, runtime.clock, rows, replace=replace, by="cli", parse_errors=parse_errors)
            except BaseException:
                job.cancel()
                raise
            try:
                job.commit_index()
            except Exception as exc:  # the articles are saved; search processes rebuild the index
                click.echo(f"导入已保存，但检索索引未能写入（{type(exc).__name__}）；首次检索时将自动重建。", err=True)
    except DomainError as exc:
        for error in exc.details.get("errors", []):
            click.echo(f"第 {error['line']} 行：{error['message']}", err=True)
        if not default_category and any(isinstance(raw, dict) and not is_category(raw.get("category"))
                                        for _line, raw in rows):
            click.echo("提示：别家知识库的分类可用 --default-category 分类 归并：按分类名归入相近的固定分类，"
                       "归不进的归入指定分类，原分类保留为标签。", err=True)
        if exc.details.get("errors"):
            raise CommandError(f"{file} 有 {len(exc.details['errors'])} 处错误，未导入任何内容。") from exc
        raise CommandError(exc.message) from exc
    finally:
        embedding.discard_prestarted()  # when nothing was left to encode
    if moves:
        click.echo("分类归并：" + "；".join(f"{old} → {new}" for old, new in sorted(moves.items())) + "（原分类已保留为标签）。")
    if timings:
        click.echo("timings: " + json.dumps(clock.summary(), ensure_ascii=False), err=True)
    click.echo(f"导入完成：{report.summary()}。")


@kb.command("export")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(transfer.FORMATS), default=None,
              help="文件格式（默认按扩展名判断：.csv/.yaml/.xlsx，其余按 jsonl）")
@with_appcontext
def export(file: Path, fmt: str | None) -> None:
    """导出全部文章（与导入格式相同，可无损往返）。"""
    runtime = _runtime()
    try:
        fmt = transfer.detect_format(file, fmt)
    except DomainError as exc:
        raise CommandError(exc.message) from exc
    with runtime.transaction() as s:
        records = articles.export_records(s)
    try:
        file.write_bytes(transfer.dump_bytes(records, fmt))
    except OSError as exc:
        raise CommandError(f"无法写入 {file}：{exc.strerror or exc}") from exc
    click.echo(f"已导出 {len(records)} 篇文章到 {file}。")


@kb.command("search")
@click.argument("query")
@click.option("--category", type=click.Choice(CATEGORIES), default=None, help="分类过滤")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@with_appcontext
def search(query: str, category: str | None, limit: int, as_json: bool) -> None:
    """检索已发布的文章。"""
    result = get_kb(_runtime()).search(query, category=category, limit=limit)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    click.echo(f"共 {result.total} 条结果（{result.took_ms:.1f} ms）")
    for i, hit in enumerate(result.hits, start=1):
        click.echo(f"{i:>2}. [{hit.id}] {hit.title}  〔{hit.category}〕 {hit.score:.3f}")


@kb.command("eval")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False), required=False)
@click.option("--all", "all_sets", is_flag=True, help="评测调参集与全部留出集（不给文件时的默认行为）")
@click.option("--k", "k", type=click.IntRange(1, 100), default=3, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--record", is_flag=True, help="把本次结果存入评测历史（检索分析页可见）")
@with_appcontext
def eval_(file: Path | None, all_sets: bool, k: int, as_json: bool, record: bool) -> None:
    """评测检索效果：每行 {"text","target"}，输出 hit@1、hit@k、MRR@10 与未命中项。

    不给文件（或加 --all）时，分别评测种子知识库的调参集、留出集和同音错字集。"""
    if file is None or all_sets:
        if file is not None:
            raise CommandError("--all 与评测文件不能同时使用。")
        _eval_all(k, as_json, record)
        return
    try:
        cases = kb_eval.read_cases(file)
    except DomainError as exc:
        raise CommandError(exc.message) from exc
    if not cases:
        raise CommandError(f"评测文件 {file} 没有任何样本。")
    runtime = _runtime()
    service = get_kb(runtime)
    report = kb_eval.evaluate(service, cases, k=k)
    if record:
        _record(runtime, service, report, file.name)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
        return
    if record:
        click.echo("已记入评测历史。")
    click.echo(f"样本 {report.n}  hit@1 {report.hit1:.3f}  hit@{k} {report.hitk:.3f}  MRR@10 {report.mrr10:.3f}")
    if report.misses:
        click.echo(f"未命中（前 {k} 名内没有目标）{len(report.misses)} 条：")
        for miss in report.misses:
            rank = miss["rank"] if miss["rank"] is not None else "-"
            click.echo(f"  {miss['text']}  →  期望 {miss['target']}（名次 {rank}），得到 {', '.join(miss['got'])}")


def _record(runtime, service, report: kb_eval.EvalReport, source: str) -> None:
    version = service.sync()
    with runtime.transaction() as s:
        kb_eval.record_run(s, runtime.clock, report, source=source, kb_version=version,
                           mode="hybrid" if service.use_model else "lexical", by="cli")


def _eval_all(k: int, as_json: bool, record: bool) -> None:
    sets = kb_eval.standard_sets()
    if not sets:
        raise CommandError("找不到种子评测集（seed_data/kb_eval.jsonl）。")
    runtime = _runtime()
    service = get_kb(runtime)
    rows = []
    for item in sets:
        try:
            cases = kb_eval.read_cases(item.path, item.field)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        report = kb_eval.evaluate(service, cases, k=k)
        if record:
            _record(runtime, service, report, item.source)
        rows.append((item, report))
    if as_json:
        click.echo(json.dumps({"sets": [{"label": item.label, "source": item.source, **report.to_dict()}
                                        for item, report in rows]}, ensure_ascii=False))
        return
    if record:
        click.echo("已记入评测历史。")
    for item, report in rows:
        click.echo(f"{item.label:<12} {item.source:<24} 样本 {report.n:>4}  hit@1 {report.hit1:.3f}  "
                   f"hit@{k} {report.hitk:.3f}  MRR@10 {report.mrr10:.3f}  未命中 {len(report.misses)}")
    click.echo("留出集与同音错字集只用于报告效果，不要根据其中的未命中去调参。")


@kb.command("reindex")
@with_appcontext
def reindex() -> None:
    """从数据库重建检索索引。"""
    runtime = _runtime()
    service = get_kb(runtime)
    with runtime.transaction() as s:
        total = len(articles.list_articles(s))
    with click.progressbar(length=total, label="重建索引") as bar:
        count = service.rebuild(progress=bar.update)
    click.echo(f"索引已重建：{count} 篇文章。")
