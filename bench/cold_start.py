"""Cold start: seconds from process start to the first 200 from /readyz, on a data directory of N chunks.

    .venv/bin/python bench/cold_start.py --data-dir /var/tmp/scifact-eval --chunks 100000 --runs 5

The data directory is made once (in --work, default /var/tmp/semsearch-cold-start) for the real default
model: SciFact chunk texts, one per document, cycled with a counter, with embeddings that are real SciFact
embeddings plus noise (embedding 100k chunks for real would take 1.5 hours here, and the start does not read
them any differently). Then `semsearch serve` is started --runs times and /readyz polled every 10 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index import Document, SearchIndex, load_embedder
from index.encoders.base import Embedder, Vectors
from index.ingest.chunking import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peer_comparison import free_port


class NoisyCopies:
    """The real model's id, tokenizer and queries; documents get a real embedding plus noise."""

    def __init__(self, model: Embedder, pool: np.ndarray) -> None:
        self._model, self._pool = model, pool
        self._rng = np.random.default_rng(0)

    @property
    def model_id(self) -> str:
        return self._model.model_id

    @property
    def dim(self) -> int:
        return self._model.dim

    @property
    def tokenizer(self) -> Tokenizer:
        return self._model.tokenizer

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        rows = self._pool[self._rng.integers(len(self._pool), size=len(texts))]
        noisy = rows + self._rng.normal(0, 0.02, size=rows.shape).astype(np.float32)
        normalised: Vectors = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
        return normalised

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._model.embed_queries(texts)


def build(source: Path, target: Path, chunks: int) -> None:
    db = sqlite3.connect(source / "semsearch.db")
    rows = db.execute("SELECT text, embedding FROM chunks").fetchall()
    texts = [row[0] for row in rows]
    pool = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32).reshape(len(rows), -1)
    embedder = NoisyCopies(load_embedder(cache_dir=target / "models"), pool)
    started = time.perf_counter()
    with SearchIndex.open(target, embedder) as index:
        for start in range(0, chunks, 1000):
            batch = [
                Document(f"doc-{i}", f"{texts[i % len(texts)]} ({i})") for i in range(start, start + 1000)
            ]
            index.upsert(batch)
            print(f"\r{start + 1000} documents", end="", file=sys.stderr, flush=True)
        index.wait_for_merges()
        stats = index.stats()
    print(f"\nbuilt {stats.chunks} chunks ({stats.index_type}) in {time.perf_counter() - started:.0f} s")


def start_once(data_dir: Path) -> float:
    port = free_port()
    env = {**os.environ, "SEMSEARCH_LOG_LEVEL": "warning"}
    command = [
        sys.executable,
        "-m",
        "service",
        "serve",
        "--data-dir",
        str(data_dir),
        "--no-demo",
        "--port",
        str(port),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except OSError:
                pass
            if process.poll() is not None:
                raise SystemExit("the server exited")
            time.sleep(0.01)
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="a SciFact data directory (the source)")
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/semsearch-cold-start"))
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    target = args.work / f"{args.chunks}"
    if not (target / "semsearch.db").exists():
        build(args.data_dir, target, args.chunks)
    times = [start_once(target) for _ in range(args.runs)]
    result = {
        "chunks": args.chunks,
        "runs_s": [round(t, 2) for t in times],
        "median_s": statistics.median(times),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
