"""What highlighting a hit costs: the best sentence of stored chunks for real queries, each chunk seen for the
first time (the shared analysis emptied before every hit) and seen before (it kept), five rounds each.

    .venv/bin/python bench/highlight.py --data-dir /var/tmp/scifact-eval --queries path/to/queries.jsonl

The data directory is any indexed corpus (its chunks are read from the database). Run it on two checkouts
(``git worktree``) one after the other to compare; a checkout without the shared analysis measures the same
in both columns. Then the memory the kept analysis takes when full (tracemalloc): the corpus's own chunks,
and chunks of 3,000 characters (about the longest a chunk gets) made from them.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import time
import tracemalloc
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


def kept_mb(chunks: list[str]) -> float:
    """The memory the shared analysis of ``chunks`` (at most its bound) takes, in MB, the texts it is kept by
    included."""
    analysed = highlight._SENTENCES
    analysed.clear()
    highlighter = highlight.Highlighter("the effect of the treatment on patients")
    tracemalloc.start()
    for chunk in chunks[: highlight._SENTENCES_BOUND]:
        highlighter.best_span(chunk + " ", 0)  # a string made here, as a hit's text is: the key is kept too
    used = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    analysed.clear()
    return used / 2**20


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
    database = sqlite3.connect(f"file:{args.data_dir / 'semsearch.db'}?mode=ro", uri=True)
    bound = highlight._SENTENCES_BOUND
    corpus = [str(row[0]) for row in database.execute("SELECT text FROM chunks LIMIT ?", (bound,))]
    database.close()
    joined = " ".join(corpus)
    step = (len(joined) - 3000) // bound  # overlapping windows: each one a different text
    longest = [joined[i * step : i * step + 3000] for i in range(bound)]
    print("| chunks kept | average characters | memory |")
    print("|---|---|---|")
    for kept in (corpus, longest):
        average = sum(map(len, kept)) / len(kept)
        print(f"| {len(kept):,} | {average:,.0f} | {kept_mb(kept):.1f} MB |")


if __name__ == "__main__":
    main()
