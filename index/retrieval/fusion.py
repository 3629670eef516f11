"""Combining rankings: reciprocal rank fusion, and weighted sums of normalised scores (min-max, anchored).

Both take one ``{key: score}`` mapping per ranker (higher is better) and return fused ``{key: score}``.
A key missing from a ranker's candidates counts as that ranker's worst (rank infinity, normalised score 0).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)


def ranks(scores: Mapping[Key, float]) -> dict[Key, int]:
    """1-based rank of each key by descending score (ties broken by first appearance)."""
    ordered = sorted(scores, key=lambda key: -scores[key])
    return {key: position for position, key in enumerate(ordered, start=1)}


def reciprocal_rank_fusion(rankers: Sequence[Mapping[Key, float]], k: float = 60.0) -> dict[Key, float]:
    """RRF (Cormack et al., 2009): ``sum over rankers of 1 / (k + rank)``."""
    if k < 0:
        raise ValueError(f"the RRF constant k must not be negative, got {k}")
    fused: dict[Key, float] = {}
    for scores in rankers:
        for key, rank in ranks(scores).items():
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return fused


def min_max(scores: Mapping[Key, float]) -> dict[Key, float]:
    """Scores rescaled to [0, 1] over the candidates; all 1.0 if they are all equal."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high == low:
        return dict.fromkeys(scores, 1.0)
    return {key: (value - low) / (high - low) for key, value in scores.items()}


def anchored(scores: Mapping[Key, float], ceiling: float = 1.0) -> dict[Key, float]:
    """Scores rescaled from [the lowest candidate's, ``ceiling``] to [0, 1]: like :func:`min_max` at the
    bottom, but the top of the scale is fixed (cosine similarity's 1) instead of the best candidate's score,
    so a query whose best match is weak keeps weak scores. A single candidate has no floor of its own: its
    score is divided by ``ceiling``."""
    if not scores:
        return {}
    floor = min(scores.values()) if len(scores) > 1 else 0.0
    span = ceiling - floor
    if span <= 0:
        return dict.fromkeys(scores, 1.0)
    return {key: (value - floor) / span for key, value in scores.items()}


def dense_scale(scores: Mapping[Key, float], confident_spread: float) -> dict[Key, float]:
    """The dense side's cosines on the blend's scale: min-max when the best candidate stands out from the
    deepest by at least ``confident_spread`` (the dense side found something: its order counts in full),
    else :func:`anchored` at cosine 1 (it found nothing in particular: a weak best match stays weak)."""
    if not scores:
        return {}
    spread = max(scores.values()) - min(scores.values())
    return min_max(scores) if spread >= confident_spread else anchored(scores)


def weighted_sum(rankers: Sequence[Mapping[Key, float]], weights: Sequence[float]) -> dict[Key, float]:
    """``sum of weight * score`` over rankers (scores already on comparable scales)."""
    if len(rankers) != len(weights):
        raise ValueError("one weight per ranker")
    fused: dict[Key, float] = {}
    for scores, weight in zip(rankers, weights, strict=True):
        for key, value in scores.items():
            fused[key] = fused.get(key, 0.0) + weight * value
    return fused


def top(scores: Mapping[Key, float], n: int) -> list[tuple[Key, float]]:
    """The ``n`` best ``(key, score)`` pairs, best first."""
    return sorted(scores.items(), key=lambda item: -item[1])[:n]
