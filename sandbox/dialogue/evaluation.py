"""Evaluation of the act reader on the corpus's held-out split: precision, recall, F1 per act.

The reader evaluated is the whole one (classifier plus hard-fail rules), on each held-out
utterance as a single clause, so the figures are those the rubric relies on.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from sandbox.dialogue.acts import ACTS, HARD_FAIL_ACTS
from sandbox.dialogue.corpus import Example
from sandbox.dialogue.model import ActModel
from sandbox.dialogue.reader import classify, read_message

TARGET_MACRO_F1 = 0.90
TARGET_HARD_RECALL = 0.97
TARGET_HARD_PRECISION = 0.95
TARGET_P95_MS = 10.0


def evaluate(examples: Sequence[Example], model: ActModel | None, split: str = "test") -> dict[str, Any]:
    """Scores of the reader on ``examples`` of ``split``; ``errors`` lists the misread ones."""
    held = [e for e in examples if e.split == split]
    predicted = [classify(e.text, model) for e in held]
    per_act: dict[str, dict[str, float]] = {}
    for act in ACTS:
        tp = sum(1 for e, p in zip(held, predicted, strict=True) if p == act and e.act == act)
        fp = sum(1 for e, p in zip(held, predicted, strict=True) if p == act and e.act != act)
        fn = sum(1 for e, p in zip(held, predicted, strict=True) if p != act and e.act == act)
        support = tp + fn
        precision = tp / (tp + fp) if tp + fp else (1.0 if support == 0 else 0.0)
        recall = tp / support if support else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_act[act] = {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3),
                        "support": support}
    present = [a for a in ACTS if per_act[a]["support"]]
    macro = float(np.mean([per_act[a]["f1"] for a in present])) if present else 0.0
    accuracy = sum(1 for e, p in zip(held, predicted, strict=True) if p == e.act) / len(held) if held else 0.0
    errors = [{"id": e.id, "text": e.text, "act": e.act, "read_as": p}
              for e, p in zip(held, predicted, strict=True) if p != e.act]
    return {"split": split, "examples": len(held), "accuracy": round(accuracy, 3), "macro_f1": round(macro, 3),
            "acts": per_act, "errors": errors, "targets": targets_met(per_act, macro)}


def targets_met(per_act: dict[str, dict[str, float]], macro: float) -> dict[str, bool]:
    out = {"macro_f1": macro >= TARGET_MACRO_F1}
    for act in HARD_FAIL_ACTS:
        out[f"{act}_recall"] = per_act[act]["recall"] >= TARGET_HARD_RECALL
        out[f"{act}_precision"] = per_act[act]["precision"] >= TARGET_HARD_PRECISION
    return out


def latency(messages: Sequence[str], model: ActModel | None, repeat: int = 3) -> dict[str, float]:
    """Milliseconds to read one whole message (p50, p95, max) over ``messages``."""
    read_message("预热", model)
    times = []
    for _ in range(repeat):
        for text in messages:
            start = time.perf_counter()
            read_message(text, model)
            times.append((time.perf_counter() - start) * 1000)
    arr = np.array(times)
    return {"p50_ms": round(float(np.percentile(arr, 50)), 2), "p95_ms": round(float(np.percentile(arr, 95)), 2),
            "max_ms": round(float(arr.max()), 2), "messages": len(messages)}
