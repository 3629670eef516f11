from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from index.errors import DocumentNotFoundError
from index.storage.store import PreparedDocument, Store
from index.types import ChunkSpan, Document

DIM = 4


def prepared(doc_id: str, *texts: str, title: str | None = None) -> PreparedDocument:
    text = "\n\n".join(texts)
    chunks, cursor = [], 0
    for ordinal, part in enumerate(texts):
        start = text.index(part, cursor)
        chunks.append(ChunkSpan(ordinal, start, start + len(part), part))
        cursor = start + len(part)
    vectors = np.arange(len(texts) * DIM, dtype=np.float32).reshape(len(texts), DIM)
    return PreparedDocument(
        Document(doc_id, text, title, {"n": len(texts)}), "hash-" + doc_id, chunks, vectors
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "db.sqlite")


def test_write_and_read_back(store: Store) -> None:
    result = store.write([prepared("a", "one", "two", title="A")])
    assert result.created == [True]
    assert len(result.added_ids) == 2
    assert result.removed_ids == []
    document = store.get_document("a")
    assert document.title == "A"
    assert document.metadata == {"n": 2}
    assert [(c.ordinal, c.text) for c in document.chunks] == [(0, "one"), (1, "two")]
    assert document.text[document.chunks[1].start : document.chunks[1].end] == "two"
    assert store.counts() == (1, 2)
    assert store.content_hashes(["a", "missing"]) == {"a": "hash-a"}


def test_replace_removes_old_chunks_and_never_reuses_ids(store: Store) -> None:
    first = store.write([prepared("a", "one", "two")])
    second = store.write([prepared("a", "three")])
    assert second.created == [False]
    assert second.removed_ids == first.added_ids
    assert min(second.added_ids) > max(first.added_ids)
    assert store.counts() == (1, 1)
    store.write([], deletes=["a"])
    third = store.write([prepared("b", "four")])
    assert min(third.added_ids) > max(second.added_ids)


def test_generation_counts_writes(store: Store) -> None:
    assert store.generation() == 0
    store.write([prepared("a", "one")])
    store.write([], deletes=["a"])
    assert store.generation() == 2


def test_a_failed_write_changes_nothing(store: Store) -> None:
    store.write([prepared("a", "one")])
    with pytest.raises(DocumentNotFoundError):
        store.write([prepared("b", "two")], deletes=["missing"])
    assert store.counts() == (1, 1)
    assert store.generation() == 1
    with pytest.raises(DocumentNotFoundError):
        store.get_document("b")


def test_embeddings_round_trip(store: Store) -> None:
    store.write([prepared("a", "one", "two"), prepared("b", "three")])
    batches = list(store.iter_embeddings(DIM, batch_size=2))
    ids = np.concatenate([ids for ids, _ in batches])
    vectors = np.concatenate([vectors for _, vectors in batches])
    assert ids.tolist() == sorted(ids.tolist())
    assert vectors.shape == (3, DIM)
    np.testing.assert_array_equal(vectors[0], np.arange(DIM, dtype=np.float32))


def test_rows_join_titles_and_skip_missing(store: Store) -> None:
    ids = store.write([prepared("a", "one", title="A")]).added_ids
    rows = store.rows([*ids, 999])
    assert list(rows) == ids
    assert rows[ids[0]].title == "A"
    assert rows[ids[0]].text == "one"


def test_database_is_in_wal_mode_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    first = Store(path)
    first.write([prepared("a", "one")])
    first.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    second = Store(path)
    assert second.counts() == (1, 1)
    second.close()


def test_the_document_keyword_index_check_notices_a_mismatch(store: Store, tmp_path: Path) -> None:
    store.write([prepared("a", "one"), prepared("b", "two")])
    assert store.keyword_documents_consistent()
    with sqlite3.connect(tmp_path / "db.sqlite") as connection:  # behind the store's back
        connection.execute("UPDATE documents SET text = 'changed' WHERE id = 'a'")
    assert not store.keyword_documents_consistent()


def test_a_finished_thread_leaves_no_open_connection(store: Store) -> None:
    """Server thread pools retire idle threads and start new ones: each thread's read connection must close
    with it, or a long-running service piles them up."""
    import gc
    import threading

    store.write([prepared("a", "one")])
    store.get_document("a")
    assert store.open_readers == 1
    for _ in range(3):
        threads = [threading.Thread(target=store.get_document, args=("a",)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    gc.collect()
    assert store.open_readers == 1, "only this thread's connection is left"
    assert store.get_document("a").id == "a"


def test_iter_prepared_gives_back_what_was_written(store: Store) -> None:
    written = [prepared("a", "one", "two", title="A"), prepared("b", "three")]
    store.write(written)
    batches = list(store.iter_prepared(batch_size=1))
    assert [len(batch) for batch in batches] == [1, 1]
    for original, copy in zip(written, [item for batch in batches for item in batch], strict=True):
        assert copy.document == original.document
        assert copy.content_hash == original.content_hash
        assert list(copy.chunks) == list(original.chunks)
        assert np.array_equal(copy.embeddings, original.embeddings)
