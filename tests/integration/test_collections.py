"""Collections on a real uvicorn server with the real model: an alias switched under concurrent searches,
a collection rebuilt with other chunking and switched in, and everything still there after a restart."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from index.collections import RETIRE_SECONDS
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
        # At least 30 switches, and on until 30 searches have been answered meanwhile: a replica's first
        # search of a collection opens it, and a fixed number of switches could all end before that.
        last = ""
        for i in range(1000):
            last = "news-v2" if i % 2 == 0 else "news-v1"
            ok(client.put("/aliases/news", json={"collection": last}))
            if i >= 29 and len(statuses) > 30:
                break
        done.set()
        for searcher in searchers:
            searcher.join()
        assert len(statuses) > 30
        assert set(statuses) == {200}
        assert ok(client.get("/collections/news"))["name"] == last
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


def _collection_with_a_search(client: httpx.Client, name: str) -> list[int]:
    """Create a collection, write a document to it and search it: the statuses of the three."""
    statuses = [client.put(f"/collections/{name}").status_code]
    if statuses[-1] == 201:
        document = {"id": "note", "text": f"Tide tables for harbour {name}."}
        statuses.append(
            client.post(f"/collections/{name}/documents", json={"documents": [document]}).status_code
        )
        statuses.append(client.get(f"/collections/{name}/search", params={"q": "tide tables"}).status_code)
    return statuses


def test_the_service_raises_its_open_file_limit_to_hold_many_collections(tmp_path: Path) -> None:
    """A soft limit of 256 open files (macOS's default) let 24 collections open; the service raises it to the
    hard limit at start (service.open_files), so 40 open, each written to and searched."""
    port = free_port()
    command = [sys.executable, "-m", "service", "serve", "--port", str(port)]
    env = server_env(tmp_path / "data", SEMSEARCH_SEED_DEMO="false", SEMSEARCH_LOG_LEVEL="info")
    log = tmp_path / "server.log"
    with running(command, port, env, log, open_files=(256, 4096)) as client:
        for i in range(40):
            assert _collection_with_a_search(client, f"t{i}") == [201, 200, 200]
    assert "raised the open-file limit from 256 to 4096" in log.read_text()


def test_a_collection_past_the_open_file_limit_is_a_503_that_changes_nothing(tmp_path: Path) -> None:
    """At a hard limit of 200 open files: collections are made until one cannot be opened, which is a 503 that
    says why (not a 500) and leaves no trace; once another collection is deleted, the same request works."""
    port = free_port()
    # One process: the limit is per process, and which of two a request lands on would decide the count.
    command = [sys.executable, "-m", "service", "serve", "--port", str(port), "--workers", "1"]
    env = server_env(tmp_path / "data", SEMSEARCH_SEED_DEMO="false")
    with running(command, port, env, tmp_path / "server.log", open_files=(200, 200)) as client:
        made: list[str] = []
        refused = None
        for i in range(100):
            statuses = _collection_with_a_search(client, f"t{i}")
            if statuses == [201, 200, 200]:
                made.append(f"t{i}")
                continue
            assert statuses == [503], statuses  # the creation refused, nothing after it tried
            refused = client.put(f"/collections/t{i}")
            break
        assert refused is not None, "100 collections opened under a limit of 200 files"
        assert len(made) >= 5
        assert refused.status_code == 503
        assert "as many files open as its limit allows (ulimit -n)" in refused.json()["detail"]
        assert refused.headers["retry-after"] == "5"
        listed = {c["name"] for c in ok(client.get("/collections"))["collections"]}
        assert listed == {"default", *made}  # the refused one left no trace
        assert client.get(f"/collections/{made[0]}/search", params={"q": "tide"}).status_code == 200

        assert client.delete(f"/collections/{made[-1]}").status_code == 200
        time.sleep(RETIRE_SECONDS + 1)  # a deleted collection closes once searches that found it are done
        assert _collection_with_a_search(client, "again") == [201, 200, 200]
