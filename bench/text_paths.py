"""What hostile text costs: chunking (with the real tokenizer) and highlighting of pathological documents,
and the sentence splitter on its own against pysbd, the one semsearch used before.

    .venv/bin/python bench/text_paths.py --model-cache /var/tmp/semsearch-model-cache [--with-pysbd]

``--with-pysbd`` needs ``pip install pysbd`` (no longer a dependency). Each figure is the median of 3 runs.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import sentencex

from index import load_embedder
from index.ingest.chunking import Chunker
from index.retrieval.highlight import _SENTENCE as SENTENCE_PATTERN
from index.retrieval.highlight import Highlighter
from index.types import ChunkSpan

TEXTS = {
    "200,000 spaces in one line": "alpha" + " " * 200_000 + "beta\nomega",
    "a 100,000-character word": "x" * 100_000,
    "'a) b) ' x 20,000": "a) b) " * 20_000,
    "'1. 2. ' x 20,000": "1. 2. " * 20_000,
    "100,000 full stops": "." * 100_000,
    "base64, 100,000 characters": "QUJDRA==" * 12_500,
    "minified code, 96,000 characters": "function(a){return a+1};" * 4_000,
    "three scripts, 115,000 characters": ("日本語テキストالعربيةΕλληνικά ") * 5_000,
    "100,000 opening quotation marks": "\u201c" * 100_000,
    "100,000 backticks": "`" * 100_000,
    "a Markdown table of 20,000 rows": "| a | b |\n|---|---|\n" + "| x | y |\n" * 20_000,
    "ordinary prose, 100,000 characters": (
        "The council approved the new tram line on Tuesday. Construction starts in spring and is "
        "expected to take three years. Residents asked about noise; the mayor said work stops at night.\n\n"
    )
    * 550,
}
SPLITTER_INPUTS = {"'a) b) ' x 170 (1,020 characters)": "a) b) " * 170, "'1. 2. ' x 170": "1. 2. " * 170}


def median_seconds(work: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-cache", type=Path, default=None)
    parser.add_argument("--with-pysbd", action="store_true")
    args = parser.parse_args()
    chunker = Chunker(load_embedder(cache_dir=args.model_cache).tokenizer)
    rows = []
    for name, text in TEXTS.items():
        chunks = chunker.chunk(text)
        highlighter = Highlighter("alpha beta function council tram")

        def highlight_all(chunks: list[ChunkSpan] = chunks, highlighter: Highlighter = highlighter) -> None:
            for chunk in chunks:
                highlighter.best_span(chunk.text, chunk.start)

        rows.append(
            {
                "text": name,
                "chunks": len(chunks),
                "longest_chunk_chars": max(len(c.text) for c in chunks),
                "chunk_ms": round(median_seconds(partial(chunker.chunk, text)) * 1000, 1),
                "highlight_all_chunks_ms": round(median_seconds(highlight_all) * 1000, 2),
            }
        )

    def with_sentencex(text: str) -> object:
        return list(sentencex.segment("en", text))

    splitters: dict[str, Callable[[str], object]] = {"sentencex": with_sentencex}
    if args.with_pysbd:
        import pysbd  # type: ignore[import-untyped, import-not-found, unused-ignore]

        segmenter = pysbd.Segmenter(language="en", clean=False)
        splitters["pysbd"] = segmenter.segment
    for name, text in SPLITTER_INPUTS.items():
        for splitter, split in splitters.items():

            def run(split: Callable[[str], object] = split, text: str = text) -> object:
                return split(text)

            seconds = median_seconds(run)
            rows.append({"splitter": splitter, "input": name, "ms": round(seconds * 1000, 2)})
    # The sentence pattern of the highlighter before and after: the old one retried every suffix of a long
    # line that ends in a newline.
    before = re.compile(r"[^.!?\n]+(?:[.!?]+[\"')\]]*|$)|[.!?]+")
    for spaces in (2_000, 20_000):
        line = "alpha" + " " * spaces + "beta\nomega"
        for pattern, label in ((before, "highlighter pattern before"), (SENTENCE_PATTERN, "now")):
            seconds = median_seconds(partial(lambda p, t: list(p.finditer(t)), pattern, line))
            rows.append({"pattern": label, "line_spaces": spaces, "ms": round(seconds * 1000, 2)})
    print(json.dumps(rows, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
