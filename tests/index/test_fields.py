"""Metadata keys (GET /fields): which top-level keys the documents hold, how many documents hold each and of
which JSON types, a page at a time in code point order, against a plain reimplementation over the documents'
metadata (the filter as a Python predicate), from one index and from shards added up."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index import Document, InvalidInputError, SearchIndex
from index.protocol import ServedIndex
from index.types import MetadataField
from tests.index.test_sharding import both
from tests.index.test_update_where import FILTERS, Metadata


def json_type(value: Any) -> str:
    """The JSON type of a metadata value, by JSON Schema's names (true is no integer)."""
    if isinstance(value, bool):
        return "boolean"
    kinds = {int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    return "null" if value is None else kinds[type(value)]


def reference(
    metadata: list[Metadata], keep: Callable[[Metadata], bool], after: str | None, limit: int
) -> tuple[list[MetadataField], str | None]:
    """The page by definition: every top-level key after ``after`` of the documents ``keep`` keeps."""
    found: dict[str, dict[str, int]] = {}
    for one in metadata:
        if keep(one):
            for key, value in one.items():
                if after is None or key > after:
                    types = found.setdefault(key, {})
                    types[json_type(value)] = types.get(json_type(value), 0) + 1
    names = sorted(found)
    page = [MetadataField(name, sum(found[name].values()), found[name]) for name in names[:limit]]
    return page, page[-1].name if len(names) > limit else None


def every_page(index: ServedIndex, spec: dict[str, Any] | None, limit: int) -> list[MetadataField]:
    """All the keys, following ``next`` from the first page."""
    fields: list[MetadataField] = []
    after = None
    while True:
        page = index.fields(spec, after=after, limit=limit)
        assert len(page.fields) <= limit
        fields += page.fields
        if page.next is None:
            return fields
        assert page.next == page.fields[-1].name
        after = page.next


# Keys that sort apart in code point order (which SQLite's and Python's string orders share): upper before
# lower case, a space, a dot, accents, a character outside the Basic Multilingual Plane, the empty key.
keys = st.text(alphabet="aB _.éß😀", max_size=3)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 9),
    st.sampled_from([0.5, 2.0, -1e20]),
    st.sampled_from(["sea", "land", "7", ""]),
)
values = st.one_of(
    scalars,
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 3), max_size=2),
)
# The keys FILTERS reads hold scalars (its reference reads no lists, where a filter matches an element); the
# others any JSON value (their keys are never those: no "k", "n" or "t" in the alphabet).
metadata_lists = st.lists(
    st.builds(
        lambda free, filtered: {**free, **filtered},
        st.dictionaries(keys, values, max_size=4),
        st.dictionaries(st.sampled_from(["keep", "n", "tag"]), scalars, max_size=3),
    ),
    min_size=0,
    max_size=12,
)
filters = st.one_of(st.none(), st.sampled_from(range(len(FILTERS))))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    metadata=metadata_lists,
    chosen=filters,
    after=st.one_of(st.none(), keys),
    limit=st.integers(1, 6),
)
def test_fields_are_the_keys_the_kept_documents_hold_page_by_page(
    open_index: Callable[..., SearchIndex],
    metadata: list[Metadata],
    chosen: int | None,
    after: str | None,
    limit: int,
) -> None:
    documents = [Document(f"doc-{i}", f"Passage {i}.", None, one) for i, one in enumerate(metadata)]
    spec, keep = (None, lambda _: True) if chosen is None else FILTERS[chosen]
    expected, expected_next = reference(metadata, keep, after, limit)
    everything, _ = reference(metadata, keep, None, 10**6)
    with tempfile.TemporaryDirectory() as folder:
        single, cluster, shards = both(lambda path: open_index(data_dir=path), Path(folder), documents, 3)
        try:
            for index in (single, cluster):
                page = index.fields(spec, after=after, limit=limit)
                assert (page.fields, page.next) == (expected, expected_next)
                assert every_page(index, spec, limit) == everything
        finally:  # before the folder goes
            cluster.close()
            for opened in (single, *shards):
                opened.close()


def test_fields_refuse_a_page_no_store_answers(
    open_index: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    single, cluster, _ = both(
        lambda path: open_index(data_dir=path), tmp_path, [Document("a", "Text.", None, {"k": 1})], 2
    )
    for index in (single, cluster):
        assert index.fields().fields == [MetadataField("k", 1, {"integer": 1})]
        for bad in ({"limit": 0}, {"limit": 10_001}, {"after": "x" * 70_000}, {"after": "a\x00"}):
            with pytest.raises(InvalidInputError):
                index.fields(**bad)
        with pytest.raises(InvalidInputError):
            index.fields({"field": "k", "nonsense": 1})
