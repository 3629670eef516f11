"""What `semsearch sync` costs when a folder's files move: SciFact abstracts written as Markdown files (a
heading, the abstract) into a folder, synced into a fresh data directory with the real model, then the
files moved into a subfolder and synced again, then the same files edited in one sentence each and synced
again. Each step is timed (wall and CPU of this process, which embeds), with how many documents it added,
updated, deleted and moved.

    .venv/bin/python bench/sync_moves.py --corpus path/to/scifact/corpus.jsonl --documents 200 \\
        --model-cache /var/tmp/semsearch-models

The data directory and the folder are made under ``--work`` (default: a temporary directory) and removed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.ingest.preparation import DEFAULT_GROUP_SIZE  # noqa: E402
from service import runtime  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.sync import LocalTarget, sync_folder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True, help="a BEIR corpus.jsonl (SciFact's)")
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-models"))
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    records = []
    with args.corpus.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record.get("title") and record.get("text"):
                records.append(record)
            if len(records) == args.documents:
                break
    with tempfile.TemporaryDirectory(dir=args.work) as work:
        folder, data = Path(work) / "papers", Path(work) / "data"
        folder.mkdir()
        for record in records:
            (folder / f"{record['_id']}.md").write_text(f"# {record['title']}\n\n{record['text']}\n", "utf-8")
        settings = Settings(data_dir=data, seed_demo=False, model_cache_dir=args.model_cache)
        index = runtime.open_index(settings)
        target = LocalTarget(index)
        print("| step | seconds | CPU seconds | added | updated | deleted | moved |")
        print("|---|---|---|---|---|---|---|")

        def step(label: str) -> None:
            started, cpu = time.perf_counter(), time.process_time()
            report = sync_folder(folder, target, source="papers", batch_size=DEFAULT_GROUP_SIZE)
            seconds, used = time.perf_counter() - started, time.process_time() - cpu
            print(
                f"| {label} | {seconds:.1f} | {used:.1f} | {len(report.added)} | {len(report.updated)} "
                f"| {len(report.deleted)} | {report.moved} |"
            )

        step(f"first sync of {len(records)} files")
        moved = folder / "2026" / "reviewed"
        moved.mkdir(parents=True)
        for path in sorted(folder.glob("*.md")):
            shutil.move(path, moved / path.name)
        step("the files moved to a subfolder")
        for path in sorted(moved.glob("*.md")):
            path.write_text(path.read_text("utf-8") + "\nReviewed for the 2026 survey.\n", "utf-8")
        step("each file given one more sentence")
        index.close()
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
