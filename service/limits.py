"""Limits applied before a request body is read.

``BodySizeLimit``: bodies over ``SEMSEARCH_MAX_BODY_BYTES`` get 413 before they are parsed; file uploads
(``POST .../documents/files``) have their own, larger ``SEMSEARCH_MAX_UPLOAD_BYTES``.

A declared ``Content-Length`` over the limit is refused without reading the body; a body sent without one
(chunked) is counted as it arrives and refused as soon as it passes the limit, so a client can never make
the service buffer more than the limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def is_file_upload(method: str, path: str) -> bool:
    """Whether a request uploads files (``POST .../documents/files``)."""
    return method == "POST" and path.rstrip("/").endswith("/documents/files")


class BodySizeLimit:
    """ASGI middleware refusing request bodies larger than ``max_bytes`` with 413."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes or max_bytes

    def _detail(self, limit: int, upload: bool) -> str:
        if upload:
            return (
                f"the upload is larger than {limit} bytes (SEMSEARCH_MAX_UPLOAD_BYTES); send fewer files "
                "per request"
            )
        return (
            f"the request body is larger than {limit} bytes (SEMSEARCH_MAX_BODY_BYTES); "
            "send fewer documents per request"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = is_file_upload(scope["method"], scope["path"])
        limit = self.max_upload_bytes if upload else self.max_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            body = json.dumps({"detail": self._detail(limit, upload)}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, self._detail(limit, upload))
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
            headers = [
                (b"content-type", b"application/json"),
                (b"retry-after", b"1"),
                (b"connection", b"close"),
            ]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": json.dumps({"detail": detail}).encode()})
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1
