"""Fusion and long-query handling measured on several query kinds at once (docs/retrieval.md).

For each evaluation set (the BEIR dataset itself and those bench/eval_sets.py builds from it) the index is
built once under --data-dir; each side's document candidates are collected once per query through the
index's own code (:meth:`SearchIndex.candidates`, documents scored as ``group_by="document"`` scores them);
then every fusion rule is applied to the same candidates and scored by trec_eval. A rule that the service
implements reproduces its ``semsearch eval`` number exactly.

    .venv/bin/python bench/eval_sets.py path/to/scifact-train /var/tmp/semsearch-sets
    .venv/bin/python bench/fusion_lab.py path/to/scifact-train /var/tmp/semsearch-sets \
        --data-dir /var/tmp/semsearch-lab
"""

from __future__ import annotations

import argparse
import math
import pickle
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from index import SearchIndex, SearchRequest, load_embedder
from index.encoders.base import Embedder
from index.retrieval.evaluation import Dataset, compare_runs, evaluate, index_dataset, load_dataset
from index.retrieval.fusion import anchored as anchored_scores
from index.retrieval.fusion import dense_scale, min_max, reciprocal_rank_fusion, top, weighted_sum
from index.retrieval.query import LongQuery, embed_queries
from index.storage.keyword import query_terms

Scores = dict[str, float]
DEPTH = 100


@dataclass
class Collected:
    """One query's candidates: dense document scores per long-query strategy, and keyword ones."""

    dense: dict[str, Scores]
    keyword: Scores
    pieces: int
    terms: int


def collect(
    index: SearchIndex, embedder: Embedder, dataset: Dataset, strategies: list[LongQuery]
) -> dict[str, Collected]:
    template = SearchRequest("", k=DEPTH, group_by="document")
    ids = list(dataset.queries)
    out: dict[str, Collected] = {}
    for first in range(0, len(ids), 32):
        batch = ids[first : first + 32]
        requests = [replace(template, query=dataset.queries[q]) for q in batch]
        dense: dict[str, dict[str, Scores]] = {q: {} for q in batch}
        keyword: dict[str, Scores] = {}
        pieces: list[int] = []
        for strategy in strategies:
            vectors, pieces = embed_queries(embedder, requests, strategy)
            for query_id, found in zip(batch, index.candidates(requests, vectors), strict=True):
                dense[query_id][strategy] = per_document(index, found.sides[0])
                keyword[query_id] = dict(found.documents or {})
        for query_id, count in zip(batch, pieces, strict=True):
            terms = len(query_terms(dataset.queries[query_id]))
            out[query_id] = Collected(dense[query_id], keyword[query_id], count, terms)
    return out


def per_document(index: SearchIndex, chunks: Mapping[int, float]) -> Scores:
    placed = index.documents(sorted(chunks))
    best: Scores = {}
    for chunk, score in chunks.items():
        if chunk in placed:
            doc = placed[chunk][0]
            best[doc] = max(score, best.get(doc, -math.inf))
    return best


# -- fusion rules over one query's candidates --------------------------------------------------------

Rule = Callable[[Collected], Scores]


def z_scores(scores: Scores) -> Scores:
    if len(scores) < 2:
        return dict.fromkeys(scores, 1.0)
    values = list(scores.values())
    mean, spread = statistics.fmean(values), statistics.pstdev(values) or 1.0
    low = min(values)
    return {k: (v - low) / spread for k, v in scores.items()} if mean else dict.fromkeys(scores, 1.0)


def blend(weight: float, strategy: LongQuery = "first", keyword_norm: str = "scale") -> Rule:
    def rule(c: Collected) -> Scores:
        dense = c.dense[strategy]
        if keyword_norm == "z":
            return weighted_sum([z_scores(dense), z_scores(c.keyword)], [weight, 1 - weight])
        keyword = min_max(c.keyword) if keyword_norm == "minmax" else c.keyword
        return weighted_sum([min_max(dense), keyword], [weight, 1 - weight])

    return rule


