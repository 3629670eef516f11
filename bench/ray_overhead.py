"""Where a query's time goes on Ray Serve, on this machine: the cost of one call between deployments, the CPU
each Ray process spends per query under load, their memory, and 8-client throughput with Ray Serve's default
`max_ongoing_requests` (5) against semsearch's (32). One run, all in one process.

    semsearch reshard /var/tmp/scifact-eval /var/tmp/scifact-2shards --shards 2
    .venv/bin/python bench/ray_overhead.py --data-dir /var/tmp/scifact-2shards \
        --query-file path/to/scifact/queries.jsonl

Needs a sharded data directory (above: SciFact copied into 2 shards without embedding again). Ray runs locally
with 2 CPUs; every replica asks for a quarter CPU. Queries are SciFact train queries, dense, query cache off,
over HTTP on 127.0.0.1. CPU per query is read from /proc (user + system time of each process over the load,
divided by the queries answered); memory is each process's resident set after the load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import ray
from ray import serve

from service.ray_serve import build_application
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = 8


class Echo:
    def ping(self, value: int) -> int:
        return value


class Caller:
    """Times calls to another deployment from inside a replica, as the router calls the shards."""

    def __init__(self, echo: Any) -> None:
        self._echo = echo

    def time_calls(self, count: int) -> float:
        times = []
        for _ in range(count):
            started = time.perf_counter()
            self._echo.ping.remote(1).result()
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)


def process_table() -> dict[str, tuple[int, int, str]]:
    """``{pid: (cpu ticks, resident kB, command)}`` of every Ray process."""
    table = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ").strip()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        if "ray" not in command or int(pid) == os.getpid():  # Ray's processes, not this client
            continue
        rss = next((int(line.split()[1]) for line in status if line.startswith("VmRSS")), 0)
        table[pid] = (int(fields[11]) + int(fields[12]), rss, command[:60])
    return table


def wait_ready(base: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # the HTTP proxy is not listening yet
        time.sleep(0.5)
    raise RuntimeError(f"{base} did not become ready")


def load(base: str, queries: list[str]) -> float:
    """Queries per second with CLIENTS clients sending every query once."""
    clients = [httpx.Client(base_url=base, timeout=60) for _ in range(CLIENTS)]

    def ask(i: int) -> None:
        clients[i % CLIENTS].post("/search", json={"query": queries[i], "mode": "dense"}).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(ask, range(len(queries))))
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    return len(queries) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=Path("/var/tmp/scifact-2shards"))
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/scifact-eval/models"))
    parser.add_argument("--query-file", type=Path, required=True, help="queries.jsonl of the BEIR folder")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "ray_overhead.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    lines = args.query_file.read_text(encoding="utf-8").splitlines()[: args.queries]
    queries = [json.loads(line)["text"] for line in lines]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    results: dict[str, Any] = {}

    port = 8813
    serve.start(http_options={"host": "127.0.0.1", "port": port})  # before any app, or Serve takes :8000
    deployment = serve.deployment(ray_actor_options={"num_cpus": 0.25})
    caller = serve.run(deployment(Caller).bind(deployment(Echo).bind()), name="echo", route_prefix=None)
    results["call_ms_p50"] = caller.time_calls.remote(200).result()
    serve.delete("echo")

    base = f"http://127.0.0.1:{port}"
    settings = Settings(data_dir=args.data_dir, model_cache_dir=args.model_cache, query_cache_size=0)
    throughput = {}
    for limit in (5, 32):
        application = build_application(settings, cpus_per_replica=0.25, max_ongoing_requests=limit)
        serve.run(application, name="overhead", route_prefix="/")
        wait_ready(base)
        load(base, queries[:20])  # warm-up
        before = process_table()
        throughput[limit] = load(base, queries)
        after = process_table()
        if limit == 32:
            results["per_process"] = sorted(
                (
                    {
                        "process": command,
                        "cpu_ms_per_query": (ticks - before.get(pid, (0, 0, ""))[0])
                        * 1000
                        / os.sysconf("SC_CLK_TCK")
                        / len(queries),
                        "rss_mb": rss // 1024,
                    }
                    for pid, (ticks, rss, command) in after.items()
                ),
                key=lambda row: -row["cpu_ms_per_query"],
            )
        serve.delete("overhead")
    results["qps"] = throughput
    serve.shutdown()  # type: ignore[no-untyped-call]
    ray.shutdown()

    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"one call between two deployments: {results['call_ms_p50']:.1f} ms (median of 200)")
    print(f"{CLIENTS}-client throughput, max_ongoing_requests 5: {throughput[5]:.1f} req/s")
    print(f"{CLIENTS}-client throughput, max_ongoing_requests 32: {throughput[32]:.1f} req/s")
    print("\n| process | CPU ms per query | resident MB |\n|---|---|---|")
    total = 0.0
    for row in results["per_process"]:
        total += row["cpu_ms_per_query"]
        if row["cpu_ms_per_query"] >= 0.5 or row["rss_mb"] >= 100:
            print(f"| {row['process']} | {row['cpu_ms_per_query']:.1f} | {row['rss_mb']} |")
    print(f"| all Ray processes | {total:.1f} | |")


if __name__ == "__main__":
    main()
