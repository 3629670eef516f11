"""Request body limits (413) and CORS (off unless configured)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

from fastapi.testclient import TestClient

from index import SearchIndex
from service.app import create_app
from service.settings import Settings

BIG = {"documents": [{"id": "big", "text": "word " * 2000}]}


def client_with(open_index: Callable[..., SearchIndex], tmp_path: Path, **settings: object) -> TestClient:
    config = Settings(data_dir=tmp_path / "data", seed_demo=False, **settings)  # type: ignore[arg-type]
    return TestClient(create_app(config, index=open_index(data_dir=tmp_path / "data")))


def test_a_body_over_the_limit_gets_413_and_changes_nothing(
    open_index: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    with client_with(open_index, tmp_path, max_body_bytes=4096) as client:
        declared = client.post("/documents", json=BIG)
        assert declared.status_code == 413
        assert "SEMSEARCH_MAX_BODY_BYTES" in declared.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            payload = json.dumps(BIG).encode()
            for start in range(0, len(payload), 1000):
                yield payload[start : start + 1000]

        streamed = client.post("/documents", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        assert "SEMSEARCH_MAX_BODY_BYTES" in streamed.json()["detail"]
        assert client.get("/stats").json()["documents"] == 0
        small = {"documents": [{"id": "small", "text": "A few words."}]}
        assert client.post("/documents", json=small).status_code == 200


def test_cors_is_off_by_default_and_on_for_configured_origins(
    open_index: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    with client_with(open_index, tmp_path) as client:
        response = client.options("/search", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
    with client_with(open_index, tmp_path / "2", cors_origins=["https://app.example"]) as client:
        response = client.options("/search", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://app.example"
        other = client.options("/search", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
