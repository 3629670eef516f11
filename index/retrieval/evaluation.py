"""Retrieval quality on BEIR-format datasets, measured by trec_eval (through pytrec_eval), not by hand.

A BEIR dataset is a folder with ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl``
(``_id``, ``text``) and ``qrels/<split>.tsv`` (``query-id``, ``corpus-id``, ``score`` with a header line).
Documents are indexed with text = title + blank line + text; chunk hits are aggregated to documents by the
search itself (``group_by="document"``: a document scores by its best chunk).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import pytrec_eval

from index.errors import InvalidInputError, UnsupportedOperationError
from index.ingest.preparation import batches
from index.ingest.sources import jsonl_documents
from index.search_index import SearchIndex
from index.types import Document, SearchRequest, SearchResult
from index.validation import is_blank, parse_json, storable_text

METRICS = ("ndcg_cut_10", "recall_100", "recip_rank")
RUN_DEPTH = 100


@dataclass(frozen=True, slots=True)
class Dataset:
    directory: Path
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]

    def corpus(self, on_skip: Callable[[str], object] | None = None) -> Iterator[Document]:
        """The corpus documents, text = title + blank line + text, read as ``semsearch index`` reads JSON
        Lines (:func:`~index.ingest.sources.jsonl_documents`: what BEIR's own loader takes is mended,
        and a record that still cannot be stored is left out with a note to ``on_skip``)."""
        with (self.directory / "corpus.jsonl").open("rb") as stream:
            yield from jsonl_documents(stream, "corpus.jsonl", None, on_skip, title_in_text=True)

    def corpus_size(self) -> int:
        with (self.directory / "corpus.jsonl").open(encoding="utf-8") as lines:
            return sum(1 for line in lines if line.strip())


@dataclass(frozen=True, slots=True)
class EvalResult:
    """Mean metrics over the judged queries, plus throughput."""

    mode: str
    ndcg_at_10: float
    recall_at_100: float
    mrr_at_10: float
    queries: int
    queries_per_second: float


def load_dataset(directory: Path, split: str = "test") -> Dataset:
    """Queries that have judgements in ``qrels/<split>.tsv``, and those judgements."""
    qrels_path = directory / "qrels" / f"{split}.tsv"
    for needed in (directory / "corpus.jsonl", directory / "queries.jsonl", qrels_path):
        if not needed.exists():
            raise InvalidInputError(f"{needed} is missing: a BEIR dataset has corpus, queries and qrels")
    qrels: dict[str, dict[str, int]] = {}
    with qrels_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        for row in reader:
            if not row or row[0] == "query-id":
                continue
            query_id, doc_id, score = row[0], row[1], int(row[2])
            qrels.setdefault(query_id, {})[doc_id] = score
    queries: dict[str, str] = {}
    with (directory / "queries.jsonl").open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                record = _record(line, f"queries.jsonl:{number}")
                if str(record["_id"]) in qrels:
                    queries[str(record["_id"])] = storable_text(str(record.get("text") or ""))
    return Dataset(directory, queries, {q: qrels[q] for q in queries})


def _record(line: str, where: str) -> dict[str, Any]:
    """One line of a BEIR JSON Lines file: an object with an ``_id``."""
    record = parse_json(line, where, if_invalid=": a truncated or damaged file?")
    if not isinstance(record, dict) or "_id" not in record:
        raise InvalidInputError(f"{where} is not a JSON object with an _id")
    return record


Run = dict[str, dict[str, float]]


class Searcher(Protocol):
    """What evaluation needs of an index: a :class:`SearchIndex`, or a sharded one."""

    def search_batch(self, requests: Sequence[SearchRequest]) -> list[SearchResult]: ...


def run_queries(
    index: Searcher,
    dataset: Dataset,
    template: SearchRequest,
    *,
    batch_size: int = 32,
    ignore_identical_ids: bool = False,
) -> tuple[Run, float]:
    """Every query through ``index`` with the ``template`` request's settings (its query is replaced);
    the top ``RUN_DEPTH`` documents of each, and the queries per second. ``ignore_identical_ids`` leaves out
    a document whose id is the query's (BEIR's convention for datasets whose queries are also documents).
    A query with no text finds nothing (and scores 0)."""
    request = replace(template, k=RUN_DEPTH + int(ignore_identical_ids), offset=0, group_by="document")
    run: Run = {q: {} for q, text in dataset.queries.items() if is_blank(text)}
    ids = [q for q in dataset.queries if q not in run]
    started = time.perf_counter()
    for first in range(0, len(ids), batch_size):
        batch = ids[first : first + batch_size]
        results = index.search_batch([replace(request, query=dataset.queries[q]) for q in batch])
        for query_id, result in zip(batch, results, strict=True):
            hits = [h for h in result.hits if not (ignore_identical_ids and h.doc_id == query_id)]
            run[query_id] = {hit.doc_id: hit.score for hit in hits[:RUN_DEPTH]}
    elapsed = time.perf_counter() - started
    return run, len(ids) / elapsed if elapsed > 0 else float("inf")


def evaluate(qrels: dict[str, dict[str, int]], run: Run) -> dict[str, float]:
    """Mean nDCG@10, Recall@100 and MRR@10 over the queries in ``qrels`` (a query with no hits scores 0)."""
    top10 = {q: dict(sorted(docs.items(), key=lambda item: -item[1])[:10]) for q, docs in run.items()}
    measures = {"ndcg_cut.10", "recall.100"}
    full = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(_nonempty(run, qrels))
    cut = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(_nonempty(top10, qrels))
    count = len(qrels)

    def mean(per_query: dict[str, dict[str, float]], metric: str) -> float:
        return sum(scores[metric] for scores in per_query.values()) / count if count else 0.0

    return {
        "ndcg_at_10": mean(full, "ndcg_cut_10"),
        "recall_at_100": mean(full, "recall_100"),
        "mrr_at_10": mean(cut, "recip_rank"),
    }


def _nonempty(run: Run, qrels: dict[str, dict[str, int]]) -> Run:
    # trec_eval skips queries absent from the run; they must count as zeros, so the means divide by
    # len(qrels) above and absent queries simply add nothing.
    return {q: docs for q, docs in run.items() if q in qrels and docs}


def per_query_ndcg(qrels: dict[str, dict[str, int]], run: Run) -> dict[str, float]:
    """nDCG@10 of every judged query (0 for a query the run has no hits for)."""
    scores = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"}).evaluate(_nonempty(run, qrels))
    return {query: scores.get(query, {}).get("ndcg_cut_10", 0.0) for query in qrels}


@dataclass(frozen=True, slots=True)
class Comparison:
    """Run B against run A on the same queries: per-query nDCG@10 wins, losses and ties of B, the mean
    difference, and the two-sided p-value of a paired permutation test (sign flips of the differences)."""

    queries: int
    ndcg_at_10_a: float
    ndcg_at_10_b: float
    difference: float
    wins: int
    losses: int
    ties: int
    p_value: float


def compare_runs(
    qrels: dict[str, dict[str, int]], run_a: Run, run_b: Run, *, resamples: int = 10_000, seed: int = 0
) -> Comparison:
    """Whether run B differs from run A by more than chance, query by query (scipy's permutation test on the
    paired nDCG@10 values: a difference of 0.003 on a few hundred queries is usually noise)."""
    try:
        from scipy.stats import permutation_test  # only here: the library's import stays light
    except ImportError as error:  # the container image leaves scipy out
        raise UnsupportedOperationError(
            "comparing runs needs scipy, which this installation leaves out: pip install scipy"
        ) from error

    a, b = per_query_ndcg(qrels, run_a), per_query_ndcg(qrels, run_b)
    queries = sorted(qrels)
    pairs = [(a[q], b[q]) for q in queries]
    wins = sum(1 for x, y in pairs if y > x + 1e-9)
    losses = sum(1 for x, y in pairs if y < x - 1e-9)
    mean_a = sum(x for x, _ in pairs) / len(pairs) if pairs else 0.0
    mean_b = sum(y for _, y in pairs) / len(pairs) if pairs else 0.0
    p_value = 1.0
    if wins + losses:
        test = permutation_test(
            ([x for x, _ in pairs], [y for _, y in pairs]),
            lambda x, y, axis: (y - x).mean(axis=axis),
            permutation_type="samples",
            vectorized=True,
            n_resamples=resamples,
            alternative="two-sided",
            rng=seed,
        )
        p_value = float(test.pvalue)
    return Comparison(
        len(pairs), mean_a, mean_b, mean_b - mean_a, wins, losses, len(pairs) - wins - losses, p_value
    )


def read_trec_run(path: Path) -> Run:
    """A TREC run file (``query Q0 doc rank score tag``) as ``{query: {doc: score}}``."""
    run: Run = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < 5:
                raise InvalidInputError(f"{path}:{number}: a run line has query, Q0, doc, rank and score")
            try:
                run.setdefault(fields[0], {})[fields[2]] = float(fields[4])
            except ValueError as error:
                raise InvalidInputError(
                    f"{path}:{number}: the score {fields[4]!r} is not a number"
                ) from error
    return run


def write_trec_run(path: Path, run: Run, tag: str) -> None:
    """A TREC run file: ``query Q0 doc rank score tag``, ranks from 1 by descending score."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for query_id in sorted(run):
            ranked = sorted(run[query_id].items(), key=lambda item: (-item[1], item[0]))
            for rank, (doc_id, score) in enumerate(ranked, start=1):
                handle.write(f"{query_id} Q0 {doc_id} {rank} {score:.6f} {tag}\n")