def adaptive(short: float, long: float, threshold: int, strategy: LongQuery = "first") -> Rule:
    """The blend, its dense weight chosen by the query's number of terms."""

    def rule(c: Collected) -> Scores:
        return blend(short if c.terms <= threshold else long, strategy)(c)

    return rule


def floored(weight: float, floor: float) -> Rule:
    """The blend with the dense side on a fixed scale instead of stretched per query: cosine above
    ``floor``, divided by ``1 - floor`` (0 below), so a query whose best dense match is weak stays weak."""

    def rule(c: Collected) -> Scores:
        dense = {k: max(0.0, (v - floor) / (1 - floor)) for k, v in c.dense["first"].items()}
        return weighted_sum([dense, c.keyword], [weight, 1 - weight])

    return rule


def anchored(weight: float) -> Rule:
    """The blend with the dense side's cosines rescaled from [its deepest candidate's, 1] to [0, 1]: the
    floor comes from each query's own candidates, the ceiling is fixed, so a weak best match stays weak."""

    def rule(c: Collected) -> Scores:
        return weighted_sum([anchored_scores(c.dense["first"]), c.keyword], [weight, 1 - weight])

    return rule


def confident(high: float, low: float, threshold: float) -> Rule:
    """The blend, its dense weight lowered to ``low`` when the keyword side's best match holds most of the
    query's IDF mass (score over its scale of at least ``threshold``)."""

    def rule(c: Collected) -> Scores:
        best = max(c.keyword.values(), default=0.0)
        return blend(low if best >= threshold else high)(c)

    return rule


def gap_switch(weight: float, gap: float) -> Rule:
    """Min-max on the dense side when its best candidate stands out from its deepest by at least ``gap``
    (the dense side has found something); anchored at cosine 1 when it does not (it has found nothing).
    The service's rule (:func:`index.retrieval.fusion.dense_scale`), with its default gap of 0.3."""

    def rule(c: Collected) -> Scores:
        dense = c.dense["first"]
        return weighted_sum([dense_scale(dense, gap), c.keyword], [weight, 1 - weight])

    return rule


def gap_confident(weight: float, gap: float, low: float, threshold: float) -> Rule:
    """The gap switch, with the dense weight lowered to ``low`` when the dense side has found nothing
    (spread under ``gap``) and the keyword side's best match holds most of the query's IDF mass (score over
    its scale of at least ``threshold``): a few remembered words, matched, and nothing meant."""

    def rule(c: Collected) -> Scores:
        dense = c.dense["first"]
        spread = max(dense.values(), default=0.0) - min(dense.values(), default=0.0)
        best = max(c.keyword.values(), default=0.0)
        w = low if spread < gap and best >= threshold else weight
        return weighted_sum([dense_scale(dense, gap), c.keyword], [w, 1 - w])

    return rule


def gap_ramp(weight: float, low: float, high: float) -> Rule:
    """The dense side min-max when its spread is at least ``high``, anchored at cosine 1 when it is at most
    ``low``, and in between a mix of the two in proportion: a smooth gap switch."""

    def rule(c: Collected) -> Scores:
        dense = c.dense["first"]
        if not dense:
            return dict(c.keyword)
        spread = max(dense.values()) - min(dense.values())
        share = min(1.0, max(0.0, (spread - low) / (high - low)))
        stretched, kept = min_max(dense), anchored_scores(dense)
        normalised = {k: share * stretched[k] + (1 - share) * kept[k] for k in dense}
        return weighted_sum([normalised, c.keyword], [weight, 1 - weight])

    return rule


def gap_by_length(weight: float, short_gap: float, gap: float, short_terms: int) -> Rule:
    """The gap switch, asking more of the dense side (``short_gap``) before stretching it for a query of at
    most ``short_terms`` terms: a few words say little that a sentence would, and match exactly or not."""

    def rule(c: Collected) -> Scores:
        dense = dense_scale(c.dense["first"], short_gap if c.terms <= short_terms else gap)
        return weighted_sum([dense, c.keyword], [weight, 1 - weight])

    return rule


