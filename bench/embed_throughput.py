"""Encoder speed with the default sentence-transformers backend: document chunks per second and the median
time to embed one short query.

    .venv/bin/python bench/embed_throughput.py --chunks 64 --queries 50
"""

from __future__ import annotations

import argparse
import statistics
import time

from index import SentenceTransformerEmbedder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder()
    budget = embedder.tokenizer.max_tokens
    # Chunks as the chunker makes them for prose: close to the budget (SciFact's average is ~200 tokens).
    sentence = "Cells regulate gene expression through transcription factors binding promoter regions. "
    chunk = sentence * max(1, 200 // embedder.tokenizer.count_tokens([sentence])[0])
    chunks = [f"{i} {chunk}" for i in range(args.chunks)]
    tokens = statistics.mean(embedder.tokenizer.count_tokens(chunks))
    embedder.embed_documents(chunks[:4])  # warm up
    started = time.perf_counter()
    embedder.embed_documents(chunks)
    elapsed = time.perf_counter() - started
    latencies = []
    for i in range(args.queries):
        started = time.perf_counter()
        embedder.embed_queries([f"how do cells control which genes are expressed {i}"])
        latencies.append(time.perf_counter() - started)
    rate = args.chunks / elapsed
    print(f"chunks: {args.chunks} of {tokens:.0f} tokens (budget {budget}) in {elapsed:.1f} s = {rate:.1f}/s")
    print(f"query: median {statistics.median(latencies) * 1000:.1f} ms over {args.queries}")


if __name__ == "__main__":
    main()
