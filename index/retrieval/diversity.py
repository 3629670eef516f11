"""Maximal marginal relevance (Carbonell and Goldstein, 1998): hits that are relevant and unlike each other.

A search asked for ``diversity`` d > 0 ranks a pool of hits as usual, then picks from it one at a time the hit
with the highest ``(1 - d) * relevance - d * likeness``, where relevance is the hit's score rescaled over the
pool to [0, 1] and likeness its highest cosine to a hit picked before (the chunks' stored embeddings; a
document hit is its best chunk). The first pick is the most relevant hit; d = 0 is the plain ranking and
d = 1 ignores relevance after the first pick. LangChain's ``lambda_mult`` is ``1 - d``.

The pool is the best :func:`pool_size` hits of the plain ranking, so pages of a diverse search are pages of
one ordering, and a hit's score stays its relevance (the order is the picking's, not the scores').
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from index.types import SearchRequest

# The default pool: three times the hits wanted, at least 20 (LangChain's fetch_k for its k of 4), at most
# 1,000 unless more hits than that are wanted.
POOL_FACTOR = 3
MIN_POOL = 20
MAX_DEFAULT_POOL = 1_000


def pool_size(request: SearchRequest) -> int:
    """How many hits of the plain ranking the picking chooses from: ``diversity_pool``, or the default
    above; never fewer than the hits wanted (``offset + k``)."""
    wanted = request.offset + request.k
    pool = request.diversity_pool or min(max(MIN_POOL, POOL_FACTOR * wanted), MAX_DEFAULT_POOL)
    return max(pool, wanted)


def mmr_order(
    relevance: NDArray[np.float64], vectors: NDArray[np.float32], diversity: float, count: int
) -> list[int]:
    """Positions of ``count`` items (or all, if fewer) in the order maximal marginal relevance picks them.

    ``relevance`` is any score (higher better), rescaled here to [0, 1] over the items (all 1 if equal);
    ``vectors`` one row per item, compared by cosine (a zero vector is like nothing). Ties go to the higher
    relevance, then to the earlier position."""
    n = len(relevance)
    count = min(count, n)
    if count <= 0:
        return []
    low, high = float(np.min(relevance)), float(np.max(relevance))
    scaled = (relevance - low) / (high - low) if high > low else np.ones(n)
    norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
    unit = vectors / np.where(norms > 0, norms, 1.0)[:, None]
    likeness = np.full(n, -np.inf)  # highest cosine to a picked item; none picked yet
    picked: list[int] = []
    free = np.ones(n, dtype=bool)
    for _ in range(count):
        penalty = np.where(np.isfinite(likeness), likeness, 0.0)
        marginal = (1.0 - diversity) * scaled - diversity * penalty
        marginal[~free] = -np.inf
        tied = np.flatnonzero(marginal == marginal.max())  # rescaling can round distinct scores together
        best = int(tied[np.argmax(relevance[tied])])
        picked.append(best)
        free[best] = False
        likeness = np.maximum(likeness, unit @ unit[best])
    return picked
