"""semsearch against txtai (the closest peer) over the same corpus, with the same load generator, one after
the other in one run: hybrid search at 1 and 8 clients, every request a different query (semsearch's query
cache off, as txtai has none); then semsearch with its query cache on and every query repeated (the request
path outside the model). The uncached servers (semsearch, its ``--also-env`` variants, txtai) are all up at
once and taken in turn within each round, so each round's ratios compare runs minutes apart, not a quarter
of an hour: the table ends with semsearch against txtai round by round and the median of those ratios.
Every server is first warmed with 300 requests from 8 clients, of queries the rounds do not send (those
after the first ``--requests``).

The peer is built and served by peer-txtai's scripts (setup.sh, build.py, serve.sh), and measured with its
loadgen.py; this script is given where they are, and starts and stops every server itself on 127.0.0.1.

    .venv/bin/python bench/peer_comparison.py --data-dir /var/tmp/scifact-eval \\
        --queries path/to/scifact/queries.jsonl --loadgen path/to/peer-txtai/loadgen.py \\
        --peer-serve path/to/peer-txtai/serve.sh --peer-dir /var/tmp/peer

The data directory must hold the same corpus indexed with the default model (``semsearch eval
path/to/scifact --data-dir DIR`` makes one). Without ``--peer-serve`` only semsearch is measured.
``--also-env KEY=VALUE`` (repeatable) measures semsearch uncached once more with those settings (another
encoder backend, say), in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(
    command: list[str], env: dict[str, str], ready_url: str, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{command[0]} exited: {process.stderr.read().decode() if process.stderr else ''}"
                )
            try:
                with urllib.request.urlopen(ready_url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"{command} not ready after 180 s")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def read_only_server(data_dir: Path, model_cache: Path) -> tuple[str, list[str], dict[str, str]]:
    """A read-only semsearch server over ``data_dir`` on a free port, whole results not cached: its base
    URL, command and environment, for :func:`serving`."""
    port = free_port()
    env = {
        "SEMSEARCH_DATA_DIR": str(data_dir),
        "SEMSEARCH_READ_ONLY": "1",
        "SEMSEARCH_PORT": str(port),
        "SEMSEARCH_MODEL_CACHE_DIR": str(model_cache),
        "SEMSEARCH_LOG_LEVEL": "warning",
        "SEMSEARCH_RESULT_CACHE_MB": "0",
    }
    return f"http://127.0.0.1:{port}", [str(ROOT / ".venv" / "bin" / "semsearch"), "serve"], env


def env_settings(items: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` arguments (``--also-env`` here, ``--against-env`` in request_path.py) as a mapping."""
    bad = [item for item in items if not item.partition("=")[0] or "=" not in item]
    if bad:
        sys.exit(f"settings are KEY=VALUE, got {bad}")
    return dict(item.split("=", 1) for item in items)


def unmeasured_queries(queries: Path, measured: int) -> Path:
    """The queries after the first ``measured`` (which the rounds send), to warm a server with: at least 50,
    the last 50 of all if there are no more."""
    lines = queries.read_text(encoding="utf-8").splitlines(keepends=True)
    rest = lines[measured:] if len(lines) - measured >= 50 else lines[-50:]
    warming = Path("/tmp/semsearch-bench-warming.jsonl")
    warming.write_text("".join(rest), encoding="utf-8")
    return warming


def repeated_queries(queries: Path) -> Path:
    """The first 50 of ``queries``, for the load generator to cycle through: every search after the first
    50 is one made before."""
    repeated = Path("/tmp/semsearch-bench-repeated.jsonl")
    with queries.open(encoding="utf-8") as lines:
        repeated.write_text("".join(line for line, _ in zip(lines, range(50), strict=False)))
    return repeated


