"""Request bodies sent compressed: ``Content-Encoding: gzip`` (or ``x-gzip``) and ``deflate`` are read as
the text they compress, so a bulk upload may travel compressed (``curl --data-binary @docs.json.gz -H
'Content-Encoding: gzip'``, log shippers, HTTP clients with request compression on).

The body is inflated as it arrives, a bounded piece at a time (:data:`PIECE`), and never past the body
limit that applies to it (``SEMSEARCH_MAX_BODY_BYTES``, or ``SEMSEARCH_MAX_UPLOAD_BYTES`` for file uploads):
a small body that inflates to gigabytes is refused with 413 after at most the limit and one piece, and the
event loop inflates no more than a piece between two awaits. The limits' own middleware
(:class:`service.limits.BodySizeLimit`), outside this one, bounds the compressed bytes. Bodies that are not
valid gzip or deflate get 400; other codings (``br``, ``zstd``, ...) get 415 before the body is read.
"""

from __future__ import annotations

import zlib

from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

from service.limits import BodyLimited, body_limit_detail, refuse

# zlib's wbits for each coding: a gzip header and trailer; HTTP's "deflate" is the zlib format (RFC 9110).
CODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
PIECE = 1 << 20  # the most one step inflates: about a millisecond of the event loop


class DecompressRequest(BodyLimited):
    """ASGI middleware inflating gzip and deflate request bodies, within the body limits."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        coding = ""
        for name, value in scope["headers"]:
            if name == b"content-encoding":
                coding = value.decode("latin-1").strip().lower()
        if coding in ("", "identity"):
            await self.app(scope, receive, send)
            return
        wbits = CODINGS.get(coding)
        if wbits is None:
            await refuse(send, 415, _unsupported(coding))
            return
        limit, upload = self.limit(scope)
        inflate = _Inflater(wbits, limit, body_limit_detail(limit, upload, inflated=True))
        # What the app sees is the inflated body: no coding, and a length that no longer holds.
        headers = [(n, v) for n, v in scope["headers"] if n not in (b"content-encoding", b"content-length")]

        async def inflated() -> Message:
            if inflate.pending:
                return inflate.next_piece()
            message = await receive()
            if message["type"] != "http.request":
                return message
            return inflate.take(message.get("body", b""), more=message.get("more_body", False))

        await self.app({**scope, "headers": headers}, inflated, send)


class _Inflater:
    """One compressed body inflated piece by piece: each message it gives holds at most :data:`PIECE`."""

    def __init__(self, wbits: int, limit: int, too_large: str) -> None:
        self._wbits = wbits
        self._limit = limit
        self._too_large = too_large
        self._stream = zlib.decompressobj(wbits)
        self._waiting = b""  # compressed bytes not inflated yet
        self._more = True  # whether the client has more to send
        self._inflated = 0
        self._compressed = 0

    @property
    def pending(self) -> bool:
        return bool(self._waiting)

    def take(self, data: bytes, *, more: bool) -> Message:
        self._compressed += len(data)
        self._waiting += data
        self._more = more
        return self.next_piece()

    def next_piece(self) -> Message:
        piece = b""
        try:
            while self._waiting and not piece:
                if self._stream.eof:
                    if self._wbits == CODINGS["deflate"]:
                        raise zlib.error("bytes after the end of the stream")
                    self._stream = zlib.decompressobj(self._wbits)  # gzip: members may follow each other
                piece = self._stream.decompress(self._waiting, PIECE)
                self._waiting = self._stream.unconsumed_tail or self._stream.unused_data
        except zlib.error as error:
            raise HTTPException(400, f"the body is not valid {_name(self._wbits)} ({error})") from None
        self._inflated += len(piece)
        if self._inflated > self._limit:
            raise HTTPException(413, self._too_large)
        more = self._more or self.pending
        if not more and self._compressed and not self._stream.eof:
            raise HTTPException(400, f"the body ends before its {_name(self._wbits)} stream does")
        return {"type": "http.request", "body": piece, "more_body": more}


def _name(wbits: int) -> str:
    return "gzip" if wbits > zlib.MAX_WBITS else "deflate (zlib)"


def _unsupported(coding: str) -> str:
    return (
        f"the body's Content-Encoding {coding[:40]!r} is not one this service reads: send it "
        "uncompressed, or as gzip or deflate"
    )
