"""Every text path is linear in its input: pathological texts (long lines, runs of spaces or punctuation,
100,000-character words, mixed scripts, control characters) go through chunking, sentence splitting,
highlighting and term extraction within a time budget that a quadratic path would exceed by far (the
highlighter took over 15 s on one such chunk; pysbd seconds on 1,000 characters of ``a) b)``).

The budget is generous (seconds for work that takes milliseconds), so a slow machine does not fail it; a
quadratic regression on 200,000 characters does."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index import Embedder
from index.ingest.chunking import MAX_CHARS_PER_TOKEN, Chunker
from index.retrieval.highlight import Highlighter
from index.storage.keyword import query_terms
from tests.fakes import WordTokenizer

BUDGET_SECONDS = 5.0
PIECES = st.sampled_from(
    [
        " ",
        "\n",
        "\t",
        ".",
        "!",
        "?",
        "a) ",
        "1. ",
        "(",
        ")",
        '"',
        "x",
        "word ",
        "Dr. ",
        "e.g. ",
        "...",
        "日本語",
        "العربية",
        "😀",
        "\x01",
        "\x1b",
        "\u200b",
        "|",
        "-",
        "#",
        "> ",
        "* ",
        "`",
    ]
)
PATHOLOGICAL = st.builds(
    lambda parts: "".join(piece * count for piece, count in parts),
    st.lists(st.tuples(PIECES, st.integers(1, 20_000)), min_size=1, max_size=4),
)
FIXED = [
    "alpha" + " " * 200_000 + "beta\nomega",
    "x" * 100_000,
    "a) b) " * 20_000,
    "1. 2. " * 20_000,
    "." * 100_000,
    "word\n" * 40_000,
    ("日本語テキストالعربيةΕλληνικά ") * 5_000,
    "".join(chr(1 + i % 31) for i in range(50_000)) + " word",
]


def run_paths(chunker: Chunker, text: str) -> None:
    started = time.perf_counter()
    chunks = chunker.chunk(text)
    highlighter = Highlighter("alpha word omega a b x")
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert 0 < len(chunk.text) <= chunker.max_chars
        assert chunk.text == chunk.text.strip()
        start, end = highlighter.best_span(chunk.text, chunk.start)
        assert chunk.start <= start <= end <= chunk.end
    query_terms(text[:4000])
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    elapsed = time.perf_counter() - started
    assert elapsed < BUDGET_SECONDS, f"{elapsed:.1f} s for {len(text)} characters"


@pytest.mark.parametrize("text", FIXED, ids=range(len(FIXED)))
def test_pathological_texts_are_chunked_and_highlighted_in_linear_time(text: str) -> None:
    run_paths(Chunker(WordTokenizer(128)), text)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(PATHOLOGICAL)
def test_any_mix_of_pathological_pieces_stays_within_budget(text: str) -> None:
    run_paths(Chunker(WordTokenizer(128)), text)


def test_a_chunk_is_capped_in_characters_when_tokens_cost_nothing() -> None:
    """200,000 spaces are no tokens; a 100,000-character word is one unknown token to a BERT tokenizer.
    Either way a chunk stays within MAX_CHARS_PER_TOKEN characters per token of the budget."""
    chunker = Chunker(WordTokenizer(16))
    assert chunker.max_chars == 16 * MAX_CHARS_PER_TOKEN
    chunks = chunker.chunk("y" * 1000 + " z")
    assert max(len(c.text) for c in chunks) <= chunker.max_chars
    assert "".join(c.text for c in chunks).replace(" ", "") == "y" * 1000 + "z"


@pytest.mark.integration
@pytest.mark.parametrize("text", FIXED, ids=range(len(FIXED)))
def test_pathological_texts_with_the_real_tokenizer(real_embedder: Embedder, text: str) -> None:
    run_paths(Chunker(real_embedder.tokenizer), text)
