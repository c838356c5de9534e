import json
import re

from knowledge_base import articles
from knowledge_base.categories import CATEGORIES
from knowledge_base.seed import read_seed_articles, read_seed_synonyms, seed_dir
from tests.kb.test_eval import _seed_eval_lines


def test_seed_articles_are_valid_and_unique():
    rows, problems = read_seed_articles()
    assert rows and not problems, problems
    assert {r["category"] for _, r in rows} <= set(CATEGORIES)


def test_seed_eval_targets_exist():
    ids = {r["id"] for _, r in read_seed_articles()[0]}
    targets = {json.loads(line)["target"] for line in _seed_eval_lines()}
    assert targets and targets <= ids, sorted(targets - ids)


def test_seed_synonyms_parse():
    groups = read_seed_synonyms()
    assert groups and all(len(g) >= 2 for g in groups)
    assert (seed_dir() / "synonyms").is_dir()


def test_synonym_file_format():
    text = "# comment\n挂失 丢了 遗失  # trailing comment\n\n单独一个\n补卡 补办卡 补卡\n"
    assert articles.parse_synonyms(text) == [["挂失", "丢了", "遗失"], ["补卡", "补办卡"]]


def test_seeded_instance_has_articles_synonyms_and_an_index(runtime):
    from knowledge_base.search import get_kb

    with runtime.transaction() as s:
        assert articles.list_articles(s) and articles.list_synonym_groups(s)
        assert articles.get_version(s) >= 2
    kb = get_kb(runtime)
    kb.search("银行卡丢了怎么办")
    assert kb.rebuilds == 0  # the copied template index was current


HALF_WIDTH = re.compile(r"[,;:?!()]")
CHINESE = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef“”、]")


def half_width_in_chinese(text: str) -> list[str]:
    """Half-width ,;:?!() next to Chinese text (Markdown emphasis skipped); 9:00 and 1,000 are fine."""
    found = []
    for m in HALF_WIDTH.finditer(text):
        i = m.start()
        before = text[:i].rstrip("*_`")[-1:]
        after = text[i + 1:].lstrip("*_`")[:1]
        if before.isdigit() and after.isdigit():
            continue
        # a bracket whose contents are Chinese counts too: 账户(全功能)
        inside = text[i + 1:].split(")")[0] if m.group() == "(" else text[:i].split("(")[-1]
        if CHINESE.match(before or " ") or CHINESE.match(after or " ") or (m.group() in "()" and CHINESE.search(inside)):
            found.append(text[max(0, i - 8):i + 8])
    return found


def test_the_checker_sees_half_width_punctuation():
    assert half_width_in_chinese("您好,请稍候") and half_width_in_chinese("**最低还款额**:本期")
    assert half_width_in_chinese("I类账户(全功能)") and half_width_in_chinese("卡片已丢失的无需带卡）;\n2.")
    assert not half_width_in_chinese("营业时间 9:00-17:00，限额 1,000 元；详见 https://example.com (English)")


def test_seed_articles_use_full_width_punctuation_in_chinese_text():
    bad = []
    for _, row in read_seed_articles()[0]:
        for field in ("title", "answer", "plain_answer"):
            bad += [f"{row['id']}.{field}: {s!r}" for s in half_width_in_chinese(row[field] or "")]
        for q in row["questions"]:
            bad += [f"{row['id']}.questions: {s!r}" for s in half_width_in_chinese(q)]
    assert bad == []
