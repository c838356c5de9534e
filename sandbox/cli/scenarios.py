"""``bankdrill scenarios``: validate, list and rehearse drill scenarios."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from sandbox.cli import CommandError
from sandbox.drill import engine
from sandbox.drill.facts import customer_ids
from sandbox.drill.models import Scenario, ScenarioVersion
from sandbox.drill.scenario import ScenarioInvalid, load_file, scenario_files


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
                for spec in engine.list_scenarios(s, include_disabled=True)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        flag = "" if r["enabled"] else "（已停用）"
        click.echo(f"{r['id']:<28} {r['difficulty']} {r['channel']} {r['time_limit']:>4}s  {r['title']}{flag}")


@scenarios.command("rehearse")
@click.argument("scenario_id", required=False)
@click.option("--all", "all_", is_flag=True, help="试演全部场景")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def rehearse(scenario_id: str | None, all_: bool, as_json: bool) -> None:
    """用参考答案走一遍场景（在临时副本中运行，不影响本实例），报告得分。"""
    from sandbox.web.rehearse import rehearse_in_sandbox

    if bool(scenario_id) == all_:
        raise CommandError("请给出一个场景 ID，或使用 --all。")
    runtime = current_app.extensions["bankdrill"]
    with runtime.transaction() as s:
        stmt = select(Scenario)
        if scenario_id:
            stmt = stmt.where(Scenario.id == scenario_id)
        texts = {}
        for row in s.scalars(stmt.order_by(Scenario.id)):
            texts[row.id] = s.scalar(select(ScenarioVersion.yaml_text).where(
                ScenarioVersion.scenario_id == row.id, ScenarioVersion.version == row.version))
    if not texts:
        raise CommandError(f"场景 {scenario_id} 不存在。")
    results = [r.to_dict() for r in rehearse_in_sandbox(texts)]
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
