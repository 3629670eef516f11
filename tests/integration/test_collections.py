"""Collections on a real uvicorn server with the real model: an alias switched under concurrent searches,
a collection rebuilt with other chunking and switched in, and everything still there after a restart."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.integration.test_server import free_port, ok, running, server_env

pytestmark = pytest.mark.integration

ARTICLE = (Path(__file__).resolve().parents[1] / "data" / "news_article.txt").read_text(encoding="utf-8")
QUESTION = "How much electricity will the lagoon produce in a year?"


def test_an_alias_moves_to_a_rebuilt_collection_with_no_failed_search(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "service", "serve", "--port", str(port)]
    env = server_env(tmp_path / "data", SEMSEARCH_SEED_DEMO="false")
    document = {"id": "lagoon", "title": "Tidal lagoon", "text": ARTICLE}
    with running(command, port, env, tmp_path / "server.log") as client:
        # The same document in two collections built with different chunking: v2 has smaller chunks.
        assert client.put("/collections/news-v1").status_code == 201
        assert (
            client.put(
                "/collections/news-v2", json={"chunking": {"max_tokens": 24, "overlap_tokens": 0}}
            ).status_code
            == 201
        )
        for name in ("news-v1", "news-v2"):
            ok(client.post(f"/collections/{name}/documents", json={"documents": [document]}))
        v1, v2 = (ok(client.get(f"/collections/{n}"))["chunks"] for n in ("news-v1", "news-v2"))
        assert v2 > v1
        ok(client.put("/aliases/news", json={"collection": "news-v1"}))

        statuses: list[int] = []
        done = threading.Event()

        def search() -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as own:
                while not done.is_set():
                    response = own.post("/collections/news/search", json={"query": QUESTION, "k": 3})
                    statuses.append(response.status_code)

        searchers = [threading.Thread(target=search) for _ in range(4)]
        for searcher in searchers:
            searcher.start()
        for i in range(30):
            ok(client.put("/aliases/news", json={"collection": "news-v2" if i % 2 == 0 else "news-v1"}))
        done.set()
        for searcher in searchers:
            searcher.join()
        assert len(statuses) > 30
        assert set(statuses) == {200}
        assert ok(client.get("/collections/news"))["name"] == "news-v1"
        ok(client.put("/aliases/news", json={"collection": "news-v2"}))  # switched in for good

    with running(command, port, env, tmp_path / "server.log") as client:
        assert ok(client.get("/collections/news"))["name"] == "news-v2"
        names = [c["name"] for c in ok(client.get("/collections"))["collections"]]
        assert names == ["default", "news-v1", "news-v2"]
        hits = ok(client.post("/collections/news/search", json={"query": QUESTION, "k": 3}))["hits"]
        assert hits[0]["doc_id"] == "lagoon"
        assert all(h["end"] - h["start"] < len(ARTICLE) for h in hits)


def test_a_collection_on_openvino_answers_as_the_default_backend_does(tmp_path: Path) -> None:
    """A collection may name its own encoder: one on OpenVINO (bfloat16 where the CPU has it) indexes and
    searches the same document with scores within the probe bound of the default collection's."""
    port = free_port()
    command = [sys.executable, "-m", "service", "serve", "--port", str(port)]
    env = server_env(tmp_path / "data", SEMSEARCH_SEED_DEMO="false")
    document = {"id": "lagoon", "title": "Tidal lagoon", "text": ARTICLE}
    with running(command, port, env, tmp_path / "server.log") as client:
        assert client.put("/collections/fast", json={"embed_backend": "openvino"}).status_code == 201
        assert ok(client.get("/collections/fast"))["settings"]["embed_backend"] == "openvino"
        results = {}
        for prefix in ("", "/collections/fast"):
            ok(client.post(f"{prefix}/documents", json={"documents": [document]}))
            search = {"query": QUESTION, "k": 5, "mode": "dense"}
            results[prefix] = ok(client.post(f"{prefix}/search", json=search))["hits"]
        default, fast = results[""], results["/collections/fast"]
        assert fast[0]["doc_id"] == "lagoon"
        by_span = {(hit["start"], hit["end"]): hit["score"] for hit in default}
        assert by_span.keys() == {(hit["start"], hit["end"]) for hit in fast}  # the same chunks found
        # Vectors at cosine c differ by at most sqrt(2 - 2c) in norm: 0.0077 at the 0.99997 measured, so
        # a score (query and chunk both embedded in bfloat16) by at most about 0.016.
        for hit in fast:
            assert abs(hit["score"] - by_span[hit["start"], hit["end"]]) < 0.02
