"""HEAD answered wherever GET is: the same status and headers, no body (RFC 9110, section 9.3.2).

FastAPI registers a GET route for GET alone, so without this ``curl -I``, uptime monitors and load balancers
that probe with HEAD got a 405 from /healthz. The request goes on as a GET (so the routes, authentication
and limits treat it as one) and the body the route sends is dropped here, whatever server runs the app;
Content-Length stays that of the GET's body, as HTTP asks.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
