"""The labelled corpus of agent utterances: loading and validation.

Files are ``seed_data/dialogue/corpus/*.tsv``, one example a line:
``id<TAB>act<TAB>split<TAB>text`` (``#`` comments and blank lines allowed). A file with an
unknown act, an unknown split, a missing field or an id used twice is refused with
``file:line``; nothing is loaded from a broken corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sandbox.dialogue.acts import ACTS
from sandbox.errors import DomainError

SPLITS = ("train", "test")


class CorpusError(DomainError):
    """The corpus cannot be loaded; the message names the file and line."""

    code = "corpus_invalid"


@dataclass(frozen=True)
class Example:
    id: str
    act: str
    split: str
    text: str
    source: str


def default_corpus_dir() -> Path:
    import seed_data

    return Path(seed_data.__file__).parent / "dialogue" / "corpus"


def load_corpus(directory: Path | None = None) -> list[Example]:
    """Every example of every ``*.tsv`` file in ``directory`` (sorted by file name)."""
    directory = directory or default_corpus_dir()
    files = sorted(directory.glob("*.tsv"))
    if not files:
        raise CorpusError(f"语料目录 {directory} 中没有 .tsv 文件")
    examples: list[Example] = []
    seen: dict[str, str] = {}
    for path in files:
        for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            line = raw.rstrip("\r")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            where = f"{path.name}:{lineno}"
            fields = line.split("\t")
            if len(fields) != 4:
                raise CorpusError(f"{where}：应为 4 个以制表符分隔的字段（编号、话语行为、划分、文本），实际 {len(fields)} 个")
            ex_id, act, split, text = (f.strip() for f in fields)
            if not ex_id:
                raise CorpusError(f"{where}：缺少编号")
            if ex_id in seen:
                raise CorpusError(f"{where}：编号 {ex_id} 重复（首次出现在 {seen[ex_id]}）")
            if act not in ACTS:
                raise CorpusError(f"{where}：未知的话语行为“{act}”（可选：{'、'.join(ACTS)}）")
            if split not in SPLITS:
                raise CorpusError(f"{where}：划分应为 train 或 test，实际为“{split}”")
            if not text:
                raise CorpusError(f"{where}：文本为空")
            seen[ex_id] = where
            examples.append(Example(ex_id, act, split, text, where))
    return examples
