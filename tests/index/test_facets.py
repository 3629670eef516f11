"""Facets: a metadata field's values with how many documents hold each, against a plain reimplementation of
the definition (each element of a list counts once per document; objects and nulls do not count), from one
index and from shards added up, with and without a filter."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index import Document, InvalidInputError, SearchIndex
from index.search_index import facet_order
from tests.index.test_sharding import both

VALUES: list[Any] = ["sea", "Sea", "café", "", 1, 2, 10, 1.0, 2.5, True, False, None, {"x": 1}, [1, "sea"]]


def metadata(rng: random.Random) -> dict[str, Any]:
    def value() -> Any:
        if rng.random() < 0.3:
            return [rng.choice(VALUES) for _ in range(rng.randint(0, 3))]
        return rng.choice(VALUES)

    chosen: dict[str, Any] = {"keep": rng.random() < 0.5, "author": {"name": value()}}
    if rng.random() < 0.8:
        chosen["tag"] = value()
    return chosen


def reference(
    documents: list[Document], field: str, keep: Callable[[dict[str, Any]], bool]
) -> list[tuple[Any, int]]:
    counts: dict[tuple[type, Any], int] = {}
    for document in documents:
        if not keep(document.metadata):
            continue
        value: Any = document.metadata
        for step in field.split("."):
            value = value.get(step) if isinstance(value, dict) else None
        elements = value if isinstance(value, list) else [value]
        held = {(type(e), e) for e in elements if e is not None and not isinstance(e, dict | list)}
        for kind_and_value in held:
            counts[kind_and_value] = counts.get(kind_and_value, 0) + 1
    return sorted(((value, count) for (_, value), count in counts.items()), key=lambda vc: facet_order(*vc))


def test_facets_count_what_the_definition_counts(
    open_index: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    rng = random.Random(5)
    documents = [
        Document(f"doc-{i}", f"Passage number {i} about the sea.", None, metadata(rng)) for i in range(60)
    ]
    documents = [  # as stored: JSON, so 1.0 stays a float and True a boolean
        Document(d.id, d.text, d.title, json.loads(json.dumps(d.metadata))) for d in documents
    ]
    single, cluster, _ = both(lambda folder: open_index(data_dir=folder), tmp_path, documents, 3)

    @settings(max_examples=60, deadline=None)
    @given(
        field=st.sampled_from(["tag", "author.name", "keep", "missing"]),
        limit=st.integers(1, 20),
        filtered=st.booleans(),
        sharded_side=st.booleans(),
    )
    def check(field: str, limit: int, filtered: bool, sharded_side: bool) -> None:
        index = cluster if sharded_side else single
        spec = {"field": "keep", "eq": True} if filtered else None
        expected = reference(documents, field, lambda m: not filtered or m["keep"] is True)
        found = index.facet(field, filter_spec=spec, limit=limit)
        assert [(v.value, type(v.value), v.count) for v in found.values] == [
            (value, type(value), count) for value, count in expected[:limit]
        ]
        assert found.distinct == len(expected)

    check()


def test_a_facet_of_a_field_that_is_no_key_or_a_limit_out_of_range_is_refused(
    open_index: Callable[..., SearchIndex],
) -> None:
    index = open_index()
    for field in ("", "a..b", "a b", "x" * 300):
        with pytest.raises(InvalidInputError, match="metadata key"):
            index.facet(field)
    for limit in (0, 1001):
        with pytest.raises(InvalidInputError, match="limit"):
            index.facet("tag", limit=limit)
    assert index.facet("tag").values == []
