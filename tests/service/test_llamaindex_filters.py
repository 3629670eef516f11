"""LlamaIndex metadata filters, translated to semsearch's filter language, select what LlamaIndex's own
in-memory stores select (``build_metadata_filter_fn``, the library's reference), over scalar fields (text,
numbers, missing, null, "") and lists (``any``, ``all``)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)
from llama_index.core.vector_stores.utils import build_metadata_filter_fn

from index.retrieval.filters import compile_filter, register_functions
from service.integrations.llamaindex import semsearch_filter

SHELVES = ["sea", "kitchen", ""]
TAGS = ["a", "b", "c"]

METADATA = st.fixed_dictionaries(
    {},
    optional={
        "shelf": st.one_of(st.sampled_from(SHELVES), st.none()),
        "year": st.integers(2018, 2024),
        "tags": st.lists(st.sampled_from(TAGS), max_size=3, unique=True),
    },
)

SCALAR_FILTERS = st.one_of(
    st.builds(
        MetadataFilter,
        key=st.just("shelf"),
        value=st.sampled_from(SHELVES[:2]),
        operator=st.sampled_from([FilterOperator.EQ, FilterOperator.NE]),
    ),
    st.builds(
        MetadataFilter,
        key=st.just("year"),
        value=st.integers(2018, 2024),
        operator=st.sampled_from(
            [
                FilterOperator.EQ,
                FilterOperator.NE,
                FilterOperator.GT,
                FilterOperator.GTE,
                FilterOperator.LT,
                FilterOperator.LTE,
            ]
        ),
    ),
    st.builds(
        MetadataFilter,
        key=st.just("shelf"),
        value=st.lists(st.sampled_from(SHELVES[:2]), min_size=1, max_size=2),
        operator=st.sampled_from([FilterOperator.IN, FilterOperator.NIN]),
    ),
    st.builds(
        MetadataFilter,
        key=st.just("year"),
        value=st.lists(st.integers(2018, 2024), min_size=1, max_size=3),
        operator=st.sampled_from([FilterOperator.IN, FilterOperator.NIN]),
    ),
    st.builds(
        MetadataFilter,
        key=st.just("tags"),
        value=st.lists(st.sampled_from(TAGS), min_size=1, max_size=2),
        operator=st.sampled_from([FilterOperator.ANY, FilterOperator.ALL]),
    ),
    st.builds(
        MetadataFilter,
        key=st.sampled_from(["shelf", "year"]),
        value=st.none(),
        operator=st.just(FilterOperator.IS_EMPTY),
    ),
)
FILTERS = st.builds(
    MetadataFilters,
    filters=st.lists(SCALAR_FILTERS, min_size=1, max_size=3),
    condition=st.sampled_from([FilterCondition.AND, FilterCondition.OR, FilterCondition.NOT]),
)


def selected(documents: list[dict[str, Any]], spec: dict[str, Any]) -> list[int]:
    connection = sqlite3.connect(":memory:")
    register_functions(connection)
    connection.execute("CREATE TABLE documents (id TEXT PRIMARY KEY, metadata TEXT NOT NULL)")
    connection.executemany(
        "INSERT INTO documents VALUES (?, ?)", [(str(i), json.dumps(m)) for i, m in enumerate(documents)]
    )
    sql, params = compile_filter(spec).document_ids_sql()
    return sorted(int(row[0]) for row in connection.execute(sql, params))


@settings(max_examples=400, deadline=None)
@given(documents=st.lists(METADATA, min_size=1, max_size=8), filters=FILTERS)
def test_translated_filters_select_what_llamaindex_selects(
    documents: list[dict[str, Any]], filters: MetadataFilters
) -> None:
    reference = build_metadata_filter_fn(lambda i: documents[int(i)], filters)
    expected = [i for i in range(len(documents)) if reference(str(i))]
    assert selected(documents, semsearch_filter(filters)) == expected


def test_keys_are_flat_and_quoted_when_they_hold_other_characters() -> None:
    """LlamaIndex's metadata is flat: a key with a dot or a space is one key (they were refused or, with a
    dot, read as a key inside another)."""
    documents: list[dict[str, Any]] = [
        {"file.name": "a.pdf", "first name": "Ada"},
        {"file": {"name": "a.pdf"}},
    ]
    dotted = MetadataFilters(filters=[MetadataFilter(key="file.name", value="a.pdf")])
    assert selected(documents, semsearch_filter(dotted)) == [0]
    spaced = MetadataFilters(filters=[MetadataFilter(key="first name", value="Ada")])
    assert semsearch_filter(spaced) == {"must": [{"field": '"first name"', "eq": "Ada"}]}
