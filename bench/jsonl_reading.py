"""What reading a large JSON Lines corpus costs ``semsearch index`` before the model sees it: a corpus made of
SciFact's repeated (each copy's ids made unique) is read through as the command's first pass does (every
record checked and counted: ``count_documents``), in a child process per checkout, whose peak resident memory
(``ru_maxrss``) and wall time are reported.

    .venv/bin/python bench/jsonl_reading.py --corpus path/to/scifact/corpus.jsonl --copies 33 \\
        --tree <checkout before> --tree . --rounds 3

``--tree`` measures another checkout's code (a ``git worktree`` of the commit before a change); the trees are
taken in turn, ``--rounds`` times. The corpus is written to ``--work`` (default: a temporary directory) and
removed after. Prints a Markdown table of medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
from pathlib import Path
from index.ingest.sources import count_documents, discover
started = time.perf_counter()
(source,) = discover([Path(sys.argv[1])])
count = count_documents(source)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"documents": count, "seconds": seconds, "peak_mb": peak}))
"""


def write_corpus(corpus: Path, copies: int, out: Path) -> int:
    """``copies`` of ``corpus``, each record's id prefixed with its copy's number; the bytes written."""
    records = [json.loads(line) for line in corpus.open(encoding="utf-8") if line.strip()]
    with out.open("w", encoding="utf-8") as handle:
        for copy in range(copies):
            for record in records:
                handle.write(json.dumps({**record, "_id": f"{copy}-{record['_id']}"}, ensure_ascii=False))
                handle.write("\n")
    return out.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True, help="a BEIR corpus.jsonl (SciFact's)")
    parser.add_argument("--copies", type=int, default=33)
    parser.add_argument("--tree", type=Path, action="append", help="checkouts to measure (default: this)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    trees = args.tree or [ROOT]
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(dir=args.work) as work:
        big = Path(work) / "corpus.jsonl"
        size = write_corpus(args.corpus, args.copies, big)
        runs: dict[Path, list[dict[str, float]]] = {tree: [] for tree in trees}
        for _ in range(args.rounds):
            for tree in trees:
                done = subprocess.run(
                    [sys.executable, "-c", CHILD, str(big)],
                    cwd=tree,  # the tree's index package first on sys.path, before this checkout's
                    env={**os.environ, "PYTHONPATH": str(tree.resolve())},
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs[tree].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("| checkout | file | documents | peak memory | seconds |")
    print("|---|---|---|---|---|")
    for tree, measured in runs.items():
        peak = statistics.median(run["peak_mb"] for run in measured)
        seconds = statistics.median(run["seconds"] for run in measured)
        documents = int(measured[0]["documents"])
        print(
            f"| {tree.name or tree} | {size / 1e6:,.0f} MB | {documents:,} | {peak:,.0f} MB | {seconds:.2f} |"
        )


if __name__ == "__main__":
    main()
