"""Where a lone search's time goes: the same queries in-process (the index's own phase timings) and over HTTP
to a running `semsearch serve` (the client's time against the server's ``took_ms`` and ``timings``), one
after the other in one run, every query different and the query cache off.

    .venv/bin/python bench/request_path.py --data-dir /var/tmp/scifact-eval \\
        --queries path/to/scifact/queries.jsonl --model-cache /var/tmp/semsearch-models

Prints medians per phase: encode, candidates (search), rank, the rest of the index call, and over HTTP what
lies around the index call (routing, validation, serialisation, the connection). ``--mode`` picks the
search mode (default hybrid). The data directory must hold a corpus indexed with the default model.

``--against PATH`` measures the server of another checkout too (a ``git worktree`` of the commit before a
change, say), over HTTP, alternating with this one for ``--rounds`` rounds: a before-and-after in one run.
``--against-env KEY=VALUE`` gives that server a setting of its own (``--against .`` then compares a setting).
With ``--loadgen`` (peer-txtai's load generator) each round also drives each server with 8 clients: every
query different (no caches), then 50 queries over and over with their embeddings cached, then the same with
whole results cached too; it reports requests per second and the server's CPU time per request (from /proc:
all its threads).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import statistics
import sys
import time
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from index.types import SearchMode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from peer_comparison import env_settings, free_port, load, repeated_queries, serving  # noqa: E402


def read_queries(path: Path, count: int) -> list[str]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line)["text"] for line, _ in zip(lines, range(count), strict=False)]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def in_process(data_dir: Path, queries: list[str], mode: SearchMode, warm: int) -> dict[str, float]:
    from index import SearchRequest
    from service import runtime
    from service.settings import Settings

    settings = Settings(data_dir=data_dir, read_only=True, query_cache_size=0, seed_demo=False)
    index = runtime.open_index(settings)
    try:
        index.wait_for_keyword_index()
        for query in queries[:warm]:
            index.search_batch([SearchRequest(query, 10, mode=mode)])
        phases: dict[str, list[float]] = {"total": [], "encode": [], "search": [], "rank": [], "cpu": []}
        for query in queries[warm:]:
            cpu, wall = time.thread_time(), time.perf_counter()
            result = index.search_batch([SearchRequest(query, 10, mode=mode)])[0]
            phases["cpu"].append((time.thread_time() - cpu) * 1000)
            phases["total"].append((time.perf_counter() - wall) * 1000)
            phases["encode"].append(result.timings.encode_ms)
            phases["search"].append(result.timings.search_ms)
            phases["rank"].append(result.timings.rank_ms)
        return {name: median(values) for name, values in phases.items()}
    finally:
        index.close()


def server_env(
    data_dir: Path,
    model_cache: Path,
    port: int,
    tree: Path,
    cache: int = 0,
    extra: dict[str, str] | None = None,
    results_mb: float = 0,
) -> dict[str, str]:
    """A read-only server of ``tree`` on ``port``, with ``cache`` query embeddings cached and ``results_mb``
    of whole results (both off by default: every search does all its work)."""
    return {
        **(extra or {}),
        "PYTHONPATH": str(tree),  # the checkout's code, with this one's virtual environment
        "SEMSEARCH_DATA_DIR": str(data_dir),
        "SEMSEARCH_READ_ONLY": "1",
        "SEMSEARCH_PORT": str(port),
        "SEMSEARCH_MODEL_CACHE_DIR": str(model_cache),
        "SEMSEARCH_LOG_LEVEL": "warning",
        "SEMSEARCH_QUERY_CACHE_SIZE": str(cache),
        "SEMSEARCH_RESULT_CACHE_MB": str(results_mb),
        "HF_HUB_OFFLINE": "1",
    }


SERVE = [str(ROOT / ".venv" / "bin" / "python"), "-m", "service", "serve"]


def stat_cpu(stat: Path) -> float:
    """User and system CPU seconds from a /proc ``stat`` file (a process's, or one thread's)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processes(pid: int) -> list[int]:
    """The server's process and its children (the workers of `semsearch serve`)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *map(int, children)]


def cpu_seconds(pid: int) -> float:
    """CPU time of the server ``pid`` and its worker processes, all their threads (ended ones too)."""
    return sum(stat_cpu(Path(f"/proc/{p}/stat")) for p in processes(pid))


def loop_cpu_seconds(pid: int) -> float:
    """CPU time of the first thread of the server ``pid`` and of each worker: their event loops (the
    supervisor's first thread only waits)."""
    return sum(stat_cpu(Path(f"/proc/{p}/task/{p}/stat")) for p in processes(pid))


def machine_idle() -> tuple[int, int]:
    """The machine's idle and total CPU time so far, in clock ticks (/proc/stat): over a run, the share of
    the cores nothing used."""
    ticks = [int(field) for field in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return ticks[3] + ticks[4], sum(ticks)  # idle and iowait, of all


def children_cpu() -> float:
    """CPU time of this process's ended children (each run of the load generator)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def under_load(
    data_dir: Path,
    model_cache: Path,
    loadgen: Path,
    queries: Path,
    tree: Path,
    cache: int,
    extra: dict[str, str] | None = None,
    *,
    results_mb: float = 0,
    path: str = "/search",
    clients: int = 8,
    requests: int = 1000,
    seconds: int = 30,
) -> dict[str, float]:
    """``clients`` clients against ``path`` of the server of ``tree``: requests per second, p50, and CPU per
    request of the server (``cpu_ms``), of its event loop's thread alone (``loop_ms``) and of the load
    generator (``generator_ms``), and the share of the machine's cores left idle meanwhile (``idle``)."""
    port = free_port()
    env = server_env(data_dir, model_cache, port, tree, cache, extra, results_mb)
    url = f"http://127.0.0.1:{port}"
    with serving(SERVE, env, url + "/readyz", cwd=tree) as server:
        time.sleep(5)  # the in-memory keyword index builds after start
        load(loadgen, url + path, queries, 2, 100, 20, "q")  # warm up (and fill the caches)
        before, loop, generator = cpu_seconds(server.pid), loop_cpu_seconds(server.pid), children_cpu()
        idle_before = machine_idle()
        got = load(loadgen, url + path, queries, clients, requests, seconds, "q")
        idle_after = machine_idle()
        used, loop = cpu_seconds(server.pid) - before, loop_cpu_seconds(server.pid) - loop
        generator = children_cpu() - generator
    answered = max(int(got["requests"]), 1)
    return {
        "rps": got["rps"],
        "p50": got["p50_ms"],
        "cpu_ms": used / answered * 1000,
        "loop_ms": loop / answered * 1000,
        "generator_ms": generator / answered * 1000,
        "idle": (idle_after[0] - idle_before[0]) / max(idle_after[1] - idle_before[1], 1),
    }


def over_http(
    data_dir: Path,
    model_cache: Path,
    queries: list[str],
    mode: str,
    warm: int,
    tree: Path = ROOT,
    extra: dict[str, str] | None = None,
) -> dict[str, float]:
    port = free_port()
    env = server_env(data_dir, model_cache, port, tree, extra=extra)
    phases: dict[str, list[float]] = {
        "client": [],
        "took": [],
        "encode": [],
        "search": [],
        "rank": [],
        "healthz": [],
    }
    with serving(SERVE, env, f"http://127.0.0.1:{port}/readyz", cwd=tree):  # -m imports from the cwd
        time.sleep(5)  # the in-memory keyword index builds after start
        connection = http.client.HTTPConnection("127.0.0.1", port)
        for n, query in enumerate(queries):
            path = "/search?" + urllib.parse.urlencode({"q": query, "mode": mode})
            started = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            body: dict[str, Any] = json.loads(response.read())
            elapsed = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            health = (time.perf_counter() - started) * 1000
            if response.status != 200:
                raise RuntimeError(f"{response.status}: {body}")
            if n < warm:
                continue
            phases["client"].append(elapsed)
            phases["healthz"].append(health)
            phases["took"].append(body["took_ms"])
            for name in ("encode", "search", "rank"):
                phases[name].append(body["timings"][f"{name}_ms"])
        connection.close()
    return {name: median(values) for name, values in phases.items()}


def data_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of a benchmark over an indexed SciFact data directory: the directory, the queries
    file, where the model's export is kept."""
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-models"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    data_arguments(parser)
    parser.add_argument("--mode", default="hybrid", choices=["dense", "keyword", "hybrid"])
    parser.add_argument("--count", type=int, default=400, help="queries measured, after --warm more")
    parser.add_argument("--warm", type=int, default=50)
    parser.add_argument("--against", type=Path, help="another checkout, measured over HTTP in turn")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each, with --against")
    parser.add_argument("--loadgen", type=Path, help="peer-txtai's loadgen.py: 8-client runs too")
    parser.add_argument(
        "--against-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for the --against server only (repeatable): --against . --against-env "
        "SEMSEARCH_SEARCH_CONCURRENCY=40 compares a setting on this checkout",
    )
    args = parser.parse_args()
    os.environ.setdefault("SEMSEARCH_MODEL_CACHE_DIR", str(args.model_cache))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    queries = read_queries(args.queries, args.count + args.warm)
    if args.against is not None:
        compare(args, queries)
        return
    here = in_process(args.data_dir, queries, cast("SearchMode", args.mode), args.warm)
    there = over_http(args.data_dir, args.model_cache, queries, args.mode, args.warm)
    rest_here = here["total"] - here["encode"] - here["search"] - here["rank"]
    print(f"load average before: {os.getloadavg()[0]:.2f}; {len(queries) - args.warm} queries, {args.mode}")
    print("| phase (median ms) | in-process | over HTTP |")
    print("|---|---|---|")
    for name in ("encode", "search", "rank"):
        print(f"| {name} | {here[name]:.2f} | {there[name]:.2f} |")
    print(f"| index call, total | {here['total']:.2f} | {there['took']:.2f} |")
    print(f"| of which outside the phases | {rest_here:.2f} | |")
    print(f"| index call, CPU of the calling thread | {here['cpu']:.2f} | |")
    print(f"| client, whole request | | {there['client']:.2f} |")
    print(f"| around the index call (client - took_ms) | | {there['client'] - there['took']:.2f} |")
    print(f"| GET /healthz, for scale | | {there['healthz']:.2f} |")
    print(json.dumps({"in_process": here, "http": there}))


def compare(args: argparse.Namespace, queries: list[str]) -> None:
    against = env_settings(args.against_env)
    trees = {"this checkout": (ROOT, {}), f"{args.against} {against or ''}".strip(): (args.against, against)}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    loaded: dict[str, list[dict[str, float]]] = {}
    repeated = repeated_queries(args.queries)
    average = os.getloadavg()[0]
    for _ in range(args.rounds):
        for name, (tree, extra) in trees.items():
            runs[name].append(
                over_http(args.data_dir, args.model_cache, queries, args.mode, args.warm, tree, extra)
            )
            if args.loadgen is None:
                continue
            for label, source, cache, mb in (
                ("uncached", args.queries, 0, 0),
                ("query embeddings cached", repeated, 4096, 0),
                ("results cached", repeated, 4096, 64),
            ):
                result = under_load(
                    args.data_dir, args.model_cache, args.loadgen, source, tree, cache, extra, results_mb=mb
                )
                loaded.setdefault(f"{name}, 8 clients, {label}", []).append(result)
    print(f"load average before: {average:.2f}; {len(queries) - args.warm} queries x {args.rounds} rounds")
    print("| server | client p50 | took_ms | around the index call | encode | search | rank |")
    print("|---|---|---|---|---|---|---|")
    for name, measured in runs.items():
        cell = {key: median([m[key] for m in measured]) for key in measured[0]}
        print(
            f"| {name} | {cell['client']:.2f} | {cell['took']:.2f} | {cell['client'] - cell['took']:.2f} | "
            f"{cell['encode']:.2f} | {cell['search']:.2f} | {cell['rank']:.2f} |"
        )
    if loaded:
        print("| server | req/s | p50 | server CPU per request |")
        print("|---|---|---|---|")
        for name, measured in loaded.items():
            cell = {key: median([m[key] for m in measured]) for key in measured[0]}
            print(f"| {name} | {cell['rps']:.1f} | {cell['p50']:.1f} ms | {cell['cpu_ms']:.2f} ms |")
    print(json.dumps({"lone": runs, "loaded": loaded}))


if __name__ == "__main__":
    main()
