"""Which requests a read replica answers itself, against a reference that reads the path segment by segment.

Forwarding is always correct (the writer answers everything); answering locally is correct only for the
reads that need nothing of the writer's but the store. So the predicate must never say "local" for a write,
a task, a reindex job or collection management, and should for searches, document reads and MCP (whose tools
call the same app, so their writes are forwarded in turn)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from hypothesis import example, given, settings
from hypothesis import strategies as st
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from service.forwarding import Forwarder, ForwardToWriter, answered_locally
from service.limits import BodySizeLimit

_SEGMENTS = ["search", "batch", "documents", "collections", "tasks", "reindex", "mcp", "metrics", "healthz"]
_SEGMENTS += ["facets", "count", "fields", "update"]
_SEGMENTS += [
    "readyz",
    "models",
    "embeddings",
    "stats",
    "aliases",
    "admin",
    "snapshot",
    "files",
    "delete",
    "",
]
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def reference(method: str, path: str) -> bool:
    segments = path.split("/")[1:]
    if not path.startswith("/"):
        return False
    rest = segments
    if len(segments) >= 3 and segments[0] == "collections" and segments[1]:
        rest = segments[2:]  # the collection prefix: what follows is judged the same
    if method in ("GET", "HEAD"):
        if path in ("/", "/healthz", "/readyz", "/metrics", "/models"):
            return True
        if rest in (["search"], ["facets"], ["count"], ["fields"]):
            return True
        return rest[0] == "documents" and (len(rest) == 1 or "/".join(rest[1:]) != "")
    if method == "POST":
        return rest in (["search"], ["search", "batch"]) or path in ("/embeddings", "/mcp", "/mcp/")
    return False


# Mostly the words routes are made of, so that the paths that matter come up often.
words = st.sampled_from(_SEGMENTS)
segment = words | words | words | st.text(max_size=4).filter(lambda s: "/" not in s)


@settings(max_examples=1500)
@given(st.sampled_from(_METHODS), st.lists(segment, min_size=1, max_size=5))
@example("GET", ["documents", ""])  # no document id: not a document read
@example("POST", ["collections", "", "search"])  # no collection name
def test_answered_locally_agrees_with_the_reference(method: str, segments: list[str]) -> None:
    path = "/" + "/".join(segments)
    assert answered_locally(method, path) == reference(method, path)


def test_writes_tasks_and_sessions_always_go_to_the_writer() -> None:
    for method, path in [
        ("POST", "/documents"),
        ("POST", "/documents/files"),
        ("POST", "/documents/delete"),
        ("POST", "/documents/update"),
        ("POST", "/count"),
        ("PATCH", "/documents/a"),
        ("DELETE", "/documents/a"),
        ("GET", "/tasks/t1"),
        ("GET", "/collections/notes/tasks/t1"),
        ("GET", "/collections/notes/reindex"),
        ("GET", "/collections/notes"),
        ("PUT", "/collections/notes"),
        ("POST", "/admin/snapshot"),
        ("GET", "/mcp"),
        ("DELETE", "/mcp"),
    ]:
        assert not answered_locally(method, path), (method, path)
    for method, path in [
        ("GET", "/search"),
        ("HEAD", "/search"),
        ("POST", "/search/batch"),
        ("POST", "/collections/notes/search"),
        ("GET", "/collections/notes/documents/a/b"),
        ("GET", "/documents/tasks/1"),  # a document whose id holds "tasks": a read all the same
        ("POST", "/embeddings"),
        ("POST", "/mcp"),
        ("GET", "/metrics"),
    ]:
        assert answered_locally(method, path), (method, path)


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    """A writer that answers with what it was sent."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    seen = {
        "method": scope["method"],
        "path": scope["path"],
        "query": scope["query_string"].decode(),
        "headers": {name.decode(): value.decode() for name, value in scope["headers"]},
        "body": body.decode(),
    }
    headers = [(b"content-type", b"application/json"), (b"x-writer", b"yes")]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(seen).encode()})


