"""How to spend two cores on query encoding: the measurements behind BatchingEmbedder and OnnxEmbedder.

    .venv/bin/python bench/query_encoding.py --model-cache /var/tmp/semsearch-model-cache \
        --queries path/to/scifact/queries.jsonl

With SciFact queries (about 19 tokens): one query at a time on 1 and on 2 threads; batches of 8 and 64 (cost
per query); and the throughput of 2 concurrent callers on semsearch's embedder (a lone call on 2 threads, an
overlapping one on a 1-thread session) against 2 callers on 1-thread sessions only.

``--grid`` measures instead what one model call costs on one thread (CPU time, median of 3 rounds) by batch
size and sequence length, with every token real (no padding; texts packed into rows as the encoder packs
them): the fixed cost of a call against the cost of a token, which is what batching queries together saves.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from pathlib import Path

import numpy as np

from index.encoders.onnx_encoder import OnnxEmbedder
from index.encoders.packing import pack, row_width

ROOT = Path(__file__).resolve().parents[1]


def throughput(embedders: list[OnnxEmbedder], callers: int, queries: list[str]) -> float:
    pending = iter(queries)
    lock = threading.Lock()

    def work(embedder: OnnxEmbedder) -> None:
        while True:
            with lock:
                query = next(pending, None)
            if query is None:
                return
            embedder.embed_queries([query])

    threads = [threading.Thread(target=work, args=(embedders[i % len(embedders)],)) for i in range(callers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(queries) / (time.perf_counter() - started)


def call_cost_grid(model_cache: Path) -> None:
    """CPU time of one model call on a 1-thread session, by batch size and tokens per text."""
    embedder = OnnxEmbedder("all-MiniLM-L6-v2", model_cache, threads=1)
    run, names = embedder._narrow, embedder._info.input_names  # the raw model call
    rng = np.random.default_rng(0)
    sizes = (1, 2, 4, 8)
    print("| tokens per text | " + " | ".join(f"batch of {b}" for b in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for length in (8, 16, 24, 32, 48, 64):
        cells = []
        for size in sizes:
            token_ids = rng.integers(1000, 20000, (size, length), dtype=np.int64)
            feeds = {
                "input_ids": token_ids,
                "attention_mask": np.ones((size, length), np.int64),
                "token_type_ids": np.zeros((size, length), np.int64),
            }
            if embedder._info.pooling is not None:  # a packed graph: the texts laid out as the encoder does
                texts = token_ids.tolist()
                feeds = pack(texts, row_width(texts, embedder._info.max_seq_length), pad_id=0).feeds
            inputs = {name: feeds[name] for name in names}
            for _ in range(3):
                run(inputs)
            repeats, rounds = max(5, 200 // size), []
            for _ in range(3):
                started = time.process_time()
                for _ in range(repeats):
                    run(inputs)
                rounds.append((time.process_time() - started) / repeats * 1000)
            per_call = statistics.median(rounds)
            cells.append(f"{per_call:.2f} ms ({per_call / (size * length) * 1000:.0f} µs a token)")
        print(f"| {length} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-model-cache"))
    parser.add_argument("--queries", type=Path, help="queries.jsonl of a BEIR folder")
    parser.add_argument("--grid", action="store_true", help="the cost of one model call, by shape")
    args = parser.parse_args()
    if args.grid:
        call_cost_grid(args.model_cache)
        return
    if args.queries is None:
        parser.error("--queries is required (unless --grid)")
    queries = [json.loads(line)["text"] for line in args.queries.read_text().splitlines() if line.strip()]
    model = "all-MiniLM-L6-v2"
    for threads in (1, 2):
        embedder = OnnxEmbedder(model, args.model_cache, threads=threads)
        embedder.embed_queries(queries[:10])
        latencies = []
        for query in queries[20:220]:
            started = time.perf_counter()
            embedder.embed_queries([query])
            latencies.append((time.perf_counter() - started) * 1000)
        print(f"{threads} thread(s): one query {statistics.median(latencies):.1f} ms (median of 200)")
        for size in (8, 64):
            started = time.perf_counter()
            embedder.embed_queries(queries[:size])
            print(f"  batch of {size}: {(time.perf_counter() - started) * 1000 / size:.1f} ms per query")
    wide = OnnxEmbedder(model, args.model_cache, threads=2)
    narrow = [OnnxEmbedder(model, args.model_cache, threads=1) for _ in range(2)]
    sample = queries[:400]
    print(f"2 callers, semsearch's embedder (threads=2): {throughput([wide], 2, sample):.0f} queries/s")
    print(f"2 callers, 1-thread sessions only: {throughput(narrow, 2, sample):.0f} queries/s")
    print(f"1 caller, semsearch's embedder (threads=2): {throughput([wide], 1, sample):.0f} queries/s")


if __name__ == "__main__":
    main()
