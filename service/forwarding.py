"""A read replica's door: what it cannot answer goes to the writer, unchanged.

Under ``semsearch serve --workers N`` (service.workers) every process accepts connections on the same port,
but only one of them, the writer, may change the data directory. A replica answers the reads that scale
with cores (searches, documents, embeddings, MCP, the page, health and metrics) itself once its index is
loaded;
every other request, and every request while it is still loading, is passed to the writer over a Unix
socket as it came (method, path, headers, body streamed both ways) and the writer's answer is passed back
as it goes. The writer authenticates, limits, counts and logs a forwarded request as if it had come to it
directly, so the replica does none of that for it, but for one limit: a body that stops arriving is timed
out here too (SEMSEARCH_BODY_TIMEOUT_SECONDS), as the writer's 408 cannot come back while the replica still
waits to pass the body on.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable

import httpx
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from service.limits import body_timeout_detail, refuse

log = logging.getLogger(__name__)

# Reads a replica answers itself (with the collection prefix too), and /mcp: its tools call this same app,
# so what they write is forwarded in turn (it is stateless: no session to keep in one process). Anything
# else is forwarded, which is always correct, only not spread over the processes: writes, tasks and
# reindex jobs (the writer runs them), collection and alias management, snapshots.
_LOCAL_GET = re.compile(
    r"(/collections/[^/]+)?/(search|facets|fields|count|documents(/.+)?)|/(healthz|readyz|metrics|models)?",
    re.DOTALL,
)
_LOCAL_POST = re.compile(r"(/collections/[^/]+)?/search(/batch)?|/embeddings|/mcp/?", re.DOTALL)

# Hop-by-hop headers (RFC 9110, section 7.6.1) belong to one connection and are not passed on.
_HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding", b"upgrade"}
)


def answered_locally(method: str, path: str) -> bool:
    """Whether a ready replica answers ``method path`` itself rather than passing it to the writer."""
    if method in ("GET", "HEAD"):
        return _LOCAL_GET.fullmatch(path) is not None
    return method == "POST" and _LOCAL_POST.fullmatch(path) is not None


class _ClientGoneError(Exception):
    """The client disconnected while its request body was being passed on."""


class _BodyStalledError(Exception):
    """The client's request body stopped arriving while it was being passed on."""

    def __init__(self, received: int) -> None:
        super().__init__(received)
        self.received = received


class Forwarder:
    """The connection to the writer, shared by a replica's requests (opened on first use, closed at
    shutdown)."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(uds=self.socket_path),
                base_url="http://writer",
                # An upload may take as long as its indexing does; only connecting is bounded.
                timeout=httpx.Timeout(None, connect=10.0),
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=32),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class ForwardToWriter:
    """Outermost middleware of a replica's app: requests it does not answer go to the writer."""

    def __init__(
        self, app: ASGIApp, forwarder: Forwarder, ready: Callable[[], bool], body_timeout: float = 30.0
    ) -> None:
        self.app = app
        self.forwarder = forwarder
        self.ready = ready
        # The writer applies SEMSEARCH_BODY_TIMEOUT_SECONDS to what reaches it, but its 408 cannot reach the
        # client while the body is still being passed on (httpx reads an answer only once it has sent the
        # whole request), so the replica applies it to the body it reads too.
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.ready() and answered_locally(scope["method"], scope["path"])):
            await self.app(scope, receive, send)
            return
        await self._forward(scope, receive, send)

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(name, value) for name, value in scope["headers"] if name.lower() not in _HOP_BY_HOP]
        has_body = any(
            name.lower() in (b"content-length", b"transfer-encoding") for name, _ in scope["headers"]
        )

        async def body() -> AsyncIterator[bytes]:
            received = 0
            while True:
                try:
                    async with asyncio.timeout(self.body_timeout):
                        message = await receive()
                except TimeoutError:
                    raise _BodyStalledError(received) from None
                if message["type"] == "http.disconnect":
                    raise _ClientGoneError
                part = message.get("body", b"")
                received += len(part)
                yield part
                if not message.get("more_body", False):
                    return

        url = httpx.URL(scope.get("raw_path", scope["path"].encode()).decode("latin-1"))
        if scope.get("query_string"):
            url = url.copy_with(query=scope["query_string"])
        client = self.forwarder.client()
        request = client.build_request(
            scope["method"], url, headers=headers, content=body() if has_body else None
        )
        try:
            response = await client.send(request, stream=True)
        except _ClientGoneError:
            return
        except _BodyStalledError as stalled:  # the writer's request is dropped unfinished: nothing changed
            await refuse(send, 408, body_timeout_detail(self.body_timeout, stalled.received))
            return
        except httpx.TransportError as error:
            log.warning("the writer process did not answer a forwarded request: %s", error)
            unavailable = JSONResponse(
                {"detail": "the writer process is not answering (it may be restarting); retry shortly"},
                status_code=503,
                headers={"Retry-After": "1"},
            )
            await unavailable(scope, receive, send)
            return
        passed = [(k, v) for k, v in response.headers.raw if k.lower() not in _HOP_BY_HOP]
        if response.headers.get("connection", "").lower() == "close":
            # The writer ends its connection (a 413 or 429 answered before the body was read): so does this
            # one, whose request body may not have been read to its end either.
            passed.append((b"connection", b"close"))
        try:
            await send({"type": "http.response.start", "status": response.status_code, "headers": passed})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()
