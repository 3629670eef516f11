"""The catalog of collections and aliases (index.collections)."""

from __future__ import annotations

import multiprocessing
import string
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index import Document, SearchIndex
from index import collections as catalog_module
from index.collections import (
    Catalog,
    CollectionConflictError,
    CollectionNotFoundError,
    CollectionSet,
    CollectionSettings,
    check_name,
)
from index.errors import InvalidInputError
from tests.fakes import FakeEmbedder

FIRST = set(string.ascii_lowercase + string.digits)
REST = FIRST | {"_", "-"}


def reference_valid(name: str) -> bool:
    return 1 <= len(name) <= 64 and name[0] in FIRST and all(c in REST for c in name[1:])


@given(
    st.one_of(
        st.text(alphabet=string.ascii_letters + string.digits + "_-./ \n\u00e9\u0130", max_size=70),
        st.text(max_size=70),
        st.from_regex(r"[a-z0-9][a-z0-9_-]{0,70}", fullmatch=True),
    )
)
def test_names_are_checked_exactly_as_the_reference_says(name: str) -> None:
    if reference_valid(name):
        assert check_name(name) == name
    else:
        with pytest.raises(InvalidInputError):
            check_name(name)


def test_create_is_idempotent_and_conflicts_on_other_settings(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path)
    small = CollectionSettings(chunking={"max_tokens": 128})
    assert catalog.create("papers", small) is True
    assert catalog.create("papers", CollectionSettings(chunking={"max_tokens": 128})) is False
    with pytest.raises(CollectionConflictError):
        catalog.create("papers", CollectionSettings(chunking={"max_tokens": 64}))
    assert catalog.path_of("papers") == tmp_path / "collections" / "papers"
    assert catalog.path_of("default") == tmp_path  # an existing data directory is the default collection
    assert sorted(catalog.state.collections) == ["default", "papers"]


def test_aliases_switch_resolve_and_guard_their_collections(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path)
    catalog.create("v1", CollectionSettings())
    catalog.create("v2", CollectionSettings(model="some/other-model"))
    assert catalog.set_alias("live", "v1") is None
    assert catalog.resolve("live") == "v1"
    before = catalog.state
    assert catalog.set_alias("live", "v2") == "v1"
    assert before.resolve("live") == "v1"  # a search that resolved before the switch keeps its collection
    assert catalog.resolve("live") == "v2"
    with pytest.raises(CollectionConflictError):
        catalog.create("live", CollectionSettings())  # the name is an alias's
    with pytest.raises(CollectionConflictError):
        catalog.set_alias("v1", "v2")  # the name is a collection's
    with pytest.raises(CollectionNotFoundError):
        catalog.set_alias("other", "missing")
    with pytest.raises(CollectionConflictError, match="'live' is an alias \\(of 'v2'\\)"):
        catalog.set_alias("other", "live")  # an alias of an alias: one level only
    with pytest.raises(CollectionConflictError):
        catalog.delete("v2")  # "live" points to it
    assert catalog.delete("v2", force=True) == ["live"]
    with pytest.raises(CollectionNotFoundError):
        catalog.resolve("live")
    with pytest.raises(CollectionConflictError):
        catalog.delete("default")
    with pytest.raises(CollectionNotFoundError):
        catalog.delete_alias("live")


def test_the_catalog_survives_a_restart(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path)
    catalog.create("papers", CollectionSettings(chunking={"max_tokens": 128}, index={"hnsw_m": 16}))
    catalog.set_alias("live", "papers")
    again = Catalog(tmp_path)
    assert again.resolve("live") == "papers"
    assert again.state.collections["papers"].to_json() == catalog.state.collections["papers"].to_json()


def _create_many(root: str, prefix: str, count: int, start: Any) -> None:
    catalog = Catalog(root)
    start.wait()  # both processes change the catalog at the same time
    for n in range(count):
        catalog.create(f"{prefix}-{n}", CollectionSettings())
        catalog.set_alias(f"{prefix}-alias", f"{prefix}-{n}")


