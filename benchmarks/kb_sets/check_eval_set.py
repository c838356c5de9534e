"""Check a search evaluation set against the knowledge-base articles it targets (stdlib only).

Two kinds of set are understood, told apart by their fields:

* plain (``eval.jsonl``): ``{"text": ..., "target": "<article id>"}``
* homophones (``homophones.jsonl``): ``{"text": "with errors", "clean": "...", "target": ..., "kind": "ime"|"asr"}``

Errors (exit status 1): a line that is not a JSON object, a missing or empty field, an unknown
target, a target that is not published, an article targeted more than ``--max-per-article`` times,
a text (or clean text) equal to or containing an article's title or one of its listed questions,
duplicate texts, and, for the plain set, published articles never targeted. For homophones also:
an unknown kind, a text identical to its clean form, more than three differing spans between them,
and texts already used by the set(s) given with ``--exclude-texts``.
Warnings (reported, exit status unchanged): a text very close to a title or listed question.

Usage::

    python benchmarks/kb_sets/check_eval_set.py benchmarks/kb_sets/jiangzhou \\
        --eval benchmarks/kb_sets/jiangzhou/eval.jsonl
    python benchmarks/kb_sets/check_eval_set.py benchmarks/kb_sets/jiangzhou \\
        --eval benchmarks/kb_sets/jiangzhou/homophones.jsonl \\
        --exclude-texts benchmarks/kb_sets/jiangzhou/eval.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

PUBLISHED = {"已发布", "published"}
KINDS = ("ime", "asr")
PLAIN_FIELDS = ("text", "target")
HOMOPHONE_FIELDS = ("text", "clean", "target", "kind")
# (label, lowest length, highest length) in characters, for the summary
LENGTH_BUCKETS = (("1-2", 1, 2), ("3-8", 3, 8), ("9", 9, 9), ("10-30", 10, 30), ("31-39", 31, 39),
                  ("40-80", 40, 80), ("81+", 81, 10**9))
NEAR_RATIO = 0.8
MAX_ERROR_SPANS = 3


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    questions: tuple[str, ...]
    status: str
    category: str


@dataclass
class Report:
    path: str
    mode: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    lines: int = 0
    lengths: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    per_article: Counter[str] = field(default_factory=Counter)
    per_category: Counter[str] = field(default_factory=Counter)
    never_targeted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def normalize(text: str) -> str:
    """Compare texts without spaces, punctuation or case (full-width folded to half-width)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not unicodedata.category(ch).startswith(("P", "Z", "S", "C")))


def article_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named by the user; a folder stands for its ``articles*.jsonl`` files."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(path.glob("articles*.jsonl")))
        else:
            files.append(path)
    return files


def load_articles(paths: Iterable[str | Path]) -> dict[str, Article]:
    articles: dict[str, Article] = {}
    for path in article_files(paths):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            article_id = str(row["id"])
            if article_id in articles:
                raise ValueError(f"{path}:{number}: 文章编号重复 {article_id}")
            articles[article_id] = Article(article_id, str(row["title"]), tuple(str(q) for q in row.get("questions", [])),
                                           str(row.get("status", "")), str(row.get("category", "")))
    if not articles:
        raise ValueError("没有读到任何文章")
    return articles


def read_rows(path: Path, errors: list[str]) -> list[tuple[int, dict[str, object]]]:
    rows: list[tuple[int, dict[str, object]]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            errors.append(f"第{number}行：空行")
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"第{number}行：不是合法的 JSON（{exc.msg}）")
            continue
        if not isinstance(row, dict):
            errors.append(f"第{number}行：不是 JSON 对象")
            continue
        rows.append((number, row))
    return rows


def texts_of(path: Path) -> set[str]:
    """Normalised ``text`` and ``clean`` values of another set (for ``--exclude-texts``)."""
    found: set[str] = set()
    for _, row in read_rows(path, []):
        for key in ("text", "clean"):
            value = row.get(key)
            if isinstance(value, str) and value.strip():
                found.add(normalize(value))
    return found


