"""Whoosh analyzers for Chinese text. Importable on purpose: Whoosh pickles the
analyzer into the index, so other processes must be able to import these classes.

Two tokenizers, both folding the text first (NFKC, t2s, 帐→账, lower case):

- ``BigramTokenizer``: overlapping character bigrams inside each run of CJK ideographs
  (a single-character run yields that character), plus letter/digit words. Robust to
  typos and unknown words.
- ``WordTokenizer``: rjieba search-mode segmentation of CJK runs (dropping a few
  function words), plus letter/digit words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from whoosh.analysis import Token, Tokenizer

from knowledge_base.text import CJK_RUN, TOKEN_RUN, fold_aligned

MAX_WORD = 32
# Single characters that carry no meaning for retrieval in the word field.
FUNCTION_CHARS = frozenset("的了吗呢啊吧我你他她它是在有和与及或把被就都也还要么么个这那怎")


def bigrams(text: str) -> Iterator[tuple[str, int, int]]:
    """(term, start, end) over already-folded ``text``."""
    for match in TOKEN_RUN.finditer(text):
        run, start = match.group(), match.start()
        if CJK_RUN.fullmatch(run):
            if len(run) == 1:
                yield run, start, start + 1
            else:
                for i in range(len(run) - 1):
                    yield run[i:i + 2], start + i, start + i + 2
        else:
            yield run[:MAX_WORD], start, match.end()


def bigram_counts(value: str) -> dict[str, int]:
    """How often ``BigramTokenizer`` yields each term for ``value`` (folded here, as the
    tokenizer does): the full-rebuild path of the index, without a Token per bigram."""
    terms: list[str] = []
    extend, append = terms.extend, terms.append
    for run in TOKEN_RUN.findall(fold_aligned(value or "")):
        if run[0] > "z":  # a CJK run (the other alternative is ASCII letters and digits)
            if len(run) == 1:
                append(run)
            else:
                extend(map(str.__add__, run[:-1], run[1:]))
        else:
            append(run[:MAX_WORD])
    return Counter(terms)


def words(text: str) -> Iterator[tuple[str, int, int]]:
    """(term, start, end) from rjieba search-mode segmentation of already-folded ``text``."""
    for match in TOKEN_RUN.finditer(text):
        run, start = match.group(), match.start()
        if CJK_RUN.fullmatch(run):
            yield from run_words(run, start)
        else:
            yield run[:MAX_WORD], start, match.end()


def run_words(run: str, start: int = 0) -> Iterator[tuple[str, int, int]]:
    """``words`` of one CJK run of folded text that begins at offset ``start``: each run is
    segmented on its own, so a run's words do not depend on the text around it."""
    import rjieba

    for word, s, e in rjieba.tokenize(run, mode="search"):
        if len(word) == 1 and word in FUNCTION_CHARS:
            continue
        yield word, start + s, start + e


class _FoldingTokenizer(Tokenizer):
    splitter = staticmethod(bigrams)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self).__name__)

    def __call__(self, value: str, positions: bool = False, chars: bool = False,
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                 start_char: int = 0, tokenize: bool = True, mode: str = "", **kwargs) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        text = fold_aligned(value or "")
        pos = start_pos
        for term, start, end in self.splitter(text):
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value[start:end]
            if positions:
                token.pos = pos
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            pos += 1
            yield token


class BigramTokenizer(_FoldingTokenizer):
    splitter = staticmethod(bigrams)


class WordTokenizer(_FoldingTokenizer):
    splitter = staticmethod(words)


def BigramAnalyzer() -> BigramTokenizer:  # noqa: N802 (Whoosh naming style)
    return BigramTokenizer()


def WordAnalyzer() -> WordTokenizer:  # noqa: N802
    return WordTokenizer()
