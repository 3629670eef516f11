"""Request body limits (413), CORS (off unless configured) and how many searches run at once."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

from index import Document, SearchIndex
from service.app import create_app
from service.limits import BodySizeLimit, ConcurrencyLimit
from service.security import is_upload
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


def test_a_web_app_on_an_allowed_origin_may_use_every_route_and_read_the_answers_headers(
    open_index: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    """Every method of every route passes the browser's preflight with the headers clients send (PATCH and
    PUT were refused, and X-Request-ID); answers expose the headers a client reads (a task's Location)."""
    origin = {"Origin": "https://app.example"}
    sent = "authorization, content-type, x-request-id, x-api-key, mcp-protocol-version"
    with client_with(open_index, tmp_path, cors_origins=[origin["Origin"]]) as client:
        paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
        asked = {(method.upper(), re.sub("{[^}]+}", "x", path)) for path in paths for method in paths[path]}
        assert {"PATCH", "PUT", "DELETE", "POST", "GET"} <= {method for method, _ in asked}
        for method, path in sorted(asked):
            asking = {"Access-Control-Request-Method": method, "Access-Control-Request-Headers": sent}
            answer = client.options(path, headers={**origin, **asking})
            assert answer.status_code == 200, (method, path, answer.text)
            assert answer.headers["access-control-allow-origin"] == origin["Origin"]
        body = {"documents": [{"id": "owl", "text": "Owls hunt at night."}]}
        accepted = client.post("/documents?wait=false", json=body, headers=origin)
        assert accepted.status_code == 202
        exposed = {h.strip().lower() for h in accepted.headers["access-control-expose-headers"].split(",")}
        assert {"location", "x-request-id", "retry-after"} <= exposed


def test_uploads_beyond_the_concurrency_limit_get_429_before_their_body_is_read() -> None:
    """Two uploads in flight with a limit of two: a third is refused at once; searches are not counted."""
    release = asyncio.Event()
    entered: list[str] = []

    async def slow_app(scope: Scope, receive: Receive, send: Send) -> None:
        entered.append(scope["path"])
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    limited = ConcurrencyLimit(
        slow_app, limit=2, counts=is_upload, setting="SEMSEARCH_MAX_CONCURRENT_UPSERTS"
    )
    sent: list[Message] = []

    async def receive() -> Message:
        raise AssertionError("the body was read")

    async def send(message: Message) -> None:
        sent.append(message)

    def scope(method: str, path: str) -> Scope:
        return {"type": "http", "method": method, "path": path, "headers": []}

    async def run() -> None:
        first = asyncio.create_task(limited(scope("POST", "/documents"), receive, send))
        second = asyncio.create_task(limited(scope("POST", "/documents"), receive, send))
        search = asyncio.create_task(limited(scope("POST", "/search"), receive, send))
        await asyncio.sleep(0.05)
        await limited(scope("POST", "/documents"), receive, send)  # refused at once
        assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [429]
        assert b"SEMSEARCH_MAX_CONCURRENT_UPSERTS" in sent[1]["body"]
        release.set()
        await asyncio.gather(first, second, search)
        assert limited.active == 0

    asyncio.run(run())
    assert entered == ["/documents", "/documents", "/search"]


def test_searches_run_on_at_most_the_configured_slots_and_every_one_is_answered(
    open_index: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    """SEMSEARCH_SEARCH_CONCURRENCY: 12 searches at once run at most 2 at a time (the others wait their
    turn) and all get their answer; uploads do not take a slot."""
    index = open_index(data_dir=tmp_path / "data")
    index.upsert([Document("a", "Tidal lagoons turn the sea's rise and fall into electricity.")])
    running, most = 0, 0
    lock = threading.Lock()
    search_batch = index.search_batch

    def counted(requests: Any) -> Any:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)  # long enough for the others to arrive meanwhile
        try:
            return search_batch(requests)
        finally:
            with lock:
                running -= 1

    index.search_batch = counted  # type: ignore[method-assign]
    config = Settings(data_dir=tmp_path / "data", seed_demo=False, search_concurrency=2)
    app = create_app(config, index=index)

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            searches = [client.get("/search", params={"q": f"tidal power {n}"}) for n in range(12)]
            upload = client.post("/documents", json={"documents": [{"id": "b", "text": "Wind farms."}]})
            answers = await asyncio.gather(*searches, upload)
        return [answer.status_code for answer in answers]

    with TestClient(app):  # runs the app's start-up
        statuses = asyncio.run(burst())
    assert statuses == [200] * 13
    assert most == 2


def test_a_body_that_stops_arriving_gets_408_and_a_whole_one_waits_as_long_as_it_likes() -> None:
    """The timeout is between parts of the body; once the body is in, waiting for a disconnect (what a
    streamed answer does) is not cut short."""

    async def scenario(parts: list[Message]) -> list[Message]:
        async def receive() -> Message:
            if parts:
                return parts.pop(0)
            await asyncio.sleep(0.3)  # a client that sends nothing more (or has yet to disconnect)
            return {"type": "http.disconnect"}

        got: list[Message] = []

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            while not got or got[-1].get("more_body", False):
                got.append(await receive())
            got.append(await receive())  # as a streamed answer listens for the client going away

        scope = {"type": "http", "method": "POST", "path": "/documents", "headers": []}

        async def send(message: Message) -> None:
            pass

        await BodySizeLimit(app, max_bytes=1000, timeout=0.1)(scope, receive, send)
        return got

    whole = asyncio.run(scenario([{"type": "http.request", "body": b"{}", "more_body": False}]))
    assert [m["type"] for m in whole] == ["http.request", "http.disconnect"]
    with pytest.raises(HTTPException) as stalled:
        asyncio.run(scenario([{"type": "http.request", "body": b'{"docu', "more_body": True}]))
    assert stalled.value.status_code == 408
    assert "after 6 bytes" in stalled.value.detail
