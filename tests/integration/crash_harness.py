"""Kill -9 the real server while a client streams writes; after each restart, nothing acknowledged is lost.

Used by tests/integration/test_crash.py (20 kills in CI) and runnable alone for a longer soak:

    .venv/bin/python -m tests.integration.crash_harness --kills 50 --data-dir /tmp/crash-soak

Each round starts ``semsearch serve`` on 127.0.0.1 and streams upserts (1-3 documents each) and deletes of
earlier acknowledged documents from one client; another thread SIGKILLs the server (all its processes) after
a random 0.2-1.5 s, mostly in the middle of a request. A request cut off by the kill was never acknowledged
and may go either way. After every restart: every acknowledged upsert can be read back and is the top
dense hit for its own text, and a keyword hit for its unique word; no acknowledged delete is readable or
found. At the end the store, keyword and vector sides are compared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

WORDS = (
    "river mountain glacier forest desert ocean island valley canyon meadow volcano prairie lagoon "
    "harbor tundra savanna marsh delta plateau reef"
).split()


@dataclass
class Ledger:
    """What the server acknowledged: documents that must exist (id -> text) and ids that must not."""

    alive: dict[str, str] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    uncertain: set[str] = field(default_factory=set)  # touched by a request the kill cut off
    writes: int = 0
    unacknowledged: int = 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(data_dir: Path, port: int, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "service", "serve", "--data-dir", str(data_dir), "--no-demo"]
    command += ["--port", str(port)]
    with log.open("ab") as output:
        # A session of its own: a kill takes every process of the server at once (the writer and its
        # replica: `serve` runs two on two cores), as a crash of the machine or the container would.
        return subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL every process of the server."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def wait_ready(client: httpx.Client, process: subprocess.Popen[bytes], timeout: float = 120) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        try:
            if client.get("/readyz").status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("the server did not become ready")


def traffic(client: httpx.Client, ledger: Ledger, rng: random.Random, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ledger.alive and rng.random() < 0.25:
            doc_id = rng.choice(sorted(ledger.alive))
            try:
                response = client.delete(f"/documents/{doc_id}")
            except httpx.TransportError:  # the delete may or may not have committed
                ledger.unacknowledged += 1
                ledger.uncertain.add(doc_id)
                del ledger.alive[doc_id]
                return
            if response.status_code == 200:
                del ledger.alive[doc_id]
                ledger.deleted.add(doc_id)
            continue
        documents = []
        for _ in range(rng.randint(1, 3)):
            ledger.writes += 1
            doc_id = f"doc-{ledger.writes}"
            words = " ".join(rng.choices(WORDS, k=12))
            text = f"Report {ledger.writes} with the unique word zq{ledger.writes}x about {words}."
            documents.append({"id": doc_id, "text": text})
        try:
            response = client.post("/documents", json={"documents": documents})
        except httpx.TransportError:  # the upsert may or may not have committed
            ledger.unacknowledged += 1
            ledger.uncertain.update(doc["id"] for doc in documents)
            return
        assert response.status_code == 200, response.text
        for doc in documents:
            ledger.alive[doc["id"]] = doc["text"]
            ledger.deleted.discard(doc["id"])


def verify(client: httpx.Client, ledger: Ledger, rng: random.Random, sample: int | None) -> None:
    for doc_id in ledger.alive:
        assert client.get(f"/documents/{doc_id}").status_code == 200, f"acknowledged {doc_id} was lost"
    for doc_id in ledger.deleted:
        assert client.get(f"/documents/{doc_id}").status_code == 404, f"deleted {doc_id} came back"
    ids = sorted(ledger.alive)
    for doc_id in ids if sample is None else rng.sample(ids, min(sample, len(ids))):
        text = ledger.alive[doc_id]
        dense = client.get("/search", params={"q": text, "k": 1, "mode": "dense"}).json()["hits"]
        assert [hit["doc_id"] for hit in dense] == [doc_id], f"{doc_id} is not found by its own text"
        word = text.split("unique word ")[1].split()[0]
        keyword = client.get("/search", params={"q": word, "k": 1, "mode": "keyword"}).json()["hits"]
        assert [hit["doc_id"] for hit in keyword] == [doc_id], f"{doc_id} is not found by its unique word"
    for doc_id in list(ledger.deleted)[:20]:
        word = f"zq{doc_id.split('-')[1]}x"
        hits = client.get("/search", params={"q": word, "k": 3, "mode": "keyword"}).json()["hits"]
        assert all(hit["doc_id"] != doc_id for hit in hits), f"deleted {doc_id} is still found"


def run(data_dir: Path, kills: int, seed: int, log: Path, sample: int | None = 25) -> dict[str, float]:
    """Kill the server ``kills`` times; returns counts and timings. Raises AssertionError on any loss."""
    rng = random.Random(seed)
    ledger = Ledger()
    env = {**os.environ, "SEMSEARCH_LOG_LEVEL": "warning", "SEMSEARCH_QUERY_CACHE_SIZE": "0"}
    restarts: list[float] = []
    for round_number in range(kills + 1):
        port = free_port()
        process = start(data_dir, port, log, env)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                restarts.append(wait_ready(client, process))
                verify(client, ledger, rng, sample if round_number < kills else None)
                if round_number == kills:
                    break
                # The kill comes from another thread while the client is mid-stream, usually mid-request.
                killer = threading.Timer(rng.uniform(0.2, 1.5), kill, [process])
                killer.start()
                traffic(client, ledger, rng, 30.0)  # returns when a request is cut off by the kill
                killer.join()
        finally:
            kill(process)
            process.wait(timeout=30)
    return {
        "kills": kills,
        "documents_acknowledged": ledger.writes,
        "alive": len(ledger.alive),
        "deleted": len(ledger.deleted),
        "uncertain": len(ledger.uncertain),
        "cut_off_requests": ledger.unacknowledged,
        "restart_median_s": round(sorted(restarts)[len(restarts) // 2], 2),
        "restart_max_s": round(max(restarts), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, required=True, help="a new (or empty) directory")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    result = run(args.data_dir, args.kills, args.seed, args.data_dir.parent / f"{args.data_dir.name}.log")
    result["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
