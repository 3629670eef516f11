"""What Python's garbage collector costs a loaded service, before and after ``gc.freeze()``.

In process: the configured model and a SciFact data directory opened as the service opens them (with the
service's modules imported), then the objects the collector tracks, how long a full collection over them
takes, and the collections and CPU of ``--searches`` uncached hybrid searches; then the same after
``gc.collect(); gc.freeze()``, which the service does once it is loaded (service.app); ``--rounds`` times,
alternating.

    .venv/bin/python bench/gc_pause.py --data-dir /var/tmp/scifact-eval \\
        --queries path/to/scifact/queries.jsonl --model-cache /var/tmp/semsearch-models
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from request_path import data_arguments, read_queries  # noqa: E402


def full_collection_ms(rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        gc.collect()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    data_arguments(parser)
    parser.add_argument("--searches", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import service.app  # noqa: F401  (the server's modules: their objects are the server's heap too)
    from index import SearchRequest
    from service import runtime
    from service.settings import Settings

    settings = Settings(
        data_dir=args.data_dir,
        read_only=True,
        query_cache_size=0,
        result_cache_mb=0,
        seed_demo=False,
        model_cache_dir=args.model_cache,
    )
    queries = read_queries(args.queries, args.searches + 50)
    index = runtime.open_index(settings)
    try:
        index.wait_for_keyword_index()
        for query in queries[:50]:  # warm up
            index.search_batch([SearchRequest(query, 10)])
        print(f"load before: {os.getloadavg()[0]:.2f}")
        for frozen in (False, True) * args.rounds:  # alternating: caches warm for both alike
            if frozen:
                gc.collect()
                gc.freeze()
            else:
                gc.unfreeze()
            tracked = len(gc.get_objects()) + gc.get_freeze_count()
            pause = full_collection_ms()
            before = [generation["collections"] for generation in gc.get_stats()]
            cpu = time.process_time()
            for query in queries[50:]:
                index.search_batch([SearchRequest(query, 10)])
            cpu_ms = (time.process_time() - cpu) / len(queries[50:]) * 1000
            collections = [g["collections"] - b for g, b in zip(gc.get_stats(), before, strict=True)]
            print(
                f"frozen={frozen}: {tracked} objects tracked ({gc.get_freeze_count()} frozen), "
                f"a full collection {pause:.2f} ms; "
                f"{len(queries[50:])} searches: collections by generation {collections}, "
                f"{cpu_ms:.2f} ms of CPU a search"
            )
    finally:
        gc.unfreeze()
        index.close()


if __name__ == "__main__":
    main()