def test_processes_sharing_a_root_lose_no_change_and_see_each_others(tmp_path: Path) -> None:
    """Two processes changing one catalog at once (the routers of a Ray application): every change of
    both is kept, and a catalog opened before them sees them all without being opened again."""
    watcher = Catalog(tmp_path)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    workers = [context.Process(target=_create_many, args=(str(tmp_path), p, 40, start)) for p in ("a", "b")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    expected = {"default"} | {f"{p}-{n}" for p in ("a", "b") for n in range(40)}
    assert set(watcher.state.collections) == expected
    assert watcher.resolve("a-alias") == "a-39"
    assert watcher.resolve("b-alias") == "b-39"
    watcher.set_alias("a-alias", "b-0")  # and its own change is made on top of theirs
    assert Catalog(tmp_path).resolve("a-alias") == "b-0"
    assert set(Catalog(tmp_path).state.collections) == expected


def test_a_failed_write_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = Catalog(tmp_path)
    catalog.create("v1", CollectionSettings())

    def full_disk(path: Path, text: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(catalog_module, "atomic_write_text", full_disk)
    with pytest.raises(OSError, match="No space"):
        catalog.set_alias("live", "v1")
    with pytest.raises(CollectionNotFoundError):
        catalog.resolve("live")
    monkeypatch.undo()
    assert Catalog(tmp_path).state.aliases == {}


def test_resolving_never_fails_while_an_alias_is_switched_back_and_forth(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path)
    for name in ("blue", "green"):
        catalog.create(name, CollectionSettings())
    catalog.set_alias("live", "blue")
    seen: set[str] = set()
    errors: list[BaseException] = []
    done = threading.Event()

    def search() -> None:
        while not done.is_set():
            time.sleep(0)  # yield the GIL: the switching thread must get on
            try:
                seen.add(catalog.resolve("live"))
            except BaseException as error:
                errors.append(error)

    readers = [threading.Thread(target=search) for _ in range(4)]
    for reader in readers:
        reader.start()
    for i in range(50):
        catalog.set_alias("live", "green" if i % 2 == 0 else "blue")
    done.set()
    for reader in readers:
        reader.join()
    assert errors == []
    assert seen == {"blue", "green"}


def test_a_deleted_collection_stays_readable_for_searches_already_under_way(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "root")
    default = SearchIndex.open(tmp_path / "root", FakeEmbedder())
    opened: list[SearchIndex] = []

    def opener(name: str, data_dir: Path, settings: CollectionSettings) -> SearchIndex:
        index = SearchIndex.open(data_dir, FakeEmbedder())
        opened.append(index)
        return index

    collections = CollectionSet(catalog, default, opener)
    try:
        assert collections.create("news", CollectionSettings()) is True
        index = collections.index("news")
        assert isinstance(index, SearchIndex)
        index.upsert([Document("a", "Cats sleep sixteen hours a day.")])
        collections.delete("news")
        assert not (tmp_path / "root" / "collections" / "news").exists()
        with pytest.raises(CollectionNotFoundError):
            collections.index("news")
        # A search that resolved "news" before the delete still gets its answer.
        assert [h.doc_id for h in index.search("cats").hits] == ["a"]
        assert collections.create("news", CollectionSettings()) is True  # the name is free again
        assert collections.index("news").stats().documents == 0
    finally:
        collections.close()
        default.close()
    assert all(index._closed for index in opened)


def _found(collections: CollectionSet, name: str, query: str) -> list[str]:
    index = collections.index(name)
    assert isinstance(index, SearchIndex)
    return [hit.doc_id for hit in index.search(query).hits]


def test_a_replica_sees_a_collection_deleted_and_made_again_with_the_same_settings(tmp_path: Path) -> None:
    root = tmp_path / "root"
    writer_default = SearchIndex.open(root, FakeEmbedder())
    replica_default = SearchIndex.open(root, FakeEmbedder(), read_only=True)

    def opener(read_only: bool) -> Any:
        return lambda name, data_dir, settings: SearchIndex.open(
            data_dir, FakeEmbedder(), read_only=read_only
        )

    writer = CollectionSet(Catalog(root), writer_default, opener(False))
    replica = CollectionSet(Catalog(root), replica_default, opener(True))
    try:
        writer.create("news", CollectionSettings())
        writer.index("news").upsert([Document("old", "Cats sleep sixteen hours a day.")])
        assert _found(replica, "news", "cats") == ["old"]
        writer.delete("news")
        writer.create("news", CollectionSettings())  # the same name and settings, a new collection
        writer.index("news").upsert([Document("new", "Cats hunt at dawn and dusk.")])
        assert _found(replica, "news", "cats") == ["new"]
    finally:
        for collections, default in ((replica, replica_default), (writer, writer_default)):
            collections.close()
            default.close()
