"""The highlighter analyses a chunk's sentences once (shared by text across searches) and splits ASCII text
into words without the regular expression; it must pick what scoring every sentence afresh would (the
simple reference below), including for words the stemmer rewrites, and for chunks analysed before."""

from __future__ import annotations

import Stemmer
from hypothesis import given, settings
from hypothesis import strategies as st

from index.ingest.chunking import trim_span
from index.retrieval.highlight import _SENTENCE, Highlighter, _words
from index.storage.keyword import WORD, keyword_text, query_terms

STEMMER = Stemmer.Stemmer("english")


def reference(query: str, chunk_text: str, chunk_start: int) -> tuple[int, int]:
    """Every sentence's words stemmed and the query's stems counted; the best, the first on ties."""
    query_stems = set(STEMMER.stemWords(query_terms(query)))
    best: tuple[int, int] | None = None
    best_score = 0
    for match in _SENTENCE.finditer(chunk_text):
        start, end = trim_span(chunk_text, match.start(), match.end())
        if end <= start:
            continue
        if best is None:
            best = (start, end)
        words = WORD.findall(keyword_text(chunk_text[start:end].lower()))
        score = len(query_stems.intersection(STEMMER.stemWords(words)))
        if score > best_score:
            best, best_score = (start, end), score
    if best is None:
        best = trim_span(chunk_text, 0, len(chunk_text))
    return chunk_start + best[0], chunk_start + best[1]


# Words whose stems are not prefixes of them, irregular forms, diacritics, a PDF ligature, a soft hyphen,
# and plain ones.
WORDS = (
    "dying die lying lie tying tie skies sky academy academies happy happiness ability able "
    "generalization general relational relate news İstanbul naïve Café rivers river sediment sea x "
    "pro\ufb01ts profits extra ex\u00adtra"
).split()
sentences = st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join)
texts = st.lists(
    st.tuples(sentences, st.sampled_from([". ", "! ", "?\n", "\n\n", " ", ".)"])), max_size=6
).map(lambda parts: "".join(a + b for a, b in parts))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=4).map(" ".join), st.lists(texts, min_size=1, max_size=4))
def test_best_span_is_the_reference_s(query: str, chunks: list[str]) -> None:
    highlighter = Highlighter(query)  # one per search, reused across its hits
    for position, chunk in enumerate(chunks):
        assert highlighter.best_span(chunk, 10 * position) == reference(query, chunk, 10 * position)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=4).map(" ".join), st.lists(texts, min_size=1, max_size=4))
def test_a_chunk_analysed_for_one_search_is_right_for_the_next(query: str, chunks: list[str]) -> None:
    Highlighter("sea river").best_span(chunks[0], 0)  # analysed (and cached) for another query first
    for position, chunk in enumerate(chunks):
        assert Highlighter(query).best_span(chunk, position) == reference(query, chunk, position)


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=200) | st.text(st.characters(max_codepoint=127)))
def test_words_are_what_the_word_pattern_finds(text: str) -> None:
    assert _words(text) == WORD.findall(keyword_text(text))


def test_a_sentence_written_with_a_ligature_is_the_one_highlighted() -> None:
    chunk = "Costs rose in the spring. Pro\ufb01ts fell in the autumn."
    assert Highlighter("profits").best_span(chunk, 0) == (26, len(chunk))
