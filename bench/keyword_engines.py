"""Compare keyword engines for the BM25 side: SQLite FTS5 (semsearch's keyword side of record), semsearch's
in-memory index (its fast path), bm25s and tantivy.

Each engine indexes the same BEIR corpus at document level (text = title + text), answers every query with
the same stop-word filtering, and is scored with the same trec_eval measures. Also timed: building the
index, one query (median), and making one new document searchable (the update behaviour).

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/keyword_engines.py path/to/scifact --split train
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from index.retrieval.evaluation import Dataset, evaluate, load_dataset
from index.storage.bm25 import MemoryKeywordIndex
from index.storage.keyword import STOPWORDS_EN, match_expression, query_terms

Search = Callable[[str], dict[str, float]]
DEPTH = 100


def fts5(corpus: list[tuple[str, str]]) -> tuple[Search, Callable[[str, str], None]]:
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE VIRTUAL TABLE t USING fts5(doc_id UNINDEXED, body, "
        "tokenize='porter unicode61 remove_diacritics 2')"
    )
    connection.executemany("INSERT INTO t (doc_id, body) VALUES (?, ?)", corpus)

    def search(query: str) -> dict[str, float]:
        terms = query_terms(query)
        if not terms:
            return {}
        rows = connection.execute(
            "SELECT doc_id, bm25(t) FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT ?",
            (match_expression(terms), DEPTH),
        )
        return {doc_id: -score for doc_id, score in rows}

    def add(doc_id: str, text: str) -> None:
        with connection:
            connection.execute("INSERT INTO t (doc_id, body) VALUES (?, ?)", (doc_id, text))

    return search, add


def memory_engine(corpus: list[tuple[str, str]]) -> tuple[Search, Callable[[str, str], None]]:
    """semsearch's in-memory index (index/storage/bm25.py), which scores as FTS5 does."""
    memory = MemoryKeywordIndex()
    ids = [doc_id for doc_id, _ in corpus]
    memory.add((i, None, text) for i, (_, text) in enumerate(corpus))

    def search(query: str) -> dict[str, float]:
        hits, _ = memory.search(query_terms(query), DEPTH, title_weight=0.0)
        return {ids[i]: score for i, score in hits}

    def add(doc_id: str, text: str) -> None:
        ids.append(doc_id)
        memory.add([(len(ids) - 1, None, text)])

    return search, add


def bm25s_engine(corpus: list[tuple[str, str]]) -> tuple[Search, Callable[[str, str], None]]:
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    ids = [doc_id for doc_id, _ in corpus]
    texts = [text for _, text in corpus]

    def build() -> bm25s.BM25:
        retriever = bm25s.BM25()
        retriever.index(
            bm25s.tokenize(texts, stopwords=list(STOPWORDS_EN), stemmer=stemmer, show_progress=False),
            show_progress=False,
        )
        return retriever

    state = {"retriever": build()}

    def search(query: str) -> dict[str, float]:
        tokens = bm25s.tokenize([query], stopwords=list(STOPWORDS_EN), stemmer=stemmer, show_progress=False)
        if not tokens.vocab:
            return {}
        docs, scores = state["retriever"].retrieve(tokens, k=min(DEPTH, len(ids)), show_progress=False)
        return {ids[d]: float(s) for d, s in zip(docs[0], scores[0], strict=True) if s > 0}

    def add(doc_id: str, text: str) -> None:  # bm25s has no incremental update: rebuild
        ids.append(doc_id)
        texts.append(text)
        state["retriever"] = build()

    return search, add


def tantivy_engine(corpus: list[tuple[str, str]]) -> tuple[Search, Callable[[str, str], None]]:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("doc_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("body", stored=False, tokenizer_name="en_stem")
    schema = builder.build()
    index = tantivy.Index(schema, path=tempfile.mkdtemp(prefix="tantivy-"))
    writer = index.writer()
    for doc_id, text in corpus:
        writer.add_document(tantivy.Document(doc_id=doc_id, body=text))
    writer.commit()
    index.reload()

    def search(query: str) -> dict[str, float]:
        terms = query_terms(query)
        if not terms:
            return {}
        parsed = index.parse_query(" OR ".join(f'"{t}"' for t in terms), ["body"])
        searcher = index.searcher()
        found = searcher.search(parsed, DEPTH).hits
        return {searcher.doc(address)["doc_id"][0]: float(score) for score, address in found}

    def add(doc_id: str, text: str) -> None:
        writer.add_document(tantivy.Document(doc_id=doc_id, body=text))
        writer.commit()
        index.reload()

    return search, add


def measure(
    name: str, factory: Callable[..., tuple[Search, Callable[[str, str], None]]], dataset: Dataset
) -> None:
    corpus = [(doc.id, doc.text) for doc in dataset.corpus()]
    started = time.perf_counter()
    search, add = factory(corpus)
    build_s = time.perf_counter() - started
    latencies = []
    run = {}
    for query_id, text in dataset.queries.items():
        started = time.perf_counter()
        run[query_id] = search(text)
        latencies.append(time.perf_counter() - started)
    metrics = evaluate(dataset.qrels, run)
    started = time.perf_counter()
    add("new-doc", "A freshly added document about zebrafish regeneration.")
    found = "new-doc" in search("zebrafish regeneration")
    update_ms = (time.perf_counter() - started) * 1000
    print(
        f"| {name} | {metrics['ndcg_at_10']:.3f} | {metrics['recall_at_100']:.3f} | {build_s:.1f} s "
        f"| {statistics.median(latencies) * 1000:.2f} ms | {update_ms:.1f} ms{'' if found else ' (lost)'} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--engines", default="fts5,memory,bm25s,tantivy")
    args = parser.parse_args()
    dataset = load_dataset(args.dataset, args.split)
    print(f"{len(dataset.queries)} queries, {dataset.corpus_size()} documents\n")
    print("| engine | nDCG@10 | Recall@100 | build | query (median) | add 1 doc + search |")
    print("|---|---|---|---|---|---|")
    engines = {"fts5": fts5, "memory": memory_engine, "bm25s": bm25s_engine, "tantivy": tantivy_engine}
    for name in args.engines.split(","):
        measure(name, engines[name], dataset)


if __name__ == "__main__":
    main()
