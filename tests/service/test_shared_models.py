"""Collections that share a model share one loaded copy, and closing one of them (a deleted collection's
index retiring) leaves the model working for the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import SearchIndex, SearchRequest
from index.collections import CollectionSettings
from index.encoders.batching import BatchingEmbedder
from index.encoders.sharing import SharedEmbedder
from service import runtime
from service.settings import Settings
from tests.fakes import FakeEmbedder


def test_closing_a_collection_keeps_the_shared_model_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[BatchingEmbedder] = []

    def load(*_: object, **__: object) -> BatchingEmbedder:
        loads.append(BatchingEmbedder(FakeEmbedder(model_id="fake/other")))
        return loads[-1]

    monkeypatch.setattr(runtime, "load_model", load)
    settings = Settings(data_dir=tmp_path / "data", seed_demo=False)
    default = SearchIndex.open(tmp_path / "data", BatchingEmbedder(FakeEmbedder()))
    opener = runtime.collection_opener(settings, default)
    try:
        first = opener("a", tmp_path / "a", CollectionSettings())
        second = opener("b", tmp_path / "b", CollectionSettings())
        first.close()
        second.close()  # the last lease of the default model: still the default index's to close
        assert default.search("cats", 3, mode="dense").hits == []  # the model answers

        other = CollectionSettings(model="fake/other")
        third = opener("c", tmp_path / "c", other)
        fourth = opener("d", tmp_path / "d", other)
        assert len(loads) == 1  # loaded once for both
        third.close()
        fourth.search_batch([SearchRequest("cats", 3, mode="dense")])
        fourth.close()  # the last lease: this model closes
        fifth = opener("e", tmp_path / "e", other)  # and is loaded again when needed
        assert len(loads) == 2
        fifth.search_batch([SearchRequest("cats", 3, mode="dense")])
        fifth.close()
    finally:
        default.close()


def test_a_lease_gives_itself_back_once() -> None:
    shared = SharedEmbedder(FakeEmbedder())
    lease = shared.lease()
    shared.lease()
    lease.close()
    lease.close()
    assert shared.leases == 1
    assert lease.embed_queries(["x"]).shape == (1, 64)
