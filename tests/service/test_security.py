from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index import SearchIndex
from service.app import create_app
from service.settings import Settings

WRITE_KEY = "write-key-0123456789abcdef"
READ_KEY = "read-key-0123456789abcdef"
DOC = {"documents": [{"id": "a", "text": "Cats sleep a lot."}]}


@pytest.fixture
def client(open_index: Callable[..., SearchIndex], tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", seed_demo=False, write_key=WRITE_KEY, read_key=READ_KEY)
    with TestClient(create_app(settings, index=open_index())) as test_client:
        yield test_client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_writes_need_the_write_key(client: TestClient) -> None:
    missing = client.post("/documents", json=DOC)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert client.post("/documents", json=DOC, headers=bearer(READ_KEY)).status_code == 403
    assert client.post("/documents", json=DOC, headers=bearer("x" * 30)).status_code == 403
    assert client.post("/documents", json=DOC, headers=bearer(WRITE_KEY)).status_code == 200
    assert client.delete("/documents/a", headers={"X-API-Key": READ_KEY}).status_code == 403
    assert client.post("/documents/delete", json={"filter": {"field": "x", "eq": 1}}).status_code == 401
    assert client.post("/admin/snapshot").status_code == 401
    assert client.post("/admin/snapshot", headers=bearer(READ_KEY)).status_code == 403
    assert client.delete("/documents/a", headers={"X-API-Key": WRITE_KEY}).status_code == 200


def test_reads_need_the_read_or_write_key(client: TestClient) -> None:
    client.post("/documents", json=DOC, headers=bearer(WRITE_KEY))
    task = client.post("/documents?wait=false", json=DOC, headers=bearer(WRITE_KEY)).json()["task_id"]
    for path in ("/search?q=cats", "/documents/a", "/stats", f"/tasks/{task}"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers=bearer("wrong-key-0123456789")).status_code == 403, path
        assert client.get(path, headers=bearer(READ_KEY)).status_code == 200, path
        assert client.get(path, headers={"X-API-Key": WRITE_KEY}).status_code == 200, path
    assert client.post("/search/batch", json={"queries": [{"query": "cats"}]}).status_code == 401


def test_health_and_docs_never_need_a_key(client: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/openapi.json", "/docs"):
        assert client.get(path).status_code == 200, path


def test_without_keys_everything_is_open(open_index: Callable[..., SearchIndex], tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", seed_demo=False)
    with TestClient(create_app(settings, index=open_index())) as client:
        assert client.post("/documents", json=DOC).status_code == 200
        assert client.get("/search", params={"q": "cats"}).status_code == 200


def test_keys_never_show_in_settings_or_logs(
    client: TestClient, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, write_key=WRITE_KEY)
    assert WRITE_KEY not in repr(settings)
    assert WRITE_KEY not in str(settings.model_dump())
    with caplog.at_level(logging.DEBUG):
        client.post("/documents", json=DOC, headers=bearer(WRITE_KEY))
        client.post("/documents", json=DOC, headers=bearer("wrong-key-0123456789"))
    assert WRITE_KEY not in caplog.text
    assert "wrong-key-0123456789" not in caplog.text


def test_short_keys_are_rejected_at_start() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        Settings(write_key="short")
    assert Settings(write_key="").write_key is None
