"""What a documentation site's navigation does to retrieval, and what reading pages by their landmarks gives
back (index/ingest/extract/boilerplate.py), in one run.

    .venv/bin/python bench/html_boilerplate.py --dataset path/to/scifact --queries 150 --documents 600

SciFact train: the first --queries judged queries, the documents they judge and others up to --documents.
Each document becomes a page of a site of --site-size pages (title and abstract in the page, the site's
pages' titles in its menu), in the markup of a Sphinx, an MkDocs or a WordPress site in turn
(tests/documents.py). Three indexes with the default model: the abstracts as text (what the pages hold),
the pages read whole (as before), the pages read by their landmarks (now). Prints nDCG@10 per search mode,
the chunks each index holds, and what reading a page costs each way.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index import Document, SearchIndex, SearchRequest, load_embedder  # noqa: E402
from index.ingest.extract.text import read_html  # noqa: E402
from index.retrieval.evaluation import Dataset, evaluate_modes, load_dataset  # noqa: E402
from tests.documents import SITE_THEMES, site_page  # noqa: E402

MODES = [(mode, SearchRequest("", mode=mode)) for mode in ("dense", "keyword", "hybrid")]


def sample(dataset: Dataset, queries: int, documents: int) -> tuple[Dataset, list[Document]]:
    """The first ``queries`` judged queries, and the documents they judge plus others up to ``documents``."""
    kept = dict(list(dataset.queries.items())[:queries])
    qrels = {q: dataset.qrels[q] for q in kept}
    judged = {doc for docs in qrels.values() for doc in docs}
    chosen: list[Document] = []
    for document in dataset.corpus():
        if document.id in judged or len(chosen) < documents - len(judged):
            chosen.append(document)
    return Dataset(dataset.directory, kept, qrels), chosen


def pages(documents: list[Document], site_size: int) -> list[tuple[str, str]]:
    """``(id, html)`` of every document as a page of its site."""
    themes = sorted(SITE_THEMES)
    out = []
    for first in range(0, len(documents), site_size):
        site = documents[first : first + site_size]
        menu = [d.title or d.id for d in site]
        theme = themes[(first // site_size) % len(themes)]
        name = f"Site {first // site_size}"
        for d in site:
            abstract = d.text.split("\n\n", 1)[-1]
            out.append((d.id, site_page(theme, name, d.title or d.id, [abstract], menu)))
    return out


def sample_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments :func:`sample` and the model take: the BEIR folder and split, how many queries and
    documents, where the model's export is kept."""
    parser.add_argument("--dataset", type=Path, required=True, help="a BEIR folder (SciFact)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--documents", type=int, default=600)
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-model-cache"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sample_arguments(parser)
    parser.add_argument("--site-size", type=int, default=30)
    args = parser.parse_args()
    dataset, documents = sample(load_dataset(args.dataset, args.split), args.queries, args.documents)
    site = pages(documents, args.site_size)
    readings: dict[str, list[Document]] = {"abstracts as text": documents}
    cost: dict[str, float] = {}
    for name, page in (("pages read whole (before)", False), ("pages read by landmarks (now)", True)):
        read = []
        started = time.perf_counter()
        for doc_id, html in site:
            title, text, _ = read_html(html, page=page)
            read.append(Document(doc_id, text, title))
        cost[name] = (time.perf_counter() - started) / len(site) * 1000
        readings[name] = read
    embedder = load_embedder(cache_dir=args.model_cache)
    print(
        f"{len(dataset.queries)} queries, {len(documents)} documents in sites of {args.site_size} pages, "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    print()
    print("| documents | chunks | " + " | ".join(f"{m} nDCG@10" for m, _ in MODES) + " | reading a page |")
    print("|---|---:|" + "---:|" * len(MODES) + "---:|")
    with tempfile.TemporaryDirectory(prefix="html-boilerplate-") as scratch:
        for n, (name, docs) in enumerate(readings.items()):
            index = SearchIndex.open(Path(scratch) / str(n), embedder)
            index.upsert(docs)
            index.wait_for_keyword_index()
            scores = [result.ndcg_at_10 for result, _ in evaluate_modes(index, dataset, MODES)]
            chunks = index.stats().chunks
            index.close()
            reading = f"{cost[name]:.2f} ms" if name in cost else ""
            print(f"| {name} | {chunks} | " + " | ".join(f"{s:.4f}" for s in scores) + f" | {reading} |")
    lengths = [len(d.text) for d in readings["pages read whole (before)"]]
    print()
    print(f"median characters a page read whole: {statistics.median(lengths):.0f}")


if __name__ == "__main__":
    main()
