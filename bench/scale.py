"""Vector search at a million chunks: build time, size, search latency and recall@10 for each index type.

    .venv/bin/python bench/scale.py --data-dir /var/tmp/scifact-eval \
        --queries path/to/scifact/queries.jsonl --vectors 1000000

The vectors are synthetic but realistic: each is a random mix of two real SciFact chunk embeddings (weights
0.5-1 and the rest) plus a little Gaussian noise, renormalised, so they spread like real embeddings instead of
clustering as 73 near-copies of each chunk. The queries are the real SciFact training queries, embedded by
the default model. Recall@10 is measured against exact search over the same vectors. Latency is one query
at a time through semsearch's own VectorIndex (the code the service runs), excluding query encoding.
"""

from __future__ import annotations

import argparse
import gc
import json
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

from index.encoders.factory import load_embedder
from index.storage.vectors import VectorIndex, VectorOptions, build_main

ROOT = Path(__file__).resolve().parents[1]


def synthetic(real: NDArray[np.float32], n: int, seed: int = 0) -> NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        i, j = rng.integers(len(real), size=m), rng.integers(len(real), size=m)
        a = rng.uniform(0.5, 1.0, size=(m, 1)).astype(np.float32)
        noise = rng.normal(0, 0.02, size=(m, real.shape[1])).astype(np.float32)
        block = a * real[i] + (1 - a) * real[j] + noise
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def recall(found: NDArray[np.int64], truth: NDArray[np.int64], k: int) -> float:
    return float(np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth, strict=True)]))


def measure(index: VectorIndex, queries: NDArray[np.float32], k: int, **options: Any) -> tuple[float, Any]:
    latencies, found = [], []
    for row in range(len(queries)):
        started = time.perf_counter()
        _, ids = index.search(queries[row : row + 1], k, **options)
        latencies.append((time.perf_counter() - started) * 1000)
        found.append(ids[0])
    return statistics.median(latencies), np.array(found)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="a SciFact data directory")
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--queries", type=Path, required=True, help="queries.jsonl of a BEIR folder")
    parser.add_argument(
        "--kinds",
        default="flat,hnsw-float16,hnsw-int8,hnsw-float32",
        help="flat: exact, float32; flat-float16: exact scan of float16 vectors",
    )
    parser.add_argument("--out", type=Path, default=Path("bench-results/scale.json"))
    args = parser.parse_args()

    db = sqlite3.connect(args.data_dir / "semsearch.db")
    rows = db.execute("SELECT embedding FROM chunks").fetchall()
    real = np.frombuffer(b"".join(r[0] for r in rows), dtype=np.float32).reshape(len(rows), -1).copy()
    texts = [json.loads(line)["text"] for line in args.queries.read_text().splitlines() if line.strip()]
    queries = load_embedder(cache_dir=args.data_dir / "models").embed_queries(texts)
    vectors = synthetic(real, args.vectors)
    ids = np.arange(args.vectors, dtype=np.int64)
    print(f"{args.vectors} vectors from {len(real)} real embeddings; {len(queries)} real queries", flush=True)

    flat = VectorOptions(kind="flat", flat_storage="float32")  # the truth: exact scores
    exact = VectorIndex(real.shape[1], flat, build_main([(ids, vectors)], real.shape[1], len(ids), flat))
    _, truth = exact.search(queries, 100)
    del exact
    results: dict[str, Any] = {"vectors": args.vectors, "queries": len(queries), "kinds": {}}
    for kind in args.kinds.split(","):
        name, _, storage = kind.partition("-")
        kept = storage or ("float32" if name == "flat" else "float16")
        options = VectorOptions(kind=name, storage=kept, flat_storage=kept)  # type: ignore[arg-type]
        gc.collect()
        started = time.perf_counter()
        main_index = build_main([(ids, vectors)], real.shape[1], len(ids), options)
        build_s = time.perf_counter() - started
        index = VectorIndex(real.shape[1], options, main_index)
        size = len(faiss.serialize_index(main_index.index)) + main_index.ids.nbytes
        entry: dict[str, Any] = {"build_s": round(build_s, 1), "size_mb": round(size / 2**20, 1), "runs": []}
        settings = [None] if name == "flat" else [32, 64, 128, 256]
        for ef in settings:
            for k in (10, 100):
                # Exact search is slow at this size and its recall is 1 by definition: time 100 queries.
                sample = queries[:100] if name == "flat" else queries
                p50, found = measure(index, sample, k, ef_search=ef)
                hit_rate = round(recall(found, truth[: len(sample)], 10), 4)
                run = {"ef_search": ef, "k": k, "p50_ms": round(p50, 3), "recall_at_10": hit_rate}
                entry["runs"].append(run)
        results["kinds"][index.index_type] = entry
        print(index.index_type, json.dumps(entry), flush=True)
        del index, main_index
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print("\n| index | build | vectors + index | ef_search | k | search p50 | recall@10 |")
    print("|---|---|---|---|---|---|---|")
    for label, entry in results["kinds"].items():
        for run in entry["runs"]:
            print(
                f"| {label} | {entry['build_s']} s | {entry['size_mb']:.0f} MB | {run['ef_search'] or '-'} "
                f"| {run['k']} | {run['p50_ms']:.2f} ms | {run['recall_at_10']:.3f} |"
            )


if __name__ == "__main__":
    main()
