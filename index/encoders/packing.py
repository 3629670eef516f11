"""Several texts in one sequence: how a packed model call is laid out, and how its tokens are pooled.

A padded batch makes every text as long as the longest of its batch, and the model computes the padding
too: SciFact's queries (median 21 tokens) in padded batches of 2 to 8 cost as much each as one at a time.
Packed, the texts of a call are laid end to end in rows of at most ``capacity`` tokens (first fit, longest
first), each with its own positions and a segment id that keeps its attention to its own tokens; a row is
padded only to the longest row. The graph (:mod:`index.encoders.onnx_export`) returns every token's
embedding and :func:`pool` makes one normalised vector per text, as sentence-transformers' pooling and
normalisation do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# The segment id of padding: no text attends to it.
PADDING_SEGMENT = -1

# Short texts are packed into rows of up to this many tokens. Attention over a longer row costs more per
# token (for a 384-wide model, about 5% of a token's cost at 128 tokens and 11% at 256); padding costs a whole
# token. SciFact's chunks embedded 5% slower packed into rows of 256 than in sorted padded batches (ad hoc);
# with rows of 128, 18-20% less CPU, and its queries up to 30% less (bench/packing.py).
PACKED_ROW_TOKENS = 128


@dataclass(frozen=True, slots=True)
class Packed:
    """One model call's inputs and where each text lies in them.

    ``feeds``: ``input_ids``, ``token_type_ids``, ``position_ids`` and ``segment_ids``, each ``(rows,
    width)``; ``places[i]``: ``(row, start, end)`` of the i-th text given."""

    feeds: dict[str, NDArray[np.int64]]
    places: list[tuple[int, int, int]]


def pack(
    token_ids: Sequence[Sequence[int]], capacity: int, *, pad_id: int, position_offset: int = 0
) -> Packed:
    """Lay out ``token_ids`` (each text's, special tokens included) in rows of at most ``capacity`` tokens.

    Texts go longest first into the first row with room (first-fit decreasing), so rows are few and full.
    Positions count from ``position_offset`` within each text (BERT: 0; RoBERTa: after its padding id)."""
    lengths = [len(ids) for ids in token_ids]
    if any(length < 1 or length > capacity for length in lengths):
        raise ValueError(f"every text needs 1 to {capacity} tokens to be packed, got lengths {lengths}")
    fill: list[int] = []  # tokens used in each row
    placed: list[tuple[int, int, int]] = [(0, 0, 0)] * len(lengths)
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        row = next((r for r, used in enumerate(fill) if used + lengths[i] <= capacity), len(fill))
        if row == len(fill):
            fill.append(0)
        placed[i] = (row, fill[row], fill[row] + lengths[i])
        fill[row] += lengths[i]
    shape = (len(fill), max(fill, default=0))
    input_ids = np.full(shape, pad_id, dtype=np.int64)
    positions = np.full(shape, position_offset, dtype=np.int64)
    segments = np.full(shape, PADDING_SEGMENT, dtype=np.int64)
    in_row = [0] * len(fill)
    for ids, (row, start, end) in zip(token_ids, placed, strict=True):
        input_ids[row, start:end] = ids
        positions[row, start:end] = np.arange(position_offset, position_offset + end - start)
        segments[row, start:end] = in_row[row]
        in_row[row] += 1
    feeds = {
        "input_ids": input_ids,
        "token_type_ids": np.zeros(shape, dtype=np.int64),
        "position_ids": positions,
        "segment_ids": segments,
    }
    return Packed(feeds, placed)


def pool(
    tokens: NDArray[np.float32], places: Sequence[tuple[int, int, int]], pooling: str
) -> NDArray[np.float32]:
    """One L2-normalised vector per text from the token embeddings ``(rows, width, dim)`` of a packed call:
    the mean of its tokens (``"mean"``) or its first token (``"cls"``)."""
    if pooling not in ("mean", "cls"):
        raise ValueError(f"unknown pooling {pooling!r}")
    out = np.empty((len(places), tokens.shape[-1]), dtype=np.float32)
    for i, (row, start, end) in enumerate(places):
        out[i] = tokens[row, start:end].mean(axis=0) if pooling == "mean" else tokens[row, start]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    out /= np.maximum(norms, 1e-12)  # as torch.nn.functional.normalize
    return out


def row_width(token_ids: Sequence[Sequence[int]], longest_allowed: int) -> int:
    """How long the rows of a packed call may be: as long as its longest text, and at least
    :data:`PACKED_ROW_TOKENS` (up to the model's sequence length). A row no longer than the longest text
    costs no more than a padded batch's rows; short texts share rows up to PACKED_ROW_TOKENS."""
    longest = max((len(ids) for ids in token_ids), default=1)
    return max(longest, min(PACKED_ROW_TOKENS, longest_allowed))
