"""Start-up and shutdown of the app when it loads its own index (the model is replaced by a fake)."""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index import Document, ModelLoadError, SearchIndex
from index.storage.locking import DataDirLockedError
from service import runtime
from service.app import create_app
from service.settings import Settings
from tests.fakes import FakeEmbedder


def wait_ready(client: TestClient, timeout: float = 30) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get("/readyz")
        if response.status_code == 200 or response.json()["status"] == "failed":
            body: dict[str, object] = response.json()
            return body
        time.sleep(0.05)
    raise AssertionError("never ready")


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Loading the model waits for the returned event."""
    release = threading.Event()

    def open_index(settings: Settings, **_: object) -> SearchIndex:
        assert release.wait(30)
        return SearchIndex.open(
            settings.data_dir, FakeEmbedder(), chunking=settings.chunking(), read_only=settings.read_only
        )

    monkeypatch.setattr(runtime, "open_index", open_index)
    return release


def test_health_answers_while_loading_and_the_api_says_503(
    tmp_path: Path, fake_model: threading.Event
) -> None:
    settings = Settings(data_dir=tmp_path / "data", seed_demo=False)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        loading = client.get("/readyz")
        assert (loading.status_code, loading.json()["status"]) == (503, "loading")
        search = client.get("/search", params={"q": "x"})
        assert search.status_code == 503
        assert "not available yet" in search.json()["detail"]
        assert search.headers["retry-after"]
        fake_model.set()
        assert wait_ready(client)["status"] == "ready"
        assert client.get("/stats").json()["documents"] == 0


def test_a_new_data_directory_is_seeded_with_the_demo_once(
    tmp_path: Path, fake_model: threading.Event
) -> None:
    fake_model.set()
    settings = Settings(data_dir=tmp_path / "data", model="fake/bag-of-words")
    with TestClient(create_app(settings)) as client:
        assert wait_ready(client)["status"] == "ready"
        stats = client.get("/stats").json()
        assert stats["documents"] == len(runtime.demo_documents()) > 0
        assert client.delete("/documents/demo/faq.md").status_code == 200
    with TestClient(create_app(settings)) as client:
        assert wait_ready(client)["status"] == "ready"
        assert client.get("/stats").json()["documents"] == stats["documents"] - 1


def test_a_model_that_fails_to_load_is_reported_by_readiness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(settings: Settings, **_: object) -> SearchIndex:
        raise ModelLoadError("cannot load the model '/nowhere'")

    monkeypatch.setattr(runtime, "open_index", broken)
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as client:
        body = wait_ready(client)
        assert body["status"] == "failed"
        assert "/nowhere" in str(body["detail"])
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200


def test_a_second_writer_does_not_start(tmp_path: Path) -> None:
    with SearchIndex.open(tmp_path / "data", FakeEmbedder()):
        app = create_app(Settings(data_dir=tmp_path / "data", model="fake/bag-of-words", seed_demo=False))
        with pytest.raises(DataDirLockedError, match="only one writer"), TestClient(app):
            pass


def test_a_read_only_replica_serves_searches_and_refuses_writes(
    tmp_path: Path, fake_model: threading.Event
) -> None:
    with SearchIndex.open(tmp_path / "data", FakeEmbedder()) as writer:
        writer.upsert([Document("owls", "Owls hunt at night.")])
    fake_model.set()
    settings = Settings(data_dir=tmp_path / "data", model="fake/bag-of-words", read_only=True)
    with TestClient(create_app(settings)) as client:
        assert wait_ready(client)["status"] == "ready"
        assert client.get("/search", params={"q": "owls at night"}).json()["hits"][0]["doc_id"] == "owls"
        refused = client.post("/documents", json={"documents": [{"id": "x", "text": "y"}]})
        assert refused.status_code == 409
        assert "read-only" in refused.json()["detail"]
        assert client.delete("/documents/owls").status_code == 409
        assert client.get("/stats").json()["documents"] == 1


def test_what_loading_made_is_left_out_of_garbage_collections_until_shutdown(
    tmp_path: Path, fake_model: threading.Event
) -> None:
    gc.unfreeze()
    fake_model.set()
    with TestClient(create_app(Settings(data_dir=tmp_path / "data", seed_demo=False))) as client:
        assert wait_ready(client)["status"] == "ready"
        assert gc.get_freeze_count() > 10_000  # the libraries, the app, the index
    assert gc.get_freeze_count() == 0
