"""Packing texts into rows: every text once, whole, with its own positions and segment, rows never over
capacity and few (first fit); pooling per text as sentence-transformers pools a text alone."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.encoders.packing import PADDING_SEGMENT, pack, pool

texts = st.lists(st.lists(st.integers(1, 30_000), min_size=1, max_size=40), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(texts, st.integers(40, 300), st.sampled_from([0, 2]))
def test_every_text_is_placed_once_whole_and_alone_in_its_segment(
    token_ids: list[list[int]], capacity: int, offset: int
) -> None:
    packed = pack(token_ids, capacity, pad_id=0, position_offset=offset)
    feeds = packed.feeds
    ids, positions, segments = feeds["input_ids"], feeds["position_ids"], feeds["segment_ids"]
    rows, width = ids.shape
    assert all(feeds[name].shape == (rows, width) for name in feeds)
    assert not feeds["token_type_ids"].any()
    covered = np.zeros((rows, width), dtype=bool)
    seen: set[tuple[int, int]] = set()
    for text, (row, start, end) in zip(token_ids, packed.places, strict=True):
        assert ids[row, start:end].tolist() == text
        assert positions[row, start:end].tolist() == list(range(offset, offset + len(text)))
        segment = int(segments[row, start])
        assert segment != PADDING_SEGMENT
        assert (segments[row, start:end] == segment).all()
        assert (row, segment) not in seen  # no other text shares its segment (it attends to its own only)
        seen.add((row, segment))
        assert not covered[row, start:end].any()
        covered[row, start:end] = True
    # Everything else is padding, which no text attends to.
    assert (segments[~covered] == PADDING_SEGMENT).all()
    assert (ids[~covered] == 0).all()
    fill = covered.sum(axis=1)
    assert (fill <= capacity).all()
    assert (fill > 0).all()
    assert width == fill.max()
    # First fit: a later row's texts did not fit in any earlier one, so no two rows fit in one.
    assert all(fill[i] + fill[j] > capacity for i in range(rows) for j in range(i + 1, rows))


def test_short_texts_share_a_row_and_long_ones_get_their_own() -> None:
    packed = pack([[5] * 10, [6] * 200, [7] * 20, [8] * 250], 256, pad_id=0)
    assert packed.feeds["input_ids"].shape == (2, 250)
    # Longest first: the 250 opens the first row, the 200 the second, and the short ones fill the second.
    assert packed.places == [(1, 220, 230), (1, 0, 200), (1, 200, 220), (0, 0, 250)]


@pytest.mark.parametrize("lengths", [[0], [3, 257]])
def test_a_text_that_cannot_be_packed_is_refused(lengths: list[int]) -> None:
    with pytest.raises(ValueError, match="1 to 256 tokens"):
        pack([[1] * n for n in lengths], 256, pad_id=0)


@settings(max_examples=100, deadline=None)
@given(texts, st.sampled_from(["mean", "cls"]))
def test_pooling_a_packed_call_equals_pooling_each_text_alone(
    token_ids: list[list[int]], pooling: str
) -> None:
    """Token embeddings made up from each token's id and position, so that a text's vector depends on its
    tokens alone: pooled from the packed layout, it equals the text pooled on its own."""
    packed = pack(token_ids, 64, pad_id=0)
    rng = np.random.default_rng(0)
    table = rng.normal(size=(30_001, 8)).astype(np.float32)

    def embed(ids: np.ndarray, positions: np.ndarray) -> np.ndarray:
        tokens: np.ndarray = table[ids] + 0.1 * positions[..., None].astype(np.float32)
        return tokens

    tokens = embed(packed.feeds["input_ids"], packed.feeds["position_ids"])
    got = pool(tokens, packed.places, pooling)
    for text, vector in zip(token_ids, got, strict=True):
        alone = embed(np.asarray(text), np.arange(len(text)))
        expected = alone.mean(axis=0) if pooling == "mean" else alone[0]
        np.testing.assert_allclose(vector, expected / np.linalg.norm(expected), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)


def test_an_unknown_pooling_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        pool(np.zeros((1, 2, 4), np.float32), [(0, 0, 2)], "max")
