"""What the container test (tests/container/test_container.py) asks of a running semsearch at ``url``.

``smoke`` posts documents and searches them by meaning, with a short question, a paragraph longer than the
model reads and a query by example; ``after_restart`` (a new container on the same volume) checks that they
are all still there and found.
"""

from __future__ import annotations

import re

import httpx

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
    {
        "id": "smoke/kittens",
        "title": "Kittens",
        "text": "Young kittens nap for most of the day, curled up wherever it is warm.",
    },
]
QUERIES = {
    "where do kittens nap during the day": "smoke/kittens",
    "borrowing got more expensive": "smoke/bank",
}
PARAGRAPH = "The cost of a mortgage went up again after the central bank's latest decision on rates. " * 25


def check_searches(client: httpx.Client) -> None:
    for query, expected in QUERIES.items():
        response = client.get("/search", params={"q": query, "k": 1})
        assert response.status_code == 200, response.text
        assert response.json()["hits"][0]["doc_id"] == expected, query
    for document in DOCUMENTS:
        response = client.get(f"/documents/{document['id']}")
        assert response.status_code == 200, response.text
        assert response.json()["text"] == document["text"]


def smoke(url: str) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        response = client.post("/documents", json={"documents": DOCUMENTS})
        assert response.status_code == 200, response.text
        assert all(d["status"] == "created" for d in response.json()["documents"])
        check_searches(client)
        long = client.post("/search", json={"query": PARAGRAPH, "k": 1}).json()
        assert long["query_pieces"] > 1
        assert long["hits"][0]["doc_id"] == "smoke/bank"
        liked = client.post("/search", json={"like": {"id": "smoke/cats"}, "k": 1}).json()
        assert liked["hits"][0]["doc_id"] == "smoke/kittens"
        assert client.post("/search", json={"query": "   "}).status_code == 422
        page = client.get("/")
        assert page.status_code == 200
        assert "<title>semsearch</title>" in page.text
        assert "semsearch_index_documents" in client.get("/metrics").text
        # The API documentation's Swagger UI comes from the image, not a CDN.
        assets = re.findall(r'src="(/docs-assets/[^"]+\.js)"', client.get("/docs").text)
        assert assets
        assert client.get(assets[0]).status_code == 200


def after_restart(url: str) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        stats = client.get("/stats").json()
        assert stats["documents"] >= len(DOCUMENTS), stats
        check_searches(client)