def mixed(weight: float, share: float) -> Rule:
    """The dense side normalised half-way: ``share`` of min-max plus the rest anchored at 1."""

    def rule(c: Collected) -> Scores:
        dense = c.dense["first"]
        low, high = min_max(dense), anchored_scores(dense)
        normalised = {k: share * low[k] + (1 - share) * high[k] for k in dense}
        return weighted_sum([normalised, c.keyword], [weight, 1 - weight])

    return rule


def rrf(k: float = 60.0, strategy: LongQuery = "first") -> Rule:
    return lambda c: reciprocal_rank_fusion([c.dense[strategy], c.keyword], k)


def run_of(collected: Mapping[str, Collected], rule: Rule) -> dict[str, dict[str, float]]:
    return {q: dict(top(rule(c), DEPTH)) for q, c in collected.items()}


def score(dataset: Dataset, collected: Mapping[str, Collected], rule: Rule) -> dict[str, float]:
    return evaluate(dataset.qrels, run_of(collected, rule))


RULES: list[tuple[str, Rule]] = [
    ("dense (first window)", lambda c: c.dense["first"]),
    ("dense (mean of pieces)", lambda c: c.dense["mean"]),
    ("dense (max-similarity)", lambda c: c.dense["max"]),
    ("keyword", lambda c: c.keyword),
    ("rrf k=60", rrf()),
    *((f"blend w={w}", blend(w)) for w in (0.3, 0.4, 0.5, 0.6, 0.7)),
    *((f"min-max blend w={w}", blend(w, keyword_norm="minmax")) for w in (0.4, 0.5, 0.6)),
    *((f"z-score blend w={w}", blend(w, keyword_norm="z")) for w in (0.4, 0.5, 0.6)),
    *((f"blend w=0.5, {s}", blend(0.5, s)) for s in ("mean", "max")),
    *((f"floored blend w={w}, floor {f}", floored(w, f)) for w in (0.4, 0.5, 0.6) for f in (0.0, 0.2, 0.3)),
    *((f"floored blend w={w}, floor {f}", floored(w, f)) for w in (0.35, 0.4, 0.45) for f in (0.35, 0.4)),
    *((f"anchored blend w={w}", anchored(w)) for w in (0.3, 0.4, 0.5, 0.6)),
    *(
        (f"keyword-confident: w={a}, {b} when best >= {t}", confident(a, b, t))
        for a, b, t in (
            (0.4, 0.3, 1.0),
            (0.4, 0.2, 1.0),
            (0.5, 0.3, 1.0),
            (0.4, 0.2, 0.8),
            (0.5, 0.2, 0.8),
            (0.4, 0.1, 0.8),
            (0.4, 0.1, 0.9),
            (0.4, 0.15, 0.9),
            (0.4, 0.1, 1.0),
        )
    ),
    *(
        (f"gap switch w={w}, gap {g}", gap_switch(w, g))
        for w in (0.4, 0.5)
        for g in (0.2, 0.3, 0.35, 0.4, 0.45)
    ),
    *((f"mixed w={w}, min-max share {m}", mixed(w, m)) for w in (0.4, 0.5) for m in (0.3, 0.5)),
    *(
        (f"gap confident: w=0.4, gap 0.3, {b} when best >= {t}", gap_confident(0.4, 0.3, b, t))
        for b in (0.1, 0.2, 0.3)
        for t in (0.7, 0.8, 0.9, 1.0)
    ),
    *(
        (f"gap by length: w=0.4, {sg} up to {t} terms, else 0.3", gap_by_length(0.4, sg, 0.3, t))
        for sg in (0.35, 0.4, 0.45, 0.5)
        for t in (3, 4, 5, 6)
    ),
    *(
        (f"gap ramp w={w}, {lo} to {hi}", gap_ramp(w, lo, hi))
        for w in (0.4, 0.5)
        for lo, hi in ((0.25, 0.45), (0.3, 0.45), (0.3, 0.5), (0.3, 0.6), (0.35, 0.5))
    ),
    *(
        (f"by length: w={a} up to {t} terms, else {b}", adaptive(a, b, t))
        for a, b, t in ((0.4, 0.6, 16), (0.4, 0.7, 16), (0.4, 0.6, 32), (0.3, 0.6, 16))
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", type=Path, help="the BEIR dataset (SciFact train)")
    parser.add_argument("sets", type=Path, help="what bench/eval_sets.py wrote")
    parser.add_argument("--split", default="train")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-models"))
    parser.add_argument("--only", default="", help="comma-separated rule name prefixes")
    parser.add_argument(
        "--baseline", default="gap switch w=0.4, gap 0.3", help="rule the comparison starts from"
    )
    parser.add_argument(
        "--candidate",
        default="gap by length: w=0.4, 0.4 up to 3 terms, else 0.3",
        help="rule compared with it",
    )
    args = parser.parse_args()
    sets = [
        ("claims", args.dataset, args.split),
        ("halves", args.sets / "rest", "halves"),
        ("titles", args.sets / "rest", "titles"),
        ("keywords", args.sets / "rest", "keywords"),
        ("paragraphs", args.sets / "reverse", "test"),
    ]
    embedder = load_embedder(args.model, cache_dir=args.model_cache)
    results: dict[str, dict[str, dict[str, float]]] = {}
    rules = dict(RULES)
    comparisons = []
    for name, folder, split in sets:
        dataset = load_dataset(folder, split)
        cache = args.data_dir / f"{name}.pickle"
        if cache.exists():
            collected = pickle.loads(cache.read_bytes())
        else:
            started = time.perf_counter()
            with SearchIndex.open(args.data_dir / folder.name, embedder) as index:
                index_dataset(index, dataset)
                collected = collect(index, embedder, dataset, ["first", "mean", "max"])
            cache.write_bytes(pickle.dumps(collected))
            print(f"{name}: collected in {time.perf_counter() - started:.0f} s", flush=True)
        long = sum(c.pieces > 1 for c in collected.values())
        terms = statistics.median(c.terms for c in collected.values())
        print(f"{name}: {len(collected)} queries, {long} over the model's budget, median {terms} terms")
        comparison = compare_runs(
            dataset.qrels,
            run_of(collected, rules[args.baseline]),
            run_of(collected, rules[args.candidate]),
        )
        comparisons.append((name, comparison))
        results[name] = {
            rule_name: score(dataset, collected, rule)
            for rule_name, rule in RULES
            if not args.only
            or rule_name in ("dense (first window)", "keyword", args.baseline, args.candidate)
            or any(rule_name.startswith(p) for p in args.only.split(","))
        }
    names = [name for name, _, _ in sets]
    print("\n| rule | " + " | ".join(names) + " | mean | worst vs best side |")
    print("|---|" + "---|" * (len(names) + 2))
    for rule_name in results[names[0]]:
        row = [results[n][rule_name]["ndcg_at_10"] for n in names]
        best_side = [
            max(results[n][r]["ndcg_at_10"] for r in ("dense (first window)", "keyword") if r in results[n])
            for n in names
        ]
        worst = min(a - b for a, b in zip(row, best_side, strict=True))
        cells = " | ".join(f"{v:.4f}" for v in row)
        print(f"| {rule_name} | {cells} | {np.mean(row):.4f} | {worst:+.4f} |")
    print(f"\n{args.candidate} against {args.baseline}, per query (nDCG@10, paired permutation test):\n")
    print("| set | queries | baseline | candidate | wins | losses | ties | p |")
    print("|---|---|---|---|---|---|---|---|")
    for name, c in comparisons:
        print(
            f"| {name} | {c.queries} | {c.ndcg_at_10_a:.4f} | {c.ndcg_at_10_b:.4f} | {c.wins} | {c.losses} "
            f"| {c.ties} | {c.p_value:.3g} |"
        )


if __name__ == "__main__":
    main()
