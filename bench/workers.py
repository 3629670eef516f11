"""`semsearch serve --workers N` against one process: throughput, the CPU it costs and the cores left idle.

For each round and each worker count in turn (alternating, so that a machine's drift falls on all of them), a
fresh read-only server on 127.0.0.1 over a SciFact data directory, 8 clients of peer-txtai's load generator,
every request a different query with both caches off; reported per run: requests per second, p50, the CPU per
request of all the server's processes (/proc, the supervisor and its workers), the share of the machine's
cores nothing used meanwhile (/proc/stat), and each process's resident memory at the end. Medians per worker
count follow.

    .venv/bin/python bench/workers.py --data-dir /var/tmp/scifact-eval \\
        --queries path/to/scifact/queries.jsonl --loadgen path/to/peer-txtai/loadgen.py \\
        --model-cache /var/tmp/semsearch-models --workers 1 2 --rounds 3

A ``--workers`` entry may carry settings of its own: ``2:SEMSEARCH_ENCODE_THREADS=1`` is two workers with
one encoder thread each (several settings separated by commas).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from peer_comparison import free_port, load, serving  # noqa: E402
from request_path import cpu_seconds, machine_idle, processes  # noqa: E402


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass(frozen=True)
class Run:
    rps: float
    p50: float
    cpu_ms: float  # of all the server's processes, per request
    idle: float  # share of the machine's cores
    rss_mb: list[float]  # the supervisor's, then each worker's


def parse_variant(spec: str) -> tuple[int, dict[str, str]]:
    """``N`` or ``N:KEY=VALUE,KEY=VALUE``: a worker count and settings for that run."""
    count, _, settings = spec.partition(":")
    pairs = [item.partition("=") for item in settings.split(",") if item]
    return int(count), {key: value for key, _, value in pairs}


def run(args: argparse.Namespace, spec: str) -> Run:
    workers, extra = parse_variant(spec)
    port = free_port()
    env = {
        "SEMSEARCH_DATA_DIR": str(args.data_dir),
        "SEMSEARCH_READ_ONLY": "1",
        "SEMSEARCH_PORT": str(port),
        "SEMSEARCH_WORKERS": str(workers),
        "SEMSEARCH_MODEL_CACHE_DIR": str(args.model_cache),
        "SEMSEARCH_LOG_LEVEL": "warning",
        "SEMSEARCH_QUERY_CACHE_SIZE": "0",
        "SEMSEARCH_RESULT_CACHE_MB": "0",
        "HF_HUB_OFFLINE": "1",
        **extra,
    }
    url = f"http://127.0.0.1:{port}"
    with serving([str(ROOT / ".venv" / "bin" / "semsearch"), "serve"], env, url + "/readyz") as server:
        time.sleep(8)  # the replicas start once the writer is ready, then build their keyword index
        load(args.loadgen, url + "/search", args.queries, 2, 100, 20, "q")  # warm up
        cpu, idle = cpu_seconds(server.pid), machine_idle()
        got = load(args.loadgen, url + "/search", args.queries, 8, args.requests, args.seconds, "q")
        idle_after = machine_idle()
        used = cpu_seconds(server.pid) - cpu
        memory = [resident_mb(p) for p in processes(server.pid)]
    answered = max(int(got["requests"]), 1)
    return Run(
        rps=got["rps"],
        p50=got["p50_ms"],
        cpu_ms=used / answered * 1000,
        idle=(idle_after[0] - idle[0]) / max(idle_after[1] - idle[1], 1),
        rss_mb=memory,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--loadgen", type=Path, required=True, help="peer-txtai's loadgen.py")
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-models"))
    parser.add_argument("--workers", nargs="+", default=["1", "2"], help="N or N:KEY=VALUE,...")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--seconds", type=int, default=40)
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f}")
    runs: dict[str, list[Run]] = {}
    for round_ in range(args.rounds):
        for workers in args.workers:
            got = run(args, workers)
            runs.setdefault(workers, []).append(got)
            memory = " + ".join(f"{mb:.0f}" for mb in got.rss_mb)
            print(
                f"round {round_ + 1}, workers {workers}: {got.rps:.1f} req/s, p50 {got.p50:.1f} ms, "
                f"{got.cpu_ms:.2f} ms of CPU a request, {got.idle:.0%} idle, RSS {memory} MB",
                flush=True,
            )
    print(f"load after: {os.getloadavg()[0]:.2f}")
    print("| workers | req/s | p50 | server CPU a request | cores idle |")
    print("|---|---|---|---|---|")
    for workers, rows in runs.items():
        rps, p50, cpu, idle = (
            statistics.median(values)
            for values in zip(*((r.rps, r.p50, r.cpu_ms, r.idle) for r in rows), strict=True)
        )
        print(f"| {workers} | {rps:.1f} | {p50:.1f} ms | {cpu:.2f} ms | {idle:.0%} |")


if __name__ == "__main__":
    main()
