from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index import SearchIndex
from service.app import create_app
from service.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", seed_demo=False, max_k=20, max_documents_per_request=5)


@pytest.fixture
def client(open_index: Callable[..., SearchIndex], settings: Settings) -> Iterator[TestClient]:
    """The app in process, serving an index with the fake embedder."""
    with TestClient(create_app(settings, index=open_index())) as test_client:
        yield test_client
