"""What a web page's links cost retrieval when their addresses are kept in the text, and what writing them as
their text gives back (index/ingest/extract/text.py, ``_PlainLinks``), in one run.

    .venv/bin/python bench/html_links.py --dataset path/to/scifact --queries 150 --documents 600

SciFact train: the first --queries judged queries, the documents they judge and others up to --documents.
Each abstract becomes a page linked as an encyclopedia article is: every --link-every'th word of five
letters or more links to its article (``https://en.wikipedia.org/wiki/Word``), and every sentence ends with
a citation (``<sup><a href="#cite_note-N">[N]</a></sup>``). ``--addresses opaque`` links to addresses
that say nothing of the word, as a newsletter's tracked links do
(``https://example.com/r/1a2b3c4d5e?utm_source=newsletter&...``). Three indexes with the default model: the
abstracts as text, the pages with their links written as Markdown (``[word](address)``, as before), and
the pages read now (a link as its text). Prints nDCG@10 per search mode, the chunks each holds and the
median model tokens a chunk.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

from bs4 import BeautifulSoup
from markdownify import MarkdownConverter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from html_boilerplate import MODES, sample, sample_arguments  # noqa: E402

from index import Document, SearchIndex, load_embedder  # noqa: E402
from index.ingest.extract.text import read_html  # noqa: E402
from index.retrieval.evaluation import evaluate_modes, load_dataset  # noqa: E402

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def address_of(word: str, addresses: str) -> str:
    if addresses == "article":
        return "https://en.wikipedia.org/wiki/" + word.capitalize()
    digest = hashlib.sha1(word.encode()).hexdigest()[:10]
    return f"https://example.com/r/{digest}?utm_source=newsletter&utm_medium=email&utm_campaign=spring"


def linked_page(title: str, abstract: str, link_every: int, addresses: str = "article") -> str:
    """``abstract`` as an encyclopedia-style page: some words linked to their articles, sentences cited."""
    sentences = []
    counted = 0
    for n, sentence in enumerate(_SENTENCE_END.split(abstract), start=1):
        words = []
        for word in sentence.split(" "):
            if word.isalpha() and len(word) >= 5:
                counted += 1
                if counted % link_every == 0:
                    address = html.escape(address_of(word, addresses))
                    words.append(f'<a href="{address}" title="{html.escape(word)}">{html.escape(word)}</a>')
                    continue
            words.append(html.escape(word))
        sentences.append(" ".join(words) + f'<sup><a href="#cite_note-{n}">[{n}]</a></sup>')
    return (
        f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{' '.join(sentences)}</p></body></html>"
    )


def links_as_markdown(page: str) -> str:
    """The page converted as before: markdownify's own links, ``[text](address "title")``."""
    soup = BeautifulSoup(page, "html.parser")
    for tag in soup(["head"]):
        tag.decompose()
    return str(MarkdownConverter(heading_style="ATX", bullets="-").convert_soup(soup)).strip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sample_arguments(parser)
    parser.add_argument("--link-every", type=int, default=6, help="link every Nth word of 5+ letters")
    parser.add_argument("--addresses", choices=["article", "opaque"], default="article")
    args = parser.parse_args()
    dataset, documents = sample(load_dataset(args.dataset, args.split), args.queries, args.documents)
    pages = [
        (
            d.id,
            d.title or d.id,
            linked_page(d.title or d.id, d.text.split("\n\n", 1)[-1], args.link_every, args.addresses),
        )
        for d in documents
    ]
    readings = {
        "abstracts as text": documents,
        "pages, links as Markdown (before)": [
            Document(doc_id, links_as_markdown(page), title) for doc_id, title, page in pages
        ],
        "pages, links as their text (now)": [
            Document(doc_id, read_html(page)[1], title) for doc_id, title, page in pages
        ],
    }
    embedder = load_embedder(cache_dir=args.model_cache)
    print(
        f"{len(dataset.queries)} queries, {len(documents)} documents, a link every {args.link_every} words "
        f"of 5+ letters to {args.addresses} addresses, load average before: {os.getloadavg()[0]:.2f}"
    )
    print()
    modes = " | ".join(f"{m} nDCG@10" for m, _ in MODES)
    print(f"| documents | chunks | median tokens a chunk | {modes} |")
    print("|---|---:|---:|" + "---:|" * len(MODES))
    with tempfile.TemporaryDirectory(prefix="html-links-") as scratch:
        for n, (name, docs) in enumerate(readings.items()):
            index = SearchIndex.open(Path(scratch) / str(n), embedder)
            index.upsert(docs)
            index.wait_for_keyword_index()
            scores = [result.ndcg_at_10 for result, _ in evaluate_modes(index, dataset, MODES)]
            texts = [chunk.text for d in docs for chunk in index.get(d.id).chunks]
            tokens = statistics.median(embedder.tokenizer.count_tokens(texts))
            index.close()
            print(
                f"| {name} | {len(texts)} | {tokens:.0f} | " + " | ".join(f"{s:.4f}" for s in scores) + " |"
            )
    sample_page = readings["pages, links as Markdown (before)"][0].text
    print()
    print(f"a page as before, its first 300 characters: {sample_page[:300]!r}")


if __name__ == "__main__":
    main()
