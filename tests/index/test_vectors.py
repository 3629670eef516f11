from __future__ import annotations

import json
import threading
from pathlib import Path

import faiss
import numpy as np
import pytest
from numpy.typing import NDArray

from index.storage.vectors import (
    VECTORS_DIR,
    VECTORS_STATE_FILE,
    MainIndex,
    VectorIndex,
    VectorOptions,
    build_main,
    load_vectors,
)

Ids = NDArray[np.int64]


def unit_rows(n: int, dim: int = 8, seed: int = 0) -> NDArray[np.float32]:
    rows = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    normalised: NDArray[np.float32] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return normalised


def ids_of(*values: int) -> Ids:
    return np.array(values, dtype=np.int64)


def main_over(ids: Ids, vectors: NDArray[np.float32], options: VectorOptions | None = None) -> MainIndex:
    return build_main([(ids, vectors)], vectors.shape[1], len(ids), options or VectorOptions())


def exact_top(vectors: NDArray[np.float32], ids: Ids, queries: NDArray[np.float32], k: int) -> Ids:
    scores = queries @ vectors.T
    return ids[np.argsort(-scores, axis=1, kind="stable")[:, :k]]


@pytest.mark.parametrize(("storage", "tolerance"), [("float32", 1e-6), ("float16", 1e-3)])
def test_search_finds_each_vector_under_its_id(storage: str, tolerance: float) -> None:
    index = VectorIndex(8, VectorOptions(flat_storage=storage))  # type: ignore[arg-type]
    vectors = unit_rows(20)
    index.add(np.arange(100, 120, dtype=np.int64), vectors)
    scores, found = index.search(vectors[:3], 1)
    assert found[:, 0].tolist() == [100, 101, 102]
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=tolerance)


@pytest.mark.parametrize(
    ("storage", "label", "bytes_per_vector"), [("float32", "flat", 32), ("float16", "flat-float16", 16)]
)
def test_exact_search_keeps_vectors_as_asked_and_scores_alike_in_main_and_delta(
    storage: str, label: str, bytes_per_vector: int
) -> None:
    options = VectorOptions(flat_storage=storage)  # type: ignore[arg-type]
    vectors, queries = unit_rows(50), unit_rows(5, seed=1)
    ids = np.arange(50, dtype=np.int64)
    in_delta = VectorIndex(8, options)
    in_delta.add(ids, vectors)
    in_main = VectorIndex(8, options, main=main_over(ids, vectors, options))
    assert in_main.index_type == label
    assert faiss.serialize_index(in_main._published.main.index).nbytes < 50 * bytes_per_vector + 200
    main_scores, main_ids = in_main.search(queries, 10)
    delta_scores, delta_ids = in_delta.search(queries, 10)
    np.testing.assert_array_equal(main_ids, delta_ids)
    np.testing.assert_array_equal(main_scores, delta_scores)  # a merge changes no score
    np.testing.assert_array_equal(main_ids, exact_top(vectors, ids, queries, 10))
    np.testing.assert_allclose(main_scores, np.sort(queries @ vectors.T, axis=1)[:, ::-1][:, :10], atol=1e-3)


def test_an_index_saved_as_float32_opens_as_the_settings_ask(tmp_path: Path) -> None:
    vectors = unit_rows(30)
    old = VectorOptions(flat_storage="float32")
    saved = VectorIndex(8, old, main=main_over(np.arange(20, dtype=np.int64), vectors[:20], old))
    saved.add(np.arange(20, 30, dtype=np.int64), vectors[20:])
    saved.remove(ids_of(3, 25))
    saved.save(tmp_path, generation=1)
    state = json.loads((tmp_path / VECTORS_STATE_FILE).read_text())
    loaded = load_vectors(tmp_path, 8, VectorOptions())
    assert loaded is not None
    index = loaded.index
    assert index.index_type == "flat-float16"
    live = np.array([i for i in range(30) if i not in (3, 25)], dtype=np.int64)
    assert index.ids().tolist() == live.tolist()
    np.testing.assert_array_equal(index.search(vectors[live], 1)[1][:, 0], live)
    same = load_vectors(tmp_path, 8, old)  # opened as saved: nothing converted
    assert same is not None
    assert same.index.index_type == "flat"
    index.save(tmp_path, generation=2)  # the converted main index is written, not the old file named again
    assert (
        json.loads((tmp_path / VECTORS_STATE_FILE).read_text())["files"]["main.faiss"]
        != state["files"]["main.faiss"]
    )
    reopened = load_vectors(tmp_path, 8, VectorOptions())
    assert reopened is not None
    assert reopened.index.index_type == "flat-float16"


def test_k_is_clamped_and_empty_index_returns_nothing() -> None:
    index = VectorIndex(8)
    _, ids = index.search(unit_rows(2), 5)
    assert ids.shape == (2, 0)
    index.add(ids_of(1, 2), unit_rows(2))
    _, ids = index.search(unit_rows(1), 10)
    assert ids.shape == (1, 2)
    assert (ids >= 0).all()