def index_dataset(
    index: SearchIndex,
    dataset: Dataset,
    *,
    batch_size: int = 64,
    on_progress: Callable[[int], object] | None = None,
    on_skip: Callable[[str], object] | None = None,
) -> None:
    """Upsert the corpus (documents already indexed unchanged are skipped, so re-runs are cheap), and wait
    for the in-memory keyword index. Records that cannot be indexed go to ``on_skip``
    (:meth:`Dataset.corpus`)."""
    for _ in index.upsert_stream(batches(dataset.corpus(on_skip), batch_size), on_embedded=on_progress):
        pass
    index.wait_for_keyword_index()  # every query then meets the same keyword engine


def evaluate_modes(
    index: Searcher,
    dataset: Dataset,
    templates: Sequence[tuple[str, SearchRequest]],
    *,
    ignore_identical_ids: bool = False,
) -> list[tuple[EvalResult, Run]]:
    """Run and score each ``(name, request template)``."""
    results = []
    for name, template in templates:
        run, qps = run_queries(index, dataset, template, ignore_identical_ids=ignore_identical_ids)
        metrics = evaluate(dataset.qrels, run)
        result = EvalResult(mode=name, queries=len(dataset.queries), queries_per_second=qps, **metrics)
        results.append((result, run))
    return results
