"""``kb eval``: hit@1, hit@k and MRR@10 of the search over a file of {"text","target"} lines."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from knowledge_base.models import EvalRun

from sqlalchemy import select
from sqlalchemy.orm import Session

from sandbox.clock import Clock
from sandbox.errors import ValidationFailed
from sandbox.safe_load import UnsafeInput, load_json

MAX_STORED_MISSES = 200


@dataclass
class EvalReport:
    n: int
    k: int
    hit1: float
    hitk: float
    mrr10: float
    misses: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "k": self.k, "hit@1": round(self.hit1, 4), "hit@k": round(self.hitk, 4),
                "mrr@10": round(self.mrr10, 4), "misses": self.misses}


def read_cases(path: Path, field: str = "text") -> list[dict[str, str]]:
    """Each non-blank line ``{"text", "target"}`` (``field`` read as the text, e.g. the
    homophone set's ``clean``); raises ValidationFailed on anything else."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"无法读取评测文件 {path}：{exc}", code="file_unreadable") from exc
    cases = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = load_json(line, max_depth=8, line=number)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"评测文件第 {number} 行不是有效的 JSON：{exc.msg}", code="bad_eval_file") from exc
        except UnsafeInput as exc:
            raise ValidationFailed(f"评测文件{exc.message}", code="bad_eval_file") from exc
        if not isinstance(item, dict) or not isinstance(item.get(field), str) or not isinstance(item.get("target"), str):
            raise ValidationFailed(f"评测文件第 {number} 行需要字符串字段 {field} 和 target。", code="bad_eval_file")
        cases.append({"text": item[field], "target": item["target"]})
    return cases


def evaluate(kb: Any, cases: list[dict[str, str]], k: int = 3) -> EvalReport:
    k = max(1, k)
    hit1 = hitk = 0
    mrr = 0.0
    misses = []
    depth = max(10, k)
    for case in cases:
        result = kb.search(case["text"], limit=depth)
        ids = [h.id for h in result.hits]
        rank = ids.index(case["target"]) + 1 if case["target"] in ids else None
        if rank == 1:
            hit1 += 1
        if rank is not None and rank <= k:
            hitk += 1
        else:
            misses.append({"text": case["text"], "target": case["target"], "rank": rank, "got": ids[:k]})
        if rank is not None and rank <= 10:
            mrr += 1.0 / rank
    n = len(cases)
    return EvalReport(n=n, k=k, hit1=hit1 / n if n else 0.0, hitk=hitk / n if n else 0.0,
                      mrr10=mrr / n if n else 0.0, misses=misses)


def default_cases_path() -> Path:
    """``seed_data/kb_eval.jsonl``: the shipped evaluation set."""
    import seed_data

    return Path(seed_data.__file__).parent / "kb_eval.jsonl"


@dataclass
class EvalSet:
    """One of the shipped evaluation sets of the seed KB."""

    label: str
    path: Path
    field: str = "text"

    @property
    def source(self) -> str:
        return self.path.name + ("" if self.field == "text" else f":{self.field}")


def standard_sets() -> list[EvalSet]:
    """The tuning set and the held-out sets of the seed KB (those present on disk), in order:
    调参集 (tuned on), 留出集 and 同音错字集 (never tuned on; the latter also with its
    ``clean`` column, the same questions without the errors)."""
    tuning = default_cases_path()
    held = tuning.parent / "kb" / "eval"
    sets = [EvalSet("调参集", tuning), EvalSet("留出集", held / "heldout.jsonl"),
            EvalSet("同音错字集", held / "homophones.jsonl"),
            EvalSet("同音错字集（改正后）", held / "homophones.jsonl", "clean")]
    return [s for s in sets if s.path.is_file()]


def record_run(session: Session, clock: Clock, report: EvalReport, *, source: str = "", kb_version: int = 0,
               mode: str = "", by: str = "") -> EvalRun:
    """Store one evaluation run (``kb eval --record``, or the analytics page)."""
    from knowledge_base.models import EvalRun

    run = EvalRun(source=source[:200], n=report.n, k=report.k, hit1=report.hit1, hitk=report.hitk,
                  mrr10=report.mrr10, misses=report.misses[:MAX_STORED_MISSES], miss_count=len(report.misses),
                  kb_version=kb_version, mode=mode, created_by=by, created_at=clock.now())
    session.add(run)
    session.flush()
    return run


def run_history(session: Session, limit: int = 50) -> list[EvalRun]:
    """The latest ``limit`` runs, oldest first."""
    from knowledge_base.models import EvalRun

    rows = list(session.scalars(select(EvalRun).order_by(EvalRun.created_at.desc(), EvalRun.id.desc()).limit(limit)))
    return rows[::-1]
