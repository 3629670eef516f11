"""What the result cache really holds against its estimate (``index.retrieval.result_cache.result_size``), so
that ``SEMSEARCH_RESULT_CACHE_MB`` means what it says: SciFact queries searched with every result kept (k 10
and 20, by chunk and by document), then the cache dropped and the memory it freed measured (tracemalloc).

    .venv/bin/python bench/result_cache_memory.py --data-dir /var/tmp/scifact-eval \\
        --queries path/to/scifact/queries.jsonl --model-cache /var/tmp/semsearch-models

The data directory must hold a corpus indexed with the default model. Prints the bytes freed, the estimate
and their ratio (1.0: the estimate is exact; above 1: the cache holds more than it counts).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from request_path import data_arguments, read_queries  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    data_arguments(parser)
    parser.add_argument("--count", type=int, default=400, help="queries, each searched four ways")
    args = parser.parse_args()
    os.environ.setdefault("SEMSEARCH_MODEL_CACHE_DIR", str(args.model_cache))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from index.retrieval.result_cache import ResultCache
    from service import runtime
    from service.settings import Settings

    queries = read_queries(args.queries, args.count)
    index = runtime.open_index(Settings(data_dir=args.data_dir, read_only=True, seed_demo=False))
    try:
        index.wait_for_keyword_index()
        for query in queries:  # embeddings cached, and the other caches warm, before measuring
            for group_by in ("chunk", "document"):
                index.search(query, k=20, group_by=group_by)
        for group_by in ("chunk", "document"):
            index.result_cache = cache = ResultCache(1 << 40)
            tracemalloc.start()  # what the fill allocates is traced, and so is what dropping the cache frees
            for k in (10, 20):
                for query in queries:
                    index.search(query, k=k, group_by=group_by)
            gc.collect()
            held, estimate, kept = tracemalloc.get_traced_memory()[0], cache.bytes, len(cache)
            index.result_cache = None
            del cache
            gc.collect()
            freed = held - tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            print(
                f"group_by={group_by}: {kept} results, dropping them freed {freed / 2**20:.1f} MB, "
                f"estimated {estimate / 2**20:.1f} MB, ratio {freed / estimate:.2f}"
            )
    finally:
        index.close()


if __name__ == "__main__":
    main()
