"""Which library reads PDFs for semsearch: pypdfium2, pypdf and pdfminer.six on the same PDFs, for speed and
for how much of the text comes back whole and in order.

The PDFs are printed by headless Chromium (tests/documents.py) from SciFact abstracts laid out in two
justified columns, long words breakable at soft hyphens, with a running header and a "Page N of M" footer:
the layout of a journal article. Because the source text is known, quality is measurable:

- words in order: the share of the source's words found in the same order in the extraction (difflib);
- furniture: lines of the running header or footer left in the text (each one a polluted chunk);
- broken words: source words that come out split in two.

    python -m bench.pdf_extractors [--docs 60] [--repeat 3]
"""

from __future__ import annotations

import argparse
import difflib
import io
import itertools
import json
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from index.ingest.extract import extract
from tests.documents import print_pdfs, running, two_column_html

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "scifact-train" / "corpus.jsonl"
HEADER = "Journal of Worked Examples, Volume 12"
WORD = re.compile(r"[\w']+")


def pypdfium2_raw(data: bytes) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    return "\n".join(page.get_textpage().get_text_range() for page in document)


def pypdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def pdfminer_text(data: bytes) -> str:
    from pdfminer.high_level import extract_text

    return str(extract_text(io.BytesIO(data)))


def semsearch_text(data: bytes) -> str:
    return extract(data, "bench.pdf").text


READERS: dict[str, Callable[[bytes], str]] = {
    "semsearch (pypdfium2 + layout)": semsearch_text,
    "pypdfium2, raw": pypdfium2_raw,
    "pypdf": pypdf_text,
    "pdfminer.six": pdfminer_text,
}


def score(source: str, text: str) -> dict[str, float]:
    truth = WORD.findall(source.lower())
    got = WORD.findall(text.lower())
    matcher = difflib.SequenceMatcher(None, truth, got, autojunk=False)
    in_order = sum(block.size for block in matcher.get_matching_blocks()) / len(truth)
    vocabulary = set(truth)
    broken = sum(1 for a, b in itertools.pairwise(got) if a not in vocabulary and a + b in vocabulary)
    furniture = text.count(HEADER.split(",")[0]) + len(re.findall(r"Page \d+ of \d+", text))
    return {"in_order": in_order, "broken": broken, "furniture": furniture}


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--docs", type=int, default=60, help="abstracts per PDF")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with CORPUS.open() as lines:
        records = [json.loads(next(lines)) for _ in range(args.docs)]
    sections = [(r["title"], r["text"]) for r in records]
    furniture = {"header": running(HEADER), "footer": running("Page {page} of {pages}")}
    (pdf,) = print_pdfs([(two_column_html(sections), furniture)])
    source = "Collected papers\n" + "\n".join(f"{t}\n{x}" for t, x in sections)
    import pypdfium2 as pdfium

    pages = len(pdfium.PdfDocument(pdf))
    print(f"{args.docs} abstracts, {pages} pages, {len(pdf) / 1024:.0f} KiB; median of {args.repeat} runs")
    print(f"{'reader':34} {'ms/page':>8} {'words in order':>15} {'broken words':>13} {'furniture':>10}")
    for name, reader in READERS.items():
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            text = reader(pdf)
            times.append(time.perf_counter() - started)
        result = score(source, text)
        print(
            f"{name:34} {statistics.median(times) * 1000 / pages:8.1f} {result['in_order']:15.4f} "
            f"{result['broken']:13.0f} {result['furniture']:10.0f}"
        )


if __name__ == "__main__":
    main()
