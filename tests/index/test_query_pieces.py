"""A query longer than the model reads is cut into pieces (:func:`index.retrieval.query.query_pieces`),
checked against the simplest reference: the query's own tokens, in windows of the model's budget."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index import Embedder
from index.retrieval.query import query_pieces
from tests.fakes import WordTokenizer

WORDS = st.sampled_from(
    ["cat", "sleeps", "on", "the", "mat", ".", ",", "İstanbul", "naïve", "日本", "x" * 40]
)
SPACES = st.sampled_from([" ", "  ", "\n", "\t", "\n\n"])
QUERIES = st.lists(st.tuples(WORDS, SPACES), max_size=120).map(lambda parts: "".join(w + s for w, s in parts))


@settings(max_examples=300, deadline=None)
@given(QUERIES, st.integers(1, 40))
def test_the_pieces_are_the_query_tokens_in_windows_of_the_budget(query: str, budget: int) -> None:
    tokenizer = WordTokenizer(budget)
    tokens = [query[start:end] for start, end in tokenizer.token_spans(query)]
    pieces = query_pieces(query, tokenizer)
    if len(tokens) <= budget:
        assert pieces == [query]  # a query that fits goes to the model as it was sent
        return
    windows = [tokens[i : i + budget] for i in range(0, len(tokens), budget)]
    got = [[piece[start:end] for start, end in tokenizer.token_spans(piece)] for piece in pieces]
    assert got == windows  # every token once, in order; each piece full but the last
    assert all(query.find(piece) >= 0 for piece in pieces)  # pieces are spans of the query itself


@pytest.mark.integration
def test_a_pasted_page_is_cut_where_the_real_tokenizer_says(real_embedder: Embedder) -> None:
    tokenizer = real_embedder.tokenizer
    page = "Naïve Bayes classifiers (İstanbul, 2024) remain strong baselines for short texts. " * 60
    pieces = query_pieces(page, tokenizer)
    counts = tokenizer.count_tokens(pieces)
    assert len(pieces) > 1
    assert all(count <= tokenizer.max_tokens for count in counts)
    assert sum(counts) >= tokenizer.count_tokens([page])[0] - len(pieces)  # word pieces may re-merge at a cut
    assert "".join(pieces).replace(" ", "") == page.replace(" ", "")
