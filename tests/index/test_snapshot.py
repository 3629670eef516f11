from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from index import Document, InvalidInputError, SearchIndex
from index.storage.locking import DataDirLockedError
from index.storage.snapshot import prune_snapshots, restore, snapshot
from tests.fakes import FakeEmbedder

OpenIndex = Callable[..., SearchIndex]
WORDS = "tide glacier volcano forest desert reef river storm canyon meadow".split()


def batch(start: int, size: int = 10) -> list[Document]:
    return [
        Document(f"d{n}", f"Note {n} on the {WORDS[n % 10]} and the {WORDS[(n * 3) % 10]} seen in year {n}.")
        for n in range(start, start + size)
    ]


def results(index: SearchIndex) -> list[list[tuple[str, float]]]:
    return [
        [(hit.doc_id, round(hit.score, 5)) for hit in index.search(f"{word} seen", k=5, mode=mode).hits]
        for word in WORDS
        for mode in ("dense", "keyword", "hybrid")
    ]


def test_a_snapshot_taken_during_ingest_restores_to_an_identical_index(
    open_index: OpenIndex, tmp_path: Path
) -> None:
    live = open_index(FakeEmbedder(), data_dir=tmp_path / "live")
    live.upsert(batch(0, 50))
    live.save()

    def ingest() -> None:
        for start in range(50, 250, 10):
            live.upsert(batch(start))

    writer = threading.Thread(target=ingest)
    writer.start()
    while live.stats().documents < 100:
        time.sleep(0.001)
    info = snapshot(tmp_path / "live", tmp_path / "snap")  # while the writer goes on
    writer.join()
    assert live.stats().documents == 250

    reports: list[tuple[int, int]] = []
    restore(
        tmp_path / "snap", tmp_path / "restored", progress=lambda done, total: reports.append((done, total))
    )
    assert reports[-1][0] == reports[-1][1] > 0  # progress by bytes, ending at the total
    restored = open_index(FakeEmbedder(), data_dir=tmp_path / "restored")
    count = restored.stats().documents
    assert count == info.documents
    assert 100 <= count < 250
    assert count % 10 == 0  # whole upserts only: each is one transaction
    sides = restored.consistency()
    assert sides["store"] == sides["keyword"] == sides["vectors"]
    # The same documents indexed from scratch rank exactly as the restored copy does.
    reference = open_index(FakeEmbedder(), data_dir=tmp_path / "reference")
    reference.upsert(batch(0, count))
    assert results(restored) == results(reference)


def test_restore_is_refused_under_a_live_writer_and_a_snapshot_never_overwrites(
    open_index: OpenIndex, tmp_path: Path
) -> None:
    live = open_index(FakeEmbedder(), data_dir=tmp_path / "live")
    live.upsert(batch(0))
    info = snapshot(tmp_path / "live", tmp_path / "snap")
    assert (info.documents, info.chunks) == (10, 10)
    with pytest.raises(DataDirLockedError):
        restore(tmp_path / "snap", tmp_path / "live")
    with pytest.raises(InvalidInputError, match="exists already"):
        snapshot(tmp_path / "live", tmp_path / "snap")
    with pytest.raises(InvalidInputError, match="not a snapshot"):
        restore(tmp_path / "nothing", tmp_path / "other")
    live.upsert(batch(10))
    live.close()
    restore(tmp_path / "snap", tmp_path / "live")  # service stopped: back to 10 documents
    assert open_index(FakeEmbedder(), data_dir=tmp_path / "live").stats().documents == 10


def test_restore_of_a_cold_copy_keeps_the_commits_in_its_wal_file(
    open_index: OpenIndex, tmp_path: Path
) -> None:
    """A data directory copied with cp -r while its writer ran (or after a crash) holds recent commits only
    in semsearch.db-wal: restore folds them in instead of dropping them."""
    live = open_index(FakeEmbedder(), data_dir=tmp_path / "live")
    live.upsert(batch(0, 30))
    copy = tmp_path / "cold"
    shutil.copytree(tmp_path / "live", copy, ignore=shutil.ignore_patterns("writer.lock"))
    assert (copy / "semsearch.db-wal").stat().st_size > 0  # the commits are in the log, not the database
    restore(copy, tmp_path / "restored")
    assert not (tmp_path / "restored" / "semsearch.db-wal").exists()
    restored = open_index(FakeEmbedder(), data_dir=tmp_path / "restored")
    assert restored.stats().documents == 30
    assert results(restored) == results(live)


def test_prune_keeps_the_newest_snapshots(open_index: OpenIndex, tmp_path: Path) -> None:
    live = open_index(FakeEmbedder(), data_dir=tmp_path / "live")
    live.upsert(batch(0, 3))
    names = ["20261101T000000Z-aaaaaa", "20261102T000000Z-bbbbbb", "20261103T000000Z-cccccc"]
    for name in names:
        snapshot(tmp_path / "live", tmp_path / "snaps" / name)
    (tmp_path / "snaps" / "notes").mkdir()  # not a snapshot: left alone
    gone = prune_snapshots(tmp_path / "snaps", keep=2)
    assert [p.name for p in gone] == names[:1]
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == [*names[1:], "notes"]
