"""Filters as LangChain users write them (``{"source": "a.pdf"}``, MongoDB's operators as Chroma and PGVector
take them), translated to semsearch's filter language, select what MongoDB's rules select, written out here
from its documentation: a list field matches when an element does, None matches null and missing fields."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.integrations.langchain import semsearch_filter
from tests.service.test_llamaindex_filters import METADATA, SHELVES, TAGS, selected

SHELF = st.one_of(st.sampled_from(SHELVES), st.none())
YEAR = st.integers(2018, 2024)
TAG = st.sampled_from(TAGS)


def operators(values: st.SearchStrategy[Any], names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    single = st.one_of(
        *(st.fixed_dictionaries({name: values}) for name in names if name not in ("$in", "$nin")),
        *(
            st.fixed_dictionaries({name: st.lists(values, min_size=1, max_size=3)})
            for name in names
            if name in ("$in", "$nin")
        ),
        st.fixed_dictionaries({"$exists": st.booleans()}),
    )
    return st.lists(single, min_size=1, max_size=2).map(
        lambda parts: {k: v for p in parts for k, v in p.items()}
    )


EQUALITY = ["$eq", "$ne", "$in", "$nin"]
FIELD_FILTERS = st.one_of(
    st.fixed_dictionaries({"shelf": st.one_of(SHELF, st.lists(SHELF, min_size=1, max_size=2))}),
    st.fixed_dictionaries({"tags": TAG}),
    st.fixed_dictionaries({"shelf": operators(SHELF, EQUALITY)}),
    st.fixed_dictionaries({"year": operators(YEAR, [*EQUALITY, "$gt", "$gte", "$lt", "$lte"])}),
    st.fixed_dictionaries({"tags": operators(TAG, EQUALITY)}),
)
FILTERS = st.recursive(
    FIELD_FILTERS,
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(["$and", "$or"]), st.lists(inner, min_size=1, max_size=3)).map(
            lambda pair: {pair[0]: pair[1]}
        ),
        st.tuples(inner, inner).map(lambda pair: {**pair[0], **pair[1]}),  # several keys: all must match
    ),
    max_leaves=5,
)


def mongo_matches(meta: dict[str, Any], query: dict[str, Any]) -> bool:
    """MongoDB's find semantics for these operators, over flat metadata."""
    for key, value in query.items():
        if key == "$and":
            ok = all(mongo_matches(meta, part) for part in value)
        elif key == "$or":
            ok = any(mongo_matches(meta, part) for part in value)
        elif isinstance(value, dict):
            ok = all(compare(meta, key, name, operand) for name, operand in value.items())
        else:
            ok = compare(meta, key, "$in" if isinstance(value, list) else "$eq", value)
        if not ok:
            return False
    return True


def compare(meta: dict[str, Any], field: str, name: str, operand: Any) -> bool:
    present = field in meta
    value = meta.get(field)
    elements = value if isinstance(value, list) else [value]
    if name == "$exists":
        return present is bool(operand)
    if name == "$eq":
        return (operand is None and value is None) or (present and operand in elements)
    if name == "$ne":
        return not compare(meta, field, "$eq", operand)
    if name == "$in":
        return any(compare(meta, field, "$eq", one) for one in operand)
    if name == "$nin":
        return not compare(meta, field, "$in", operand)
    ordered = [e for e in elements if isinstance(e, int)]
    tests = {"$gt": int.__gt__, "$gte": int.__ge__, "$lt": int.__lt__, "$lte": int.__le__}
    return present and any(bool(tests[name](e, operand)) for e in ordered)


@settings(max_examples=400, deadline=None)
@given(documents=st.lists(METADATA, min_size=1, max_size=8), query=FILTERS)
def test_translated_filters_select_what_mongodb_selects(
    documents: list[dict[str, Any]], query: dict[str, Any]
) -> None:
    expected = [i for i, meta in enumerate(documents) if mongo_matches(meta, query)]
    translated = semsearch_filter(query)
    assert translated is not None
    assert selected(documents, translated) == expected


def test_semsearch_filters_pass_as_they_are_and_empty_ones_are_none() -> None:
    native = {"must": [{"field": "shelf", "eq": "sea"}, {"phrase": "tide tables"}]}
    assert semsearch_filter(native) is native
    assert semsearch_filter({}) is None
    assert semsearch_filter(None) is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"year": {"$regex": "20"}}, "no '\\$regex'"),
        ({"$nor": [{"a": 1}]}, "no '\\$nor'"),
        ({"$and": []}, "non-empty list"),
        ({"year": {}}, "names no operator"),
        ({"year": {"$in": 2020}}, "take a list"),
    ],
)
def test_operators_semsearch_lacks_raise(query: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        semsearch_filter(query)


def test_keys_with_a_space_or_a_dot_of_their_own_are_quoted() -> None:
    """MongoDB's dots reach into objects; a key's other characters are quoted (they were refused)."""
    documents: list[dict[str, Any]] = [
        {"first name": "Ada", "author": {"home town": "Oslo"}},
        {"first name": "Bo"},
    ]
    assert semsearch_filter({"first name": "Ada"}) == {"field": '"first name"', "eq": "Ada"}
    assert selected(documents, semsearch_filter({"first name": {"$in": ["Bo"]}}) or {}) == [1]
    assert selected(documents, semsearch_filter({"author.home town": "Oslo"}) or {}) == [0]
    with pytest.raises(ValueError, match="cannot name the metadata key"):
        semsearch_filter({"path\\to": "x"})
