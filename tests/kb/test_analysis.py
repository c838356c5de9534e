import pickle

from knowledge_base import analysis, index
from knowledge_base.snippets import highlight, snippet
from knowledge_base.text import fold, fold_aligned, markdown_to_plain, normalise_query


def terms(text):
    return [t.text for t in analysis.BigramAnalyzer()(text)]


def test_fold_converts_traditional_and_the_zhang_variant():
    assert fold("賬單") == "账单"
    assert fold("帳戶轉帳") == "账户转账"
    assert fold("ＡＴＭ１２３") == "atm123"


def test_fold_aligned_keeps_offsets():
    text = "ﬁ信用卡帳單"
    assert len(fold_aligned(text)) == len(text)
    assert fold_aligned(text).endswith("信用卡账单")


def test_bigrams_cover_cjk_runs_and_keep_latin_words():
    assert terms("信用卡账单") == ["信用", "用卡", "卡账", "账单"]
    assert terms("卡") == ["卡"]
    assert terms("ATM 吞卡了!") == ["atm", "吞卡", "卡了"]
    assert terms("😀，。") == []


def test_bigram_offsets_point_into_the_original():
    tokens = [(t.text, t.startchar, t.endchar) for t in analysis.BigramAnalyzer()("賬單查詢", chars=True)]
    assert tokens[0] == ("账单", 0, 2)


def test_word_tokenizer_segments_and_drops_function_chars():
    words = [t.text for t in analysis.WordAnalyzer()("我的银行卡丢了")]
    assert "银行卡" in words and "的" not in words and "了" not in words


def test_schema_and_analyzers_pickle():
    # Whoosh pickles the schema into the index: other processes must load it.
    schema = pickle.loads(pickle.dumps(index.make_schema()))
    assert [t.text for t in schema["title"].analyzer("賬單")] == ["账单"]


def test_normalise_query_is_bounded_and_collapsed():
    assert normalise_query("  信用卡   賬單 ") == "信用卡 账单"
    assert len(normalise_query("卡" * 5000)) == 200
    assert normalise_query(None) == ""


def test_markdown_to_plain():
    assert markdown_to_plain("## 标题\n\n- **第一**步 [链接](http://x)\n") == "标题 第一步 链接"


def test_snippets_escape_and_mark():
    out = snippet(["请<b>立即</b>挂失您的银行卡"], ["挂失"])
    assert "<mark>挂失</mark>" in out and "&lt;b&gt;" in out and "<b>" not in out
    assert highlight("信用卡賬單", ["账单"]) == "信用卡<mark>賬單</mark>"


def test_a_highlight_is_a_whole_word_never_a_fragment_of_another():
    # 贷记卡 is a synonym of 信用卡: its bigram 记卡 must not light up inside 借记卡.
    assert highlight("借记卡和贷记卡", ["记卡", "贷记卡"]) == "借记卡和<mark>贷记卡</mark>"
    assert "<mark>" not in highlight("借记卡挂失", ["记卡"])
    # a query word still marks where the text has it as a word (also inside a longer word's segments)
    assert highlight("最低还款额是多少", ["还款"]) == "最低<mark>还款</mark>额是多少"
    assert highlight("ATM机吞卡", ["atm"]) == "<mark>ATM</mark>机吞卡"
    assert "<mark>" not in highlight("platinum", ["tin"])


def test_word_edges_segment_only_the_runs_asked_about_and_agree_with_the_whole_text(monkeypatch):
    """A snippet asks about offsets near its terms; the lazy edges must be exactly those of
    segmenting the whole text (run boundaries plus each CJK run's search-mode words)."""
    import random

    from knowledge_base import analysis, snippets
    from knowledge_base.analysis import words
    from knowledge_base.text import TOKEN_RUN, fold_aligned

    def whole_text_edges(folded: str) -> set[int]:
        edges: set[int] = set()
        for _w, start, end in words(folded):
            edges.update((start, end))
        for match in TOKEN_RUN.finditer(folded):
            edges.update((match.start(), match.end()))
        return edges

    rng = random.Random(19)
    pieces = ["借记卡", "信用卡账单", "，", "。", "ATM机", "吞卡", " ", "最低还款额是多少", "platinum",
              "1.5%", "的", "了", "我想问一下", "挂失后找到卡了", "\n", "e-CNY", "贷记卡和借记卡", "！"]
    texts = ["", "，。", "借记卡", "ATM"] + ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
                                           for _ in range(300)]
    for text in texts:
        folded = fold_aligned(text)
        lazy, whole = snippets.WordEdges(folded), whole_text_edges(folded)
        assert {i for i in range(-2, len(folded) + 3) if i in lazy} == whole, text

    calls: list[str] = []
    real = analysis.run_words
    monkeypatch.setattr(snippets, "run_words", lambda run, start=0: calls.append(run) or real(run, start))
    long_text = "，".join(["请您登录手机银行查看本期账单"] * 50 + ["借记卡挂失请拨打客服热线"])
    assert "<mark>" in snippet([long_text], ["挂失"])
    assert calls == ["借记卡挂失请拨打客服热线"]  # one run segmented, not fifty-one
