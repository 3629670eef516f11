"""Packed against padded model calls: the same model exported both ways, the same texts, in turn.

    .venv/bin/python bench/packing.py --corpus path/to/scifact/corpus.jsonl \\
        --queries path/to/scifact/queries.jsonl

Exports the default model twice into a scratch folder: whole (a padded batch in, one vector per text out,
as before export format 3) and packed (several texts to a row, pooled by the runtime;
:mod:`index.encoders.packing`). Then, on one thread and on every core, measures the CPU time per text of
model calls for groups of 1 to 64 SciFact queries (as the query encoder gets them when requests arrive
together, or from POST /search/batch) and for SciFact's chunks in calls of 32 (ingest), each group on one
embedder and then the other, and the cosine between the two embedders' vectors. Medians of ``--rounds``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.encoders.base import DEFAULT_MODEL, resolve_model  # noqa: E402
from index.encoders.onnx_encoder import OnnxEmbedder  # noqa: E402
from index.encoders.onnx_export import export_model, model_cache_key  # noqa: E402
from index.ingest.chunking import Chunker  # noqa: E402


def embedders(scratch: Path, threads: int) -> dict[str, OnnxEmbedder]:
    """The default model exported whole and packed, each in a cache folder of its own."""
    found = {}
    for name, packed in (("padded", False), ("packed", True)):
        cache = scratch / name
        folder = cache / model_cache_key(*resolve_model(DEFAULT_MODEL))
        if not (folder / "export.json").exists():
            export_model(DEFAULT_MODEL, folder, packed=packed)
        found[name] = OnnxEmbedder(DEFAULT_MODEL, cache, threads=threads)
    assert found["padded"]._info.pooling is None
    assert found["packed"]._info.pooling == "mean"
    return found


def cost(models: dict[str, OnnxEmbedder], groups: list[list[str]], documents: bool) -> dict[str, float]:
    """CPU milliseconds per text for each embedder over ``groups`` (one model call each), alternating."""
    spent = dict.fromkeys(models, 0.0)
    for group in groups:
        for name, model in models.items():
            started = time.process_time()
            (model.embed_documents if documents else model.embed_queries)(group)
            spent[name] += time.process_time() - started
    texts = sum(len(group) for group in groups)
    return {name: seconds / texts * 1000 for name, seconds in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True, help="corpus.jsonl of a BEIR folder")
    parser.add_argument("--queries", type=Path, required=True, help="queries.jsonl of a BEIR folder")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scratch", type=Path, help="where the two exports go (default: a temporary folder)")
    args = parser.parse_args()
    queries = [json.loads(line)["text"] for line in args.queries.read_text().splitlines() if line.strip()]
    with args.corpus.open(encoding="utf-8") as lines:
        abstracts = [json.loads(line)["text"] for line, _ in zip(lines, range(300), strict=False)]
    with tempfile.TemporaryDirectory() as temporary:
        scratch = args.scratch or Path(temporary)
        rng = random.Random(0)
        print("| texts per call | threads | padded, ms a text | packed, ms a text | packed / padded |")
        print("|---|---|---|---|---|")
        for threads in (1, None):
            models = embedders(scratch, threads or 0)
            chunker = Chunker(models["packed"].tokenizer)
            chunks = [chunk.text for text in abstracts for chunk in chunker.chunk(text)][:640]
            for model in models.values():
                model.embed_queries(queries[:8])  # warm
            cases: list[tuple[str, list[list[str]], bool]] = [
                (
                    f"{size} quer{'y' if size == 1 else 'ies'}",
                    [rng.sample(queries, size) for _ in range(max(8, 256 // size))],
                    False,
                )
                for size in (1, 2, 4, 8, 16, 64)
            ]
            calls = [chunks[i : i + 32] for i in range(0, len(chunks), 32)]
            cases.append(("32 chunks (ingest)", calls, True))
            for label, groups, documents in cases:
                rounds = [cost(models, groups, documents) for _ in range(args.rounds)]
                padded = statistics.median(r["padded"] for r in rounds)
                packed = statistics.median(r["packed"] for r in rounds)
                print(
                    f"| {label} | {threads or 'all'} | {padded:.2f} | {packed:.2f} | {packed / padded:.2f} |"
                )
            sample, padded_model, packed_model = rng.sample(queries, 64), models["padded"], models["packed"]
            least = (
                np.sum(padded_model.embed_queries(sample) * packed_model.embed_queries(sample), 1).min(),
                np.sum(padded_model.embed_documents(chunks) * packed_model.embed_documents(chunks), 1).min(),
            )
            print(f"\nleast cosine, packed to padded: queries {least[0]:.6f}, chunks {least[1]:.6f}\n")


if __name__ == "__main__":
    main()