def load(
    loadgen: Path, url: str, queries: Path, clients: int, requests: int, seconds: int, param: str
) -> Any:
    done = subprocess.run(
        [sys.executable, str(loadgen), url, str(queries), str(clients), str(requests), str(seconds), param],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument(
        "--queries", type=Path, required=True, help="queries.jsonl (each request a different one)"
    )
    parser.add_argument("--loadgen", type=Path, required=True, help="peer-txtai's loadgen.py")
    parser.add_argument("--peer-serve", type=Path, help="peer-txtai's serve.sh")
    parser.add_argument("--peer-dir", type=Path, help="the folder setup.sh and build.py made")
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-models"))
    parser.add_argument("--requests", type=int, default=800, help="per run: at most the number of queries")
    parser.add_argument("--seconds", type=int, default=40, help="longest run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each; medians are reported")
    parser.add_argument(
        "--also-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="measure semsearch uncached once more with this setting too (repeatable): "
        "--also-env SEMSEARCH_EMBED_BACKEND=openvino",
    )
    args = parser.parse_args()
    semsearch = [str(ROOT / ".venv" / "bin" / "semsearch"), "serve"]
    base = {
        "SEMSEARCH_DATA_DIR": str(args.data_dir),
        "SEMSEARCH_READ_ONLY": "1",
        "SEMSEARCH_MODEL_CACHE_DIR": str(args.model_cache),
        "SEMSEARCH_LOG_LEVEL": "warning",
        "HF_HUB_OFFLINE": "1",
    }
    results: dict[str, list[Any]] = {}
    warming = unmeasured_queries(args.queries, args.requests)

    def measure(targets: list[tuple[str, str, Path, str]]) -> None:
        """Each round runs every target at 1 and at 8 clients, one after the other, so that the targets
        compared share the machine's mood of that round (a ratio per round, not one of runs minutes apart)."""
        # Warm up on queries the rounds do not send, at 8 clients, every server alike: a semsearch server's
        # first few hundred searches ran 20% slower than those after them, on queries it had seen or not
        # (OpenVINO prepares its kernels for each new input length; ad hoc, 2026-12-05).
        for _, target, _, param in targets:
            load(args.loadgen, target, warming, 8, 300, 60, param)
        for _ in range(args.rounds):
            for name, target, queries, param in targets:
                for clients in (1, 8):
                    got = load(args.loadgen, target, queries, clients, args.requests, args.seconds, param)
                    row = f"{name}, {clients} client{'s' if clients > 1 else ''}"
                    results.setdefault(row, []).append(got)

    def started(stack: ExitStack, env: dict[str, str]) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        stack.enter_context(serving(semsearch, {**env, "SEMSEARCH_PORT": str(port)}, url + "/readyz"))
        return url

    # Uncached: every server compared kept up at once (idle, one costs no CPU), alternated round by round.
    uncached = {**base, "SEMSEARCH_QUERY_CACHE_SIZE": "0", "SEMSEARCH_RESULT_CACHE_MB": "0"}
    with ExitStack() as stack:
        targets = [("semsearch hybrid, uncached", started(stack, uncached) + "/search", args.queries, "q")]
        if args.also_env:
            also = env_settings(args.also_env)
            label = ", ".join(f"{key}={value}" for key, value in also.items())
            url = started(stack, {**uncached, **also})
            targets.append((f"semsearch hybrid, uncached, {label}", url + "/search", args.queries, "q"))
        if args.peer_serve is not None and args.peer_dir is not None:
            peer_port = free_port()
            stack.enter_context(
                serving(
                    ["bash", str(args.peer_serve), str(args.peer_dir), str(peer_port)],
                    {},
                    f"http://127.0.0.1:{peer_port}/search?query=warm&limit=1",
                )
            )
            targets.append(("txtai hybrid", f"http://127.0.0.1:{peer_port}/search", args.queries, "query"))
        # The in-memory keyword index is built in the background after start; replicas (SEMSEARCH_WORKERS)
        # start once their writer is ready, then load for a few seconds.
        time.sleep(12)
        measure(targets)
    repeated = repeated_queries(args.queries)
    with ExitStack() as stack:
        url = started(stack, {**base, "SEMSEARCH_RESULT_CACHE_MB": "0"})
        time.sleep(5)
        measure([("semsearch hybrid, every query's embedding cached", url + "/search", repeated, "q")])
    with ExitStack() as stack:
        url = started(stack, base)  # the defaults: both caches on
        time.sleep(5)
        measure([("semsearch hybrid, every result cached", url + "/search", repeated, "q")])
    print("| server | req/s | p50 | p90 | p99 | errors |")
    print("|---|---|---|---|---|---|")
    for name, runs in results.items():
        cells = [statistics.median(r[key] for r in runs) for key in ("rps", "p50_ms", "p90_ms", "p99_ms")]
        errors = sum(r["errors"] for r in runs)
        rps, p50, p90, p99 = cells
        print(f"| {name} | {rps:.1f} | {p50:.1f} ms | {p90:.1f} ms | {p99:.1f} ms | {errors} |")
    print_ratios(results)
    print(json.dumps(results))


def print_ratios(results: dict[str, list[Any]]) -> None:
    """Each uncached semsearch row against txtai's, round by round: requests per second at 8 clients over
    txtai's, and the p50 at one client over txtai's; then the median of the rounds' ratios."""
    peer = "txtai hybrid"
    if f"{peer}, 8 clients" not in results:
        return
    print("| semsearch against txtai, round by round | 8 clients, req/s ratio | 1 client, p50 ratio |")
    print("|---|---|---|")
    for name in results:
        if not name.startswith("semsearch hybrid, uncached") or not name.endswith(", 8 clients"):
            continue
        server = name.removesuffix(", 8 clients")
        fast = [
            ours["rps"] / theirs["rps"]
            for ours, theirs in zip(results[name], results[f"{peer}, 8 clients"], strict=True)
        ]
        lone = [
            ours["p50_ms"] / theirs["p50_ms"]
            for ours, theirs in zip(results[f"{server}, 1 client"], results[f"{peer}, 1 client"], strict=True)
        ]
        rounds_fast = ", ".join(f"{r:.2f}x" for r in fast)
        rounds_lone = ", ".join(f"{r:.2f}x" for r in lone)
        print(
            f"| {server} | {statistics.median(fast):.2f}x ({rounds_fast}) "
            f"| {statistics.median(lone):.2f}x ({rounds_lone}) |"
        )


if __name__ == "__main__":
    main()
