"""Encoder speed per backend, in one run: document chunks per second, the median time to embed one SciFact
query, the CPU time each takes, and how close each backend's embeddings are to torch's.

    .venv/bin/python bench/embed_throughput.py --query-file path/to/scifact/queries.jsonl --chunks 64 \
        --queries 200 [--corpus path/to/scifact/corpus.jsonl] [--rounds 3]

Backends: sentence-transformers on torch (the reference), ONNX Runtime (the default), ONNX Runtime with
int8 weights, and OpenVINO (bfloat16 where the CPU has it). The queries are SciFact training queries (about
22 tokens), embedded one at a time; the chunks are prose close to the model's budget, as the chunker makes
them, or with ``--corpus`` the corpus's first abstracts (title and text, cut at the model's 256 tokens).
``--rounds`` measures the backends in turn that many times and reports medians, so that a machine whose
speed drifts (a shared host) drifts for all of them alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import Embedder, load_embedder
from index.encoders.base import Backend, Vectors

BACKENDS: tuple[Backend, ...] = ("torch", "onnx", "onnx-int8", "openvino")


@dataclass(frozen=True)
class Measured:
    chunks_per_s: float
    chunk_cpu_ms: float
    query_p50_ms: float
    query_cpu_ms: float
    docs: Vectors
    queries: Vectors


def measure(embedder: Embedder, chunks: list[str], queries: list[str]) -> Measured:
    embedder.embed_documents(chunks[:4])
    cpu, started = time.process_time(), time.perf_counter()
    docs = embedder.embed_documents(chunks)
    took, doc_cpu = time.perf_counter() - started, time.process_time() - cpu
    latencies, cpu_times, vectors = [], [], []
    for query in queries:
        cpu, started = time.process_time(), time.perf_counter()
        vectors.append(embedder.embed_queries([query])[0])
        latencies.append((time.perf_counter() - started) * 1000)
        cpu_times.append((time.process_time() - cpu) * 1000)
    return Measured(
        chunks_per_s=len(chunks) / took,
        chunk_cpu_ms=doc_cpu * 1000 / len(chunks),
        query_p50_ms=statistics.median(latencies),
        query_cpu_ms=statistics.median(cpu_times),
        docs=docs,
        queries=np.array(vectors),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-model-cache"))
    parser.add_argument("--query-file", type=Path, required=True, help="queries.jsonl of a BEIR folder")
    parser.add_argument("--corpus", type=Path, help="corpus.jsonl of a BEIR folder: its abstracts as chunks")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    args = parser.parse_args()
    lines = args.query_file.read_text().splitlines()[: args.queries]
    queries = [json.loads(line)["text"] for line in lines]
    if args.corpus:
        with args.corpus.open(encoding="utf-8") as corpus:
            rows = [json.loads(line) for line, _ in zip(corpus, range(args.chunks), strict=False)]
        chunks = [f"{row['title']}\n\n{row['text']}" for row in rows]
    else:
        sentence = "Cells regulate gene expression through transcription factors binding promoter regions. "
        chunks = [f"{i} {sentence * 16}" for i in range(args.chunks)]

    embedders = {
        backend: load_embedder(backend=backend, cache_dir=args.model_cache) for backend in args.backends
    }
    runs: dict[str, list[Measured]] = {backend: [] for backend in embedders}
    for _ in range(args.rounds):
        for backend, embedder in embedders.items():
            runs[backend].append(measure(embedder, chunks, queries))
    reference = runs[args.backends[0]][0]
    print(f"{len(chunks)} chunks, {len(queries)} queries, medians of {args.rounds} round(s)")
    print(
        f"| backend | chunks/s | CPU per chunk | query p50 | CPU per query | "
        f"min cosine to {args.backends[0]} (queries, chunks) |"
    )
    print("|---|---|---|---|---|---|")
    for backend, measured in runs.items():
        cell = {
            key: statistics.median([getattr(m, key) for m in measured])
            for key in ("chunks_per_s", "chunk_cpu_ms", "query_p50_ms", "query_cpu_ms")
        }
        last = measured[-1]
        query_cos = float(np.min(np.sum(last.queries * reference.queries, axis=1)))
        doc_cos = float(np.min(np.sum(last.docs * reference.docs, axis=1)))
        print(
            f"| {backend} | {cell['chunks_per_s']:.1f} | {cell['chunk_cpu_ms']:.1f} ms | "
            f"{cell['query_p50_ms']:.1f} ms | {cell['query_cpu_ms']:.1f} ms | "
            f"{query_cos:.5f}, {doc_cos:.5f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
