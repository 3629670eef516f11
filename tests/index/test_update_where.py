"""Updates by filter: every matching document's metadata patched (JSON Merge Patch), the others untouched,
in one transaction, against a plain reference (each document's metadata in a dict, the filter as a Python
predicate), in one index and in a sharded one; and a patch that would make any one document's metadata
invalid changes no document in any shard."""

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
from index.merge_patch import merge_patch
from index.protocol import ServedIndex
from index.validation import MAX_METADATA_BYTES
from tests.index.test_sharding import both

Metadata = dict[str, Any]


def number(value: Any) -> bool:
    """What a range compares: an integer or a float; true is no number, nor is "7"."""
    return isinstance(value, int | float) and not isinstance(value, bool)


# Filters of the search filter language, each with what it means (the reference).
FILTERS: list[tuple[dict[str, Any], Callable[[Metadata], bool]]] = [
    ({"field": "keep", "eq": True}, lambda m: m.get("keep") is True),
    ({"field": "n", "lt": 5}, lambda m: number(m.get("n")) and m["n"] < 5),
    ({"field": "tag", "eq": "sea"}, lambda m: m.get("tag") == "sea"),
    (
        {"should": [{"field": "keep", "eq": False}, {"field": "n", "gte": 8}]},
        lambda m: m.get("keep") is False or (number(m.get("n")) and m["n"] >= 8),
    ),
]

patches = st.dictionaries(
    st.sampled_from(["keep", "n", "tag", "obj"]),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(0, 9),
        st.sampled_from(["sea", "land", ""]),
        st.dictionaries(st.sampled_from(["a", "b"]), st.one_of(st.none(), st.integers(0, 3)), max_size=2),
    ),
    max_size=3,
)


def as_json(metadata: Metadata) -> str:
    """Metadata as the store compares it: as JSON, where 1 and true differ (Python finds them equal)."""
    return json.dumps(metadata, sort_keys=True)


def metadata_of(index: ServedIndex, ids: list[str]) -> dict[str, Metadata]:
    return {doc_id: index.get(doc_id).metadata for doc_id in ids}


def test_update_where_patches_exactly_the_matching_documents(
    open_index: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    rng = random.Random(3)
    documents = [
        Document(
            f"doc-{i}",
            f"Passage {i} about the sea.",
            None,
            {"keep": rng.random() < 0.5, "n": rng.randint(0, 9), "tag": rng.choice(["sea", "land"])},
        )
        for i in range(30)
    ]
    ids = [d.id for d in documents]
    single, cluster, _ = both(lambda folder: open_index(data_dir=folder), tmp_path, documents, 3)
    expected = {d.id: dict(d.metadata) for d in documents}

    @settings(max_examples=60, deadline=None)
    @given(chosen=st.sampled_from(range(len(FILTERS))), patch=patches)
    def check(chosen: int, patch: Metadata) -> None:
        spec, keep = FILTERS[chosen]
        matching = sorted(doc_id for doc_id, m in expected.items() if keep(m))
        changed = sorted(
            i for i in matching if as_json(merge_patch(expected[i], patch)) != as_json(expected[i])
        )
        for index in (single, cluster):
            done = index.update_where(spec, patch)
            assert done.matched == len(matching)
            assert done.updated == changed
        for doc_id in matching:
            expected[doc_id] = merge_patch(expected[doc_id], patch)
        assert metadata_of(single, ids) == expected
        assert metadata_of(cluster, ids) == expected
        # Searches filter by the new metadata at once.
        hits = single.search("sea", k=30, filter=spec).hits
        assert {h.doc_id for h in hits} <= {i for i, m in expected.items() if keep(m)}

    check()


def test_a_patch_one_document_cannot_take_changes_none(
    open_index: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    big = "x" * (MAX_METADATA_BYTES - 1000)
    documents = [Document(f"doc-{i}", f"Passage {i}.", None, {"n": i}) for i in range(12)]
    documents[7] = Document("doc-7", "Passage 7.", None, {"n": 7, "notes": big})
    ids = [d.id for d in documents]
    single, cluster, shards = both(lambda folder: open_index(data_dir=folder), tmp_path, documents, 3)
    patch = {"more": "y" * 2000, "n": None}  # valid alone; too much for doc-7 once merged
    for index, parts in ((single, [single]), (cluster, shards)):
        before = metadata_of(index, ids)
        generations = [s._store.generation() for s in parts]
        with pytest.raises(InvalidInputError, match="doc-7"):
            index.update_where({"field": "n", "gte": 0}, patch)
        assert metadata_of(index, ids) == before
        assert [s._store.generation() for s in parts] == generations
        checked = index.update_where({"field": "n", "gte": 0}, {"n": 0}, check_only=True)
        assert checked.matched == 12
        assert len(checked.updated) == 11  # doc-0 holds n=0 already
        assert metadata_of(index, ids) == before  # a check writes nothing
    with pytest.raises(InvalidInputError, match="patch"):
        single.update_where({"field": "n", "gte": 0}, {"bad": float("nan")})
    with pytest.raises(InvalidInputError):
        single.update_where({"field": "n", "nonsense": 0}, {"n": 1})
