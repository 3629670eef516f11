"""A real uvicorn server on 127.0.0.1 with the real model: demo corpus, API round trip, restart."""

from __future__ import annotations

import gzip
import json
import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from index.storage.manifest import Manifest
from tests.integration.conftest import QUESTIONS

pytestmark = pytest.mark.integration

START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running(
    command: list[str], port: int, env: dict[str, str], log: Path, open_files: tuple[int, int] | None = None
) -> Iterator[httpx.Client]:
    """Start a server, wait until /readyz is 200, yield a client, then stop it with SIGTERM. ``open_files``:
    the server's soft and hard limits of open files."""

    def limit() -> None:
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, open_files)

    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=limit if open_files else None,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(base_url=base, timeout=60) as client:
            while True:
                if process.poll() is not None:
                    pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"server not ready after {START_TIMEOUT} s:\n{log.read_text()}")
                time.sleep(0.25)
            yield client
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            # uvicorn shuts down gracefully, then re-raises SIGTERM so its exit status tells why it stopped.
            assert process.wait(timeout=10) in (0, -signal.SIGTERM), log.read_text()
            assert "Application shutdown complete" in log.read_text()
        finally:
            if process.poll() is None:
                process.kill()


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment without the developer's SEMSEARCH_* settings, but with the tests' model export."""
    keep = {"SEMSEARCH_MODEL_CACHE_DIR"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEMSEARCH_") or k in keep}
    return {**env, "SEMSEARCH_DATA_DIR": str(data_dir), **extra}


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_serve_demo_round_trip_and_restart_under_plain_uvicorn(tmp_path: Path, article: str) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    port = free_port()
    serve = [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)]
    limits = {"SEMSEARCH_BODY_TIMEOUT_SECONDS": "2", "SEMSEARCH_MAX_CONCURRENT_UPSERTS": "1"}
    with running(serve, port, server_env(data_dir, **limits), log) as client:
        stats = ok(client.get("/stats"))
        assert stats["documents"] == 5, "a new data directory starts with the demo corpus"
        # A client that stops sending its body holds the one upload slot only until the body timeout.
        with socket.create_connection(("127.0.0.1", port)) as stalled:
            stalled.sendall(
                b"POST /documents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b'Content-Length: 1000\r\n\r\n{"documents": ['
            )
            time.sleep(0.5)
            held = client.post("/documents", json={"documents": [{"id": "x", "text": "Tides."}]})
            assert held.status_code == 429, held.text
            stalled.settimeout(10)
            refused = b""
            while part := stalled.recv(4096):  # until the server closes the connection
                refused += part
        assert refused.startswith(b"HTTP/1.1 408"), refused
        assert b"SEMSEARCH_BODY_TIMEOUT_SECONDS" in refused
        probe = client.head("/healthz")  # as uptime monitors and `curl -I` probe
        assert (probe.status_code, probe.content) == (200, b"")
        hits = ok(client.get("/search", params={"q": "how do I make a copy of my data to be safe?", "k": 3}))[
            "hits"
        ]
        assert hits[0]["doc_id"] == "demo/operations.md"
        # A search made again is answered from the result cache, until a write (next) moves it on.
        before = [ok(client.post("/search", json={"query": QUESTIONS[0][0], "k": 3})) for _ in range(2)]
        assert [b["cached"] for b in before] == [False, True]
        assert before[1]["hits"] == before[0]["hits"]

        body = ok(client.post("/documents", json={"documents": [{"id": "lagoon", "text": article}]}))
        assert body["documents"][0]["status"] == "created"
        # The same document again, gzip-compressed and streamed in chunks (no Content-Length): unchanged.
        packed = gzip.compress(json.dumps({"documents": [{"id": "lagoon", "text": article}]}).encode())
        headers = {"content-type": "application/json", "content-encoding": "gzip"}
        chunks = iter([packed[:100], packed[100:1000], packed[1000:]])
        again = ok(client.post("/documents", content=chunks, headers=headers))
        assert again["documents"][0]["status"] == "unchanged"
        for question, answer in QUESTIONS[:3]:
            found = ok(client.post("/search", json={"query": question, "k": 3}))
            assert not found["cached"]
            hits = found["hits"]
            answer_at = article.index(answer)
            assert any(h["doc_id"] == "lagoon" and h["start"] <= answer_at < h["end"] for h in hits), question
        # A pasted page is a query like any other (searched by its first window), up to the length limit.
        page = (article * 4)[:20_000]
        pasted = ok(client.post("/search", json={"query": page, "k": 3}))
        assert pasted["query_pieces"] > 1
        assert pasted["hits"][0]["doc_id"] == "lagoon"
        too_long = client.post("/search", json={"query": page + "x"})
        assert too_long.status_code == 422
        assert "SEMSEARCH_MAX_QUERY_CHARS" in too_long.text
        assert ok(client.delete("/documents/demo/faq.md"))["deleted"] is True
        assert client.post("/search", json={"query": "  "}).status_code == 422

    # The same app under plain uvicorn through its factory, on the same data directory.
    port = free_port()
    uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "service.app:create_app", "--port", str(port)]
    with running(uvicorn, port, server_env(data_dir), log) as client:
        stats = ok(client.get("/stats"))
        assert stats["documents"] == 5  # 5 demo - 1 deleted + the article; the demo is not seeded again
        assert client.get("/documents/demo/faq.md").status_code == 404
        results = ok(
            client.post("/search/batch", json={"queries": [{"query": q} for q, _ in QUESTIONS[3:6]]})
        )
        for (question, answer), result in zip(QUESTIONS[3:6], results["results"], strict=True):
            answer_at = article.index(answer)
            top3 = result["hits"][:3]
            assert any(h["doc_id"] == "lagoon" and h["start"] <= answer_at < h["end"] for h in top3), question


def test_a_model_mismatch_stops_the_start_with_a_message(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    manifest_db = data_dir / "semsearch.db"
    with sqlite3.connect(manifest_db) as connection:
        connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        connection.execute(
            "INSERT INTO meta VALUES ('manifest', ?)",
            (Manifest("other/model", 768, "flat", {}).to_json(),),
        )
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "service", "serve", "--port", str(port)],
        env=server_env(data_dir),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert result.returncode == 2
    assert "was built with the model 'other/model'" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr  # said before the app starts: a message


def test_a_second_service_on_a_data_directory_in_use_stops_with_a_message(tmp_path: Path) -> None:
    """A second `semsearch serve` on a data directory another service holds failed in the app's start,
    which uvicorn prints as a long traceback; it is checked before, like the port, and said in a line."""
    port = free_port()
    env = server_env(tmp_path / "data", SEMSEARCH_SEED_DEMO="false")
    command = [sys.executable, "-m", "service", "serve", "--port", str(port)]
    with running(command, port, env, tmp_path / "first.log"):
        second = subprocess.run(
            [sys.executable, "-m", "service", "serve", "--port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
        )
    assert second.returncode == 2
    assert "is open for writing by another process" in second.stderr
    assert "Traceback" not in second.stdout + second.stderr
