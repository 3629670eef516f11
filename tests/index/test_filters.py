from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.errors import InvalidInputError
from index.filters import MAX_DEPTH, FilterLimits, compile_filter

DOCS = {
    "a": {"lang": "en", "year": 2020, "tags": ["news", "sport"], "published": "2024-01-15", "draft": False},
    "b": {
        "lang": "de",
        "year": 2023,
        "tags": ["news"],
        "published": "2024-06-01T12:00:00Z",
        "author": {"name": "X"},
    },
    "c": {"lang": "en", "year": 2024.5, "published": "2023-12-31", "draft": True, "note": None},
    "d": {},
}


@pytest.fixture(scope="module")
def db() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE documents (id TEXT PRIMARY KEY, metadata TEXT NOT NULL)")
    connection.executemany(
        "INSERT INTO documents VALUES (?, ?)", [(k, json.dumps(v)) for k, v in DOCS.items()]
    )
    return connection


def matching(db: sqlite3.Connection, spec: Any) -> list[str]:
    sql, params = compile_filter(spec).document_ids_sql()
    return sorted(row[0] for row in db.execute(sql, params))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"field": "lang", "eq": "en"}, ["a", "c"]),
        ({"field": "tags", "eq": "news"}, ["a", "b"]),  # any element of an array
        ({"field": "tags", "in": ["sport", "other"]}, ["a"]),
        ({"field": "lang", "in": ["de", "fr"]}, ["b"]),
        ({"field": "year", "gte": 2023}, ["b", "c"]),
        ({"field": "year", "gt": 2020, "lt": 2024}, ["b"]),
        ({"field": "year", "eq": 2020}, ["a"]),
        ({"field": "year", "eq": "2020"}, []),  # types must match
        ({"field": "published", "gte": "2024-01-01"}, ["a", "b"]),
        ({"field": "published", "lt": "2024-06-01T13:00:00+01:00"}, ["a", "c"]),  # 12:00 UTC is not before
        ({"field": "draft", "eq": True}, ["c"]),
        ({"field": "draft", "eq": False}, ["a"]),
        ({"field": "note", "eq": None}, ["c"]),
        ({"field": "author.name", "eq": "X"}, ["b"]),
        ({"field": "author", "exists": True}, ["b"]),
        ({"field": "draft", "exists": False}, ["b", "d"]),
        ({"must": [{"field": "lang", "eq": "en"}, {"field": "year", "gte": 2021}]}, ["c"]),
        ({"should": [{"field": "lang", "eq": "de"}, {"field": "draft", "eq": True}]}, ["b", "c"]),
        ({"must_not": [{"field": "lang", "eq": "en"}]}, ["b", "d"]),
        (
            {
                "must": [{"field": "tags", "eq": "news"}],
                "must_not": [{"should": [{"field": "year", "lt": 2021}, {"field": "lang", "eq": "fr"}]}],
            },
            ["b"],
        ),
    ],
)
def test_filters_select_by_hand(db: sqlite3.Connection, spec: Any, expected: list[str]) -> None:
    assert matching(db, spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([], "non-empty object"),
        ({}, "non-empty object"),
        ({"field": "lang"}, "add an operator"),
        ({"field": "lang", "like": "e%"}, "unknown operator"),
        ({"field": "x'); DROP TABLE documents; --", "eq": 1}, "'field' must be"),
        ({"field": "year", "gte": "soon"}, "all numbers or all ISO 8601"),
        ({"field": "year", "gte": 1, "lt": "2024-01-01"}, "all numbers or all ISO 8601"),
        ({"field": "published", "gte": "2024-13-45"}, "not a valid date"),
        ({"field": "tags", "in": []}, "'in' must be a list"),
        ({"field": "tags", "eq": ["a"]}, "compare with a string"),
        ({"must": {"field": "a", "eq": 1}}, "non-empty list"),
        ({"maybe": []}, "unknown key"),
        ({"field": "a", "exists": "yes"}, "true or false"),
    ],
)
def test_invalid_filters_name_the_problem(spec: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        compile_filter(spec)


def test_depth_is_limited() -> None:
    spec: dict[str, Any] = {"field": "a", "eq": 1}
    for _ in range(MAX_DEPTH):
        spec = {"must": [spec]}
    with pytest.raises(InvalidInputError, match="nested deeper than 8 levels"):
        compile_filter(spec)
    compile_filter(spec, FilterLimits(max_depth=MAX_DEPTH + 1))
    with pytest.raises(InvalidInputError, match=r"more than 3 clauses \(SEMSEARCH_MAX_FILTER_CLAUSES\)"):
        compile_filter({"must": [{"field": f"f{i}", "eq": i} for i in range(3)]}, FilterLimits(max_clauses=3))
    with pytest.raises(InvalidInputError, match="1 to 2 values"):
        compile_filter({"field": "a", "in": [1, 2, 3]}, FilterLimits(max_in_values=2))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_is_compiled_or_rejected_cleanly(db: sqlite3.Connection, spec: Any) -> None:
    """Arbitrary JSON either compiles to SQL that runs, or raises InvalidInputError; nothing else."""
    try:
        compiled = compile_filter(spec)
    except InvalidInputError:
        return
    sql, params = compiled.document_ids_sql()
    db.execute(sql, params).fetchall()
