"""Checks run against a running semsearch container by the container harness (`make container-check`).

    SEMSEARCH_URL=http://127.0.0.1:18000 python tests/container/smoke.py smoke
    SEMSEARCH_URL=http://127.0.0.1:18000 python tests/container/smoke.py after-restart

``smoke`` posts documents and searches them by meaning; ``after-restart`` (same volume, new container
process) checks that they are all still there and found. Standard library only: it runs with any Python.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

DOCUMENTS = [
    {
        "id": "smoke/cats",
        "title": "Cats",
        "text": "Cats spend most of the afternoon asleep on sunny windowsills.",
    },
    {"id": "smoke/bank", "title": "Rates", "text": "The central bank raised interest rates by half a point."},
    {
        "id": "smoke/garden",
        "title": "Tomatoes",
        "text": "Tomato plants need full sun, deep watering and a stake.",
    },
]
QUERIES = {"where do kittens nap during the day": "smoke/cats", "borrowing got more expensive": "smoke/bank"}


def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        os.environ["SEMSEARCH_URL"] + path,
        data=data,
        method=method,
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def expect(condition: bool, message: str) -> None:
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {message}")


def check_searches() -> None:
    for query, expected in QUERIES.items():
        status, body = call("GET", "/search?" + urllib.parse.urlencode({"q": query, "k": 1}))
        expect(status == 200 and body["hits"][0]["doc_id"] == expected, f"{query!r} finds {expected}")
    for document in DOCUMENTS:
        status, body = call("GET", f"/documents/{document['id']}")
        expect(status == 200 and body["text"] == document["text"], f"{document['id']} reads back intact")


def smoke() -> None:
    status, body = call("POST", "/documents", {"documents": DOCUMENTS})
    expect(status == 200 and all(d["status"] == "created" for d in body["documents"]), "documents created")
    check_searches()
    status, _ = call("POST", "/search", {"query": "   "})
    expect(status == 422, "an empty query is a 422")
    with urllib.request.urlopen(os.environ["SEMSEARCH_URL"] + "/", timeout=30) as response:
        page = response.read().decode()
    expect(response.status == 200 and "<title>semsearch</title>" in page, "the search page is served")
    with urllib.request.urlopen(os.environ["SEMSEARCH_URL"] + "/metrics", timeout=30) as response:
        metrics = response.read().decode()
    expect("semsearch_index_documents" in metrics, "metrics report the index size")


def after_restart() -> None:
    status, body = call("GET", "/stats")
    expect(status == 200 and body["documents"] >= len(DOCUMENTS), f"stats after restart: {body}")
    check_searches()


if __name__ == "__main__":
    import urllib.parse

    {"smoke": smoke, "after-restart": after_restart}[sys.argv[1]]()
