from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
import sentencex
from hypothesis import given, settings
from hypothesis import strategies as st

from index.ingest import chunking
from index.ingest.chunking import Chunker, ChunkingOptions
from index.ingest.extract.text import html_to_markdown
from index.types import ChunkSpan
from tests.fakes import WordTokenizer

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."  # 14 tokens


def make_chunker(max_tokens: int = 64, **options: Any) -> Chunker:
    return Chunker(WordTokenizer(max_tokens), ChunkingOptions(**options))


def check_invariants(text: str, chunks: list[ChunkSpan], chunker: Chunker) -> None:
    tokenizer = WordTokenizer(chunker.max_tokens)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.text == chunk.text.strip()
        assert chunk.text
        assert tokenizer.count_tokens([chunk.text])[0] <= chunker.max_tokens
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
    covered: set[int] = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    for match in re.finditer(r"\w+", text):  # no word is lost
        assert match.start() in covered, f"word {match.group()!r} at {match.start()} is in no chunk"


EDGE_CASES = {
    "crlf": "First paragraph line one.\r\nline two.\r\n\r\nSecond paragraph.\r\n",
    "no_blank_lines": "\n".join([SENTENCE] * 12),
    "one_huge_paragraph": " ".join([SENTENCE] * 40),
    "unicode": "Café déjà vu — naïve façade. 日本語のテキストです。\n\n😀 emoji ünïcödé.\n\nБуквы кириллицы.",
    "markdown": (
        "# Title\n\nIntro paragraph.\n\n## Section\n\n- item one\n- item two\n  continued\n\n"
        "1. first\n2. second\n\n> quote\n\n```\ncode block\n```\n"
    ),
    "html": html_to_markdown(
        "<html><head><title>T</title><script>var x=1;</script></head><body><h1>Heading</h1>"
        "<p>Para one.</p><ul><li>alpha</li><li>beta</li></ul><h2>Sub</h2><p>Para two.</p></body></html>"
    )[1],
    "leading_whitespace": "\n\n   \n  Indented start.\n\n\n\nEnd after many blank lines.   \n\n",
    "single_word": "word",
    "link_reference": "[ref]: https://example.com/some/where\n\nText after a link definition.",
    "hr_only_between": "Above.\n\n---\n\nBelow.",
    "long_word": "x" * 3000,
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_chunks_are_exact_spans_within_budget(name: str) -> None:
    text = EDGE_CASES[name]
    chunker = make_chunker(max_tokens=40, overlap_tokens=8, min_tokens=8)
    chunks = chunker.chunk(text)
    assert chunks
    check_invariants(text, chunks, chunker)


def test_empty_and_blank_text_give_no_chunks() -> None:
    assert make_chunker().chunk("") == []
    assert make_chunker().chunk(" \n\t\r\n ") == []


def test_heading_stays_with_the_paragraph_below() -> None:
    text = f"Intro {SENTENCE}\n\n# Rivers\n\n{SENTENCE} {SENTENCE}\n\n# Mountains\n\n{SENTENCE}"
    chunks = make_chunker(max_tokens=40, min_tokens=0).chunk(text)
    assert [c.text.split("\n")[0] for c in chunks] == [f"Intro {SENTENCE}", "# Rivers", "# Mountains"]
    assert chunks[1].text.endswith("river bank.")


def test_short_neighbouring_paragraphs_merge_and_long_ones_do_not() -> None:
    text = "Short one.\n\nShort two.\n\n" + SENTENCE + " " + SENTENCE + "\n\n" + SENTENCE + " " + SENTENCE
    chunks = make_chunker(max_tokens=40, min_tokens=10).chunk(text)
    assert chunks[0].text.startswith("Short one.\n\nShort two.")
    assert len(chunks) == 2
    assert chunks[1].text == SENTENCE + " " + SENTENCE


def test_long_paragraph_splits_at_sentences_with_overlap() -> None:
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda"]
    sentences = [f"Sentence number {word} says something about topic {word}." for word in words]  # 9 tokens
    text = " ".join(sentences)
    chunker = make_chunker(max_tokens=50, overlap_tokens=12, min_tokens=0)
    chunks = chunker.chunk(text)
    check_invariants(text, chunks, chunker)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.text.startswith("Sentence number")
        assert chunk.text.endswith(".")
    for previous, current in itertools.pairwise(chunks):
        assert current.start < previous.end, "consecutive pieces of a split paragraph overlap"


def test_list_longer_than_budget_splits_between_items() -> None:
    text = "\n".join(f"- item {i} is a list entry with several words in it" for i in range(20))
    chunker = make_chunker(max_tokens=40, overlap_tokens=0)
    chunks = chunker.chunk(text)
    check_invariants(text, chunks, chunker)
    assert all(chunk.text.startswith("- item") for chunk in chunks)


def test_long_table_splits_between_rows() -> None:
    rows = "\n".join(f"| row {i} | cell with several words | and another cell here |" for i in range(60))
    text = (
        f"A table follows.\n\n| name | first | second |\n|---|---|---|\n{rows}\n\nAnd a paragraph after it."
    )
    chunker = make_chunker(max_tokens=40, overlap_tokens=10)
    chunks = chunker.chunk(text)
    check_invariants(text, chunks, chunker)
    table = [chunk for chunk in chunks if "row" in chunk.text]
    assert len(table) > 3
    for chunk in table:  # whole rows: a row's cells are never cut apart from each other
        lines = chunk.text.splitlines()
        assert all(line.startswith("|") and line.endswith("|") for line in lines if "row" in line)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.lists(st.text(alphabet="abcdefgh", min_size=1, max_size=6), min_size=1, max_size=8),
        min_size=1,
        max_size=40,
    ),
    st.integers(0, 6),
)
def test_lines_without_sentences_are_cut_between_lines(lines: list[list[str]], overlap: int) -> None:
    # Code, logs, tables, verse: no sentence ends to cut at, but every line fits, so no line is cut.
    text = "\n".join(" ".join(words) for words in lines)
    chunker = make_chunker(max_tokens=16, overlap_tokens=overlap, min_tokens=4)
    chunks = chunker.chunk(text)
    check_invariants(text, chunks, chunker)
    line_starts = {0} | {m.end() for m in re.finditer("\n", text)}
    line_ends = {m.start() for m in re.finditer("\n", text)} | {len(text)}
    for chunk in chunks:
        assert chunk.start in line_starts, chunk
        assert chunk.end in line_ends, chunk


