"""Where a server's CPU goes per request, and what the load generator itself costs: for each path and number
of clients, a fresh read-only server on 127.0.0.1, every query cached (the first 50 queries, repeated), and
the CPU time of each of the server's threads read from /proc before and after the run, with the load
generator's own CPU time (its process's rusage).

    .venv/bin/python bench/server_cpu.py --data-dir /var/tmp/scifact-eval \\
        --queries path/to/scifact/queries.jsonl --loadgen path/to/peer-txtai/loadgen.py

The event loop's thread is the process's first (HTTP, middlewares, FastAPI, sending); the others are the
search slots' worker threads and the helpers they hand work to. Run on a quiet machine: the load generator
shares its cores with the server, which is the point of measuring it.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from peer_comparison import free_port, load, serving  # noqa: E402
from request_path import SERVE, server_env  # noqa: E402


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user and system) of each thread of ``pid``, by thread id."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended
            continue
        found[int(task.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(args: argparse.Namespace, path: str, clients: int, repeated: Path) -> dict[str, float]:
    port = free_port()
    env = server_env(args.data_dir, args.model_cache, port, ROOT, cache=4096)
    url = f"http://127.0.0.1:{port}"
    with serving(SERVE, env, url + "/readyz", cwd=ROOT) as server:
        time.sleep(5)  # the in-memory keyword index builds after start
        load(args.loadgen, url + path, repeated, 2, 100, 20, "q")  # warm up, fill the query cache
        before, generator = thread_cpu(server.pid), children_cpu()
        got = load(args.loadgen, url + path, repeated, clients, args.requests, args.seconds, "q")
        after, generator = thread_cpu(server.pid), children_cpu() - generator
    requests = max(int(got["requests"]), 1)
    used = {tid: seconds - before.get(tid, 0.0) for tid, seconds in after.items()}
    loop = used.get(server.pid, 0.0)
    others = sum(seconds for tid, seconds in used.items() if tid != server.pid)
    return {
        "rps": got["rps"],
        "loop": loop / requests * 1000,
        "others": others / requests * 1000,
        "generator": generator / requests * 1000,
    }


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
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=15)
    args = parser.parse_args()
    repeated = Path("/tmp/semsearch-bench-repeated.jsonl")
    repeated.write_text("".join(args.queries.open().readlines()[:50]))
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print("| path | clients | req/s | event loop thread | other threads | server in all | load generator |")
    print("|---|---|---|---|---|---|---|")
    for path in args.paths:
        for clients in args.clients:
            m = measure(args, path, clients, repeated)
            print(
                f"| {path} | {clients} | {m['rps']:.0f} | {m['loop']:.2f} ms | {m['others']:.2f} ms | "
                f"{m['loop'] + m['others']:.2f} ms | {m['generator']:.2f} ms |"
            )


if __name__ == "__main__":
    main()
