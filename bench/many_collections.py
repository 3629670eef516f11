"""What each open collection costs a running service: files, threads and memory, as collections are made.

A fresh `semsearch serve` on 127.0.0.1 (a new data directory in a temporary folder, no demo corpus); for each
of ``--collections`` collections in turn: create it, write one short document to it, search it once (so its
database is opened by the writer and by a reading thread, and its dense search thread started). Every
``--every`` collections, the server's open file descriptors (/proc/PID/fd), threads (/proc/PID/task) and
resident memory (VmRSS) are printed as a Markdown row, with the time so far; the last row's growth per
collection follows. The data directory is removed at the end.

    .venv/bin/python bench/many_collections.py --model-cache /var/tmp/semsearch-models --collections 200
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from peer_comparison import free_port, serving  # noqa: E402
from workers import resident_mb  # noqa: E402


def resources(pid: int) -> tuple[int, int, float]:
    """Open file descriptors, threads and resident memory (MB) of process ``pid``."""
    return len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task")), resident_mb(pid)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--collections", type=int, default=200)
    parser.add_argument("--every", type=int, default=50, help="print a row every this many collections")
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-model-cache"))
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="semsearch-collections-"))
    port = free_port()
    env = {
        "SEMSEARCH_DATA_DIR": str(data),
        "SEMSEARCH_PORT": str(port),
        "SEMSEARCH_MODEL_CACHE_DIR": str(args.model_cache),
        "SEMSEARCH_LOG_LEVEL": "warning",
        "SEMSEARCH_SEED_DEMO": "false",
        "HF_HUB_OFFLINE": "1",
    }
    command = [str(ROOT / ".venv" / "bin" / "python"), "-m", "service", "serve"]
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print()
    print("| collections open | open files | threads | resident memory | time |")
    print("|---:|---:|---:|---:|---:|")
    try:
        with (
            serving(command, env, f"http://127.0.0.1:{port}/readyz") as server,
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client,
        ):
            files, threads, memory = first = resources(server.pid)
            print(f"| 0 | {files} | {threads} | {memory:.0f} MB | 0.0 s |")
            started = time.perf_counter()
            for i in range(1, args.collections + 1):
                name = f"c{i}"
                client.put(f"/collections/{name}").raise_for_status()
                document = {"id": "note", "text": f"Tide tables for harbour {i}."}
                client.post(
                    f"/collections/{name}/documents", json={"documents": [document]}
                ).raise_for_status()
                client.get(f"/collections/{name}/search", params={"q": "tide tables"}).raise_for_status()
                if i % args.every == 0 or i == args.collections:
                    files, threads, memory = resources(server.pid)
                    took = time.perf_counter() - started
                    print(f"| {i} | {files} | {threads} | {memory:.0f} MB | {took:.1f} s |")
            count = args.collections
            grown = (files - first[0]) / count, (threads - first[1]) / count, (memory - first[2]) / count
            print()
            print(f"Per collection: {grown[0]:.1f} open files, {grown[1]:.2f} threads, {grown[2]:.2f} MB")
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
