"""Dense scoring of a large knowledge base: the two-stage pass (means first, then the rows of
the best articles and of the lexical hits) against the exact pass over every row."""

import numpy as np
import pytest

from knowledge_base import search
from knowledge_base.entry import Entry
from knowledge_base.search import DenseStore

DIM = 32


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def entries(count: int, seed: int = 5) -> dict[str, Entry]:
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(count):
        rows = unit(rng.normal(size=(int(rng.integers(1, 7)), DIM)))
        out[f"A{i:04d}"] = Entry(id=f"A{i:04d}", title="t", questions=[], category="借记卡", status="已发布",
                                 tags=[], plain_text="", plain_answer="", vectors=rows)
    return out


def exact_best(store: DenseStore, query: np.ndarray) -> np.ndarray:
    return np.array([float(np.max(e.vectors @ query)) for e in store.source.values()], dtype=np.float32)


@pytest.fixture
def large(monkeypatch):
    monkeypatch.setattr(search, "EXACT_MAX_ARTICLES", 100)
    monkeypatch.setattr(search, "PREFILTER_ARTICLES", 20)
    return DenseStore(entries(300))


def test_a_small_knowledge_base_scores_every_row(monkeypatch):
    monkeypatch.setattr(search, "EXACT_MAX_ARTICLES", 1000)
    store = DenseStore(entries(300))
    assert store.means is None
    query = unit(np.random.default_rng(1).normal(size=DIM))
    assert np.allclose(store.scores(query), exact_best(store, query), atol=1e-6)


def test_two_stage_scores_are_exact_where_refined_and_never_above_elsewhere(large):
    rng = np.random.default_rng(2)
    for _ in range(20):
        query = unit(rng.normal(size=DIM))
        lexical = rng.choice(len(large.ids), size=7, replace=False)
        got, exact = large.scores(query, lexical), exact_best(large, query)
        refined = np.isclose(got, exact, atol=1e-6)
        assert refined[lexical].all()  # the fusion reads these: always exact
        assert refined.sum() >= search.PREFILTER_ARTICLES
        assert (got <= exact + 1e-6).all()  # the others keep their mean cosine, a lower bound
        mean = np.array([float(np.mean(e.vectors @ query)) for e in large.source.values()])
        assert np.allclose(got[~refined], mean[~refined], atol=1e-5)


def test_the_best_articles_are_the_exact_ones_when_they_stand_out(large):
    # A query close to one row of one article: that article must come out on top with its
    # exact cosine even though its other rows pull its mean down.
    target = large.ids.index("A0123")
    query = large.source["A0123"].vectors[0]
    got = large.scores(query)
    assert int(np.argmax(got)) == target and got[target] == pytest.approx(1.0, abs=1e-5)


def test_every_article_refined_equals_the_exact_pass(large, monkeypatch):
    monkeypatch.setattr(search, "PREFILTER_ARTICLES", 10_000)
    query = unit(np.random.default_rng(3).normal(size=DIM))
    assert np.allclose(large.scores(query), exact_best(large, query), atol=1e-6)


def test_row_mean_weight_mixes_the_same_way_in_both_passes(large, monkeypatch):
    monkeypatch.setattr(search, "ROW_MEAN_WEIGHT", 0.5)
    query = unit(np.random.default_rng(4).normal(size=DIM))
    everything = np.arange(len(large.ids))
    got = large.scores(query, everything)
    exact = exact_best(large, query)
    mean = np.array([float(np.mean(e.vectors @ query)) for e in large.source.values()])
    assert np.allclose(got, (exact + 0.5 * mean) / 1.5, atol=1e-5)


def test_a_search_ranks_the_same_above_and_below_the_threshold(runtime, monkeypatch):
    """Through the real search: the seed knowledge base ranked with every article's rows and
    with the two-stage pass (forced on by a threshold below its size) gives the same first hit."""
    from knowledge_base.search import get_kb

    kb = get_kb(runtime)
    queries = ["银行卡丢了怎么办", "信用卡逾期了会怎样", "手机银行登录不了", "想买理财怎么选", "转账转错人了"]
    exact = [[h.id for h in kb.search(q).hits] for q in queries]
    monkeypatch.setattr(search, "EXACT_MAX_ARTICLES", 10)
    monkeypatch.setattr(search, "PREFILTER_ARTICLES", 20)
    kb._dense = None
    kb.clear_cache()
    assert kb._view()[2].means is not None
    two_stage = [[h.id for h in kb.search(q).hits] for q in queries]
    assert [r[:1] for r in two_stage] == [r[:1] for r in exact]
    assert all(r[:1] for r in exact)
