import json

from knowledge_base import services
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
    assert services.parse_synonyms(text) == [["挂失", "丢了", "遗失"], ["补卡", "补办卡"]]


def test_seeded_instance_has_articles_synonyms_and_an_index(runtime):
    from knowledge_base.service import get_kb

    with runtime.transaction() as s:
        assert services.list_articles(s) and services.list_synonym_groups(s)
        assert services.get_version(s) >= 2
    kb = get_kb(runtime)
    kb.search("银行卡丢了怎么办")
    assert kb.rebuilds == 0  # the copied template index was current
