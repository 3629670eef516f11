"""semsearch as an MCP server (the official ``mcp`` SDK, 2.x): search as a tool for agents.

Two ways in, the same tools:

- **Streamable HTTP at** ``/mcp`` **on the service.** The tools call the service's own HTTP API in process
  (httpx over ASGI), forwarding the key the MCP request presented, so every rule of the API holds as is:
  keys, limits, validation, collections. ``add_documents`` is listed only to a client that presents the
  write key (and only when one is configured); others get the read-only tools.
- **stdio:** ``semsearch mcp`` for desktop agents: it forwards to a running service (``--url``, keys from
  ``SEMSEARCH_WRITE_KEY`` or ``SEMSEARCH_READ_KEY``), or opens a data directory read-only in process.

Tools: ``search`` (query, k, mode, filter, collection: the hits as numbered passages with ids, titles,
pages and scores, and the full response as structured content), ``get_document``, ``list_collections``,
and ``add_documents``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Literal

import httpx
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, TextContent
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from service.client import AsyncSemsearchClient, SemsearchAPIError
from service.schemas import SearchResponse
from service.security import key_matches
from service.settings import Settings

INSTRUCTIONS = (
    "semsearch finds the passages that mean what you ask, not only those sharing its words. Use `search` "
    "with a question or a description in plain language (any length); each hit names its document id, "
    "title and page. `get_document` reads a whole document; `list_collections` names the collections "
    "to search in."
)
PASSAGE_CHARS = 1200  # of each hit's text in the tool's text answer (the structured content has all of it)

ClientFor = Callable[[Context[Any, Any]], AsyncSemsearchClient]


def build_server(
    client_for: ClientFor,
    *,
    writes: bool,
    lifespan: Callable[[MCPServer[Any]], contextlib.AbstractAsyncContextManager[Any]] | None = None,
) -> MCPServer[Any]:
    """An MCP server whose tools call the API through ``client_for(ctx)``; ``add_documents`` if
    ``writes``."""
    server: MCPServer[Any] = MCPServer(name="semsearch", instructions=INSTRUCTIONS, lifespan=lifespan)

    @server.tool(description="Search the documents by meaning. Returns the best passages, best first.")
    async def search(
        query: str,
        ctx: Context[Any, Any],
        k: int = 5,
        mode: Literal["hybrid", "dense", "keyword"] = "hybrid",
        filter: dict[str, Any] | None = None,
        collection: str | None = None,
        diversity: float = 0.0,
    ) -> CallToolResult:
        """query: what to look for, in plain words; k: how many passages (1-100); mode: hybrid (default),
        dense (meaning only) or keyword (BM25); filter: a metadata filter such as
        {"field": "lang", "eq": "en"}, or {"phrase": "exact words"} for documents that hold those words in
        that order; collection: a collection or alias (default: the default one); diversity: 0 (default)
        to 1, how strongly passages that repeat ones above them are pushed down (0.3 suits gathering
        material for an answer)."""
        client = client_for(ctx).in_collection(collection)
        result = await _call(
            lambda: client.search(query, k=k, mode=mode, filter=filter, diversity=diversity or None)
        )
        return CallToolResult(
            content=[TextContent(type="text", text=format_hits(result))],
            structured_content=result.model_dump(mode="json"),
        )

    @server.tool(description="Read a whole stored document (its text, title and metadata) by its id.")
    async def get_document(
        doc_id: str, ctx: Context[Any, Any], collection: str | None = None
    ) -> CallToolResult:
        document = await _call(lambda: client_for(ctx).in_collection(collection).get_document(doc_id))
        header = f"{document.title or document.id} ({document.id})"
        return CallToolResult(
            content=[TextContent(type="text", text=f"{header}\n\n{document.text}")],
            structured_content=document.model_dump(mode="json", exclude={"chunks"}),
        )

    @server.tool(description="The collections that can be searched, with their sizes and models.")
    async def list_collections(ctx: Context[Any, Any]) -> CallToolResult:
        listed = await _call(lambda: client_for(ctx).collections())
        lines = [
            f"- {c.name}: {c.documents} documents, {c.chunks} chunks, model {c.model_id}"
            for c in listed.collections
        ]
        return CallToolResult(
            content=[TextContent(type="text", text="\n".join(lines) or "no collections")],
            structured_content=listed.model_dump(mode="json"),
        )

    if writes:

        @server.tool(description="Add or replace documents: each {id, text, title?, metadata?}. All or none.")
        async def add_documents(
            documents: list[dict[str, Any]], ctx: Context[Any, Any], collection: str | None = None
        ) -> CallToolResult:
            answer = await _call(lambda: client_for(ctx).in_collection(collection).upsert(documents))
            lines = [f"- {d.id}: {d.status}, {d.chunks} chunks" for d in getattr(answer, "documents", [])]
            return CallToolResult(
                content=[TextContent(type="text", text="\n".join(lines))],
                structured_content=answer.model_dump(mode="json"),
            )

    return server


def format_hits(result: SearchResponse) -> str:
    """The hits as an agent reads them: a numbered list of passages with where each comes from."""
    if not result.hits:
        return "No passage matches."
    parts = []
    for n, hit in enumerate(result.hits, start=1):
        where = f"id {hit.doc_id}" + (f", page {hit.page}" if hit.page else "")
        if hit.duplicates:  # the same passage in other documents, collapsed into this hit
            where += (
                "; also in " + ", ".join(hit.duplicates[:5]) + (" ..." if len(hit.duplicates) > 5 else "")
            )
        text = " ".join(hit.text.split())
        if len(text) > PASSAGE_CHARS:
            text = text[:PASSAGE_CHARS] + " …"
        parts.append(f"{n}. {hit.title or hit.doc_id} ({where}; score {hit.score:.3f})\n{text}")
    return "\n\n".join(parts)


async def _call(request: Callable[[], Awaitable[Any]]) -> Any:
    """The API's answer, or its error as a tool error the agent can read (and act on)."""
    try:
        return await request()
    except SemsearchAPIError as error:
        detail = error.detail if isinstance(error.detail, str) else str(error.detail)
        raise ToolError(f"{error.status}: {detail}") from None


