"""Where a server's CPU goes per request, and what the load generator itself costs: for each path, number of
clients and result cache size, a fresh read-only server on 127.0.0.1, 50 queries over and over with their
embeddings cached (or, with ``--distinct``, every request a different query and nothing cached), the CPU time
of the server's event loop thread and of all its threads read from /proc before and after the run, the load
generator's own CPU time (its process's rusage), and the share of the machine's cores that nothing used
meanwhile (/proc/stat).

    .venv/bin/python bench/server_cpu.py --data-dir /var/tmp/scifact-eval \\
        --queries path/to/scifact/queries.jsonl --loadgen path/to/peer-txtai/loadgen.py

The event loop's thread is the process's first (HTTP, middlewares, FastAPI, sending); the others are the
search slots' worker threads and the helpers they hand work to. ``--result-cache-mb 0 64`` measures without
and with whole results cached (``SEMSEARCH_RESULT_CACHE_MB``). Run on a quiet machine: the load generator
shares its cores with the server, which is the point of measuring it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from peer_comparison import repeated_queries  # noqa: E402
from request_path import under_load  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--loadgen", type=Path, required=True, help="peer-txtai's loadgen.py")
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-models"))
    parser.add_argument("--paths", nargs="+", default=["/search", "/healthz"])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--result-cache-mb", type=float, nargs="+", default=[0.0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument(
        "--distinct",
        action="store_true",
        help="every request a different query of --queries, no embedding cached (the uncached case)",
    )
    args = parser.parse_args()
    queries = args.queries if args.distinct else repeated_queries(args.queries)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(
        "| path | result cache | clients | req/s | event loop thread | other threads | server in all "
        "| load generator | cores idle |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for path in args.paths:
        for results_mb in args.result_cache_mb if path == "/search" else [0.0]:
            for clients in args.clients:
                m = under_load(
                    args.data_dir,
                    args.model_cache,
                    args.loadgen,
                    queries,
                    ROOT,
                    0 if args.distinct else 4096,
                    results_mb=results_mb,
                    path=path,
                    clients=clients,
                    requests=args.requests,
                    seconds=args.seconds,
                )
                cache = f"{results_mb:g} MB" if results_mb else "off"
                print(
                    f"| {path} | {cache} | {clients} | {m['rps']:.0f} "
                    f"| {m['loop_ms']:.2f} ms | {m['cpu_ms'] - m['loop_ms']:.2f} ms | {m['cpu_ms']:.2f} ms "
                    f"| {m['generator_ms']:.2f} ms | {m['idle']:.0%} |"
                )


if __name__ == "__main__":
    main()
