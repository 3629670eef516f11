"""What a deep page of hits costs: a search's latency and response size by k, chunks and documents, what
deep searches running alongside do to an ordinary one (k=10), and what diverse hits cost (maximal marginal
relevance over pools of 30 to 1,000 hits).

A fresh read-only server on 127.0.0.1 over a data directory (SciFact, say), whole results not cached and the
queries' embeddings cached first, so that what is measured is finding, ranking and sending the hits:

    .venv/bin/python bench/deep_pages.py --data-dir /var/tmp/scifact-eval \\
        --queries path/to/scifact/queries.jsonl --model-cache /var/tmp/semsearch-models

Then k=10 searches, one at a time, while 0, 1 and 3 clients send the deepest search the default limits take
(k=1,000 from offset 1,000, grouped by document, 10,000 candidates a side) back to back.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from peer_comparison import read_only_server, serving  # noqa: E402

DEEPEST = {"k": 1000, "offset": 1000, "group_by": "document", "candidates": 10_000}
# (k, diversity, diversity_pool): the plain search, then diverse ones over the default pool and larger ones.
DIVERSE = [(10, 0.0, None), (10, 0.5, None), (10, 0.5, 100), (10, 0.5, 1000), (100, 0.5, None)]


def timed(client: httpx.Client, url: str, body: dict[str, Any]) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.post(url, json=body)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{body}: {response.status_code} {response.text[:300]}")
    return elapsed, response


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-models"))
    parser.add_argument("--count", type=int, default=15, help="searches per row")
    parser.add_argument("--k", type=int, nargs="+", default=[10, 100, 1000])
    args = parser.parse_args()

    queries = [json.loads(line)["text"] for line in args.queries.open() if line.strip()][
        : max(args.count, 30)
    ]
    base, command, env = read_only_server(args.data_dir, args.model_cache)
    with serving(command, env, base + "/readyz"):
        url = base + "/search"
        with httpx.Client(timeout=120) as client:
            for query in queries:  # the embeddings into the query cache
                timed(client, url, {"query": query, "k": 10})
            print("| group_by | k | p50 | search | rank | response |")
            print("|---|---|---|---|---|---|")
            for group_by in ("chunk", "document"):
                for k in args.k:
                    runs = [
                        timed(client, url, {"query": q, "k": k, "group_by": group_by})
                        for q in queries[: args.count]
                    ]
                    timings = [r.json()["timings"] for _, r in runs]
                    print(
                        f"| {group_by} | {k:,} | {statistics.median(t for t, _ in runs):.1f} ms "
                        f"| {statistics.median(t['search_ms'] for t in timings):.1f} ms "
                        f"| {statistics.median(t['rank_ms'] for t in timings):.1f} ms "
                        f"| {statistics.median(len(r.content) for _, r in runs) / 1000:,.0f} KB |"
                    )
            print()
            print("| k | diversity | pool | p50 | rank |")
            print("|---|---|---|---|---|")
            for k, diversity, pool in DIVERSE:
                body: dict[str, Any] = {"k": k, "diversity": diversity}
                if pool is not None:
                    body["diversity_pool"] = pool
                runs = [timed(client, url, {"query": q, **body}) for q in queries[: args.count]]
                shown = "default" if pool is None else f"{pool:,}"
                print(
                    f"| {k} | {diversity} | {shown} | {statistics.median(t for t, _ in runs):.1f} ms "
                    f"| {statistics.median(r.json()['timings']['rank_ms'] for _, r in runs):.1f} ms |"
                )
            print()
            print("| deep searches alongside | k=10 p50 | k=10 p90 |")
            print("|---|---|---|")
            for deep in (0, 1, 3):
                stop = threading.Event()

                def send_deep(stop: threading.Event = stop) -> None:
                    with httpx.Client(timeout=120) as own:
                        while not stop.is_set():
                            timed(own, url, {"query": queries[0], **DEEPEST})

                threads = [threading.Thread(target=send_deep) for _ in range(deep)]
                for thread in threads:
                    thread.start()
                time.sleep(0.5 if deep else 0)
                small = sorted(timed(client, url, {"query": q, "k": 10})[0] for q in queries)
                stop.set()
                for thread in threads:
                    thread.join()
                p90 = small[int(0.9 * len(small)) - 1]
                print(f"| {deep} | {statistics.median(small):.1f} ms | {p90:.1f} ms |")


if __name__ == "__main__":
    main()
