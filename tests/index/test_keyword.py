from __future__ import annotations

import math
import sqlite3
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.storage import keyword


@pytest.fixture
def db() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE TABLE documents (seq INTEGER PRIMARY KEY, id TEXT, title TEXT, text TEXT, "
        "keyword_title TEXT, keyword_text TEXT)"
    )
    connection.executescript(keyword.SCHEMA)
    rows = [(1, None, "Running dogs chase cats."), (2, None, "Cats sleep."), (3, "Cafés", "Coffee and cake.")]
    keyword.add_chunks(connection.cursor(), rows)
    return connection


def test_query_terms_drop_stop_words_and_repeats() -> None:
    assert keyword.query_terms("The cats and THE dogs, cats!") == ["cats", "dogs"]
    assert keyword.query_terms("the of and") == []


def test_user_text_is_never_fts5_syntax(db: sqlite3.Connection) -> None:
    for text in ['cats" OR "dogs', "NEAR(cats dogs)", "cats*", "-cats", "cats AND NOT dogs", '"']:
        terms = keyword.query_terms(text)
        keyword.search(db, terms, 10, title_weight=1.0)  # must not raise a syntax error
    assert keyword.match_expression(['say "hi"']) == '"say ""hi"""'


# Letters and digits of several scripts, Chinese characters, kana, hangul, spaces and punctuation; a PDF
# ligature, full-width and superscript forms, a soft hyphen, joiners, a byte order mark, and letters
# written decomposed (a letter, then its combining accent: how macOS and some PDFs write "é").
TOKEN_TEXT = st.lists(
    st.sampled_from(
        list("aZ9é ß.,-_!\n\t'\"「」。、東京都日本語のはをタワー한국어١٢")
        + list("ﬁﬃＦｏ²\u00ad\u200c\u200d\u2060\ufeff\u00a0…\u3000")
        + ["e\u0301", "i\u0308"]
    ),
    max_size=60,
).map("".join)


def fts5_tokens(text: str) -> list[str]:
    """The reference: the words FTS5's unicode61 tokenizer (case folded only) finds in ``text``, in order."""
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize = 'unicode61 remove_diacritics 0')")
    connection.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    connection.execute("INSERT INTO t (rowid, body) VALUES (1, ?)", (text,))
    return [str(row[0]) for row in connection.execute("SELECT term FROM v ORDER BY offset")]


@settings(max_examples=300)
@given(TOKEN_TEXT)
def test_the_words_found_are_the_words_fts5_indexes(text: str) -> None:
    # The in-memory index and the query side find words with word_tokens; FTS5 indexes keyword_form(text).
    assert keyword.word_tokens(text) == fts5_tokens(keyword.keyword_form(text))


@settings(max_examples=200)
@given(TOKEN_TEXT)
def test_keyword_form_only_spaces_out_one_character_words(text: str) -> None:
    form = keyword.keyword_form(text)
    stripped = "".join(c for c in text if c not in "\u00ad\u200c\u200d\u2060\ufeff")
    # Folded, unless its only compatibility forms are word breaks (of this alphabet: no-break space,
    # ellipsis, ideographic space), which are left as they are.
    spaced = "".join(" " if c in "\u00a0…\u3000" else c for c in stripped)
    read = stripped if unicodedata.is_normalized("NFKC", spaced) else unicodedata.normalize("NFKC", stripped)
    assert keyword.keyword_text(text) == read
    assert form.replace(" ", "") == read.replace(" ", "")
    assert (form == text) == (read == text and not any(c in "東京都日本語のはを" for c in text))


@settings(max_examples=300)
@given(
    st.lists(
        st.sampled_from(["a", "e\u0301", "\u0301", " ", "\u00b4", "ﬁ", "Ｆ", "\u00a0", "\u3000", "²"])
    ).map("".join),
    st.integers(1, 8),
)
def test_nfkc_a_piece_at_a_time_is_nfkc_of_the_whole(text: str, piece: int) -> None:
    assert keyword.nfkc(text, piece) == unicodedata.normalize("NFKC", text)


