"""What a pause between queries costs the encoder: one query at a time, back to back, after a 5 ms sleep, and
after 5 ms of other work (a NumPy reduction over 21 MB, about a flat index's size), on 1 and on 2 threads,
with the encoder as the service builds it (ONNX Runtime, the service's session options).

    .venv/bin/python bench/encoder_idle.py path/to/scifact/queries.jsonl --model-cache DIR

A lone request to a server arrives after such a pause; a tight loop in process never has one. Medians over
the queries, after 20 to warm up, two rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index import load_embedder


def median_ms(
    embed: Callable[[list[str]], object], queries: list[str], before: Callable[[], object]
) -> float:
    times = []
    for query in queries:
        before()
        started = time.perf_counter()
        embed([query])
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[20:])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("queries", type=Path)
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-models"))
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    with args.queries.open(encoding="utf-8") as lines:
        queries = [json.loads(line)["text"] for line, _ in zip(lines, range(args.count), strict=False)]
    other = np.random.default_rng(0).random((14_000, 384), dtype=np.float32)

    def sleep_then_work() -> None:
        time.sleep(0.005)
        other.sum()

    pauses: dict[str, Callable[[], object]] = {
        "back to back": lambda: None,
        "after a 5 ms sleep": lambda: time.sleep(0.005),
        "after 5 ms sleep and other work": sleep_then_work,
    }
    print("| threads | " + " | ".join(pauses) + " |")
    print("|---|" + "---|" * len(pauses))
    for threads in (1, 2):
        embedder = load_embedder(cache_dir=args.model_cache, threads=threads)
        rounds = [
            [median_ms(embedder.embed_queries, queries, pause) for pause in pauses.values()] for _ in (1, 2)
        ]
        cells = [
            f"{min(r[i] for r in rounds):.2f}-{max(r[i] for r in rounds):.2f} ms" for i in range(len(pauses))
        ]
        print(f"| {threads} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
