"""What a metadata filter costs a search: one tenant's documents of a hundred (1%), half of them (50%), and
none, on each search mode, over a copy of a SciFact data directory.

The copy's documents are given ``tenant`` (``t0`` to ``t99``, in turn) and ``half`` (true for every other
one) as metadata: written again with the same text, so nothing is embedded again. Each query's embedding is
cached first (the encoder's cost is the same with a filter or without: docs/benchmarks.md has it), then for
each round, each case in turn, every query is searched once in process; medians of the per-round medians.
Every hit of a filtered search is checked to satisfy its filter.

    .venv/bin/python bench/filtered_search.py --data-dir /var/tmp/scifact-eval \\
        --queries path/to/scifact/queries.jsonl --model-cache /var/tmp/semsearch-models
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from request_path import read_queries  # noqa: E402

FILTERS: dict[str, dict[str, Any] | None] = {
    "no filter": None,
    "half (50%)": {"field": "half", "eq": True},
    "one tenant of 100 (1%)": {"field": "tenant", "eq": "t7"},
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="a SciFact data directory (not changed)")
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-model-cache"))
    parser.add_argument("--count", type=int, default=300, help="queries per case and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from index import SearchRequest
    from index.errors import QueryTimeoutError
    from service import runtime
    from service.settings import Settings

    queries = read_queries(args.queries, args.count)
    copy = Path(tempfile.mkdtemp(prefix="semsearch-filtered-")) / "data"
    shutil.copytree(args.data_dir, copy, ignore=shutil.ignore_patterns("writer.lock"))
    settings = Settings(
        data_dir=copy,
        query_cache_size=len(queries),
        result_cache_mb=0,  # every search made, none answered from the cache of whole results
        seed_demo=False,
        model_cache_dir=args.model_cache,
    )
    index = runtime.open_index(settings)
    try:
        started = time.perf_counter()
        position = 0
        batches = list(index.export_documents(256))
        for batch in batches:
            tagged = []
            for document in batch:
                metadata = {**document.metadata, "tenant": f"t{position % 100}", "half": position % 2 == 0}
                tagged.append(dataclasses.replace(document, metadata=metadata))
                position += 1
            index.upsert(tagged)
        index.wait_for_keyword_index()
        print(
            f"load average before: {os.getloadavg()[0]:.2f}; {position:,} documents tagged in "
            f"{time.perf_counter() - started:.1f} s"
        )
        for query in queries:  # every embedding cached
            index.search_batch([SearchRequest(query, 10, mode="dense")])
        times: dict[tuple[str, str], list[float]] = {}
        hits: dict[tuple[str, str], list[int]] = {}
        timeouts: dict[tuple[str, str], int] = {}
        for _ in range(args.rounds):
            for mode in ("dense", "keyword", "hybrid"):
                for name, spec in FILTERS.items():
                    took = []
                    for query in queries:
                        begun = time.perf_counter()
                        try:
                            result = index.search_batch([SearchRequest(query, 10, mode=mode, filter=spec)])[0]
                        except QueryTimeoutError:  # past SEMSEARCH_FILTER_TIMEOUT_MS: a 503 over HTTP
                            took.append((time.perf_counter() - begun) * 1000)
                            timeouts[(mode, name)] = timeouts.get((mode, name), 0) + 1
                            continue
                        took.append((time.perf_counter() - begun) * 1000)
                        hits.setdefault((mode, name), []).append(len(result.hits))
                        if spec is not None:
                            wanted = spec["eq"]
                            assert all(hit.metadata[spec["field"]] == wanted for hit in result.hits), (
                                query,
                                spec,
                            )
                    times.setdefault((mode, name), []).append(statistics.median(took))
        print()
        print("| mode | filter | search p50 (embedding cached) | hits a query | past the filter time limit |")
        print("|---|---|---:|---:|---:|")
        for (mode, name), medians in times.items():
            found = hits.get((mode, name), [])
            average = f"{sum(found) / len(found):.1f}" if found else "-"
            late = timeouts.get((mode, name), 0)
            print(f"| {mode} | {name} | {statistics.median(medians):.2f} ms | {average} | {late} |")
    finally:
        index.close()
        shutil.rmtree(copy.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
