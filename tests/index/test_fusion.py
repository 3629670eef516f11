from __future__ import annotations

import pytest

from index.retrieval.fusion import (
    anchored,
    dense_scale,
    min_max,
    ranks,
    reciprocal_rank_fusion,
    top,
    weighted_sum,
)


def test_ranks_by_descending_score() -> None:
    assert ranks({"a": 0.1, "b": 0.9, "c": 0.5}) == {"b": 1, "c": 2, "a": 3}


def test_rrf_by_hand() -> None:
    dense = {"a": 0.9, "b": 0.8}  # ranks a=1, b=2
    keyword = {"b": 12.0, "c": 3.0}  # ranks b=1, c=2
    fused = reciprocal_rank_fusion([dense, keyword], k=60)
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["c"] == pytest.approx(1 / 62)
    assert [key for key, _ in top(fused, 3)] == ["b", "a", "c"]


def test_min_max_by_hand() -> None:
    assert min_max({"a": 2.0, "b": 4.0, "c": 3.0}) == {"a": 0.0, "b": 1.0, "c": 0.5}
    assert min_max({"a": 7.0}) == {"a": 1.0}
    assert min_max({}) == {}


def test_anchored_by_hand() -> None:
    # From the lowest candidate (0.2) to 1: a weak best match (0.4) stays weak, unlike min-max.
    assert anchored({"a": 0.2, "b": 0.4, "c": 0.3}) == pytest.approx({"a": 0.0, "b": 0.25, "c": 0.125})
    assert min_max({"a": 0.2, "b": 0.4, "c": 0.3})["b"] == 1.0
    assert anchored({"a": 0.6}) == {"a": 0.6}  # one candidate: no floor of its own
    assert anchored({"a": 1.0, "b": 1.0}) == {"a": 1.0, "b": 1.0}
    assert anchored({}) == {}


def test_dense_scale_stretches_only_a_side_that_found_something() -> None:
    found = {"a": 0.2, "b": 0.7}  # spread 0.5
    assert dense_scale(found, 0.3) == min_max(found)
    nothing = {"a": 0.2, "b": 0.4}  # spread 0.2
    assert dense_scale(nothing, 0.3) == anchored(nothing)
    assert dense_scale({}, 0.3) == {}


def test_weighted_sum_of_min_max_by_hand() -> None:
    dense = {"a": 0.9, "b": 0.5, "c": 0.7}  # normalised a=1, b=0, c=0.5
    keyword = {"b": 10.0, "d": 2.0}  # normalised b=1, d=0
    fused = weighted_sum([min_max(dense), min_max(keyword)], [0.6, 0.4])
    assert fused == pytest.approx({"a": 0.6, "b": 0.4, "c": 0.3, "d": 0.0})


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="one weight per ranker"):
        weighted_sum([{"a": 1.0}], [0.5, 0.5])
    with pytest.raises(ValueError, match="negative"):
        reciprocal_rank_fusion([{"a": 1.0}], k=-1)