def test_the_sentence_splitter_reads_bounded_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    # sentencex is quadratic in a run of quotation marks: it must never see a whole megabyte of them.
    seen: list[int] = []
    segment = sentencex.segment

    def spy(language: str, text: str) -> Any:
        seen.append(len(text))
        return segment(language, text)

    monkeypatch.setattr(sentencex, "segment", spy)
    for text in ("\u201c" * 20_000, "She said \u201cyes\u201d. " * 2_000):
        chunker = make_chunker(max_tokens=64)
        check_invariants(text, chunker.chunk(text), chunker)
    assert seen
    assert max(seen) <= chunking.SENTENCE_WINDOW


@given(st.text(alphabet="ab .\n", max_size=400), st.integers(4, 60))
def test_sentence_windows_cover_the_text_and_cut_after_whitespace(text: str, size: int) -> None:
    ends = chunking._windows(text, 0, len(text), size)
    starts = [0, *ends[:-1]]
    assert ends[-1] == len(text)
    for start, end in zip(starts, ends, strict=True):
        assert 0 < end - start <= size or (start == end == len(text) == 0)
        window = text[start:end]
        if end < len(text) and any(c in " \n" for c in text[start + size // 2 : start + size]):
            assert window[-1] in " \n"  # cut after the last whitespace of the window's second half


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=600))
def test_chunks_stay_valid_when_sentences_are_read_in_small_windows(text: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chunking, "SENTENCE_WINDOW", 24)
        chunker = make_chunker(max_tokens=16, overlap_tokens=4, min_tokens=4)
        check_invariants(text, chunker.chunk(text), chunker)