@contextmanager
def serving(app: ASGIApp, **where: Any) -> Iterator[uvicorn.Server]:
    """``app`` served by uvicorn in a thread, at ``where`` (``uds=`` or ``host=``/``port=``)."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", **where))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def writer_socket(tmp_path: Path) -> Iterator[str]:
    """The echoing writer, served by uvicorn on a Unix socket (as `serve --workers` serves the writer)."""
    path = str(tmp_path / "writer.sock")
    with serving(_echo, uds=path):
        yield path


def _replica(writer: str, ready: bool, answered: list[str]) -> tuple[ForwardToWriter, Forwarder]:
    async def local(scope: Scope, receive: Receive, send: Send) -> None:
        answered.append(scope["path"])
        await PlainTextResponse("answered here")(scope, receive, send)

    forwarder = Forwarder(writer)
    return ForwardToWriter(local, forwarder, ready=lambda: ready), forwarder


async def _requests(
    app: ForwardToWriter, forwarder: Forwarder, *calls: tuple[str, str]
) -> list[httpx.Response]:
    body = "é" * 50_000
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://replica") as client:
        answers = [
            await client.request(
                method, url, content=body if method == "POST" else None, headers={"X-API-Key": "k"}
            )
            for method, url in calls
        ]
    await forwarder.aclose()
    return answers


def test_a_replica_passes_what_it_does_not_answer_to_the_writer_as_it_came(writer_socket: str) -> None:
    answered: list[str] = []
    app, forwarder = _replica(writer_socket, True, answered)
    written, searched, head = asyncio.run(
        _requests(
            app,
            forwarder,
            ("POST", "/documents?wait=false&id=a%2Fb"),
            ("GET", "/search?q=x"),
            ("HEAD", "/tasks/1"),
        )
    )
    assert (written.status_code, written.headers["x-writer"]) == (201, "yes")
    seen = written.json()
    assert (seen["method"], seen["path"], seen["query"]) == ("POST", "/documents", "wait=false&id=a%2Fb")
    assert seen["body"] == "é" * 50_000
    assert seen["headers"]["x-api-key"] == "k"
    assert searched.text == "answered here"
    assert answered == ["/search"]
    assert (head.status_code, head.content) == (201, b"")  # HEAD is passed on as HEAD

    answered.clear()
    app, forwarder = _replica(writer_socket, False, answered)  # still loading: everything goes on
    (searched,) = asyncio.run(_requests(app, forwarder, ("GET", "/search?q=x")))
    assert searched.json()["path"] == "/search"
    assert answered == []


def test_a_writer_that_does_not_answer_is_a_503_to_retry(tmp_path: Path) -> None:
    app, forwarder = _replica(str(tmp_path / "nobody.sock"), True, [])
    (refused,) = asyncio.run(_requests(app, forwarder, ("POST", "/documents")))
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert "writer" in refused.json()["detail"]


def test_a_body_that_stops_coming_through_a_replica_is_a_408_closing_its_connection(tmp_path: Path) -> None:
    # The writer times out the body it is passed, as `serve` does; the replica must too: the writer's 408
    # cannot reach a client whose body the replica is still waiting to pass on.
    writer = str(tmp_path / "writer.sock")
    replica = ForwardToWriter(_echo, Forwarder(writer), ready=lambda: True, body_timeout=0.5)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        serving(BodySizeLimit(_echo, max_bytes=10_000, timeout=0.5), uds=writer),
        serving(replica, host="127.0.0.1", port=port),
        socket.create_connection(("127.0.0.1", port)) as stalled,
    ):
        stalled.sendall(b'POST /documents HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"documents"')
        stalled.settimeout(10)
        answer = b""
        while part := stalled.recv(4096):  # until the replica closes the connection
            answer += part
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"connection: close" in answer.lower()
    assert b"after 12 bytes (SEMSEARCH_BODY_TIMEOUT_SECONDS)" in answer
