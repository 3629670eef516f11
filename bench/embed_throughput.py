"""Encoder speed per backend, in one run: document chunks per second, the median time to embed one SciFact
query, and how close each backend's embeddings are to torch's.

    .venv/bin/python bench/embed_throughput.py --query-file path/to/scifact/queries.jsonl --chunks 64 \
        --queries 200

Backends: sentence-transformers on torch (the reference), ONNX Runtime (the default) and ONNX Runtime with
int8 weights. The queries are SciFact training queries (about 19 tokens); the chunks are prose close to the
model's budget, as the chunker makes them (SciFact's average is ~200 tokens).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from index import load_embedder

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-model-cache"))
    parser.add_argument("--query-file", type=Path, required=True, help="queries.jsonl of a BEIR folder")
    args = parser.parse_args()
    lines = args.query_file.read_text().splitlines()[: args.queries]
    queries = [json.loads(line)["text"] for line in lines]
    sentence = "Cells regulate gene expression through transcription factors binding promoter regions. "
    chunks = [f"{i} {sentence * 16}" for i in range(args.chunks)]

    reference_docs = reference_queries = None
    print("| backend | chunks/s | query p50 | min cosine to torch (queries, chunks) |")
    print("|---|---|---|---|")
    for backend in ("torch", "onnx", "onnx-int8"):
        embedder = load_embedder(backend=backend, cache_dir=args.model_cache)
        embedder.embed_documents(chunks[:4])
        started = time.perf_counter()
        docs = embedder.embed_documents(chunks)
        rate = len(chunks) / (time.perf_counter() - started)
        latencies, vectors = [], []
        for query in queries:
            started = time.perf_counter()
            vectors.append(embedder.embed_queries([query])[0])
            latencies.append((time.perf_counter() - started) * 1000)
        if reference_docs is None:
            reference_docs, reference_queries = docs, np.array(vectors)
        query_cos = float(np.min(np.sum(np.array(vectors) * reference_queries, axis=1)))
        doc_cos = float(np.min(np.sum(docs * reference_docs, axis=1)))
        p50 = statistics.median(latencies)
        print(f"| {backend} | {rate:.1f} | {p50:.1f} ms | {query_cos:.5f}, {doc_cos:.5f} |", flush=True)


if __name__ == "__main__":
    main()
