"""The in-memory keyword index alone: its search for real queries over an indexed corpus, median of five
passes, and a digest of every result (two checkouts that score alike print the same digest).

    .venv/bin/python bench/keyword_memory.py --data-dir /var/tmp/scifact-eval --queries path/to/queries.jsonl

To compare two checkouts, run it with ``PYTHONPATH`` set to each in turn (alternate them a few times: the
machine is noisy).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import statistics
import time
from pathlib import Path

from index.storage.bm25 import MemoryKeywordIndex
from index.storage.keyword import query_terms


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--count", type=int, default=400)
    args = parser.parse_args()
    database = sqlite3.connect(f"file:{args.data_dir / 'semsearch.db'}?mode=ro", uri=True)
    rows = [
        (int(chunk), title, str(text))
        for chunk, title, text in database.execute(
            "SELECT c.id, d.title, c.text FROM chunks c JOIN documents d ON d.id = c.doc_id"
        )
    ]
    database.close()
    memory = MemoryKeywordIndex()
    for first in range(0, len(rows), 2000):
        memory.add(rows[first : first + 2000])
    with args.queries.open() as lines:
        queries = [query_terms(json.loads(line)["text"]) for line in lines if line.strip()][: args.count]
    passes, results = [], []
    for _ in range(5):
        started = time.perf_counter()
        results = [memory.search(terms, 100, title_weight=1.0) for terms in queries]
        passes.append((time.perf_counter() - started) / len(queries) * 1000)
    digest = hashlib.sha256(repr(results).encode()).hexdigest()[:16]
    print(
        f"load {os.getloadavg()[0]:.2f}, {len(rows)} chunks, {len(queries)} queries: "
        f"median {statistics.median(passes):.3f} ms per query, best {min(passes):.3f}; results {digest}"
    )


if __name__ == "__main__":
    main()
