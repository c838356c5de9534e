"""Homophone-tolerant query terms: tone-less pinyin with the usual IME fuzzy equivalences.

A pinyin input method (or a speech recogniser) writes a character with the right sound and
the wrong meaning: 信用卡换款 for 还款, 挂师 for 挂失, 冻节 for 冻结. Such a bigram almost
never occurs in the knowledge base. ``PinyinVocab`` maps every CJK bigram of the KB's own
vocabulary (the Whoosh lexicon) to its fuzzy-pinyin key; ``corrections`` replaces a query
bigram that the KB never contains by the KB bigrams that sound the same. A run of pinyin
letters ("xinyongka", "guashi") that is not itself a KB word is cut into syllables and
looked up the same way.

Fuzzy key: tone-less syllables (every reading of a polyphonic character), zh=z, ch=c,
sh=s, n=l, ang=an, eng=en, ing=in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import product

from knowledge_base.text import CJK_RUN

# Every tone-less syllable pypinyin gives for a GB2312 character (ü written v), minus the
# interjections m, n, ng, hng that would cut letter runs wrongly.
SYLLABLES = frozenset("""
a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao ce cen
ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui chun chuo ci cong
cou cu cuan cui cun cuo da dai dan dang dao de dei deng di dia dian diao die ding diu dong dou du duan dui dun
duo e ei en er fa fan fang fei fen feng fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan
guang gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui hun huo ji jia jian
jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke kei ken keng kong kou ku kua kuai kuan
kuang kui kun kuo la lai lan lang lao le lei len leng li lia lian liang liao lie lin ling liu lo long lou lu
luan lun luo lv lve ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou mu na nai nan nang
nao ne nei nen neng ni nian niang niao nie nin ning niu nong nou nu nuan nuo nv nve o ou pa pai pan pang pao
pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan que qun
ran rang rao re ren reng ri rong rou ru ruan rui run ruo sa sai san sang sao se sen seng sha shai shan shang
shao she shei shen sheng shi shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo
ta tai tan tang tao te tei teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen
weng wo wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yo
yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhei zhen zheng zhi
zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun zuo
""".split())
MAX_SYLLABLE = 6
LETTERS = re.compile(r"[a-z]+")
MAX_CANDIDATES = 2  # KB bigrams kept per unknown query bigram (the most frequent)
MAX_READINGS = 3


def fuzzy(syllable: str) -> str:
    """The IME-equivalence class of a tone-less syllable."""
    s = syllable.replace("ü", "v")
    if s[:2] in ("zh", "ch", "sh"):
        s = s[0] + s[2:]
    elif s.startswith("n") and len(s) > 1:
        s = "l" + s[1:]
    if s.endswith(("ang", "eng", "ing")):
        s = s[:-1]
    return s


@lru_cache(maxsize=65536)
def char_readings(ch: str) -> tuple[str, ...]:
    """Tone-less readings of one CJK character, most common first (empty for anything else)."""
    if not CJK_RUN.fullmatch(ch):
        return ()
    from pypinyin import Style, pinyin

    readings = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore", v_to_u=False)
    found = dict.fromkeys(r for r in (readings[0] if readings else []) if r.isascii() and r.isalpha())
    return tuple(found)[:MAX_READINGS]


@lru_cache(maxsize=65536)
def char_keys(ch: str) -> tuple[str, ...]:
    """Fuzzy keys of every reading of one CJK character (empty for anything else)."""
    return tuple(dict.fromkeys(fuzzy(r) for r in char_readings(ch)))


def bigram_keys(bigram: str) -> list[str]:
    """Fuzzy keys of a two-character CJK bigram ("xin yong")."""
    return list(_bigram_keys(bigram))


# Kept across vocabularies: after a KB edit, the new searcher's vocabulary only computes the
# keys of bigrams it has not seen before.
@lru_cache(maxsize=1 << 19)
def _bigram_keys(bigram: str) -> tuple[str, ...]:
    if len(bigram) != 2:
        return ()
    first, second = char_keys(bigram[0]), char_keys(bigram[1])
    return tuple(f"{a} {b}" for a, b in product(first, second))


@lru_cache(maxsize=65536)
def reading(bigram: str) -> str:
    """The tone-less reading of a KB bigram as a word ("还款" -> "huan kuan"; pypinyin's
    phrase table picks the reading of polyphonic characters)."""
    from pypinyin import Style, lazy_pinyin

    return " ".join(lazy_pinyin(bigram, style=Style.NORMAL, errors="ignore"))


def bigram_readings(bigram: str) -> set[str]:
    """Every tone-less reading of a typed bigram ("shan hu"): the typist may have meant any."""
    if len(bigram) != 2:
        return set()
    return {f"{a} {b}" for a, b in product(char_readings(bigram[0]), char_readings(bigram[1]))}


def syllables(letters: str) -> list[str] | None:
    """``letters`` cut into pinyin syllables (longest match, with backtracking), or None."""
    memo: dict[int, list[str] | None] = {}

    def cut(start: int) -> list[str] | None:
        if start == len(letters):
            return []
        if start in memo:
            return memo[start]
        found = None
        for end in range(min(len(letters), start + MAX_SYLLABLE), start, -1):
            if letters[start:end] in SYLLABLES:
                rest = cut(end)
                if rest is not None:
                    found = [letters[start:end], *rest]
                    break
        memo[start] = found
        return found

    if not letters or len(letters) > 60:
        return None
    return cut(0)


class PinyinVocab:
    """Fuzzy-pinyin key -> the KB's CJK bigrams with that key, most frequent first.

    ``previous``: the vocabulary of the index before an edit; only the buckets of bigrams whose
    frequency changed are sorted again (a trainer's edit changes a few dozen of ~16,000 bigrams,
    and sorting every bucket took ~100 ms of the first search after each edit). The result is the
    vocabulary built afresh (``tests/kb/test_pinyin.py``)."""

    def __init__(self, terms: Iterable[tuple[str, int]], previous: PinyinVocab | None = None) -> None:
        self.known: dict[str, int] = {}
        for term, df in terms:
            self.known[term] = self.known.get(term, 0) + df
        if previous is None:
            self._buckets: dict[str, dict[str, int]] = {}
            changed: Iterable[str] = self.known
            self.by_key: dict[str, list[str]] = {}
        else:
            # Copied, never changed in place: the previous vocabulary may be serving a search now.
            self._buckets = dict(previous._buckets)
            self.by_key = dict(previous.by_key)
            old = previous.known
            changed = [t for t in self.known.keys() | old.keys() if self.known.get(t) != old.get(t)]
        touched: dict[str, dict[str, int]] = {}
        for term in changed:
            if len(term) != 2 or not CJK_RUN.fullmatch(term):
                continue
            frequency = self.known.get(term)
            times: dict[str, int] = {}  # a key the bigram has twice counts it twice
            for key in _bigram_keys(term):
                times[key] = times.get(key, 0) + 1
            for key, n in times.items():
                bucket = touched.get(key)
                if bucket is None:
                    bucket = touched[key] = dict(self._buckets.get(key, {}))
                if frequency is None:
                    bucket.pop(term, None)
                else:
                    bucket[term] = frequency * n
        for key, bucket in touched.items():
            if bucket:
                self._buckets[key] = bucket
                self.by_key[key] = [t for t, _df in sorted(bucket.items(), key=lambda kv: (-kv[1], kv[0]))][:16]
            else:
                self._buckets.pop(key, None)
                self.by_key.pop(key, None)

    def __len__(self) -> int:
        return len(self.known)

    def sounds_like(self, keys: Iterable[str], exclude: str = "", readings: set[str] | None = None) -> list[str]:
        """KB bigrams with one of the fuzzy ``keys``: those with one of the exact ``readings``
        first, then the most frequent."""
        found: dict[str, tuple[bool, int]] = {}
        for key in keys:
            for term in self.by_key.get(key, ()):
                if term != exclude and term not in found:
                    exact = readings is not None and reading(term) in readings
                    found[term] = (not exact, -self.known.get(term, 0))
        return [t for t, _rank in sorted(found.items(), key=lambda kv: (kv[1], kv[0]))][:MAX_CANDIDATES]


@lru_cache(maxsize=65536)
def is_word(term: str) -> bool:
    """Whether ``term`` is a word of the segmenter's dictionary: a homophone is read as a word
    (挂师 → 挂失), never as two characters that merely stand side by side in some article
    (蛋孵 → 但不), which would give nonsense queries false hits."""
    import rjieba

    return rjieba.cut(term) == [term]


@dataclass
class Correction:
    """One query term the KB never contains and what it was read as."""

    source: str  # the query bigram or pinyin letters
    replacements: list[str]
    kind: str  # "homophone" | "pinyin"
    chain: list[str] = field(default_factory=list)  # pinyin: the likeliest bigram per syllable pair


def corrections(bigram_terms: Iterable[str], letter_terms: Iterable[str], vocab: PinyinVocab) -> list[Correction]:
    """Corrections for the unknown CJK bigrams and pinyin-letter runs of a query."""
    out: list[Correction] = []
    for term in dict.fromkeys(bigram_terms):
        if len(term) != 2 or term in vocab.known or not CJK_RUN.fullmatch(term):
            continue
        found = [t for t in vocab.sounds_like(bigram_keys(term), exclude=term, readings=bigram_readings(term))
                 if is_word(t)]
        if found:
            out.append(Correction(term, found, "homophone"))
    for letters in dict.fromkeys(letter_terms):
        if letters in vocab.known or not LETTERS.fullmatch(letters):
            continue
        cut = syllables(letters)
        if not cut or len(cut) < 2:
            continue
        keys = [fuzzy(s) for s in cut]
        best: list[str] = []  # the likeliest reading of each syllable pair (for the encoder)
        others: list[str] = []
        for i, (a, b) in enumerate(zip(keys, keys[1:], strict=False)):
            found = vocab.sounds_like([f"{a} {b}"], readings={f"{cut[i]} {cut[i + 1]}"})
            if found:
                best.append(found[0])
                others.extend(t for t in found[1:] if t not in others)
        replacements = list(dict.fromkeys(best + others))
        if best:
            out.append(Correction(letters, replacements, "pinyin", chain=best))
    return out


def corrected_text(normalised: str, found: list[Correction]) -> str:
    """``normalised`` with each corrected bigram replaced by its first reading and each
    pinyin run by the characters its syllable bigrams were read as (for the encoder)."""
    text = normalised
    for c in found:
        if c.kind == "homophone":
            text = text.replace(c.source, c.replacements[0])
        else:
            chars = c.chain[0]
            for term in c.chain[1:]:
                chars += term[1] if chars[-1] == term[0] else term
            text = text.replace(c.source, chars)
    return text
