"""What a long query costs: SciFact abstracts run together as the query, cut to each length, searched in
process over a read-only index (query and result caches off), with the time of cutting it into the
model's windows (``query_pieces``) on its own.

    .venv/bin/python bench/long_queries.py --data-dir /var/tmp/scifact-eval \\
        --corpus path/to/scifact/corpus.jsonl --model-cache /var/tmp/semsearch-models

``--tree`` measures another checkout's code (a ``git worktree`` of the commit before a change) with this
script; give ``--tree`` twice to measure two checkouts one after the other, ``--rounds`` times in turn.
Each checkout runs in its own process. Prints a Markdown table of medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LENGTHS = (300, 1_500, 4_000, 20_000)


def measure(data_dir: Path, corpus: Path, strategy: str, repeats: int) -> dict[str, dict[str, float]]:
    """Medians per length: the whole search, its phases, and ``query_pieces`` alone (this process's
    ``index`` package: the checkout on ``sys.path``)."""
    from index.retrieval.query import query_pieces
    from service import runtime
    from service.settings import Settings

    settings = Settings(
        data_dir=data_dir, read_only=True, seed_demo=False, query_cache_size=0, result_cache_mb=0
    )
    index = runtime.open_index(settings)
    index.long_query = strategy  # type: ignore[assignment]
    index.wait_for_keyword_index()
    # Read here, not with request_path.read_queries: importing request_path puts this checkout first on
    # sys.path, and the child measuring --tree would then import this checkout's index instead of the tree's.
    with corpus.open(encoding="utf-8") as lines:
        text = " ".join(json.loads(line)["text"] for line, _ in zip(lines, range(400), strict=False))
    tokenizer = index.embedder.tokenizer  # what the search cuts queries with
    index.search("warm up", 10)
    out = {}
    for length in LENGTHS:
        query = text[:length]
        runs: dict[str, list[float]] = {"search": [], "encode": [], "candidates": [], "rank": [], "cut": []}
        for _ in range(repeats):
            started = time.perf_counter()
            query_pieces(query, tokenizer)
            runs["cut"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            result = index.search(query, 10)
            runs["search"].append((time.perf_counter() - started) * 1000)
            runs["encode"].append(result.timings.encode_ms)
            runs["candidates"].append(result.timings.search_ms)
            runs["rank"].append(result.timings.rank_ms)
        out[str(length)] = {name: statistics.median(values) for name, values in runs.items()}
        out[str(length)]["pieces"] = result.query_pieces
    index.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-models"))
    parser.add_argument("--strategy", default="first", choices=["first", "mean", "max"])
    parser.add_argument("--tree", type=Path, action="append", help="checkouts to measure (default: this)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # one checkout's measurement, as JSON
        print(json.dumps(measure(args.data_dir, args.corpus, args.strategy, args.repeats)))
        return
    trees = args.tree or [ROOT]
    runs: dict[Path, list[dict[str, dict[str, float]]]] = {tree: [] for tree in trees}
    print(f"load average before: {os.getloadavg()[0]:.2f}; strategy {args.strategy}")
    for _ in range(args.rounds):
        for tree in trees:
            env = {
                **os.environ,
                "PYTHONPATH": str(tree.resolve()),
                "SEMSEARCH_MODEL_CACHE_DIR": str(args.model_cache),
            }
            child = [sys.executable, __file__, "--child", "--data-dir", str(args.data_dir)]
            child += ["--corpus", str(args.corpus), "--strategy", args.strategy]
            child += ["--repeats", str(args.repeats)]
            done = subprocess.run(child, env=env, capture_output=True, text=True, check=True)
            runs[tree].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print("| checkout | characters | windows | search | encode | candidates | rank | cutting into windows |")
    print("|---|---|---|---|---|---|---|---|")
    for tree, measured in runs.items():
        for length in LENGTHS:
            rows = [m[str(length)] for m in measured]

            def mid(name: str, rows: list[dict[str, float]] = rows) -> float:
                return statistics.median(row[name] for row in rows)

            print(
                f"| {tree.name or tree} | {length:,} | {mid('pieces'):.0f} | {mid('search'):.1f} ms "
                f"| {mid('encode'):.1f} ms | {mid('candidates'):.1f} ms | {mid('rank'):.1f} ms "
                f"| {mid('cut'):.1f} ms |"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
