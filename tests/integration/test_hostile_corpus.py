"""Hostile documents in the corpus never make search slow, and odd ids are reachable, on a real server
(the real model, uvicorn on 127.0.0.1). Bounded: a fixed number of searches, a few seconds."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.integration.test_server import free_port, running, server_env

pytestmark = pytest.mark.integration

ORDINARY = [
    {
        "id": f"note-{n}",
        "text": f"Field note {n}: the {topic} changed after the long winter, and the team "
        f"measured it again in spring.",
    }
    for n, topic in enumerate("river glacier forest meadow reef canyon desert coast".split() * 3)
]
# Text that used to stall a search (a long line without sentence punctuation made the highlighter
# backtrack quadratically) or the chunker (pysbd's rules on 'a) b)'), and other shapes real corpora hold.
POISON = [
    {"id": "spaces", "text": "alpha" + " " * 200_000 + "beta\nomega gamma delta"},
    {"id": "word", "text": "x" * 100_000 + " alpha"},
    {"id": "lists", "text": "a) b) " * 5_000 + " alpha"},
    {"id": "base64", "text": "QUJDRA==" * 12_500},
    {"id": "dna", "text": "ACGT" * 25_000},
    {"id": "minified", "text": "function(a){return a+1};" * 4_000},
    {"id": "control", "text": "".join(chr(1 + i % 31) for i in range(20_000)) + " alpha beta"},
    {"id": "scripts", "text": "日本語のテキスト العربية Ελληνικά alpha " * 3_000},
]
QUERIES = ["alpha beta", "alpha omega gamma", "x alpha", "a b alpha", "ACGT", "function return", "beta"]


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def timed_search(client: httpx.Client, query: str, mode: str) -> float:
    started = time.perf_counter()
    response = client.get("/search", params={"q": query, "mode": mode, "k": 10})
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.text
    return seconds


def timed_searches(client: httpx.Client, queries: list[str], rounds: int) -> list[tuple[str, str, float]]:
    """``(query, mode, seconds)`` of each search, every query in both modes, ``rounds`` times over."""
    return [
        (query, mode, timed_search(client, query, mode))
        for _ in range(rounds)
        for query in queries
        for mode in ("keyword", "hybrid")
    ]


def test_poison_documents_keep_search_within_ten_times_idle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    command = [sys.executable, "-m", "service", "serve", "--port", str(port), "--no-demo"]
    env = server_env(tmp_path / "data", SEMSEARCH_QUERY_CACHE_SIZE="0", SEMSEARCH_RESULT_CACHE_MB="0")
    with running(command, port, env, tmp_path / "server.log") as client:
        assert client.post("/documents", json={"documents": ORDINARY}).status_code == 200
        timed_searches(client, QUERIES, 1)  # warm up
        idle = [seconds for _, _, seconds in timed_searches(client, QUERIES, 4)]
        for doc in POISON:
            response = client.post("/documents", json={"documents": [doc]})
            assert response.status_code == 200, (doc["id"], response.text)
        hits = client.get("/search", params={"q": "alpha beta", "mode": "keyword", "k": 20}).json()["hits"]
        assert {"spaces", "control"} <= {hit["doc_id"] for hit in hits}
        for hit in hits:  # every chunk is bounded, and its highlight lies inside it
            assert hit["end"] - hit["start"] <= 256 * 12
            assert hit["start"] <= hit["highlight"]["start"] <= hit["highlight"]["end"] <= hit["end"]
        searched = timed_searches(client, QUERIES, 4)
        poisoned = [seconds for _, _, seconds in searched]
        bound = 10 * p99(idle)
        # A search the poison slows is slow every time; one slowed by the machine (another tenant, a disk
        # flush) is not. So a search over the bound is made again, and fails the test if slow again.
        slow = [(query, mode) for query, mode, seconds in searched if seconds > bound]
        again = {(query, mode): timed_search(client, query, mode) for query, mode in slow}
        with capsys.disabled():
            print(
                f"\nsearch with poison documents in the corpus: p99 {p99(poisoned) * 1000:.0f} ms "
                f"(idle p99 {p99(idle) * 1000:.0f} ms, median {statistics.median(poisoned) * 1000:.0f} ms "
                f"vs {statistics.median(idle) * 1000:.0f} ms), {len(poisoned)} searches, "
                f"{len(slow)} over {bound * 1000:.0f} ms and made again"
            )
        assert len(slow) <= len(searched) // 10, slow
        assert all(seconds <= bound for seconds in again.values()), again


def test_ids_with_percent_signs_and_dots_round_trip_through_a_real_server(tmp_path: Path) -> None:
    """What a client sends percent-encoded reaches the document it names (uvicorn decodes the path once);
    '.' and '..' segments, which normalising clients rewrite, are refused at upload."""
    port = free_port()
    command = [sys.executable, "-m", "service", "serve", "--port", str(port), "--no-demo"]
    with running(command, port, server_env(tmp_path / "data"), tmp_path / "server.log") as client:
        ids = ["100% sure", "%2e%2e", "a/%2F/b", "x.y/z", "?#&=+"]
        body = {"documents": [{"id": doc_id, "text": f"Text of {doc_id}."} for doc_id in ids]}
        assert client.post("/documents", json=body).status_code == 200
        for doc_id in ids:
            response = client.get("/documents/" + quote(doc_id, safe=""))
            assert response.status_code == 200, doc_id
            assert response.json()["id"] == doc_id
        for bad in ("a/../b", "./a", "a/."):
            response = client.post("/documents", json={"documents": [{"id": bad, "text": "words"}]})
            assert response.status_code == 422
            assert "segment" in response.text
