"""What a new version of stored documents costs to upsert, with and without reusing the stored embeddings of
the chunks it shares with the stored version (index/ingest/preparation.py), in one run.

    .venv/bin/python bench/new_versions.py --corpus path/to/scifact/corpus.jsonl --documents 200

The first --documents of SciFact (title + abstract, the abstract's sentences in paragraphs of three, so that
a document has several chunks), indexed with the default model, then upserted again three ways, each timed:
new metadata only; one paragraph edited (a sentence appended to the first); a new title. Each is run on two
indexes made alike, one reusing embeddings (the default) and one not (the behaviour before), alternating.
Prints a Markdown table: seconds and chunks embedded per case.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from index import ChunkingOptions, Document, SearchIndex, load_embedder
from index.encoders.base import Embedder, Vectors

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


class Counting:
    """An embedder that counts the document texts it embeds (and passes everything else through)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.texts = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        self.texts += len(texts)
        return self.inner.embed_documents(texts)


def with_paragraphs(text: str) -> str:
    sentences = SENTENCE_END.split(text)
    return "\n\n".join(" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True, help="corpus.jsonl of a BEIR folder")
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-model-cache"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    lines = args.corpus.read_text(encoding="utf-8").splitlines()[: args.documents]
    originals = [
        Document(str(raw["_id"]), with_paragraphs(raw["text"]), raw.get("title") or None, {"round": 0})
        for raw in map(json.loads, lines)
    ]

    def version(case: str, n: int) -> list[Document]:
        if case == "new metadata":
            return [Document(d.id, d.text, d.title, {"round": n}) for d in originals]
        if case == "one paragraph edited":
            edited = []
            for d in originals:
                first, _, rest = d.text.partition("\n\n")
                first = f"{first} Revised in round {n}."
                text = f"{first}\n\n{rest}" if rest else first
                edited.append(Document(d.id, text, d.title, d.metadata))
            return edited
        return [Document(d.id, d.text, f"{d.title} (round {n})", d.metadata) for d in originals]

    # Titles in front of chunks, so that a new title does change what is embedded.
    chunking = ChunkingOptions(max_tokens=128, title_context=True)
    embedder = load_embedder(cache_dir=args.model_cache)
    timings: dict[tuple[str, str], list[float]] = {}
    embedded: dict[tuple[str, str], int] = {}
    with tempfile.TemporaryDirectory(prefix="new-versions-") as scratch:
        indexes: dict[str, tuple[SearchIndex, Counting]] = {}
        for name in ("reusing stored embeddings", "embedding everything (before)"):
            counting = Counting(embedder)
            index = SearchIndex.open(Path(scratch) / name.split()[0], counting, chunking=chunking)  # type: ignore[arg-type]
            if name.startswith("embedding everything"):
                index.preparer.stored = None
            index.upsert(originals)
            indexes[name] = (index, counting)
        chunks = indexes["reusing stored embeddings"][0].stats().chunks
        for n in range(1, args.rounds + 1):
            for case in ("new metadata", "one paragraph edited", "a new title"):
                documents = version(case, n)
                for name, (index, counting) in indexes.items():
                    counting.texts = 0
                    started = time.perf_counter()
                    index.upsert(documents)
                    timings.setdefault((case, name), []).append(time.perf_counter() - started)
                    embedded[(case, name)] = counting.texts
                    index.upsert(originals)  # back to the first version before the next case
        for index, _ in indexes.values():
            index.close()
    print(f"{len(originals)} documents, {chunks} chunks; median of {args.rounds} rounds")
    print()
    print("| new version | upsert | seconds | chunks embedded |")
    print("|---|---|---:|---:|")
    for (case, name), seconds in timings.items():
        print(f"| {case} | {name} | {statistics.median(seconds):.2f} | {embedded[(case, name)]} |")


if __name__ == "__main__":
    main()
