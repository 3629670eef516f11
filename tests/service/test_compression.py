"""Compressed request bodies (service/compression.py): inflated exactly, in bounded pieces, never past the
body limit; anything else refused with a clear 4xx that changes nothing."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index import SearchIndex
from service.app import create_app
from service.compression import PIECE, DecompressRequest
from service.settings import Settings


def compress(data: bytes, coding: str, members: int = 1) -> bytes:
    if coding == "deflate":
        return zlib.compress(data)
    cut = len(data) // members  # several gzip members, one after the other, as `cat a.gz b.gz` makes
    parts = [data[i * cut : (i + 1) * cut if i < members - 1 else len(data)] for i in range(members)]
    return b"".join(gzip.compress(part) for part in parts)


def deliver(
    middleware: Callable[..., DecompressRequest],
    body: bytes,
    coding: str,
    cuts: list[int],
    limit: int = 1 << 30,
) -> tuple[list[Message], Scope]:
    """Send ``body`` cut at ``cuts`` through the middleware to an app that reads the whole body; return what
    the app received and the scope it saw."""
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    last = len(pieces) - 1
    sent = [{"type": "http.request", "body": p, "more_body": i < last} for i, p in enumerate(pieces)]
    got: list[Message] = []
    seen: dict[str, Scope] = {}

    async def receive() -> Message:
        return sent.pop(0)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen["scope"] = scope
        while True:
            message = await receive()
            got.append(message)
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: Message) -> None:
        pass

    headers = [(b"content-encoding", coding.encode()), (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "method": "POST", "path": "/documents", "headers": headers}
    asyncio.run(middleware(app, max_bytes=limit)(scope, receive, send))
    return got, seen["scope"]


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(max_size=5000) | st.text(max_size=3000).map(str.encode),
    coding=st.sampled_from(["gzip", "x-gzip", "deflate", "GZip"]),
    members=st.integers(1, 3),
    cut_fractions=st.lists(st.floats(0, 1), max_size=6),
)
def test_a_compressed_body_reaches_the_app_as_the_bytes_compressed(
    data: bytes, coding: str, members: int, cut_fractions: list[float]
) -> None:
    body = compress(data, coding.lower().removeprefix("x-"), members if "gzip" in coding.lower() else 1)
    cuts = sorted({int(f * len(body)) for f in cut_fractions} - {0, len(body)})
    got, scope = deliver(DecompressRequest, body, coding, cuts)
    assert b"".join(m["body"] for m in got) == data
    assert [m["more_body"] for m in got] == [True] * (len(got) - 1) + [False]
    names = {name for name, _ in scope["headers"]}
    assert b"content-encoding" not in names
    assert b"content-length" not in names


def test_a_body_that_inflates_past_the_limit_is_stopped_at_the_limit() -> None:
    """A 64 KB gzip of 64 MB of zeros: 413 with at most the limit and one piece inflated, in pieces."""
    bomb = gzip.compress(bytes(64 << 20))
    assert len(bomb) < 100_000
    got: list[Message] = []

    def spy(app: ASGIApp, **limits: int) -> DecompressRequest:
        async def reading(scope: Scope, receive: Receive, send: Send) -> None:
            async def recorded() -> Message:
                message = await receive()
                got.append(message)
                return message

            await app(scope, recorded, send)

        return DecompressRequest(reading, **limits)

    with pytest.raises(HTTPException) as refused:
        deliver(spy, bomb, "gzip", [], limit=1 << 20)
    assert refused.value.status_code == 413
    assert "decompressed" in refused.value.detail
    assert "SEMSEARCH_MAX_BODY_BYTES" in refused.value.detail
    assert sum(len(m["body"]) for m in got) <= 1 << 20
    assert max(len(m["body"]) for m in got) <= PIECE


@pytest.mark.parametrize(
    ("body", "coding", "words"),
    [
        (b"not gzip at all", "gzip", "not valid gzip"),
        (gzip.compress(b'{"documents": []}')[:-6], "gzip", "ends before its gzip stream does"),
        (gzip.compress(b"{}") + b"trailing", "gzip", "not valid gzip"),
        (zlib.compress(b"{}") + b"more", "deflate", "not valid deflate"),
        (gzip.compress(b"{}"), "deflate", "not valid deflate"),
    ],
)
def test_a_body_that_is_not_what_its_coding_says_is_a_400(body: bytes, coding: str, words: str) -> None:
    with pytest.raises(HTTPException) as refused:
        deliver(DecompressRequest, body, coding, [len(body) // 2])
    assert refused.value.status_code == 400
    assert words in refused.value.detail


def test_the_service_reads_compressed_bodies_and_refuses_other_codings_unchanged(
    open_index: Callable[..., SearchIndex], tmp_path: Path
) -> None:
    config = Settings(data_dir=tmp_path / "data", seed_demo=False, max_body_bytes=64 * 1024)
    with TestClient(create_app(config, index=open_index(data_dir=tmp_path / "data"))) as client:
        documents = b'{"documents": [{"id": "tide", "text": "Tides turn turbines under the sea."}]}'
        for coding, body in [("gzip", gzip.compress(documents)), ("deflate", zlib.compress(documents))]:
            sent = client.post(
                "/documents",
                content=body,
                headers={"content-type": "application/json", "content-encoding": coding},
            )
            assert sent.status_code == 200, sent.text
        assert client.get("/search", params={"q": "sea power", "mode": "keyword"}).json()["hits"]

        other = {"content-type": "application/json", "content-encoding": "br"}
        unsupported = client.post("/documents", content=b"\x0b\x02\x80", headers=other)
        assert unsupported.status_code == 415
        assert "'br'" in unsupported.json()["detail"]
        bomb = gzip.compress(b'{"documents": [{"id": "big", "text": "' + b"a" * (1 << 20) + b'"}]}')
        gzipped = {"content-type": "application/json", "content-encoding": "gzip"}
        too_large = client.post("/documents", content=bomb, headers=gzipped)
        assert too_large.status_code == 413, too_large.text
        broken = client.post("/documents", content=b"\x1f\x8b garbage", headers=gzipped)
        assert broken.status_code == 400, broken.text
        assert client.get("/count").json()["count"] == 1
