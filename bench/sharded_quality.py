"""What sharding does to retrieval quality: SciFact train, one index against the same chunks and embeddings
split into 2 and 4 shards (copied with `reshard`, nothing embedded again), every mode, in one run.

    .venv/bin/python bench/sharded_quality.py --data-dir /var/tmp/scifact-eval --dataset path/to/scifact

The data directory must hold SciFact indexed with the default model (`semsearch eval
path/to/scifact --split train --data-dir DIR` makes one). The dense side of a sharded search
is exact (the same candidates as one index), so dense must not move; the keyword side scores BM25 with each
shard's own term statistics, so keyword and hybrid may move a little: this measures how much.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from index import SearchIndex, SearchRequest, load_embedder
from index.distributed.sharding import ShardedIndex, create_layout, reshard
from index.retrieval.evaluation import evaluate_modes, load_dataset

ROOT = Path(__file__).resolve().parents[1]
MODES = [
    ("dense", SearchRequest("", mode="dense")),
    ("keyword", SearchRequest("", mode="keyword")),
    ("hybrid", SearchRequest("", mode="hybrid")),
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=Path("/var/tmp/scifact-eval"))
    parser.add_argument("--dataset", type=Path, required=True, help="the BEIR folder (SciFact)")
    parser.add_argument("--shards", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "sharded_quality.json")
    args = parser.parse_args()
    dataset = load_dataset(args.dataset, "train")
    embedder = load_embedder(cache_dir=args.data_dir / "models")
    table: dict[str, dict[str, float]] = {}
    with SearchIndex.open(args.data_dir, embedder, read_only=True) as single:
        for result, _ in evaluate_modes(single, dataset, MODES):
            table.setdefault("1 index", {})[result.mode] = result.ndcg_at_10
        with tempfile.TemporaryDirectory(prefix="sharded-quality-") as scratch:
            for count in args.shards:
                shards = [
                    SearchIndex.open(d, embedder) for d in create_layout(Path(scratch) / str(count), count)
                ]
                try:
                    reshard([single], shards)
                    cluster = ShardedIndex(embedder, shards)
                    for result, _ in evaluate_modes(cluster, dataset, MODES):
                        table.setdefault(f"{count} shards", {})[result.mode] = result.ndcg_at_10
                    cluster.close()
                finally:
                    for shard in shards:
                        shard.close()
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(table, indent=2) + "\n")
    print(f"SciFact train, {len(dataset.queries)} queries, nDCG@10\n")
    print("| index | " + " | ".join(mode for mode, _ in MODES) + " |")
    print("|---|" + "---|" * len(MODES))
    for name, row in table.items():
        print(f"| {name} | " + " | ".join(f"{row[mode]:.4f}" for mode, _ in MODES) + " |")


if __name__ == "__main__":
    main()
