"""Haystack filters, translated to semsearch's filter language, select what Haystack's own reference selects
(``document_matches_filter``, which its in-memory store uses), over scalar fields: text, numbers, ISO dates,
null and missing, nested objects, with AND, OR and NOT at any depth (empty ones too); and the translation is
no deeper than the filter plus one, so the service's nesting limit binds no sooner than the filter's own
depth says."""

from __future__ import annotations

from typing import Any

import pytest
from haystack import Document
from haystack.errors import FilterError
from haystack.utils.filters import document_matches_filter
from hypothesis import given, settings
from hypothesis import strategies as st

from service.integrations.haystack import semsearch_filter
from tests.service.test_llamaindex_filters import selected

SHELVES = ["sea", "kitchen", ""]
DATES = ["2021-03-01", "2022-07-15", "2024-01-31T12:00:00"]

METADATA = st.fixed_dictionaries(
    {},
    optional={
        "shelf": st.one_of(st.sampled_from(SHELVES), st.none()),
        "year": st.one_of(st.integers(2018, 2024), st.none()),
        "published": st.sampled_from(DATES),
        "author": st.fixed_dictionaries({}, optional={"name": st.sampled_from(["ann", "bo"])}),
    },
)


def comparison(field: str, values: st.SearchStrategy[Any], operators: list[str]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {"field": st.just(field), "operator": st.sampled_from(operators), "value": values}
    )


EQUALITY = ["==", "!="]
ORDER = [">", ">=", "<", "<="]
MEMBERSHIP = ["in", "not in"]
COMPARISONS = st.one_of(
    comparison("meta.shelf", st.one_of(st.sampled_from(SHELVES), st.none()), EQUALITY),
    comparison("meta.year", st.one_of(st.integers(2018, 2024), st.none()), EQUALITY + ORDER),
    comparison("meta.published", st.sampled_from(["2021-12-31", "2022-07-15", "2023-06-01"]), ORDER),
    comparison("meta.author.name", st.sampled_from(["ann", "bo"]), EQUALITY),
    comparison("meta.shelf", st.lists(st.sampled_from(SHELVES), max_size=2), MEMBERSHIP),
    comparison("meta.year", st.lists(st.integers(2018, 2024), min_size=1, max_size=3), MEMBERSHIP),
)
FILTERS = st.recursive(
    COMPARISONS,
    lambda inner: st.fixed_dictionaries(
        {
            "operator": st.sampled_from(["AND", "OR", "NOT"]),
            "conditions": st.lists(inner, max_size=3),
        }
    ),
    max_leaves=12,
)


def depth(spec: dict[str, Any]) -> int:
    """Nesting depth as the filter language counts it (a lone comparison is 1), for both languages."""
    children = spec.get("conditions") or [
        child for key in ("must", "should", "must_not") for child in spec.get(key, [])
    ]
    return 1 + max((depth(child) for child in children), default=0)


@settings(max_examples=400, deadline=None)
@given(documents=st.lists(METADATA, min_size=1, max_size=8), filters=FILTERS)
def test_translated_filters_select_what_haystack_selects(
    documents: list[dict[str, Any]], filters: dict[str, Any]
) -> None:
    expected = [
        i
        for i, meta in enumerate(documents)
        if document_matches_filter(filters, Document(content="x", meta=meta))
    ]
    translated = semsearch_filter(filters)
    if translated is None:  # keeps every document
        assert expected == list(range(len(documents)))
        return
    assert depth(translated) <= depth(filters) + 1
    assert selected(documents, translated) == expected


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"field": "content", "operator": "==", "value": "x"}, "metadata fields only"),
        ({"field": "meta.a", "operator": "~", "value": "x"}, "unknown comparison operator '~'"),
        ({"field": "meta.a", "operator": "in", "value": "x"}, "'in' takes a list"),
        ({"operator": "XOR", "conditions": []}, "unknown logical operator 'XOR'"),
        ({"conditions": []}, "unknown logical operator None"),
        ({"field": "meta.a", "operator": "=="}, "has no value"),
        ({"field": "meta.a", "operator": ">", "value": "1"}, "compares numbers and ISO dates"),
        ({"field": "meta.a", "operator": "<=", "value": [1]}, "compares numbers and ISO dates"),
        ({"field": "meta.a", "operator": "not in", "value": (1, 2)}, "'not in' takes a list"),
    ],
)
def test_filters_haystack_refuses_or_semsearch_cannot_apply_raise(
    filters: dict[str, Any], message: str
) -> None:
    """As Haystack's own stores: a FilterError (which is also a ValueError here)."""
    with pytest.raises(FilterError, match=message) as raised:
        semsearch_filter(filters)
    assert isinstance(raised.value, ValueError)


def test_keys_with_a_space_are_quoted() -> None:
    """Haystack's dots reach into objects; a key's other characters are quoted (they were refused)."""
    documents: list[dict[str, Any]] = [
        {"first name": "Ada", "author": {"home town": "Oslo"}},
        {"first name": "Bo"},
    ]
    by_name = semsearch_filter({"field": "meta.first name", "operator": "==", "value": "Ada"})
    assert by_name == {"field": '"first name"', "eq": "Ada"}
    assert selected(documents, by_name or {}) == [0]
    by_town = semsearch_filter({"field": "meta.author.home town", "operator": "==", "value": "Oslo"})
    with pytest.raises(FilterError, match="cannot name the metadata key"):
        semsearch_filter({"field": 'meta.say "hi"', "operator": "==", "value": 1})
    assert selected(documents, by_town or {}) == [0]
