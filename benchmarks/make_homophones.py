"""Synthetic IME/ASR homophone errors over the TUNING queries (seed_data/kb_eval.jsonl).

    python benchmarks/make_homophones.py [--out benchmarks/kb_sets/synthetic_homophones.jsonl]

Deterministic (seeded). For each tuning query, one or two Chinese characters are swapped
for another character from the GB2312 level-1 list (the 3,755 common characters) that
reads the same tone-less pinyin (80%) or the same up to one IME fuzzy pair (zh/z, ch/c,
sh/s, n/l, an/ang, en/eng, in/ing; 20%), the way a fast typist picks the wrong candidate
or a recogniser hears a near sound. Readings come from pypinyin (all readings of the
original character, the first reading of the substitute). Used for homophone tuning; the
human-written seed_data/kb/eval/homophones.jsonl is held out and only reported.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from pypinyin import Style, pinyin

ROOT = Path(__file__).resolve().parents[1]
FUZZY_PAIRS = [("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"), ("ang", "an"), ("eng", "en"), ("ing", "in")]


def common_chars() -> list[str]:
    out = []
    for b1 in range(0xB0, 0xD8):  # GB2312 level 1
        for b2 in range(0xA1, 0xFF):
            try:
                out.append(bytes([b1, b2]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return out


def readings(ch: str) -> list[str]:
    got = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore")
    return [r for r in (got[0] if got else []) if r.isascii() and r.isalpha()]


def fuzzy_variants(s: str) -> set[str]:
    out = set()
    for a, b in FUZZY_PAIRS:
        for x, y in ((a, b), (b, a)):
            if x in ("n", "l", "zh", "z", "ch", "c", "sh", "s"):
                if s.startswith(x) and not (x in "zcs" and s[1:2] == "h"):
                    out.add(y + s[len(x):])
            elif s.endswith(x) and not (x == "an" and s.endswith("ian") and y == "ang" and False):
                out.add(s[: -len(x)] + y)
    return {v for v in out if v != s}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--src", default=str(ROOT / "seed_data" / "kb_eval.jsonl"))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "kb_sets" / "synthetic_homophones.jsonl"))
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    by_sound: dict[str, list[str]] = {}
    for ch in common_chars():
        first = readings(ch)[:1]
        for r in first:
            by_sound.setdefault(r, []).append(ch)
    lines = []
    for line in Path(args.src).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        text = case["text"]
        positions = [i for i, ch in enumerate(text) if "\u4e00" <= ch <= "\u9fff" and readings(ch)]
        rng.shuffle(positions)
        chars = list(text)
        changed = 0
        want = 1 if rng.random() < 0.6 else 2
        for i in positions:
            if changed >= want:
                break
            own = readings(chars[i])
            if rng.random() < 0.8:
                sounds = set(own)
            else:
                sounds = set().union(*(fuzzy_variants(r) for r in own))
            pool = sorted({c for s in sounds for c in by_sound.get(s, []) if c != chars[i]})
            if not pool:
                continue
            chars[i] = rng.choice(pool)
            changed += 1
        if changed:
            lines.append(json.dumps({"text": "".join(chars), "clean": text, "target": case["target"]},
                                    ensure_ascii=False))
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} queries -> {args.out}")


if __name__ == "__main__":
    main()
