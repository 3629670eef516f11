"""What highlighting a hit costs: the best sentence of stored chunks for real queries, each chunk seen for the
first time (the shared analysis emptied before every hit) and seen before (it kept), five rounds each.

    .venv/bin/python bench/highlight.py --data-dir /var/tmp/scifact-eval --queries path/to/queries.jsonl

The data directory is any indexed corpus (its chunks are read from the database). Run it on two checkouts
(``git worktree``) one after the other to compare; a checkout without the shared analysis measures the same
in both columns.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import time
from pathlib import Path

import index.retrieval.highlight as highlight


def per_hit_us(queries: list[str], chunks: list[str], *, first_time: bool) -> float:
    analysed: dict[str, object] = getattr(highlight, "_SENTENCES", {})
    started, hits = time.perf_counter(), 0
    for query in queries:
        highlighter = highlight.Highlighter(query)  # one per search, as ranking makes it
        for chunk in chunks:
            if first_time:
                analysed.clear()
            highlighter.best_span(chunk, 0)
            hits += 1
    return (time.perf_counter() - started) / hits * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--count", type=int, default=50, help="queries")
    parser.add_argument("--chunks", type=int, default=100, help="chunks highlighted per query")
    args = parser.parse_args()
    with args.queries.open() as lines:
        queries = [json.loads(line)["text"] for line in lines if line.strip()][: args.count]
    database = sqlite3.connect(f"file:{args.data_dir / 'semsearch.db'}?mode=ro", uri=True)
    chunks = [str(row[0]) for row in database.execute("SELECT text FROM chunks LIMIT ?", (args.chunks,))]
    database.close()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print("| chunk | median us per hit | best of 5 |")
    print("|---|---|---|")
    for label, first_time in (("seen for the first time", True), ("seen before", False)):
        rounds = [per_hit_us(queries, chunks, first_time=first_time) for _ in range(5)]
        print(f"| {label} | {statistics.median(rounds):.1f} | {min(rounds):.1f} |")


if __name__ == "__main__":
    main()
