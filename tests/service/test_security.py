from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from index import SearchIndex
from service.app import create_app
from service.cli import _keys
from service.mcp_server import McpEndpoint
from service.security import required_access
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
    update = {"filter": {"field": "x", "eq": 1}, "metadata": {"y": 2}}
    assert client.post("/documents/update", json=update).status_code == 401
    assert client.post("/documents/update", json=update, headers=bearer(READ_KEY)).status_code == 403
    assert client.post("/documents/update", json=update, headers=bearer(WRITE_KEY)).status_code == 200
    assert client.post("/admin/snapshot").status_code == 401
    assert client.post("/admin/snapshot", headers=bearer(READ_KEY)).status_code == 403
    assert client.delete("/documents/a", headers={"X-API-Key": WRITE_KEY}).status_code == 200


def test_reads_need_the_read_or_write_key(client: TestClient) -> None:
    client.post("/documents", json=DOC, headers=bearer(WRITE_KEY))
    task = client.post("/documents?wait=false", json=DOC, headers=bearer(WRITE_KEY)).json()["task_id"]
    paths = ["/search?q=cats", "/documents/a", "/stats", f"/tasks/{task}", "/facets?field=x"]
    for path in [*paths, "/count", "/fields"]:
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers=bearer("wrong-key-0123456789")).status_code == 403, path
        assert client.get(path, headers=bearer(READ_KEY)).status_code == 200, path
        assert client.get(path, headers={"X-API-Key": WRITE_KEY}).status_code == 200, path
    assert client.post("/search/batch", json={"queries": [{"query": "cats"}]}).status_code == 401


def test_health_and_docs_never_need_a_key(client: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/openapi.json", "/docs", "/redoc"):
        assert client.get(path).status_code == 200, path


def test_the_api_documentation_loads_nothing_from_another_site(client: TestClient) -> None:
    """FastAPI's /docs and /redoc load Swagger UI and ReDoc from a CDN: on a machine without internet the
    pages stayed blank. The service serves their scripts and styles itself, without a key, and the pages
    name no other site."""
    for page, wanted in (("/docs", (".js", ".css")), ("/redoc", (".js",))):
        html = client.get(page).text
        assert "http://" not in html
        assert "https://" not in html
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        for suffix in wanted:
            assert any(asset.endswith(suffix) for asset in assets), (page, assets)
        for asset in assets:
            assert asset.startswith("/docs-assets/"), (page, asset)
            served = client.get(asset)  # no key
            assert served.status_code == 200, asset
            assert len(served.content) > 1000, asset


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
    with pytest.raises(ValueError, match="at least 16"):
        Settings(write_key=f"{WRITE_KEY},short")
    with pytest.raises(ValueError, match="at least 16"):
        Settings(write_key=f"{WRITE_KEY},")


def test_several_keys_are_each_accepted_while_keys_are_rotated(
    open_index: Callable[..., SearchIndex], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An old and a new key at once, for the API, the access middleware and MCP; the list itself is no key.
    The CLI, given the service's setting, sends the first."""
    new_write, new_read = "new-write-key-0123456789", "new-read-key-0123456789"
    settings = Settings(
        data_dir=tmp_path / "data",
        seed_demo=False,
        write_key=f"{new_write}, {WRITE_KEY}",
        read_key=f"{new_read},{READ_KEY}",
    )
    with TestClient(create_app(settings, index=open_index())) as client:
        for key in (new_write, WRITE_KEY):
            assert client.post("/documents", json=DOC, headers=bearer(key)).status_code == 200
        for key in (new_read, READ_KEY, new_write, WRITE_KEY):
            assert client.get("/search?q=cats", headers={"X-API-Key": key}).status_code == 200
        assert client.post("/documents", json=DOC, headers=bearer(new_read)).status_code == 403
        whole = f"{new_write},{WRITE_KEY}"
        assert client.post("/documents", json=DOC, headers=bearer(whole)).status_code == 403
        assert client.get("/search?q=cats", headers=bearer(whole)).status_code == 403
        mcp = McpEndpoint(settings, lambda: client.app)
        assert mcp.app_for({"Authorization": f"Bearer {WRITE_KEY}"}) is mcp.app_for({"X-API-Key": new_write})
        assert mcp.app_for({"X-API-Key": new_read}) is not mcp.app_for({"X-API-Key": new_write})
    monkeypatch.setenv("SEMSEARCH_WRITE_KEY", f" {new_write} , {WRITE_KEY}")
    monkeypatch.setenv("SEMSEARCH_READ_KEY", new_read)
    assert _keys() == (new_write, new_read)


def test_an_unauthenticated_request_is_refused_before_its_body_is_read(
    open_index: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    """The key is checked before the body: a 15 MB anonymous upload is refused without a byte being read."""
    settings = Settings(data_dir=tmp_path / "data", seed_demo=False, write_key=WRITE_KEY, read_key=READ_KEY)
    app = create_app(settings, index=open_index())
    reads: list[str] = []
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        reads.append("body")
        return {"type": "http.request", "body": b"x" * 15_000_000, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    def scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> MutableMapping[str, Any]:
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"content-length", b"15000000"), *headers],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }

    async def run() -> None:
        async with app.router.lifespan_context(app):
            await app(scope("POST", "/documents", []), receive, send)
            await app(scope("POST", "/search", [(b"x-api-key", b"wrong-key-0123456789")]), receive, send)
            read_key = [(b"authorization", b"Bearer " + READ_KEY.encode())]
            await app(scope("POST", "/documents/delete", read_key), receive, send)

    asyncio.run(run())
    statuses = [m["status"] for m in sent if m["type"] == "http.response.start"]
    assert statuses == [401, 403, 403]
    assert reads == []


def test_a_read_key_without_a_write_key_is_refused_at_start(tmp_path: Path) -> None:
    """Reads protected while writes stay open is a configuration mistake, not a choice."""
    with pytest.raises(ValueError, match="SEMSEARCH_WRITE_KEY is not"):
        Settings(data_dir=tmp_path, read_key=READ_KEY)
    assert Settings(data_dir=tmp_path, read_key=READ_KEY, read_only=True).read_key is not None


def test_the_access_rule_agrees_with_every_route(client: TestClient) -> None:
    """The middleware's rule (method and path) against each operation of the OpenAPI document: what it
    calls a read answers the read key, what it calls a write refuses the read key and answers the write
    key, and what it leaves open answers no key."""
    paths = client.get("/openapi.json").json()["paths"]
    checked = 0
    for template, operations in paths.items():
        path = template.replace("{doc_id}", "a").replace("{task_id}", "nope")
        for method in operations:
            access = required_access(method.upper(), path)
            body = {"queries": [{"query": "x"}]} if path.endswith("batch") else {"query": "x"}

            def call(key: str | None, method: str = method, path: str = path, body: object = body) -> int:
                headers = {} if key is None else bearer(key)
                return client.request(method.upper(), path, headers=headers, json=body).status_code

            if access is None:
                assert call(None) not in (401, 403), (method, template)
            elif access == "read":
                assert call(None) == 401, (method, template)
                assert call(READ_KEY) not in (401, 403), (method, template)
            else:
                assert call(READ_KEY) == 403, (method, template)
                assert call(WRITE_KEY) not in (401, 403), (method, template)
            checked += 1
    assert checked >= 10
