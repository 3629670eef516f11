"""Measure retrieval quality of dense, keyword and hybrid search, and of the knobs of each, on a BEIR dataset.

The index is built once in --data-dir (re-runs skip embedding: unchanged documents are not embedded again);
then every variant runs all queries through the code path of ``semsearch eval``, scored by trec_eval.

    .venv/bin/python bench/hybrid_sweep.py path/to/scifact --split train \
        --data-dir /var/tmp/scifact
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from index import SearchIndex, SearchRequest, SentenceTransformerEmbedder
from index.ingest.chunking import ChunkingOptions
from index.retrieval.evaluation import evaluate, index_dataset, load_dataset, run_queries

VARIANTS: list[tuple[str, dict[str, Any], float | None]] = [
    ("dense", {"mode": "dense"}, None),
    ("keyword, title weight 0", {"mode": "keyword"}, 0.0),
    ("keyword, title weight 1", {"mode": "keyword"}, 1.0),
    ("keyword, title weight 2", {"mode": "keyword"}, 2.0),
    ("hybrid rrf k=60", {"fusion": "rrf", "rrf_k": 60.0}, None),
    *((f"hybrid blend w={w}", {"fusion": "blend", "weight": w}, None) for w in (0.3, 0.4, 0.5, 0.6)),
    ("hybrid blend w=0.5, 300 candidates", {"fusion": "blend", "weight": 0.5, "candidates": 300}, None),
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    parser.add_argument("--chunk-max-tokens", type=int, default=None)
    parser.add_argument("--only", default="", help="comma-separated variant name prefixes")
    args = parser.parse_args()
    dataset = load_dataset(args.dataset, args.split)
    chunking = ChunkingOptions(max_tokens=args.chunk_max_tokens)
    with SearchIndex.open(args.data_dir, SentenceTransformerEmbedder(args.model), chunking=chunking) as index:
        index_dataset(index, dataset)
        stats = index.stats()
        print(f"{stats.documents} documents, {stats.chunks} chunks, {len(dataset.queries)} queries\n")
        print("| variant | nDCG@10 | Recall@100 | MRR@10 | queries/s |")
        print("|---|---|---|---|---|")
        default_title_weight = index.keyword_title_weight
        for name, options, title_weight in VARIANTS:
            if args.only and not any(name.startswith(p) for p in args.only.split(",")):
                continue
            index.keyword_title_weight = default_title_weight if title_weight is None else title_weight
            run, qps = run_queries(index, dataset, SearchRequest("", **options))
            metrics = evaluate(dataset.qrels, run)
            print(
                f"| {name} | {metrics['ndcg_at_10']:.4f} | {metrics['recall_at_100']:.4f} "
                f"| {metrics['mrr_at_10']:.4f} | {qps:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