def test_main_delta_and_tombstones_together() -> None:
    vectors = unit_rows(30)
    index = VectorIndex(8, main=main_over(np.arange(0, 20, dtype=np.int64), vectors[:20]))
    index.add(np.arange(20, 30, dtype=np.int64), vectors[20:])
    index.remove(ids_of(3, 25, 999))  # one in the main index, one in the delta, one nowhere
    assert len(index) == 28
    assert index.ids().tolist() == [i for i in range(30) if i not in (3, 25)]
    kept = np.array([i for i in range(30) if i not in (3, 25)], dtype=np.int64)
    _, found = index.search(vectors, 5)
    np.testing.assert_array_equal(found, exact_top(vectors[kept], kept, vectors, 5))
    _, found = index.search(vectors[:1], 5, allowed=ids_of(3, 4, 25, 26))
    assert sorted(found[0].tolist()) == [4, 26]


@pytest.mark.parametrize("storage", ["float32", "float16", "int8"])
def test_hnsw_finds_nearly_what_exact_search_finds(storage: str) -> None:
    vectors, queries = unit_rows(3000, dim=32), unit_rows(50, dim=32, seed=1)
    ids = np.arange(10, 3010, dtype=np.int64)
    options = VectorOptions(kind="hnsw", storage=storage, hnsw_m=16)  # type: ignore[arg-type]
    index = VectorIndex(32, options, main_over(ids, vectors, options))
    assert index.index_type == f"hnsw-{storage}"
    truth = exact_top(vectors, ids, queries, 10)
    _, found = index.search(queries, 10, ef_search=200)
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found.tolist(), truth.tolist(), strict=True)])
    assert recall >= (0.95 if storage != "int8" else 0.85)
    _, exact = index.search(queries, 10, exact=True)
    if storage == "float32":
        np.testing.assert_array_equal(exact, truth)
    # A narrow filter is answered exactly, however sparse its ids are in the graph.
    allowed = ids[::97]
    _, filtered = index.search(queries, 5, allowed=allowed)
    in_allowed = np.isin(ids, allowed)
    expected = exact_top(vectors[in_allowed], ids[in_allowed], queries, 5)
    if storage != "int8":
        np.testing.assert_array_equal(filtered, expected)
    assert np.isin(filtered, allowed).all()


def test_tombstones_apply_to_hnsw_and_exact_scans() -> None:
    vectors = unit_rows(500, dim=16)
    ids = np.arange(500, dtype=np.int64)
    options = VectorOptions(kind="hnsw", storage="float32", hnsw_m=8)
    index = VectorIndex(16, options, main_over(ids, vectors, options))
    index.remove(ids[:250])
    for exact in (False, True):
        _, found = index.search(vectors[:250], 3, exact=exact)
        assert (found >= 250).all()


def test_a_rebuild_keeps_writes_made_while_it_ran() -> None:
    vectors = unit_rows(40)
    index = VectorIndex(8, main=main_over(np.arange(0, 10, dtype=np.int64), vectors[:10]))
    index.add(np.arange(10, 20, dtype=np.int64), vectors[10:20])
    index.begin_rebuild()
    # The snapshot the new main index is built from: ids 0..19 (the delta's included).
    snapshot = main_over(np.arange(0, 20, dtype=np.int64), vectors[:20])
    index.add(np.arange(20, 30, dtype=np.int64), vectors[20:30])  # after the snapshot
    index.remove(ids_of(2, 15, 25))  # one from each: old main, old delta (in the snapshot), new delta
    index.swap(snapshot)
    expected = [i for i in range(30) if i not in (2, 15, 25)]
    assert index.ids().tolist() == expected
    assert len(index) == len(expected)
    _, found = index.search(vectors[:30], 1)
    assert set(found[:, 0].tolist()) == set(expected)


def test_merge_reasons() -> None:
    options = VectorOptions(ann_threshold=100, merge_minimum=10, merge_fraction=0.5)
    index = VectorIndex(8, options)
    index.add(np.arange(5, dtype=np.int64), unit_rows(5))
    assert index.merge_reason() is None
    index.add(np.arange(5, 20, dtype=np.int64), unit_rows(15, seed=1))
    assert "added" in (index.merge_reason() or "")
    index.swap(main_over(np.arange(20, dtype=np.int64), unit_rows(20, seed=2), options))
    assert index.merge_reason() is None
    index.add(np.arange(20, 120, dtype=np.int64), unit_rows(100, seed=3))
    assert "hnsw" in (index.merge_reason() or "")


