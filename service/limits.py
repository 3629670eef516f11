"""Limits applied before a request body is read.

``BodySizeLimit``: bodies over ``SEMSEARCH_MAX_BODY_BYTES`` get 413 before they are parsed; file uploads
(``POST .../documents/files``) have their own, larger ``SEMSEARCH_MAX_UPLOAD_BYTES``.

A declared ``Content-Length`` over the limit is refused without reading the body; a body sent without one
(chunked) is counted as it arrives and refused as soon as it passes the limit, so a client can never make
the service buffer more than the limit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def is_file_upload(method: str, path: str) -> bool:
    """Whether a request uploads files (``POST .../documents/files``)."""
    return method == "POST" and path.rstrip("/").endswith("/documents/files")


async def refuse(
    send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Answer ``status`` with ``{"detail": detail}`` before the body is read, closing the connection (the
    unread body is not worth draining)."""
    start = [(b"content-type", b"application/json"), *(headers or []), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": json.dumps({"detail": detail}).encode()})


def body_limit_detail(limit: int, upload: bool, *, inflated: bool = False) -> str:
    """What a 413 for a body over ``limit`` says (``inflated``: a compressed one, once inflated)."""
    what = "the upload" if upload else "the request body"
    if inflated:
        what += ", decompressed,"
    setting, fewer = ("UPLOAD", "files") if upload else ("BODY", "documents")
    return (
        f"{what} is larger than {limit} bytes (SEMSEARCH_MAX_{setting}_BYTES); send fewer {fewer} per request"
    )


def body_timeout_detail(timeout: float, received: int) -> str:
    """What a 408 for a request body that stopped arriving after ``received`` bytes says."""
    return (
        f"the request body stopped arriving: nothing came for {timeout:g} s after {received} bytes "
        "(SEMSEARCH_BODY_TIMEOUT_SECONDS); nothing changed"
    )


class BodyLimited:
    """An ASGI middleware that applies the body limits: ``max_bytes``, or ``max_upload_bytes`` to uploads."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes or max_bytes

    def limit(self, scope: Scope) -> tuple[int, bool]:
        """The body limit of this request, and whether it is a file upload."""
        upload = is_file_upload(scope["method"], scope["path"])
        return (self.max_upload_bytes if upload else self.max_bytes), upload


class BodySizeLimit(BodyLimited):
    """ASGI middleware refusing request bodies larger than ``max_bytes`` with 413, and with 408 a body whose
    next part does not come within ``timeout`` seconds (a client that stalls, or sends a byte a minute,
    would hold its upload slot and its worker for as long as it liked)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, max_upload_bytes: int | None = None, timeout: float = 30.0
    ) -> None:
        super().__init__(app, max_bytes, max_upload_bytes)
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, upload = self.limit(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await refuse(send, 413, body_limit_detail(limit, upload))
            return
        received = 0
        whole = False  # once the body is in, receive() waits for a disconnect: as long as a response streams

        async def counted() -> Message:
            nonlocal received, whole
            if whole:
                return await receive()
            try:
                async with asyncio.timeout(self.timeout):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(
                    408, body_timeout_detail(self.timeout, received), headers={"Connection": "close"}
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, body_limit_detail(limit, upload))
                whole = not message.get("more_body", False)
            return message

        await self.app(scope, counted, send)


class ConcurrencyLimit:
    """ASGI middleware: at most ``limit`` requests that ``counts(method, path)`` picks are handled at once;
    one more is answered 429 with ``Retry-After`` before its body is read. For uploads, whose parsed bodies
    and embeddings take memory in proportion to their size, this bounds what concurrent large uploads hold.
    """

    def __init__(self, app: ASGIApp, limit: int, counts: Callable[[str, str], bool], setting: str) -> None:
        self.app = app
        self.limit = limit
        self.counts = counts
        self.setting = setting
        self.active = 0  # the event loop is one thread: a plain counter is safe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.counts(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            detail = (
                f"{self.active} uploads are being processed (limit {self.limit}, {self.setting}); "
                "retry shortly"
            )
            scope.setdefault("state", {})["error_type"] = "ConcurrencyLimit"
            await refuse(send, 429, detail, [(b"retry-after", b"1")])
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1
