"""Searches keep answering, quickly, while a bulk ingest runs (real model, real uvicorn on 127.0.0.1)."""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.test_server import free_port, running, server_env

pytestmark = pytest.mark.integration

TOPICS = "tides glaciers volcanoes forests deserts reefs rivers storms".split()


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 2 else values[0]


def document(n: int) -> dict[str, str]:
    topic = TOPICS[n % len(TOPICS)]
    paragraphs = [
        f"Report {n}, part {p}: how {topic} shape the land over centuries, measured by field teams "
        f"who returned every season to the same {topic} and recorded what changed and why."
        for p in range(4)
    ]
    return {"id": f"bulk-{n}", "text": "\n\n".join(paragraphs)}


def test_searches_answer_during_a_bulk_ingest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    command = [sys.executable, "-m", "service", "serve", "--port", str(port), "--no-demo"]
    env = server_env(tmp_path / "data", SEMSEARCH_QUERY_CACHE_SIZE="0", SEMSEARCH_RESULT_CACHE_MB="0")
    with running(command, port, env, tmp_path / "server.log") as client:
        assert (
            client.post("/documents", json={"documents": [document(n) for n in range(16)]}).status_code == 200
        )
        queries = [f"what happens to {topic} over time, question {i}" for i, topic in enumerate(TOPICS * 10)]
        idle = []
        for query in queries[:40]:
            started = time.perf_counter()
            assert client.get("/search", params={"q": query}).status_code == 200
            idle.append(time.perf_counter() - started)

        ingest_done = threading.Event()
        errors: list[str] = []
        busy: list[float] = []
        lock = threading.Lock()

        def ingest() -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as writer:
                for batch in range(8):
                    body = {"documents": [document(100 + batch * 16 + n) for n in range(16)]}
                    response = writer.post("/documents", json=body)
                    if response.status_code != 200:
                        errors.append(f"ingest: {response.status_code}")
            ingest_done.set()

        def search(offset: int) -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as reader:
                n = offset
                while not ingest_done.is_set():
                    started = time.perf_counter()
                    response = reader.get("/search", params={"q": queries[n % len(queries)]})
                    elapsed = time.perf_counter() - started
                    with lock:
                        busy.append(elapsed)
                        if response.status_code != 200:
                            errors.append(f"search: {response.status_code}")
                    n += 3

        threads = [threading.Thread(target=ingest)] + [
            threading.Thread(target=search, args=(i,)) for i in range(3)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        ingest_seconds = time.perf_counter() - started
        assert errors == []
        assert client.get("/stats").json()["documents"] == 16 + 8 * 16
        assert len(busy) >= 20  # searches really ran alongside the ingest
        idle_ms = (statistics.median(idle) * 1000, p99(idle) * 1000)
        busy_ms = (statistics.median(busy) * 1000, p99(busy) * 1000)
        with capsys.disabled():
            print(
                f"\nsearch latency, idle: p50 {idle_ms[0]:.0f} ms, p99 {idle_ms[1]:.0f} ms; during a "
                f"{ingest_seconds:.0f} s ingest of 128 documents with 3 searchers: p50 {busy_ms[0]:.0f} ms, "
                f"p99 {busy_ms[1]:.0f} ms, {len(busy)} searches"
            )
        # Bounded: never stuck behind a write (the CPU is shared with the embedding, so slower, not blocked).
        assert p99(busy) < 2.0
        assert max(busy) < 5.0
