"""Search quality per variant on the tuning sets (and, with --heldout, the held-out sets).

    python benchmarks/kb_quality.py [--variants base,fillers,...] [--heldout] [--kb FILE ... --sets FILE ...]

Seeds a fresh instance (the seed KB, or the files given with --kb imported with
``kb import --replace`` semantics) and prints hit@1 / hit@3 / MRR@10 per set and variant.
Tuning sets: seed_data/kb_eval.jsonl, its synthetic homophones
(benchmarks/make_homophones.py) and the colloquial set
benchmarks/kb_sets/colloquial_tuning.jsonl. Held-out sets (seed_data/kb/eval/heldout.jsonl,
homophones.jsonl as typed and its ``clean`` column) are read only with --heldout, to
report a fixed choice.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge_base import index as I  # noqa: E402
from knowledge_base import search as S  # noqa: E402
from knowledge_base import text as T  # noqa: E402
from knowledge_base.evaluate import evaluate  # noqa: E402
from sandbox.app import create_app  # noqa: E402
from sandbox.instance import initialise  # noqa: E402

BASE = {"USE_FILLERS": False, "USE_PINYIN": False, "FUSION": "linear", "DENSE_WEIGHT": 0.7,
        "DENSE_CORRECTED": "off", "CORRECTION_WEIGHT": 0.8, "PRF_BETA": 0.0, "LEXICAL_POOL": 50,
        "DENSE_POOL": 30, "DENSE_MIN": 0.45, "USE_COLLOQUIAL": False, "COLLOQUIAL_WEIGHT": 0.8,
        "COLLOQUIAL_DENSE": "off", "CLAUSES": "off", "CLAUSE_WEIGHT": 0.3, "ROW_MEAN_WEIGHT": 0.0,
        "RERANK_WEIGHT": 0.0, "BODY_BOOST": 1.0}
# Issue 19 point 3 (colloquial questions): the shipped configuration is "colloquial".
P3 = {"USE_PINYIN": True, "DENSE_CORRECTED": "pinyin", "USE_COLLOQUIAL": True, "COLLOQUIAL_WEIGHT": 0.8,
      "BODY_BOOST": 1.5}
CHOSEN = {"USE_FILLERS": True, "USE_PINYIN": True, "DENSE_CORRECTED": "pinyin"}
VARIANTS = {
    "base": {},
    "final": {"USE_PINYIN": True, "DENSE_CORRECTED": "pinyin"},
    "final-pinyin": {"DENSE_CORRECTED": "pinyin"},
    "chosen": CHOSEN,
    "chosen-pinyin": {**CHOSEN, "USE_PINYIN": False},
    "fillers": {"USE_FILLERS": True},
    "pinyin": {"USE_PINYIN": True},
    "pinyin+dense_max": {"USE_PINYIN": True, "DENSE_CORRECTED": "max"},
    "pinyin+dense_replace": {"USE_PINYIN": True, "DENSE_CORRECTED": "replace"},
    "pinyin_w0.5+dense_max": {"USE_PINYIN": True, "DENSE_CORRECTED": "max", "CORRECTION_WEIGHT": 0.5},
    "pinyin_w1.0+dense_max": {"USE_PINYIN": True, "DENSE_CORRECTED": "max", "CORRECTION_WEIGHT": 1.0},
    "minmax": {"FUSION": "minmax"},
    "minmax_0.5": {"FUSION": "minmax", "DENSE_WEIGHT": 0.5},
    "zscore": {"FUSION": "zscore"},
    "zscore_0.5": {"FUSION": "zscore", "DENSE_WEIGHT": 0.5},
    "rrf": {"FUSION": "rrf", "DENSE_WEIGHT": 0.5},
    "rrf_0.6": {"FUSION": "rrf", "DENSE_WEIGHT": 0.6},
    "lin_0.6": {"DENSE_WEIGHT": 0.6},
    "pinyin+prf0.3": {"USE_PINYIN": True, "PRF_BETA": 0.3},
    "pinyin+prf0.6": {"USE_PINYIN": True, "PRF_BETA": 0.6},
    "pinyin+pools100": {"USE_PINYIN": True, "LEXICAL_POOL": 100, "DENSE_POOL": 100},
    "pinyin+densemin0.35": {"USE_PINYIN": True, "DENSE_MIN": 0.35},
    "pinyin+dense_pinyin": {"USE_PINYIN": True, "DENSE_CORRECTED": "pinyin"},
    "pinyin+fillers": {"USE_PINYIN": True, "USE_FILLERS": True},
    "pinyin+fillers+minmax": {"USE_PINYIN": True, "USE_FILLERS": True, "FUSION": "minmax"},
    "pinyin+fillers+zscore": {"USE_PINYIN": True, "USE_FILLERS": True, "FUSION": "zscore"},
    "pinyin+fillers+zscore_0.5": {"USE_PINYIN": True, "USE_FILLERS": True, "FUSION": "zscore", "DENSE_WEIGHT": 0.5},
    "pinyin+fillers+lin_0.8": {"USE_PINYIN": True, "USE_FILLERS": True, "DENSE_WEIGHT": 0.8},
    "pinyin+minmax": {"USE_PINYIN": True, "FUSION": "minmax"},
    "pinyin+zscore": {"USE_PINYIN": True, "FUSION": "zscore"},
    "lin_0.8": {"DENSE_WEIGHT": 0.8},
    "colloquial": P3,
    "final+body1.5": {"USE_PINYIN": True, "DENSE_CORRECTED": "pinyin", "BODY_BOOST": 1.5},
    "final+lexicon": {**P3, "BODY_BOOST": 1.0},
    "colloquial_w0.5": {**P3, "COLLOQUIAL_WEIGHT": 0.5},
    "colloquial_w0.65": {**P3, "COLLOQUIAL_WEIGHT": 0.65},
    "colloquial_w1.0": {**P3, "COLLOQUIAL_WEIGHT": 1.0},
    "colloquial_w1.0+dense": {**P3, "COLLOQUIAL_WEIGHT": 1.0, "COLLOQUIAL_DENSE": "max"},
    "colloquial+dense": {**P3, "COLLOQUIAL_DENSE": "max"},
    "colloquial+body2": {**P3, "BODY_BOOST": 2.0},
    "colloquial+clauses_mix": {**P3, "CLAUSES": "mix"},
    "colloquial+clauses_max": {**P3, "CLAUSES": "max"},
    "colloquial+rowmean0.2": {**P3, "ROW_MEAN_WEIGHT": 0.2},
    "colloquial+rerank0.05": {**P3, "RERANK_WEIGHT": 0.05},
    "colloquial+zscore": {**P3, "FUSION": "zscore"},
    "colloquial+minmax": {**P3, "FUSION": "minmax"},
    "colloquial_dw0.5": {**P3, "DENSE_WEIGHT": 0.5},
    "colloquial_dw0.8": {**P3, "DENSE_WEIGHT": 0.8},
    "colloquial_dw0.9": {**P3, "DENSE_WEIGHT": 0.9},
    "dense_only": {**P3, "DENSE_WEIGHT": 1.0, "DENSE_MIN": -1.0, "DENSE_POOL": 100},
}


def load(path: Path, field: str = "text") -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{"text": r[field], "target": r["target"]} for r in rows]


def apply(settings: dict) -> None:
    for name, value in {**BASE, **settings}.items():
        if name == "BODY_BOOST":
            I.BIGRAM_FIELDS["body"] = value
        else:
            setattr(S, name, value)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--heldout", action="store_true")
    parser.add_argument("--kb", nargs="*", default=[], help="article files imported instead of the seed KB")
    parser.add_argument("--sets", nargs="*", default=[], help="extra eval files: path or path:clean")
    parser.add_argument("--no-synonyms", action="store_true")
    parser.add_argument("--long-fillers", action="store_true")
    parser.add_argument("--strip-questions", action="store_true",
                        help="tuning proxy for an untuned KB: drop every article's similar questions "
                             "(title + answer only, vectors of the title only)")
    parser.add_argument("--answer-dense", type=int, default=0,
                        help="experiment: also embed the first N sentences of each answer (in memory)")
    parser.add_argument("--answer-scale", type=float, default=1.0)
    args = parser.parse_args()
    if args.long_fillers:  # the first list tried (measured worse)
        T.FILLERS = T.FILLERS + ("我想问下", "想问下", "问一下", "请问一下", "我想咨询一下", "咨询一下", "我想咨询",
                                 "麻烦问下", "麻烦", "您好", "你好", "谢谢", "在线等", "咋办", "怎么弄", "咋弄",
                                 "咋整", "怎么回事", "怎么", "这个", "一下", "我想", "我要", "我的", "你们",
                                 "帮我", "帮忙", "是不是", "能不能", "有没有", "为什么", "为啥", "什么", "啥",
                                 "吧", "呀", "哦", "嗯", "吗", "的", "了")
        T._FILLER_RE = T.re.compile("|".join(T.re.escape(w) for w in sorted(T.FILLERS, key=len, reverse=True)))
    home = Path(tempfile.mkdtemp(prefix="kb-quality-"))
    runtime = create_app({"HOME": str(home)}).extensions["bankdrill"]
    initialise(runtime)
    if args.kb:
        from knowledge_base import articles, transfer

        rows: list = []
        for f in args.kb:
            part, errors = transfer.parse_bytes(Path(f).read_bytes(), transfer.detect_format(Path(f), None))
            assert not errors, errors
            rows.extend(part)
        with runtime.transaction() as s:
            articles.import_rows(s, runtime.clock, rows, replace=True, by="bench")
    if args.strip_questions:
        from sqlalchemy import select

        from knowledge_base.articles import bump_version, compute_vectors
        from knowledge_base.models import Article

        with runtime.transaction() as s:
            rows_ = list(s.scalars(select(Article)))
            for a in rows_:
                a.questions = []
            compute_vectors(rows_)
            bump_version(s, runtime.clock, full=True)
    sets: dict[str, list[dict]] = {}
    if not args.kb:
        sets["tuning"] = load(ROOT / "seed_data" / "kb_eval.jsonl")
        sets["synthetic_homophones"] = load(ROOT / "benchmarks" / "kb_sets" / "synthetic_homophones.jsonl")
        sets["colloquial_tuning"] = load(ROOT / "benchmarks" / "kb_sets" / "colloquial_tuning.jsonl")
        if args.heldout:
            ev = ROOT / "seed_data" / "kb" / "eval"
            sets["heldout"] = load(ev / "heldout.jsonl")
            sets["homophones"] = load(ev / "homophones.jsonl")
            sets["homophones_clean"] = load(ev / "homophones.jsonl", "clean")
    for spec in args.sets:
        path, _, field = spec.partition(":")
        sets[Path(path).stem + (f"_{field}" if field else "")] = load(Path(path), field or "text")
    kb = S.KnowledgeBase(runtime.settings.index_dir, runtime.session_factory)
    kb.sync()
    if args.no_synonyms:
        kb._synonyms = S.Synonyms([])
    if args.answer_dense:
        import re

        import numpy as np

        from knowledge_base import embedding

        for entry in kb._entries.values():
            text = entry.plain_answer or entry.plain_text
            sentences = [x for x in re.split(r"(?<=[。！？；\n])", text) if x.strip()]
            head = "".join(sentences[: args.answer_dense])[:300]
            if head and entry.vectors is not None:
                vec = embedding.encode([head]) * args.answer_scale
                entry.vectors = np.vstack([entry.vectors, vec]).astype(np.float32)
        kb._dense = None
    print(f"{'variant':<24}" + "".join(f"{name[:22]:>24}" for name in sets))
    for name in args.variants.split(","):
        apply(VARIANTS[name])
        cells = []
        for cases in sets.values():
            kb.clear_cache()
            r = evaluate(kb, cases, k=3)
            cells.append(f"{r.hit1:.3f}/{r.hitk:.3f}/{r.mrr10:.3f}")
        print(f"{name:<24}" + "".join(f"{c:>24}" for c in cells), flush=True)
    kb.close()
    runtime.dispose()


if __name__ == "__main__":
    main()
