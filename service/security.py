"""Optional API keys: a write key for every write, a read key for reads (searches, documents, stats).

A key is sent as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. No key configured means that kind of
access is open. The write key also grants reading. Missing credentials answer 401, wrong ones 403.
Comparison is constant-time, and keys are held as ``SecretStr`` so they never show in logs or reprs.
``/healthz`` and ``/readyz`` never need a key.

Keys are checked twice over: by :class:`Authentication`, an ASGI middleware that answers 401/403 before a
byte of the body is read (an anonymous 15 MB upload costs nothing), and by each route's dependency, which
also declares the security scheme in the OpenAPI document.
"""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from service.deps import SettingsDep
from service.schemas import ErrorOut
from service.settings import Settings, split_keys

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "A key is configured and none was sent."},
    403: {"model": ErrorOut, "description": "The key sent is not valid here."},
}

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <key>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <key>")


async def _presented(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> str | None:
    if bearer is not None:
        return bearer.credentials
    return header


Presented = Annotated[str | None, Depends(_presented)]


def key_matches(presented: str, setting: SecretStr | None) -> bool:
    """Whether ``presented`` is a key the setting holds (each of several compared in constant time)."""
    if setting is None:
        return False
    sent, matched = presented.encode(), False
    for key in split_keys(setting.get_secret_value()):  # every one, so the time says not which matched
        matched |= hmac.compare_digest(sent, key.encode())
    return matched


def _check(presented: str | None, allowed: list[SecretStr | None], what: str) -> None:
    if presented is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"this server needs a {what} key: send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not any(key_matches(presented, key) for key in allowed):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"the key sent is not a valid {what} key")


async def require_read(presented: Presented, settings: SettingsDep) -> None:
    if settings.read_key is not None:
        _check(presented, [settings.read_key, settings.write_key], "read")


async def require_write(presented: Presented, settings: SettingsDep) -> None:
    if settings.write_key is not None:
        _check(presented, [settings.write_key], "write")


Access = Literal["read", "write"]

# Paths that never need a key: health, the search page, the API documentation and, under DOCS_ASSETS, the
# scripts and styles of its pages (Swagger UI, ReDoc), which the service serves itself.
OPEN_PATHS = frozenset(
    {"/", "/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/favicon.ico"}
)
DOCS_ASSETS = "/docs-assets"


def required_access(method: str, path: str) -> Access | None:
    """What a request needs, from its method and path alone: nothing for :data:`OPEN_PATHS` and CORS
    preflights, the read key for GET and HEAD and for the searches sent as POST, the write key for every
    other POST, PUT, PATCH or DELETE. A test checks this against every route of the API."""
    if method == "OPTIONS" or path in OPEN_PATHS or path.startswith(DOCS_ASSETS + "/"):
        return None
    if method in ("GET", "HEAD"):
        return "read"
    if method == "POST" and path.rstrip("/").endswith(("/search", "/search/batch", "/v1/embeddings")):
        return "read"
    if path == "/mcp" or path.startswith("/mcp/"):  # MCP's tools check the key they need through the API
        return "read"
    return "write"


def is_upload(method: str, path: str) -> bool:
    """Whether a request uploads documents (``POST .../documents`` or ``.../documents/files``), for the
    concurrency limit."""
    return method == "POST" and path.rstrip("/").endswith(
        ("/documents", "/documents/files", "/v1/embeddings")
    )


class Authentication:
    """ASGI middleware: a request that needs a key it does not present is answered 401 or 403 before its
    body is read. The routes' own dependencies check again and declare the schemes in the OpenAPI document."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = self.settings
        if scope["type"] != "http" or (settings.read_key is None and settings.write_key is None):
            await self.app(scope, receive, send)
            return
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):  # mounted under a prefix: the rule speaks of the app's own paths
            path = path[len(root) :] or "/"
        access = required_access(scope["method"], path)
        try:
            if access == "read" and settings.read_key is not None:
                _check(_from_headers(scope), [settings.read_key, settings.write_key], "read")
            elif access == "write" and settings.write_key is not None:
                _check(_from_headers(scope), [settings.write_key], "write")
        except HTTPException as refused:
            headers = [(b"content-type", b"application/json")]
            headers += [(k.lower().encode(), v.encode()) for k, v in (refused.headers or {}).items()]
            if scope.get("method") not in ("GET", "HEAD", "OPTIONS"):
                headers.append((b"connection", b"close"))  # the unread body is not worth draining
            scope.setdefault("state", {})["error_type"] = "HTTPException"
            await send({"type": "http.response.start", "status": refused.status_code, "headers": headers})
            await send(
                {"type": "http.response.body", "body": json.dumps({"detail": refused.detail}).encode()}
            )
            return
        await self.app(scope, receive, send)


def _from_headers(scope: Scope) -> str | None:
    """The key a request presents (``Authorization: Bearer`` first, then ``X-API-Key``), as the route
    dependencies read it."""
    headers: dict[bytes, bytes] = dict(scope["headers"])
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    header = headers.get(b"x-api-key")
    return None if header is None else header.decode("latin-1")