def test_text_whose_only_compatibility_forms_are_word_breaks_is_kept_as_it_is() -> None:
    """A no-break space or an ellipsis is a word break folded or not: no second copy of such a text."""
    text = "Prices rose\u00a0sharply\u2026 then fell\u2003again."
    assert keyword.keyword_text(text) is text
    assert keyword.keyword_forms("A\u00a0title", text) == (None, None)
    assert keyword.word_tokens(text) == keyword.word_tokens(unicodedata.normalize("NFKC", text))
    assert keyword.keyword_text("pro\ufb01ts\u00a0rose") == "profits rose"


def test_chinese_and_japanese_text_is_found_by_its_words(db: sqlite3.Connection) -> None:
    rows = [(4, None, "東京は日本の首都です。"), (5, "大阪", "商業の中心地。"), (6, None, "東京タワーへ行く")]
    keyword.add_chunks(db.cursor(), rows)
    assert keyword.word_tokens("東京タワー") == ["東", "京", "タワー"]
    found = [c for c, _ in keyword.search(db, keyword.query_terms("東京"), 10, title_weight=1.0)]
    assert sorted(found) == [4, 6]
    assert [c for c, _ in keyword.search(db, keyword.query_terms("首都"), 10, title_weight=1.0)] == [4]
    assert [c for c, _ in keyword.search(db, keyword.query_terms("大阪"), 10, title_weight=1.0)] == [5]
    assert [c for c, _ in keyword.search(db, keyword.query_terms("タワー"), 10, title_weight=1.0)] == [6]


def test_search_stems_and_ranks(db: sqlite3.Connection) -> None:
    found = keyword.search(db, keyword.query_terms("sleeping cat"), 10, title_weight=1.0)
    assert [chunk for chunk, _ in found] == [2, 1]
    assert found[0][1] > found[1][1] > 0
    assert [c for c, _ in keyword.search(db, ["cafe"], 10, title_weight=1.0)] == [3]  # diacritics folded


def test_a_filter_is_not_handed_to_fts5_row_by_row(db: sqlite3.Connection) -> None:
    """Given ``rowid IN (...)``, SQLite would ask FTS5 for each allowed row in turn, running the whole MATCH
    once per row (a filter keeping half of SciFact's chunks: 0.66 s); FTS5 is to get the MATCH alone."""
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    try:
        found = keyword.search(db, ["cats"], 10, title_weight=1.0, allowed_sql="SELECT 2")
    finally:
        db.set_trace_callback(None)
    assert [chunk for chunk, _ in found] == [2]
    select = next(statement for statement in statements if "MATCH" in statement)
    plan = " ".join(str(row[3]) for row in db.execute(f"EXPLAIN QUERY PLAN {select}"))
    assert "VIRTUAL TABLE INDEX 0:M" in plan, plan  # FTS5's plan: M, a MATCH; "=M" would be rowid and MATCH


def test_indexed_form_matches_the_fts5_tokenizer(db: sqlite3.Connection) -> None:
    vocabulary = {row[0] for row in db.execute("SELECT term FROM chunk_fts_vocab")}
    assert set(keyword.indexed_form(["running", "cafés", "dogs", "sleep"])) <= vocabulary


def test_score_scale_is_the_sum_of_fts5_idfs_by_hand(db: sqlite3.Connection) -> None:
    rows = 3
    cats = math.log((rows - 2 + 0.5) / (2 + 0.5))  # in 2 of 3 rows: negative, floored by FTS5
    coffee = math.log((rows - 1 + 0.5) / (1 + 0.5))
    unknown = math.log((rows - 0 + 0.5) / (0 + 0.5))
    expected = max(1e-6, cats) + coffee + unknown
    assert keyword.score_scale(db, keyword.FTS_TABLE, ["cats", "coffee", "zebra"], rows) == pytest.approx(
        expected
    )
    with pytest.raises(ValueError, match="unknown keyword table"):
        keyword.score_scale(db, "documents; DROP TABLE documents", ["x"], rows)
    # A row count that lags a concurrent write (fewer rows than hold "cats") must not break the search.
    assert keyword.score_scale(db, keyword.FTS_TABLE, ["cats"], rows=1) == pytest.approx(1e-6)
