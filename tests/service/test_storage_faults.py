"""A full disk, a database locked by another program: a clear 507 or 503 that changes nothing, then the same
request succeeds once the fault is mended (a real SQLite file, filled up with max_page_count)."""

from __future__ import annotations

import errno
import os
import resource
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from index.storage.faults import at_open_file_limit, opening_database, storage_fault
from service.client import InsufficientStorageError
from service.client import _raise_for as raise_for

BIG = "words that fill pages " * 20_000


def post(client: TestClient, doc_id: str, text: str = BIG, **params: str) -> Any:
    return client.post("/documents", params=params, json={"documents": [{"id": doc_id, "text": text}]})


def test_a_full_disk_is_a_507_that_changes_nothing_until_there_is_room(client: TestClient) -> None:
    assert post(client, "first", "A small first document.").status_code == 200
    writer = client.app.state.semsearch.index._store._writer  # type: ignore[attr-defined]
    pages = writer.execute("PRAGMA page_count").fetchone()[0]
    writer.execute(f"PRAGMA max_page_count = {pages}")  # the database may not grow: as on a full disk
    before = client.get("/stats").json()
    refused = post(client, "second")
    assert refused.status_code == 507, refused.text
    assert "the disk that holds the index is full" in refused.json()["detail"]
    with pytest.raises(InsufficientStorageError, match="disk that holds the index is full"):
        raise_for(refused)  # what the Python client makes of that answer
    # An upload queued for later is acknowledged: the task table (its own file, which has room here, as
    # only the index's database is held to its size) keeps it, and its worker retries until there is room.
    # (This step sent ?background=true, a parameter no route takes, and so tested a second plain write.)
    queued = post(client, "third", wait="false")
    assert queued.status_code == 202, queued.text
    assert client.get("/stats").json() == before
    assert client.get("/documents/second").status_code == 404
    assert client.get("/search", params={"q": "first"}).status_code == 200  # reads go on

    writer.execute(f"PRAGMA max_page_count = {pages * 1000}")  # space freed: the same request succeeds
    assert post(client, "second").status_code == 200
    task = f"/tasks/{queued.json()['task_id']}"
    deadline = time.monotonic() + 60
    while client.get(task).json()["status"] != "done" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.get(task).json()["status"] == "done"  # acknowledged, so not lost
    assert client.get("/stats").json()["documents"] == before["documents"] + 2


def test_a_database_locked_by_another_program_is_a_503_to_retry(client: TestClient) -> None:
    index = client.app.state.semsearch.index  # type: ignore[attr-defined]
    index._store._writer.execute("PRAGMA busy_timeout = 50")  # not the 30 s a server waits
    other = sqlite3.connect(index._store.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # a backup tool or a stray sqlite3 shell, holding the lock
    try:
        refused = post(client, "locked", "Written once the lock is gone.")
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "5"
        assert "locked by another program" in refused.json()["detail"]
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert post(client, "locked", "Written once the lock is gone.").status_code == 200


def test_only_storage_faults_are_called_so() -> None:
    assert storage_fault(OSError(errno.ENOSPC, "No space left on device")).kind == "full"  # type: ignore[union-attr]
    assert storage_fault(OSError(errno.EROFS, "Read-only file system")).kind == "unwritable"  # type: ignore[union-attr]
    assert storage_fault(OSError(errno.ECONNRESET, "reset")) is None
    assert storage_fault(sqlite3.OperationalError("no such table: x")) is None  # a bug, not the disk
    assert storage_fault(ValueError("x")) is None
    assert storage_fault(OSError(errno.EMFILE, "Too many open files")).kind == "files"  # type: ignore[union-attr]
    assert storage_fault(OSError(errno.ENFILE, "Too many open files in system")).kind == "files"  # type: ignore[union-attr]


def test_a_database_that_cannot_be_opened_says_whether_the_open_file_limit_is_why(tmp_path: Path) -> None:
    """SQLite says "unable to open database file" for a folder that is gone and for a process out of file
    descriptors alike; where it opens a file, the second becomes EMFILE (a 503 that says to raise the limit).
    The limit is lowered, in this process, to just what is open now, then restored."""
    gone = tmp_path / "removed" / "semsearch.db"
    with pytest.raises(sqlite3.OperationalError) as missing, opening_database(gone):
        sqlite3.connect(gone).execute("PRAGMA schema_version")
    assert storage_fault(missing.value).kind == "missing"  # type: ignore[union-attr]

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    filling: list[int] = []
    try:
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (max(int(fd) for fd in os.listdir("/proc/self/fd")) + 1, hard)
        )
        with pytest.raises(OSError, match="Too many open files"):  # the gaps below the highest filled
            _open_until_the_limit(filling)
        assert at_open_file_limit()
        with (
            pytest.raises(OSError, match="SQLite could not open") as full,
            opening_database(tmp_path / "x.db"),
        ):
            sqlite3.connect(tmp_path / "x.db").execute("PRAGMA schema_version")
    finally:
        for descriptor in filling:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert full.value.errno == errno.EMFILE
    assert storage_fault(full.value).kind == "files"  # type: ignore[union-attr]
    assert not at_open_file_limit()


def _open_until_the_limit(opened: list[int]) -> None:
    while True:
        opened.append(os.open(os.devnull, os.O_RDONLY))
