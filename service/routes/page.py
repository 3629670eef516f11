"""The search page: one static HTML file (no build step) that calls the JSON API from the browser."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

PAGE = Path(__file__).resolve().parents[1] / "static" / "index.html"

router = APIRouter()


@cache
def _page() -> str:
    return PAGE.read_text(encoding="utf-8")


def _digests(tag: str, page: str) -> str:
    """The CSP sources (``'sha256-...'``) of the page's inline ``<tag>`` elements, as the browser hashes
    them: the text between the tags, exactly."""
    bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", page, flags=re.DOTALL)
    return " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'" for body in bodies
    )


@cache
def content_security_policy() -> str:
    """What the page may do: run its own script and style (by their hashes: nothing injected into it runs,
    whatever a document's text held), call this service's API, and nothing else; no other site may frame it
    (a page that framed it could steer clicks on Upload)."""
    page = _page()
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {_digests('script', page)}",
            f"style-src {_digests('style', page)}",
            "connect-src 'self'",
            "img-src 'self' data:",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


@router.get("/", include_in_schema=False)
def search_page() -> HTMLResponse:
    """A search box over the API. It holds no data; with a read key set, the page asks for it."""
    headers = {
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": content_security_policy(),
        "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    }
    return HTMLResponse(_page(), headers=headers)
