"""Ray on one machine: ingest throughput with 1 and 2 Ray Data workers against the single-machine path, and
query latency of the sharded Ray Serve application (1 and 2 shards) against the plain `semsearch serve`, all
in one run on the same SciFact documents.

    .venv/bin/python bench/ray_scaling.py path/to/scifact --documents 300 --queries 200

Ingest: the first --documents SciFact abstracts, indexed (1) the single-machine way (`SearchIndex.upsert`
per group of 64, the encoder on both cores), (2) with `ray_index` and 1 encoder worker, (3) with 2 workers,
(4) with 2 workers into 2 shards, each --repeats times, round-robin, the median shown. Ray runs on a local
Ray started with 2 CPUs; its start-up is not timed, the workers' model loading is (it is part of every
distributed ingest).

Queries: SciFact train queries over those documents, dense mode, query cache off, each through HTTP on
127.0.0.1: sequential requests (latency) and 8 concurrent clients (throughput), against (a) `semsearch serve`
on the unsharded directory, (b) Ray Serve over 1 shard, (c) Ray Serve over 2 shards. Prints Markdown tables
and writes JSON to bench-results/ray_scaling.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from index import Document, SearchIndex
from index.distributed.ray_ingest import EmbedderSpec, RayIngestOptions, ray_index
from index.distributed.sharding import create_layout
from index.ingest.preparation import batches
from index.storage.layout import SHARDS_FILE

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from peer_comparison import free_port  # noqa: E402


def wait_ready(base: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{base} did not become ready")


def measure_queries(base: str, queries: list[str], concurrency: int) -> dict[str, float]:
    def ask(client: httpx.Client, query: str) -> float:
        started = time.perf_counter()
        response = client.post("/search", json={"query": query, "k": 10, "mode": "dense"})
        response.raise_for_status()
        return (time.perf_counter() - started) * 1000

    with httpx.Client(base_url=base, timeout=60) as client:
        for query in queries[:20]:  # warm-up
            ask(client, query)
        sequential = [ask(client, q) for q in queries]
    with ThreadPoolExecutor(concurrency) as pool:
        clients = [httpx.Client(base_url=base, timeout=60) for _ in range(concurrency)]
        started = time.perf_counter()
        list(
            pool.map(lambda i: ask(clients[i % concurrency], queries[i % len(queries)]), range(len(queries)))
        )
        elapsed = time.perf_counter() - started
        for client in clients:
            client.close()
    ordered = sorted(sequential)
    return {
        "p50_ms": statistics.median(sequential),
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))],
        f"c{concurrency}_qps": len(queries) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", type=Path, help="a BEIR folder (SciFact): corpus.jsonl, queries.jsonl")
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3, help="Ingest runs per path (the median is shown).")
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-model-cache"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "ray_scaling.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import ray
    from ray import serve

    lines = (args.dataset / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[: args.documents]
    documents = [Document(str(r["_id"]), r["text"], r.get("title") or None) for r in map(json.loads, lines)]
    query_lines = (args.dataset / "queries.jsonl").read_text(encoding="utf-8").splitlines()[: args.queries]
    queries = [json.loads(line)["text"] for line in query_lines]
    spec = EmbedderSpec("all-MiniLM-L6-v2", "onnx", args.model_cache, 32, 1)
    spec.load()  # export the model once, outside every timing
    results: dict[str, Any] = {"documents": len(documents), "queries": len(queries), "cpus": os.cpu_count()}

    with tempfile.TemporaryDirectory(prefix="ray-bench-") as scratch:
        root = Path(scratch)
        timings: dict[str, list[float]] = {}
        chunks = 0

        def single_machine(target: Path) -> None:
            nonlocal chunks
            with SearchIndex.open(target, dataclasses.replace(spec, threads=None).load()) as index:
                for group in batches(documents, 64):
                    index.upsert(group)
                chunks = index.stats().chunks

        def on_ray(workers: int, shards: int | None) -> Callable[[Path], object]:
            options = RayIngestOptions("auto", workers, 1.0, 64)
            return lambda target: ray_index(documents, target, spec, options, shards=shards)

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        runs: list[tuple[str, Callable[[Path], object]]] = [
            ("single machine (2 threads)", single_machine),
            ("Ray, 1 worker", on_ray(1, None)),
            ("Ray, 2 workers", on_ray(2, None)),
            ("Ray, 2 workers, 2 shards", on_ray(2, 2)),
        ]
        # Round-robin repeats, so that a noisy minute on this shared machine hits every path alike.
        for repeat in range(args.repeats):
            for number, (name, run) in enumerate(runs):
                target = root / f"ingest-{number}-{repeat}"
                started = time.perf_counter()
                run(target)
                timings.setdefault(name, []).append(time.perf_counter() - started)
                print(name, round(timings[name][-1], 1), flush=True)
        ingest = {
            name: _rate(statistics.median(times), len(documents), chunks) for name, times in timings.items()
        }
        for name, times in timings.items():
            ingest[name]["runs"] = times
        results["ingest"] = ingest

        # A 1-shard layout around a copy of the unsharded Ray-built directory.
        one = root / "one-shard"
        create_layout(one, 1)
        shutil.copytree(root / "ingest-2-0", one / "shard-0000")
        two = root / "ingest-3-0"
        assert (two / SHARDS_FILE).exists()

        latency: dict[str, dict[str, float]] = {}
        port = free_port()
        env = {
            **os.environ,
            "SEMSEARCH_QUERY_CACHE_SIZE": "0",
            "SEMSEARCH_RESULT_CACHE_MB": "0",
            "SEMSEARCH_MODEL_CACHE_DIR": str(args.model_cache),
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "service",
                "serve",
                "--data-dir",
                str(root / "ingest-0-0"),
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}")
            latency["semsearch serve (one process)"] = measure_queries(f"http://127.0.0.1:{port}", queries, 8)
        finally:
            server.terminate()
            server.wait(30)
        print(latency, flush=True)

        from service.ray_serve import build_application
        from service.settings import Settings

        port = free_port()
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        for name, data_dir in (("Ray Serve, 1 shard", one), ("Ray Serve, 2 shards", two)):
            settings = Settings(data_dir=data_dir, model_cache_dir=args.model_cache, query_cache_size=0)
            serve.run(build_application(settings, cpus_per_replica=0.25), name="bench", route_prefix="/")
            wait_ready(f"http://127.0.0.1:{port}")
            latency[name] = measure_queries(f"http://127.0.0.1:{port}", queries, 8)
            serve.delete("bench")
            print(name, latency[name], flush=True)
        results["latency"] = latency
        serve.shutdown()  # type: ignore[no-untyped-call]
        ray.shutdown()

    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{len(documents)} documents, {chunks} chunks\n")
    print(f"ingest: median of {args.repeats} runs each, round-robin")
    print("| ingest | seconds | documents/s | chunks/s | vs single machine |")
    print("|---|---|---|---|---|")
    base = ingest["single machine (2 threads)"]["seconds"]
    for name, row in ingest.items():
        print(
            f"| {name} | {row['seconds']:.1f} | {row['documents_per_s']:.1f} | {row['chunks_per_s']:.1f} "
            f"| {base / row['seconds']:.2f}x |"
        )
    print("\n| dense query over HTTP | p50 ms | p95 ms | req/s at 8 clients |")
    print("|---|---|---|---|")
    for name, row in latency.items():
        print(f"| {name} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['c8_qps']:.1f} |")


def _rate(seconds: float, documents: int, chunks: int) -> dict[str, Any]:
    return {"seconds": seconds, "documents_per_s": documents / seconds, "chunks_per_s": chunks / seconds}


if __name__ == "__main__":
    main()