def length_bucket(text: str) -> str:
    size = len(text.strip())
    for label, low, high in LENGTH_BUCKETS:
        if low <= size <= high:
            return label
    return "0"



def unique_problems(number: int, field: str, value: str, norm: str, seen: dict[str, int],
                    excluded: set[str]) -> list[str]:
    """A line's ``field`` repeated in this set or found in an excluded set (records it as seen)."""
    problems = []
    if norm in seen:
        problems.append(f"第{number}行：{field} 与第{seen[norm]}行重复：「{value}」")
    else:
        seen[norm] = number
    if norm in excluded:
        problems.append(f"第{number}行：{field} 已出现在排除的集合中：「{value}」")
    return problems

def error_spans(clean: str, text: str) -> int:
    """How many separate places differ between the clean and the erroneous text."""
    return sum(1 for op in SequenceMatcher(None, clean, text, autojunk=False).get_opcodes() if op[0] != "equal")


class _Reference:
    """Titles and listed questions, normalised, for the overlap checks."""

    def __init__(self, articles: dict[str, Article]) -> None:
        self.items: list[tuple[str, str, str]] = []  # (normalised, original, "title of X" / "question of X")
        for art in articles.values():
            self.items.append((normalize(art.title), art.title, f"{art.id} 的标题"))
            for q in art.questions:
                self.items.append((normalize(q), q, f"{art.id} 的列出问题"))

    def overlaps(self, text: str) -> tuple[list[str], list[str]]:
        """(containment errors, near-copy warnings) for one text."""
        norm = normalize(text)
        contained: list[str] = []
        near: list[str] = []
        matcher = SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(norm)  # the matcher caches what it learns about its second sequence
        for ref_norm, original, where in self.items:
            if not ref_norm:
                continue
            if ref_norm == norm:
                contained.append(f"与{where}相同：「{original}」")
            elif ref_norm in norm:
                contained.append(f"包含{where}：「{original}」")
            else:
                matcher.set_seq1(ref_norm)
                if (matcher.real_quick_ratio() >= NEAR_RATIO and matcher.quick_ratio() >= NEAR_RATIO
                        and matcher.ratio() >= NEAR_RATIO):
                    near.append(f"与{where}过于相近：「{original}」")
        return contained, near


def check_set(articles: dict[str, Article], eval_path: str | Path, *, max_per_article: int = 4,
              require_coverage: bool | None = None, exclude_texts: Sequence[str | Path] = ()) -> Report:
    """Check one evaluation file; ``require_coverage`` defaults to True for plain sets only."""
    path = Path(eval_path)
    errors: list[str] = []
    rows = read_rows(path, errors)
    mode = "homophones" if any("clean" in row for _, row in rows) else "plain"
    report = Report(str(path), mode, errors)
    report.lines = len(rows)
    needed = HOMOPHONE_FIELDS if mode == "homophones" else PLAIN_FIELDS
    reference = _Reference(articles)
    excluded: set[str] = set()
    for other in exclude_texts:
        excluded |= texts_of(Path(other))
    seen: dict[str, int] = {}
    seen_clean: dict[str, int] = {}

    for number, row in rows:
        missing = [key for key in needed if not isinstance(row.get(key), str) or not str(row.get(key)).strip()]
        if missing:
            errors.append(f"第{number}行：缺少或为空的字段 {', '.join(missing)}")
            continue
        extra = sorted(set(row) - set(needed))
        if extra:
            report.warnings.append(f"第{number}行：多余的字段 {', '.join(extra)}")
        text = str(row["text"]).strip()
        target = str(row["target"]).strip()
        art = articles.get(target)
        if art is None:
            errors.append(f"第{number}行：目标文章 {target} 不存在")
        else:
            if art.status not in PUBLISHED:
                errors.append(f"第{number}行：目标文章 {target} 未发布（状态：{art.status or '无'}）")
            report.per_category[art.category] += 1
        report.per_article[target] += 1
        report.lengths[length_bucket(text)] += 1

        norm = normalize(text)
        errors.extend(unique_problems(number, "text", text, norm, seen, excluded))

        checked = [("text", text)]
        if mode == "homophones":
            clean = str(row["clean"]).strip()
            kind = str(row["kind"]).strip()
            report.kinds[kind] += 1
            if kind not in KINDS:
                errors.append(f"第{number}行：kind 应为 ime 或 asr，而不是 {kind}")
            if normalize(clean) == norm:
                errors.append(f"第{number}行：text 与 clean 相同，没有错误")
            else:
                spans = error_spans(clean, text)
                if spans > MAX_ERROR_SPANS:
                    errors.append(f"第{number}行：text 与 clean 有 {spans} 处不同（最多 {MAX_ERROR_SPANS} 处）")
            errors.extend(unique_problems(number, "clean", clean, normalize(clean), seen_clean, excluded))
            checked.append(("clean", clean))
        for key, value in checked:
            contained, near = reference.overlaps(value)
            errors.extend(f"第{number}行 {key}「{value}」{msg}" for msg in contained)
            report.warnings.extend(f"第{number}行 {key}「{value}」{msg}" for msg in near)

    for target, count in sorted(report.per_article.items()):
        if count > max_per_article:
            errors.append(f"文章 {target} 被用了 {count} 次（最多 {max_per_article} 次）")
    published = [a.id for a in articles.values() if a.status in PUBLISHED]
    report.never_targeted = [a for a in published if a not in report.per_article]
    if require_coverage is None:
        require_coverage = mode == "plain"
    if require_coverage and report.never_targeted:
        errors.append(f"{len(report.never_targeted)} 篇已发布文章从未作为目标：{', '.join(report.never_targeted)}")
    return report