def test_random_operations_match_a_model(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    options = VectorOptions(kind="hnsw", storage="float32", hnsw_m=8, merge_minimum=5)
    all_vectors = unit_rows(400, dim=8, seed=3)
    index, live, next_id = VectorIndex(8, options), set[int](), 0
    for step in range(60):
        action = rng.integers(4)
        if action <= 1:
            count = int(rng.integers(1, 10))
            new = np.arange(next_id, next_id + count, dtype=np.int64)
            index.add(new, all_vectors[new])
            live.update(new.tolist())
            next_id += count
        elif action == 2 and live:
            gone = rng.choice(sorted(live), size=min(len(live), int(rng.integers(1, 6))), replace=False)
            index.remove(gone.astype(np.int64))
            live.difference_update(gone.tolist())
        elif index.merge_reason() is not None:
            index.begin_rebuild()
            ids = np.array(sorted(live), dtype=np.int64)
            index.swap(main_over(ids, all_vectors[ids], options))
        if step % 20 == 19:
            index.save(tmp_path, step)
            loaded = load_vectors(tmp_path, 8, options)
            assert loaded is not None
            index = loaded.index
        assert index.ids().tolist() == sorted(live)
        assert len(index) == len(live)
    ids = np.array(sorted(live), dtype=np.int64)
    _, found = index.search(all_vectors[ids], 1, exact=True)
    np.testing.assert_array_equal(found[:, 0], ids)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    vectors = unit_rows(12)
    index = VectorIndex(8, main=main_over(np.arange(10, dtype=np.int64), vectors[:10]))
    index.add(ids_of(10, 11), vectors[10:])
    index.remove(ids_of(4))
    index.save(tmp_path, generation=5)
    state = json.loads((tmp_path / VECTORS_STATE_FILE).read_text())
    assert state["generation"] == 5
    assert state["count"] == 11
    loaded = load_vectors(tmp_path, 8)
    assert loaded is not None
    assert loaded.generation == 5
    assert loaded.index.ids().tolist() == [i for i in range(12) if i != 4]
    assert load_vectors(tmp_path, 16) is None  # another dimension

    # Saving again rewrites the small parts only, and leaves no stale files behind.
    loaded.index.add(ids_of(12), unit_rows(1, seed=9))
    loaded.index.save(tmp_path, generation=6)
    new_state = json.loads((tmp_path / VECTORS_STATE_FILE).read_text())
    assert new_state["files"]["main.faiss"] == state["files"]["main.faiss"]
    assert new_state["files"]["delta.faiss"] != state["files"]["delta.faiss"]
    assert sorted(p.name for p in (tmp_path / VECTORS_DIR).iterdir()) == sorted(new_state["files"].values())


@pytest.mark.parametrize("part", ["main.faiss", "ids.npy", "delta.faiss", "tombstones.npy"])
def test_a_damaged_file_is_reported_as_unusable(tmp_path: Path, part: str) -> None:
    vectors = unit_rows(12)
    index = VectorIndex(8, main=main_over(np.arange(10, dtype=np.int64), vectors[:10]))
    index.add(ids_of(10, 11), vectors[10:])
    index.remove(ids_of(3))
    index.save(tmp_path, generation=1)
    path = tmp_path / VECTORS_DIR / json.loads((tmp_path / VECTORS_STATE_FILE).read_text())["files"][part]
    path.write_bytes(path.read_bytes()[:-4])
    assert load_vectors(tmp_path, 8) is None
    if part != "main.faiss":  # checksummed (the main index is checked by size and by FAISS's reader)
        path.write_bytes(b"\x00" * (len(path.read_bytes()) + 4))  # right size, wrong content
        assert load_vectors(tmp_path, 8) is None
    assert load_vectors(tmp_path / "missing", 8) is None


def test_a_search_does_not_wait_for_another_search() -> None:
    """Searches share the delta's lock: one holding it (a long search, say) does not hold up another."""
    index = VectorIndex(8)
    index.add(ids_of(1, 2, 3), unit_rows(3))
    finished = threading.Event()
    with index._delta_lock.reading():  # another search, still running

        def search() -> None:
            index.search(unit_rows(1), 2)
            finished.set()

        worker = threading.Thread(target=search)
        worker.start()
        assert finished.wait(10), "a search waited for another search"
    worker.join()


def test_swap_publishes_main_tombstones_and_bitmap_together() -> None:
    """After a rebuild, the main index, its tombstones and a bitmap sized for it (in bytes) are one value."""
    vectors = unit_rows(40)
    index = VectorIndex(8, main=main_over(np.arange(20, dtype=np.int64), vectors[:20]))
    index.remove(ids_of(3))
    before = index._published
    index.begin_rebuild()
    index.remove(ids_of(25))  # deleted while the new main index was built from a snapshot that had it
    index.swap(main_over(np.arange(40, dtype=np.int64), vectors))
    after = index._published
    assert before.main is not after.main
    assert after.tombstones.tolist() == [25]
    assert len(after.bitmap) == (40 + 7) // 8
    assert before.tombstones.tolist() == [3]
    assert len(before.bitmap) == (20 + 7) // 8
    _, found = index.search(vectors[25:26], 40)
    assert 25 not in found[0].tolist()
    assert len(found[0]) == 39
