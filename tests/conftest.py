from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from index import SearchIndex, SentenceTransformerEmbedder
from tests.fakes import FakeEmbedder


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's SEMSEARCH_* variables never leak into a test."""
    for name in list(os.environ):
        if name.startswith("SEMSEARCH_"):
            monkeypatch.delenv(name)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def open_index(tmp_path: Path) -> Iterator[Callable[..., SearchIndex]]:
    """Opens indexes on ``tmp_path / "data"`` (with a fake embedder unless one is given); closes them all."""
    opened: list[SearchIndex] = []

    def factory(
        embedder: object | None = None, data_dir: Path | None = None, **kwargs: object
    ) -> SearchIndex:
        index = SearchIndex.open(data_dir or tmp_path / "data", embedder or FakeEmbedder(), **kwargs)  # type: ignore[arg-type]
        opened.append(index)
        return index

    yield factory
    for index in opened:
        index.close()


@pytest.fixture(scope="session")
def real_embedder() -> SentenceTransformerEmbedder:
    """The real default model, loaded once per test session."""
    return SentenceTransformerEmbedder()