def summary(report: Report, articles: dict[str, Article]) -> str:
    lines = [f"== {report.path}（{'同音/识别错误集' if report.mode == 'homophones' else '普通问题集'}）",
             f"行数：{report.lines}",
             "长度分布：" + "，".join(f"{label}字 {report.lengths[label]}" for label, _, _ in LENGTH_BUCKETS
                                 if report.lengths[label])]
    if report.kinds:
        lines.append("类型：" + "，".join(f"{k} {n}" for k, n in sorted(report.kinds.items())))
    counts = Counter(report.per_article.values())
    published = sum(1 for a in articles.values() if a.status in PUBLISHED)
    lines.append(f"覆盖文章：{len(report.per_article)} / {published} 篇已发布；每篇次数分布："
                 + "，".join(f"{n}次 {counts[n]}篇" for n in sorted(counts)))
    if report.never_targeted:
        lines.append(f"未覆盖（{len(report.never_targeted)}）：{', '.join(report.never_targeted)}")
    lines.append("按分类：" + "，".join(f"{c} {n}" for c, n in report.per_category.most_common()))
    lines.append(f"警告 {len(report.warnings)} 条，错误 {len(report.errors)} 条")
    lines.extend(f"  警告：{w}" for w in report.warnings)
    lines.extend(f"  错误：{e}" for e in report.errors)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="检查检索评测集（JSONL）与知识库文章是否一致")
    parser.add_argument("articles", nargs="+", help="文章 JSONL 文件，或包含 articles*.jsonl 的目录")
    parser.add_argument("--eval", dest="evals", action="append", required=True, help="要检查的评测集，可重复")
    parser.add_argument("--max-per-article", type=int, default=4)
    parser.add_argument("--exclude-texts", action="append", default=[],
                        help="这些集合中出现过的问题不得再出现（可重复）")
    coverage = parser.add_mutually_exclusive_group()
    coverage.add_argument("--coverage", dest="coverage", action="store_true", default=None,
                          help="要求每篇已发布文章至少出现一次（普通集默认要求）")
    coverage.add_argument("--no-coverage", dest="coverage", action="store_false")
    args = parser.parse_args(argv)
    articles = load_articles(args.articles)
    failed = False
    for path in args.evals:
        excluded = [p for p in args.exclude_texts if Path(p).resolve() != Path(path).resolve()]
        report = check_set(articles, path, max_per_article=args.max_per_article, require_coverage=args.coverage,
                           exclude_texts=excluded)
        print(summary(report, articles))
        failed = failed or not report.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
