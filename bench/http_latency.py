"""HTTP query latency and throughput: semsearch against the naive baseline (bench/naive_server.py), on the
same SciFact data directory, measured one after the other in one run with wrk on 127.0.0.1.

    apt-get install wrk    # the load generator
    .venv/bin/python bench/http_latency.py --data-dir /var/tmp/scifact-eval \
        --queries path/to/scifact/queries.jsonl --duration 20

The data directory must hold SciFact indexed with the default model (`semsearch eval
path/to/scifact --data-dir DIR` makes one). Each server is started as a subprocess, warmed up,
then driven by wrk with 1 and with 8 connections, each request a different SciFact query (cycled; the query
cache is turned off so that a repeat costs what a new query costs). Prints a Markdown table and writes the
numbers as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from peer_comparison import free_port  # noqa: E402

LUA = """
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
"""


@contextmanager
def server(command: list[str], port: int, env: dict[str, str]) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server did not start: {command}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def wrk(url: str, paths_file: Path, connections: int, duration: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    command = [
        "wrk",
        f"-t{min(connections, 2)}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        script.name,
        url,
    ]
    done = subprocess.run(
        command, env={**os.environ, "WRK_PATHS": str(paths_file)}, capture_output=True, text=True, check=True
    )
    os.unlink(script.name)
    return parse_wrk(done.stdout)


def parse_wrk(output: str) -> dict[str, float]:
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    result: dict[str, float] = {}
    for pct in ("50", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if match:
            result[f"p{pct}_ms"] = float(match.group(1)) * units[match.group(2)]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    result["requests_per_s"] = float(rps.group(1)) if rps else 0.0
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = float(errors.group(1)) if errors else 0.0
    socket_errors = re.search(r"Socket errors: (.*)", output)
    result["socket_errors"] = 0.0 if socket_errors is None else 1.0
    return result


def warm_up(url: str, paths: list[str], count: int = 100) -> None:
    for path in paths[:count]:
        with urllib.request.urlopen(url + path, timeout=30) as response:
            response.read()


def query_paths(queries_file: Path, template: str) -> list[str]:
    queries = [json.loads(line)["text"] for line in queries_file.read_text().splitlines() if line.strip()]
    return [template.format(q=urllib.parse.quote(q)) for q in queries]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True, help="queries.jsonl of the BEIR folder")
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--out", type=Path, default=Path("bench-results/http_latency.json"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="http-bench-"))
    results: dict[str, Any] = {"machine": f"{os.cpu_count()} cores", "duration_s": args.duration}

    # Both caches off: every request does all its work, however often the 809 queries come round.
    uncached = {
        "SEMSEARCH_QUERY_CACHE_SIZE": "0",
        "SEMSEARCH_RESULT_CACHE_MB": "0",
        "SEMSEARCH_LOG_LEVEL": "warning",
    }
    targets = [
        (
            "semsearch dense",
            "/search?q={q}&k=10&mode=dense",
            [sys.executable, "-m", "service", "serve", "--data-dir", str(args.data_dir), "--no-demo"],
            uncached,
        ),
        (
            "semsearch hybrid (default)",
            "/search?q={q}&k=10",
            [sys.executable, "-m", "service", "serve", "--data-dir", str(args.data_dir), "--no-demo"],
            uncached,
        ),
        (
            "semsearch dense, int8 encoder",
            "/search?q={q}&k=10&mode=dense",
            [sys.executable, "-m", "service", "serve", "--data-dir", str(args.data_dir), "--no-demo"],
            {
                **uncached,
                "SEMSEARCH_EMBED_BACKEND": "onnx-int8",
            },
        ),
        (
            # Every query answered from the cache after the warm-up: what the service costs without the model.
            "semsearch dense, queries cached",
            "/search?q={q}&k=10&mode=dense",
            [sys.executable, "-m", "service", "serve", "--data-dir", str(args.data_dir), "--no-demo"],
            {"SEMSEARCH_RESULT_CACHE_MB": "0", "SEMSEARCH_LOG_LEVEL": "warning"},
        ),
        (
            "naive baseline (torch + flat, one at a time)",
            "/search?q={q}&k=10",
            [sys.executable, str(ROOT / "bench" / "naive_server.py"), "--data-dir", str(args.data_dir)],
            {},
        ),
    ]
    for name, template, command, env in targets:
        paths = query_paths(args.queries, template)
        paths_file = work / "paths.txt"
        paths_file.write_text("\n".join(paths) + "\n")
        port = free_port()
        with server([*command, "--port", str(port)], port, env) as url:
            warm_up(url, paths, len(paths) if "cached" in name else 100)
            results[name] = {
                "c1": wrk(url, paths_file, 1, args.duration),
                "c8": wrk(url, paths_file, 8, args.duration),
            }
        print(name, json.dumps(results[name]), flush=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    baseline = results["naive baseline (torch + flat, one at a time)"]
    print("\n| server | c=1 p50 | c=1 p90 | c=1 p99 | c=1 req/s | c=8 req/s | c=8 p50 | c=8 p99 | errors |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, _, _, _ in targets:
        one, eight = results[name]["c1"], results[name]["c8"]
        print(
            f"| {name} | {one['p50_ms']:.1f} ms | {one['p90_ms']:.1f} ms | {one['p99_ms']:.1f} ms "
            f"| {one['requests_per_s']:.0f} | {eight['requests_per_s']:.0f} "
            f"({eight['requests_per_s'] / baseline['c8']['requests_per_s']:.1f}x) "
            f"| {eight['p50_ms']:.1f} ms | {eight['p99_ms']:.1f} ms "
            f"| {one['non_2xx'] + eight['non_2xx']:.0f} |"
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
