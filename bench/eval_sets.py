"""Evaluation sets of other query kinds, built from a BEIR dataset, for choosing fusion and long-query
handling on more than one kind of question (docs/retrieval.md, "Fusion across query kinds").

From a BEIR folder (SciFact train, say) this writes BEIR folders beside each other under OUT:

* ``rest/``: one corpus, titles left out of the text, in which a sample of documents keeps only the first
  half of its sentences. Three query sets over it, in ``qrels/<set>.tsv``:

  - ``halves``: long known-item queries. The *other* half of a truncated document is the query, the
    document the answer: a reader pasting a passage to find where it continues.
  - ``titles``: a document's title is the query, the document (without its title) the answer: short
    natural-language phrases.
  - ``keywords``: three words drawn from one document (words in 2 to 50 documents, not stop words) are the
    query: what someone who remembers a few distinctive words types.

* ``reverse/``: paragraph queries. The corpus is the dataset's queries (SciFact's one-sentence claims), a
  query is a judged document's whole text (title and abstract, often longer than the model reads), the
  answers the claims judged relevant to it: like ArguAna, a paragraph in, short passages out.

The original dataset itself is the fourth set (claims: paraphrases of what an abstract found).
Everything is drawn with a fixed seed, so the sets are the same on every run.

    .venv/bin/python bench/eval_sets.py path/to/scifact-train /var/tmp/semsearch-sets
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import sentencex

from index.storage.keyword import STOPWORDS_EN

SEED = 14
SAMPLE = 600
_WORD = re.compile(r"[a-z][a-z-]{3,}")


def read_jsonl(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def write_set(
    folder: Path,
    corpus: Iterable[Mapping[str, str]],
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    split: str,
) -> None:
    """A BEIR folder; queries are appended (several splits share one corpus and queries.jsonl)."""
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    if not (folder / "corpus.jsonl").exists():
        with (folder / "corpus.jsonl").open("w", encoding="utf-8") as out:
            for doc in corpus:
                out.write(json.dumps(doc) + "\n")
    with (folder / "queries.jsonl").open("a", encoding="utf-8") as out:
        for query_id, text in queries.items():
            out.write(json.dumps({"_id": query_id, "text": text}) + "\n")
    with (folder / "qrels" / f"{split}.tsv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t")
        writer.writerow(["query-id", "corpus-id", "score"])
        for query_id, docs in qrels.items():
            writer.writerows([query_id, doc, score] for doc, score in docs.items())


def sentences(text: str) -> list[str]:
    return [s.strip() for s in sentencex.segment("en", text) if s.strip()]


def build_rest(corpus: list[dict[str, str]], out: Path, rng: random.Random) -> dict[str, int]:
    by_id = {doc["_id"]: doc for doc in corpus}
    long_enough = sorted(d["_id"] for d in corpus if len(sentences(d.get("text", ""))) >= 4)
    halved = set(rng.sample(long_enough, min(SAMPLE, len(long_enough))))
    rest = sorted(set(by_id) - halved)
    titled = rng.sample([d for d in rest if by_id[d].get("title", "").strip()], SAMPLE)
    keyed = rng.sample(rest, SAMPLE)

    texts: dict[str, str] = {}
    halves: dict[str, str] = {}
    for doc in corpus:
        text = doc.get("text", "")
        if doc["_id"] in halved:
            parts = sentences(text)
            middle = len(parts) // 2
            text, halves[doc["_id"]] = " ".join(parts[:middle]), " ".join(parts[middle:])
        texts[doc["_id"]] = text
    frequency = Counter(word for text in texts.values() for word in set(_WORD.findall(text.lower())))

    keywords: dict[str, str] = {}
    for doc_id in keyed:
        words = sorted(
            {
                w
                for w in _WORD.findall(texts[doc_id].lower())
                if w not in STOPWORDS_EN and 2 <= frequency[w] <= 50
            }
        )
        if len(words) >= 3:
            keywords[doc_id] = " ".join(rng.sample(words, 3))

    documents = [{"_id": doc_id, "title": "", "text": text} for doc_id, text in texts.items() if text.strip()]
    sets = {
        "halves": {f"h{doc}": text for doc, text in halves.items()},
        "titles": {f"t{doc}": by_id[doc]["title"].strip() for doc in titled},
        "keywords": {f"k{doc}": text for doc, text in keywords.items()},
    }
    for split, queries in sets.items():
        write_set(out / "rest", documents, queries, {q: {q[1:]: 1} for q in queries}, split)
    return {split: len(queries) for split, queries in sets.items()}


def build_reverse(source: Path, corpus: list[dict[str, str]], out: Path, split: str) -> int:
    claims = read_jsonl(source / "queries.jsonl")
    qrels: dict[str, dict[str, int]] = {}
    with (source / "qrels" / f"{split}.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if row and row[0] != "query-id" and int(row[2]) > 0:
                qrels.setdefault(f"a{row[1]}", {})[row[0]] = 1
    by_id = {doc["_id"]: doc for doc in corpus}
    queries = {
        q: f"{by_id[q[1:]].get('title', '')}\n\n{by_id[q[1:]].get('text', '')}".strip()
        for q in sorted(qrels)
        if q[1:] in by_id
    }
    documents = [{"_id": c["_id"], "title": "", "text": c["text"]} for c in claims]
    write_set(out / "reverse", documents, queries, {q: qrels[q] for q in queries}, "test")
    return len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", type=Path, help="a BEIR folder (SciFact train)")
    parser.add_argument("out", type=Path)
    parser.add_argument("--split", default="train")
    args = parser.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} is not empty")
    corpus = read_jsonl(args.dataset / "corpus.jsonl")
    rng = random.Random(SEED)
    counts = build_rest(corpus, args.out, rng)
    counts["reverse"] = build_reverse(args.dataset, corpus, args.out, args.split)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
