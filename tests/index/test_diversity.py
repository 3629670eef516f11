"""Maximal marginal relevance against a plain reference written from the definition, and by hand."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from index.retrieval.diversity import MAX_DEFAULT_POOL, MIN_POOL, mmr_order, pool_size
from index.types import SearchRequest


def reference_order(
    relevance: list[float], vectors: list[list[float]], diversity: float, count: int
) -> list[int]:
    """Carbonell and Goldstein's greedy picking, one loop per step, nothing vectorised."""
    low, high = min(relevance), max(relevance)
    scaled = [(r - low) / (high - low) if high > low else 1.0 for r in relevance]

    def cosine(a: list[float], b: list[float]) -> float:
        na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(x * x for x in b))
        return 0.0 if na == 0 or nb == 0 else sum(x * y for x, y in zip(a, b, strict=True)) / (na * nb)

    picked: list[int] = []
    while len(picked) < min(count, len(relevance)):
        best, best_value = -1, -math.inf
        for i in range(len(relevance)):
            if i in picked:
                continue
            likeness = max((cosine(vectors[i], vectors[j]) for j in picked), default=0.0)
            value = (1 - diversity) * scaled[i] - diversity * likeness
            if value > best_value + 1e-9:
                best, best_value = i, value
        picked.append(best)
    return picked


def well_separated(
    order: list[int], relevance: list[float], vectors: list[list[float]], diversity: float
) -> bool:
    """Whether every step of the reference had a winner clear of the runner-up (float rounding may otherwise
    pick either of two near-equal candidates, in either implementation)."""
    low, high = min(relevance), max(relevance)
    scaled = [(r - low) / (high - low) if high > low else 1.0 for r in relevance]
    unit = [np.asarray(v) / (np.linalg.norm(v) or 1.0) for v in vectors]
    for step in range(len(order)):
        picked = order[:step]
        values = sorted(
            (
                (1 - diversity) * scaled[i]
                - diversity * max((float(unit[i] @ unit[j]) for j in picked), default=0.0)
                for i in range(len(relevance))
                if i not in picked
            ),
            reverse=True,
        )
        if len(values) > 1 and values[0] - values[1] < 1e-6:
            return False
    return True


vectors_strategy = st.integers(min_value=1, max_value=12).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(-5, 5, allow_nan=False), min_size=n, max_size=n),
        st.lists(st.lists(st.floats(-1, 1, width=32), min_size=3, max_size=3), min_size=n, max_size=n),
    )
)


@settings(max_examples=300, deadline=None)
@given(vectors_strategy, st.floats(0, 1), st.integers(0, 14))
def test_mmr_matches_the_reference(
    items: tuple[list[float], list[list[float]]], diversity: float, count: int
) -> None:
    relevance, vectors = items
    expected = reference_order(relevance, vectors, diversity, count)
    got = mmr_order(np.array(relevance), np.array(vectors, dtype=np.float32), diversity, count)
    assert len(got) == len(set(got)) == min(count, len(relevance))
    if well_separated(expected, relevance, vectors, diversity):
        assert got == expected


@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=30), st.integers(1, 40))
def test_no_diversity_is_the_plain_ranking(relevance: list[float], count: int) -> None:
    vectors = np.random.default_rng(0).standard_normal((len(relevance), 4)).astype(np.float32)
    got = mmr_order(np.array(relevance), vectors, 0.0, count)
    plain = sorted(range(len(relevance)), key=lambda i: -relevance[i])  # stable: ties keep their order
    assert got == plain[:count]


def test_a_near_duplicate_waits_behind_something_new() -> None:
    same, other = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    vectors = np.array([same, [0.99, 0.14, 0.0], other], dtype=np.float32)
    relevance = np.array([0.9, 0.85, 0.6])
    assert mmr_order(relevance, vectors, 0.0, 3) == [0, 1, 2]
    assert mmr_order(relevance, vectors, 0.5, 3) == [0, 2, 1]
    assert mmr_order(relevance, vectors, 0.5, 2) == [0, 2]
    # A zero vector is like nothing; equal relevance is all 1.
    assert mmr_order(np.array([1.0, 1.0]), np.zeros((2, 3), dtype=np.float32), 0.7, 2) == [0, 1]


@given(st.integers(1, 1000), st.integers(0, 1000), st.one_of(st.none(), st.integers(1, 3000)))
def test_the_pool_holds_the_page_and_follows_its_bounds(k: int, offset: int, asked: int | None) -> None:
    size = pool_size(SearchRequest("q", k=k, offset=offset, diversity=0.5, diversity_pool=asked))
    wanted = k + offset
    assert size >= wanted
    if asked is not None:
        assert size == max(asked, wanted)
    else:
        assert size == max(wanted, min(max(MIN_POOL, 3 * wanted), MAX_DEFAULT_POOL))