def test_max_tokens_option_cannot_exceed_the_model() -> None:
    assert make_chunker(max_tokens=64).max_tokens == 64
    assert Chunker(WordTokenizer(64), ChunkingOptions(max_tokens=500)).max_tokens == 64
    assert Chunker(WordTokenizer(64), ChunkingOptions(max_tokens=20)).max_tokens == 20


def test_invalid_options_are_rejected() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        ChunkingOptions(max_tokens=2)
    with pytest.raises(ValueError, match="negative"):
        ChunkingOptions(overlap_tokens=-1)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=600))
def test_any_unicode_text_gives_valid_chunks(text: str) -> None:
    chunker = make_chunker(max_tokens=16, overlap_tokens=4, min_tokens=4)
    chunks = chunker.chunk(text)
    check_invariants(text, chunks, chunker)


# Long texts are parsed a stretch at a time, and stretches of very short lines are not parsed at all.

blocks = st.one_of(
    st.from_regex(r"#{1,3} [a-z]{1,5}( [a-z]{1,5}){0,2}", fullmatch=True),
    st.from_regex(r"[a-z]{1,6}( [a-z]{1,6}){0,3}\.(\n[a-z]{1,6}( [a-z]{1,6}){0,2}\.)?", fullmatch=True),
    st.from_regex(r"- [a-z]{1,5}\n- [a-z]{1,5}", fullmatch=True),
    st.from_regex(r"```\n[a-z]{1,5}\n\n[a-z]{1,5}\n```", fullmatch=True),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(blocks, min_size=1, max_size=30), st.integers(48, 120))
def test_a_text_parsed_a_stretch_at_a_time_chunks_as_parsed_whole(parts: list[str], segment: int) -> None:
    """Every block shorter than half a stretch: cutting the parse changes nothing (a block a cut runs
    through, a code fence with a blank line in it say, is parsed again with the next stretch)."""
    text = "\n\nz.\n\n".join(parts) + "\n"  # a paragraph between: two lists side by side are one list
    chunker = make_chunker(max_tokens=16, min_tokens=4)
    whole = chunker.chunk(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chunking, "SEGMENT_CHARS", segment)
        patch.setattr(chunking, "DENSE_CHARS_PER_LINE", 0)  # every stretch parsed
        assert chunker.chunk(text) == whole


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ab #-`>\n.", max_size=600), st.integers(16, 80))
def test_any_text_cut_into_stretches_gives_valid_chunks(text: str, segment: int) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chunking, "SEGMENT_CHARS", segment)
        patch.setattr(chunking, "PLAIN_BLOCK_CHARS", 12)
        chunker = make_chunker(max_tokens=16, overlap_tokens=4, min_tokens=4)
        check_invariants(text, chunker.chunk(text), chunker)


def test_a_long_list_of_one_word_items_is_never_parsed_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """20 million characters of "- a" items took minutes and gigabytes of parser tokens; the parser now
    sees at most a stretch at a time, and none of a stretch of such short lines."""
    chunker = make_chunker(max_tokens=64)
    parsed: list[int] = []
    parse = chunker._markdown.parse

    def spy(src: str) -> Any:
        parsed.append(len(src))
        return parse(src)

    monkeypatch.setattr(chunker._markdown, "parse", spy)
    prose = "\n\n".join(["A paragraph of ordinary prose that runs on for a while. " * 3] * 800)
    text = prose + "\n\n" + "- a\n" * 100_000 + "\n" + prose
    chunks = chunker.chunk(text)
    check_invariants(text, chunks, chunker)
    assert parsed
    assert max(parsed) <= chunking.SEGMENT_CHARS
    assert sum(parsed) < 2 * len(prose) + 2 * chunking.SEGMENT_CHARS  # the list's stretches were not parsed
