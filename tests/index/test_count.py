"""Counts: how many documents a filter keeps, against the filter's meaning as a Python predicate, from one
index and from shards added up."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index import Document, InvalidInputError, SearchIndex
from tests.index.test_sharding import both
from tests.index.test_update_where import FILTERS


def test_count_is_the_number_of_documents_the_filter_keeps(
    open_index: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    rng = random.Random(11)
    documents = [
        Document(
            f"doc-{i}",
            f"Passage {i} about the sea.",
            None,
            {
                "keep": rng.choice([True, False, 1, "yes"]),
                "n": rng.choice([0, 3, 5, 8, 9, True, "7", 4.5]),
                "tag": rng.choice(["sea", "land", "Sea"]),
            },
        )
        for i in range(40)
    ]
    single, cluster, _ = both(lambda folder: open_index(data_dir=folder), tmp_path, documents, 3)
    assert single.count() == cluster.count() == 40

    @settings(max_examples=30, deadline=None)
    @given(chosen=st.sampled_from(range(len(FILTERS))), sharded_side=st.booleans())
    def check(chosen: int, sharded_side: bool) -> None:
        spec, keep = FILTERS[chosen]
        index = cluster if sharded_side else single
        assert index.count(spec) == sum(1 for d in documents if keep(d.metadata))

    check()
    for index in (single, cluster):
        with pytest.raises(InvalidInputError):
            index.count({"field": "n", "nonsense": 1})
