"""``bankdrill scenarios``: validate, list and rehearse drill scenarios."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from sandbox.cli.errors import CommandError
from sandbox.drill.facts import customer_ids
from sandbox.drill.models import Scenario, ScenarioVersion
from sandbox.drill.scenario.errors import ScenarioInvalid
from sandbox.drill.scenario.files import load_file, scenario_files
from sandbox.drill.scenario.store import list_scenarios


@click.group("scenarios")
def scenarios() -> None:
    """演练场景：校验、列表、试演。"""


@scenarios.command("validate")
@click.argument("path", type=click.Path(path_type=Path))
def validate(path: Path) -> None:
    """校验场景文件（文件或目录），逐条列出错误的文件、行号和字段。"""
    if not path.exists():
        raise CommandError(f"路径不存在：{path}")
    files = scenario_files(path)
    if not files:
        raise CommandError(f"{path} 中没有 .yaml 场景文件。")
    bad = 0
    ids = customer_ids()
    for file in files:
        try:
            spec = load_file(file, ids)
        except ScenarioInvalid as exc:
            bad += 1
            for err in exc.errors:
                click.echo(str(err), err=True)
        else:
            click.echo(f"通过  {file}（{spec.title}，{len(spec.checks)} 个评分项）")
    if bad:
        raise CommandError(f"{bad}/{len(files)} 个场景文件未通过校验。")
    click.echo(f"全部 {len(files)} 个场景文件通过校验。")


@scenarios.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def list_(as_json: bool) -> None:
    """列出本实例中的场景。"""
    runtime = current_app.extensions["bankdrill"]
    with runtime.transaction() as s:
        rows = [{**spec.summary_dict(), "enabled": s.get(Scenario, spec.id).enabled}
                for spec in list_scenarios(s, include_disabled=True)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        flag = "" if r["enabled"] else "（已停用）"
        click.echo(f"{r['id']:<28} {r['difficulty']} {r['channel']} {r['time_limit']:>4}s  {r['title']}{flag}")


@scenarios.command("rehearse")
@click.argument("scenario_id", required=False)
@click.option("--all", "all_", is_flag=True, help="试演全部场景")
@click.option("--variants/--no-variants", default=True, show_default=True,
              help="同时试演变体答案（好答案、堆砌关键词、错误事实、沉默、无礼、违规…），打印得分表")
@click.option("--variants-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="变体答案所在目录（默认 seed_data/validity，每个场景一个 <场景ID>.yaml）")
@click.option("--runs", is_flag=True, help="逐条列出每个答案未得分的评分项")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def rehearse(scenario_id: str | None, all_: bool, variants: bool, variants_dir: Path | None, runs: bool,
             as_json: bool) -> None:
    """用参考答案（和变体答案）走一遍场景（在临时副本中运行，不影响本实例），报告得分。"""
    from sandbox.web.rehearse import app_factory, rehearse_in_sandbox
    from sandbox.web.validity import markdown_table, rehearse_with_variants, runs_table, summary_table

    if bool(scenario_id) == all_:
        raise CommandError("请给出一个场景 ID，或使用 --all。")
    if variants_dir is not None and not variants_dir.is_dir():
        raise CommandError(f"变体答案目录不存在：{variants_dir}")
    runtime = current_app.extensions["bankdrill"]
    texts = _scenario_texts(runtime, scenario_id)
    if not variants:
        results = [r.to_dict() for r in rehearse_in_sandbox(app_factory(current_app), texts)]
        if as_json:
            click.echo(json.dumps(results, ensure_ascii=False))
        else:
            for r in results:
                if r["error"]:
                    click.echo(f"{r['scenario']:<28} 失败：{r['error']}")
                else:
                    flag = "  硬性扣分！" if r["hard_fail"] else ""
                    missed = f"  未得分：{', '.join(r['failed_checks'])}" if r["failed_checks"] else ""
                    click.echo(f"{r['scenario']:<28} {r['total']:>5} 分{flag}{missed}")
        if any(r["error"] for r in results):
            raise CommandError("有场景的参考答案无法完整执行。")
        return
    rows, without = rehearse_with_variants(app_factory(current_app), texts, variants_dir)
    if as_json:
        click.echo(json.dumps({"rows": [r.to_dict() for r in rows], "without_variants": without},
                              ensure_ascii=False))
    else:
        click.echo(markdown_table(rows))
        click.echo("")
        click.echo(summary_table(rows))
        if runs:
            click.echo("")
            click.echo(runs_table(rows))
        for sid in without:
            click.echo(f"提示：场景 {sid} 没有变体答案（在 {variants_dir or 'seed_data/validity'}/{sid}.yaml 中添加），"
                       "只试演了参考答案，看不出评分能否区分好坏答案。")
        out = [r for r in rows if not r.in_band]
        if out:
            click.echo(f"有 {len(out)} 个答案的得分不在应有区间：" + "；".join(f"{r.scenario}/{r.run}" for r in out))
    if any(r.error for r in rows if r.kind == "reference"):
        raise CommandError("有场景的参考答案无法完整执行。")
    if any(r.kind == "reference" and not r.in_band for r in rows):
        raise CommandError("有场景的参考答案得分低于 95。")


def _scenario_texts(runtime, scenario_id: str | None) -> dict[str, str]:
    """The current YAML of one scenario (or all) from this instance."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        with runtime.transaction() as s:
            stmt = select(Scenario)
            if scenario_id:
                stmt = stmt.where(Scenario.id == scenario_id)
            texts = {}
            for row in s.scalars(stmt.order_by(Scenario.id)):
                texts[row.id] = s.scalar(select(ScenarioVersion.yaml_text).where(
                    ScenarioVersion.scenario_id == row.id, ScenarioVersion.version == row.version))
    except (OperationalError, ProgrammingError):
        raise CommandError("本实例还没有初始化（没有场景库）：请先运行 bankdrill init。") from None
    if not texts:
        raise CommandError(f"场景 {scenario_id} 不存在。" if scenario_id else "本实例没有任何场景。")
    return texts
