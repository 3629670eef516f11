from __future__ import annotations

import math
import sqlite3

import pytest

from index.storage import keyword


@pytest.fixture
def db() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE documents (seq INTEGER PRIMARY KEY, id TEXT, title TEXT, text TEXT)")
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


def test_search_stems_and_ranks(db: sqlite3.Connection) -> None:
    found = keyword.search(db, keyword.query_terms("sleeping cat"), 10, title_weight=1.0)
    assert [chunk for chunk, _ in found] == [2, 1]
    assert found[0][1] > found[1][1] > 0
    assert [c for c, _ in keyword.search(db, ["cafe"], 10, title_weight=1.0)] == [3]  # diacritics folded


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
