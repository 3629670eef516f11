"""Container cold start: seconds from `run` to the first 200 from /readyz, on a new volume each time.

    eval "$(path/to/container-check --prepare)"   # or have docker; CONTAINER_ENGINE picks the engine
    .venv/bin/python bench/container_ready.py --runs 5 --env "" SEMSEARCH_WORKERS=1

Builds the Dockerfile once (``$CONTAINER_BUILD_ARGS`` added to the build), then for each run and each
``--env`` variant in turn (alternating, so that the machine's drift falls on all of them) starts a
container on a new named volume, published on 127.0.0.1, polls ``/readyz`` every 20 ms from just before
``run``, and removes the container and the volume. Ready covers starting Python, loading the ONNX export
and checking its probes, and indexing the demo corpus (the writer's; with two workers the replica loads
after). Prints each run and the medians.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from peer_comparison import free_port  # noqa: E402


def engine() -> str:
    return os.environ.get("CONTAINER_ENGINE", "docker")


def run(*args: str, timeout: float = 1800) -> str:
    done = subprocess.run([engine(), *args], capture_output=True, text=True, timeout=timeout, check=True)
    return done.stdout.strip()


def ready_after(image: str, env: list[str], timeout: float = 180) -> float:
    """Seconds from `run` to /readyz 200 for one container on a new volume."""
    name = f"semsearch-ready-{uuid.uuid4().hex[:8]}"
    port = free_port()
    run("volume", "create", name)
    options = [item for pair in env for item in ("-e", pair)]
    try:
        started = time.monotonic()
        run(
            "run",
            "-d",
            "--name",
            name,
            "-p",
            f"127.0.0.1:{port}:8000",
            "-v",
            f"{name}:/data",
            *options,
            image,
        )
        while time.monotonic() - started < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return time.monotonic() - started
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.02)
        raise SystemExit(f"not ready within {timeout} s:\n{run('logs', name)}")
    finally:
        subprocess.run([engine(), "rm", "-f", name], capture_output=True, check=False)
        subprocess.run([engine(), "volume", "rm", "-f", name], capture_output=True, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--env",
        nargs="+",
        default=[""],
        help='variants: "" (the defaults) or KEY=VALUE[,KEY=VALUE...] passed to the container',
    )
    parser.add_argument("--image", help="an image already built (default: build the Dockerfile)")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f}")
    image = args.image
    if image is None:
        image = f"localhost/semsearch-ready:{uuid.uuid4().hex[:8]}"
        extra = shlex.split(os.environ.get("CONTAINER_BUILD_ARGS", ""))
        run("build", *extra, "-t", image, str(ROOT))
        print(f"built {image}: {int(run('image', 'inspect', '-f', '{{.Size}}', image)) / 1e6:.0f} MB")
    times: dict[str, list[float]] = {variant: [] for variant in args.env}
    try:
        for round_number in range(1, args.runs + 1):
            for variant in args.env:
                took = ready_after(image, [pair for pair in variant.split(",") if pair])
                times[variant].append(took)
                print(f"run {round_number}, {variant or 'defaults'}: ready after {took:.2f} s")
    finally:
        if args.image is None:
            subprocess.run([engine(), "rmi", "-f", image], capture_output=True, check=False)
    print(f"load after: {os.getloadavg()[0]:.2f}")
    print("| container | ready on a new volume (median) | runs |")
    print("|---|---|---|")
    for variant, found in times.items():
        runs = ", ".join(f"{value:.2f}" for value in found)
        print(f"| {variant or 'defaults'} | {statistics.median(found):.2f} s | {runs} |")


if __name__ == "__main__":
    main()
