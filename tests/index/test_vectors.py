from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from index.vectors import VECTORS_FILE, VECTORS_STATE_FILE, FlatVectorIndex, load_vectors, save_vectors


def unit_rows(n: int, dim: int = 8, seed: int = 0) -> NDArray[np.float32]:
    rows = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    normalised: NDArray[np.float32] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return normalised


def test_search_finds_each_vector_under_its_id() -> None:
    index = FlatVectorIndex(8)
    vectors = unit_rows(20)
    ids = np.arange(100, 120, dtype=np.int64)
    index.add(ids, vectors)
    scores, found = index.search(vectors[:3], 1)
    assert found[:, 0].tolist() == [100, 101, 102]
    np.testing.assert_allclose(scores[:, 0], 1.0, rtol=1e-5)


def test_k_is_clamped_and_empty_index_returns_nothing() -> None:
    index = FlatVectorIndex(8)
    _, ids = index.search(unit_rows(2), 5)
    assert ids.shape == (2, 0)
    index.add(np.array([1, 2], dtype=np.int64), unit_rows(2))
    _, ids = index.search(unit_rows(1), 10)
    assert ids.shape == (1, 2)
    assert (ids >= 0).all()


def test_remove_drops_ids() -> None:
    index = FlatVectorIndex(8)
    index.add(np.array([1, 2, 3], dtype=np.int64), unit_rows(3))
    index.remove(np.array([2], dtype=np.int64))
    assert len(index) == 2
    _, ids = index.search(unit_rows(3), 3)
    assert 2 not in ids.ravel().tolist()


def test_save_and_load_round_trip_only_for_the_same_generation(tmp_path: Path) -> None:
    index = FlatVectorIndex(8)
    index.add(np.array([7, 8], dtype=np.int64), unit_rows(2))
    save_vectors(tmp_path, index, generation=5)
    loaded = load_vectors(tmp_path, 8, generation=5)
    assert loaded is not None
    assert len(loaded) == 2
    assert load_vectors(tmp_path, 8, generation=6) is None
    assert load_vectors(tmp_path, 16, generation=5) is None
    assert json.loads((tmp_path / VECTORS_STATE_FILE).read_text())["count"] == 2


def test_truncated_file_is_reported_as_unusable(tmp_path: Path) -> None:
    index = FlatVectorIndex(8)
    index.add(np.array([7, 8], dtype=np.int64), unit_rows(2))
    save_vectors(tmp_path, index, generation=1)
    path = tmp_path / VECTORS_FILE
    path.write_bytes(path.read_bytes()[:50])
    assert load_vectors(tmp_path, 8, generation=1) is None
    assert load_vectors(tmp_path / "missing", 8, generation=1) is None
