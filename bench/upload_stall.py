"""What reading an uploaded file does to the searches of everyone else: search latency while a large file is
read, with the file read in the server's process (``SEMSEARCH_FILE_READERS=0``, as before) and in a reader
process (the default), one after the other in each round.

    .venv/bin/python bench/upload_stall.py --data-dir DIR --queries path/to/scifact/queries.jsonl \\
        --model-cache DIR [--rounds 2] [--paragraphs 100000]

Each server runs on a copy of ``--data-dir`` (the upload writes to it). One client searches without pause,
every query a different one (a SciFact query and a counter: no cache answers), for ``--idle`` seconds, then
again while a second client uploads one HTML page of ``--paragraphs`` paragraphs (``wait=false``: the
answer comes once the page is read, before it is embedded; the searches measured end with it). Prints the
searches' p50, p99 and max, idle and during the read, how many searches were answered during it, and how long
the read took (the first upload of a server with a reader process starts that process, about a second).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from peer_comparison import free_port, serving  # noqa: E402


@contextmanager
def server(data_dir: Path, model_cache: Path, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    settings = {
        "SEMSEARCH_DATA_DIR": str(data_dir),
        "SEMSEARCH_MODEL_CACHE_DIR": str(model_cache),
        "SEMSEARCH_SEED_DEMO": "false",
        "SEMSEARCH_QUERY_CACHE_SIZE": "0",
        "SEMSEARCH_LOG_LEVEL": "warning",  # the server's stderr is a pipe read only if it exits
        **env,
    }
    command = [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with serving(command, settings, url + "/readyz", cwd=ROOT):
        yield url


def search_for(url: str, queries: list[str], tag: str, until: threading.Event, seconds: float) -> list[float]:
    """Milliseconds of each search, one after another, until ``until`` is set or ``seconds`` pass."""
    took: list[float] = []
    end = time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=120) as client:
        while not until.is_set() and time.monotonic() < end:
            query = f"{queries[len(took) % len(queries)]} {tag}{len(took)}"
            started = time.perf_counter()
            client.get("/search", params={"q": query, "k": 10}).raise_for_status()
            took.append((time.perf_counter() - started) * 1000)
    return took


def page(paragraphs: int) -> bytes:
    body = "".join(
        f"<p>Paragraph {i}: the harbour's tide tables, read against the moon and the wind.</p>"
        for i in range(paragraphs)
    )
    return f"<html><head><title>Tides</title></head><body>{body}</body></html>".encode()


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def one_round(url: str, queries: list[str], data: bytes, idle_seconds: float, tag: str) -> dict[str, float]:
    search_for(url, queries, f"warm{tag}-", threading.Event(), 2.0)  # the first searches of a new server
    idle = search_for(url, queries, f"idle{tag}-", threading.Event(), idle_seconds)
    done = threading.Event()
    during: list[float] = []
    searcher = threading.Thread(
        target=lambda: during.extend(search_for(url, queries, f"during{tag}-", done, 600))
    )
    searcher.start()
    time.sleep(1.0)
    started = time.perf_counter()
    try:
        answer = httpx.post(
            url + "/documents/files",
            params={"wait": "false"},
            files=[("files", (f"tides-{tag}.html", data))],
            timeout=600,
        )
        answer.raise_for_status()
    finally:
        read = time.perf_counter() - started
        done.set()
        searcher.join()
    return {
        "idle_p50": statistics.median(idle),
        "idle_p99": quantile(idle, 0.99),
        "idle_max": max(idle),
        "during_p50": statistics.median(during),
        "during_p99": quantile(during, 0.99),
        "during_max": max(during),
        "searches_during": len(during),
        "read_s": read,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--model-cache", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--paragraphs", type=int, default=100_000)
    parser.add_argument("--idle", type=float, default=8.0)
    args = parser.parse_args()
    with args.queries.open(encoding="utf-8") as lines:
        queries = [json.loads(line)["text"] for line in lines][:500]
    data = page(args.paragraphs)
    print(f"page: {len(data):,} bytes, {args.paragraphs:,} paragraphs; load {os.getloadavg()[0]:.1f}")
    variants = {"in the server's process (0)": "0", "in a reader process (1)": "1"}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as scratch:
        for round_number in range(args.rounds):
            for name, readers in variants.items():
                copy = Path(scratch) / f"data-{round_number}-{readers}"
                shutil.copytree(args.data_dir, copy, ignore=shutil.ignore_patterns("writer.lock"))
                env = {"SEMSEARCH_FILE_READERS": readers}
                with server(copy, args.model_cache, env) as url:
                    result = one_round(url, queries, data, args.idle, f"{round_number}{readers}")
                results[name].append(result)
                print(name, {key: round(value, 1) for key, value in result.items()}, flush=True)
                shutil.rmtree(copy)
    print(f"load after {os.getloadavg()[0]:.1f}; medians of {args.rounds} rounds:")
    columns = "idle p50 | idle p99 | during p50 | during p99 | during max | searches meanwhile | read"
    print(f"| file read | {columns} |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rows in results.items():
        cell = {key: statistics.median(row[key] for row in rows) for key in rows[0]}
        print(
            f"| {name} | {cell['idle_p50']:.1f} ms | {cell['idle_p99']:.1f} ms | "
            f"{cell['during_p50']:.1f} ms | {cell['during_p99']:.1f} ms | {cell['during_max']:.1f} ms | "
            f"{cell['searches_during']:.0f} | {cell['read_s']:.1f} s |"
        )


if __name__ == "__main__":
    main()
