from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from index import Embedder, SearchIndex, SentenceTransformerEmbedder, load_embedder
from tests.fakes import FakeEmbedder

# Haystack sends usage statistics to its makers unless told not to: the tests send nothing beyond 127.0.0.1.
os.environ["HAYSTACK_TELEMETRY_ENABLED"] = "False"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export of the model for the whole session (an export takes about 15 s)."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> None:
    """A developer's SEMSEARCH_* variables never leak into a test; every service shares the model export."""
    for name in list(os.environ):
        if name.startswith("SEMSEARCH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SEMSEARCH_MODEL_CACHE_DIR", str(model_cache))


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
        # The in-memory keyword index scores as FTS5 does up to rounding; a test comparing scores across
        # opens should not depend on whether its build has finished.
        index.wait_for_keyword_index()
        return index

    yield factory
    for index in opened:
        index.close()


@pytest.fixture(scope="session")
def real_embedder(model_cache: Path) -> Embedder:
    """The real default model on the default backend (ONNX Runtime), loaded once per test session."""
    return load_embedder(cache_dir=model_cache)


@pytest.fixture(scope="session")
def torch_embedder() -> SentenceTransformerEmbedder:
    """The real default model in sentence-transformers on torch, the reference the ONNX export must match."""
    return SentenceTransformerEmbedder()
