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
from index.types import FacetOrder
from tests.index.test_sharding import both

VALUES: list[Any] = ["sea", "Sea", "café", "CAFÉ", "Straße", "", 1, 2, 10, 1.0, 2.5, -3, True, False, None]
VALUES += [{"x": 1}, [1, "sea"]]


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
    documents: list[Document],
    field: str,
    keep: Callable[[dict[str, Any]], bool],
    order: str = "count",
    contains: str | None = None,
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
    pairs = [(value, count) for (_, value), count in counts.items()]
    if contains is not None:
        pairs = [(v, c) for v, c in pairs if isinstance(v, str) and contains.casefold() in v.casefold()]
    if order == "count":
        return sorted(pairs, key=lambda vc: (-vc[1], type_name(vc[0]), vc[0]))
    # Numbers by value (1 before 1.0), then strings by code point, then false, then true.
    rank = {int: 0, float: 0, str: 1}
    return sorted(
        pairs, key=lambda vc: (rank.get(type(vc[0]), 2 + int(vc[0] is True)), vc[0], type_name(vc[0]))
    )


def type_name(value: Any) -> str:
    """How SQLite's json_each names a value's JSON type (the order of ties)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return {int: "integer", float: "real", str: "text"}[type(value)]


def numbers(values: list[tuple[Any, int]]) -> list[Any]:
    return [v for v, _ in values if isinstance(v, int | float) and not isinstance(v, bool)]


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

    @settings(max_examples=120, deadline=None)
    @given(
        field=st.sampled_from(["tag", "author.name", "keep", "missing"]),
        limit=st.integers(1, 20),
        offset=st.integers(0, 12),
        order=st.sampled_from(["count", "value"]),
        contains=st.sampled_from([None, "sea", "SEA", "é", "a", "SS", "1"]),
        filtered=st.booleans(),
        sharded_side=st.booleans(),
    )
    def check(
        field: str,
        limit: int,
        offset: int,
        order: FacetOrder,
        contains: str | None,
        filtered: bool,
        sharded_side: bool,
    ) -> None:
        index = cluster if sharded_side else single
        spec = {"field": "keep", "eq": True} if filtered else None
        keep = lambda m: not filtered or m["keep"] is True  # noqa: E731
        expected = reference(documents, field, keep, order, contains)
        found = index.facet(
            field, filter_spec=spec, limit=limit, order=order, offset=offset, contains=contains
        )
        assert [(v.value, type(v.value), v.count) for v in found.values] == [
            (value, type(value), count) for value, count in expected[offset : offset + limit]
        ]
        assert found.distinct == len(expected)
        every_number = numbers(reference(documents, field, keep))
        assert (found.min, found.max) == (min(every_number, default=None), max(every_number, default=None))

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