# -- mounted on the service ------------------------------------------------------------------------------


class McpEndpoint:
    """``/mcp`` on the service: two MCP servers over the service's own API (one with ``add_documents``, for
    clients presenting the write key), behind an ASGI middleware that picks one per request."""

    PATH = "/mcp"

    def __init__(self, settings: Settings, api: Callable[[], ASGIApp]) -> None:
        self.settings = settings
        self._api = api

        def client_for(ctx: Context[Any, Any]) -> AsyncSemsearchClient:
            key = presented_key(ctx.headers or {})
            transport = httpx.ASGITransport(app=self._api())
            return AsyncSemsearchClient("http://semsearch", api_key=key, transport=transport)

        # The service's own API keys guard it; DNS-rebinding checks on the Host header would refuse every
        # name the service is reached by (a container's, a proxy's) but localhost.
        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
        self.reader = build_server(client_for, writes=False)
        self.writer = build_server(client_for, writes=True)
        options: dict[str, Any] = {
            "streamable_http_path": self.PATH,
            "stateless_http": True,
            "json_response": True,
            "transport_security": security,
        }
        self._reader_app = self.reader.streamable_http_app(**options)
        self._writer_app = self.writer.streamable_http_app(**options)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self.reader.session_manager.run(), self.writer.session_manager.run():
            yield

    def app_for(self, headers: Mapping[str, str]) -> ASGIApp:
        presented = presented_key(headers)
        writes = presented is not None and key_matches(presented, self.settings.write_key)
        return self._writer_app if writes else self._reader_app


class McpMiddleware:
    """Sends ``/mcp`` to the MCP endpoint, everything else on to the API."""

    def __init__(self, app: ASGIApp, endpoint: McpEndpoint) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") == McpEndpoint.PATH:
            if scope["method"] != "POST":
                # Stateless: no session to stream to (GET) or to end (DELETE). The SDK would hold a GET open
                # as an event stream with nothing ever to send, a connection per client for good; the
                # protocol lets a server answer 405 instead, and its clients expect that.
                refusal = JSONResponse(
                    {"detail": "/mcp takes JSON-RPC messages by POST only (stateless streamable HTTP)"},
                    status_code=405,
                    headers={"allow": "POST"},
                )
                await refusal(scope, receive, send)
                return
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            scope = {**scope, "path": McpEndpoint.PATH}
            await self.endpoint.app_for(headers)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key in ``Authorization: Bearer`` (first) or ``X-API-Key``, as the API reads it."""
    lowered = {k.lower(): v for k, v in headers.items()}
    scheme, _, credentials = lowered.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return lowered.get("x-api-key") or None


# -- over stdio ------------------------------------------------------------------------------------------

READY_TIMEOUT_SECONDS = 300.0


def remote_stdio_server(url: str, write_key: str | None, read_key: str | None) -> MCPServer[Any]:
    """The MCP server of ``semsearch mcp --url``: forwarding to the service at ``url`` with the write key
    (which reads too) or else the read key; ``add_documents`` with the write key only."""
    remote = AsyncSemsearchClient(url, api_key=write_key or read_key)
    return build_server(lambda _: remote, writes=write_key is not None)


def local_stdio_server(settings: Settings) -> MCPServer[Any]:
    """The MCP server of ``semsearch mcp`` on a data directory: ``settings.data_dir`` opened read-only in
    this process (beside a running service too), the read-only tools."""
    from service.app import create_app  # the app imports this module

    local = settings.model_copy(
        update={"read_only": True, "seed_demo": False, "read_key": None, "write_key": None}
    )
    api = create_app(local)
    client = AsyncSemsearchClient("http://semsearch", transport=httpx.ASGITransport(app=api))

    @contextlib.asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[dict[str, Any]]:
        async with api.router.lifespan_context(api):
            await wait_until_ready(client)
            yield {}

    return build_server(lambda _: client, writes=False, lifespan=lifespan)


async def wait_until_ready(client: AsyncSemsearchClient, timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Wait for ``/readyz``: the model and the index loaded (:class:`TimeoutError` past ``timeout``)."""
    import anyio

    with anyio.fail_after(timeout):
        while True:
            status = await client.ready()
            if status.status == "ready":
                return
            if status.status == "failed":
                raise RuntimeError(status.detail or "the index did not load")
            await anyio.sleep(0.2)
