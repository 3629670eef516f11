"""Consistent copies of a data directory while it is in use, and putting one back.

:func:`snapshot` needs no model and no write access: it copies the files of the last saved vector index
(hard links where it can: they are never rewritten in place, only replaced) and then takes the database with
SQLite's online backup, which reads one consistent state while writers go on. The copy's database may be a
little newer than its vector index; opening it repairs the vector index from the database, as after a crash.
A snapshot is itself a data directory: serve it read-only, or :func:`restore` it.

:func:`restore` puts a snapshot in place of a data directory whose service is stopped (it takes the
directory's writer lock, so it cannot run under a live service).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index.errors import CorruptIndexError, InvalidInputError
from index.storage.files import atomic_write_with
from index.storage.layout import DB_FILE, SHARDS_FILE
from index.storage.locking import WriterLock
from index.storage.manifest import MANIFEST_FILE
from index.storage.vectors import VECTORS_DIR, VECTORS_STATE_FILE


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    path: Path
    documents: int
    chunks: int
    generation: int
    bytes: int
    seconds: float


def snapshot(data_dir: Path, destination: Path) -> SnapshotInfo:
    """Copy ``data_dir`` to ``destination`` (which must not exist) consistently, while it may be written."""
    started = time.perf_counter()
    data_dir, destination = Path(data_dir), Path(destination)
    if (data_dir / SHARDS_FILE).exists():
        raise InvalidInputError(f"{data_dir} is a sharded data directory: snapshot each of its shard folders")
    if not (data_dir / DB_FILE).exists():
        raise InvalidInputError(f"{data_dir} holds no index to snapshot")
    if destination.exists():
        raise InvalidInputError(f"{destination} exists already: a snapshot goes to a new path")
    destination.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        _copy_vectors(data_dir, scratch)
        if (data_dir / MANIFEST_FILE).exists():
            shutil.copy2(data_dir / MANIFEST_FILE, scratch / MANIFEST_FILE)
        atomic_write_with(scratch / DB_FILE, lambda tmp: _backup(data_dir / DB_FILE, tmp))
        scratch.chmod(0o755)
        scratch.rename(destination)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    copy = sqlite3.connect(f"file:{destination / DB_FILE}?mode=ro", uri=True)
    try:
        documents = copy.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        chunks = copy.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        row = copy.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    finally:
        copy.close()
    size = sum(p.stat().st_size for p in destination.rglob("*") if p.is_file())
    return SnapshotInfo(
        destination, documents, chunks, int(row[0]) if row else 0, size, time.perf_counter() - started
    )


def prune_snapshots(directory: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest snapshots in ``directory`` (folders holding a database, newest by
    name: the service names them by time); the ones deleted."""
    if not directory.is_dir():
        return []
    snapshots = sorted(p for p in directory.iterdir() if p.is_dir() and (p / DB_FILE).exists())
    doomed = snapshots[: max(0, len(snapshots) - keep)]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed


def restore(source: Path, data_dir: Path, progress: Callable[[int, int], object] | None = None) -> None:
    """Replace the index in ``data_dir`` with the snapshot ``source``. Refused while a writer (a running
    service) has ``data_dir``; a directory that does not exist yet is created. ``progress`` is called with
    ``(bytes copied, bytes in all)`` as the files are copied."""
    source, data_dir = Path(source), Path(data_dir)
    if not (source / DB_FILE).exists():
        raise InvalidInputError(f"{source} is not a snapshot: it has no {DB_FILE}")
    if (data_dir / SHARDS_FILE).exists():
        raise InvalidInputError(
            f"{data_dir} is a sharded data directory: restore each shard's snapshot into its shard folder"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = WriterLock(data_dir)
    try:
        staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=data_dir))
        try:
            total = sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
            copied = 0

            def copy(src: str, dst: str) -> object:
                nonlocal copied
                result = shutil.copy2(src, dst)
                copied += os.path.getsize(src)
                if progress is not None:
                    progress(copied, total)
                return result

            shutil.copytree(source, staging, dirs_exist_ok=True, copy_function=copy)
            # A cold copy of a data directory (cp -r of a stopped or crashed one) keeps recent commits in
            # its -wal file: fold them into the database of the staged copy, then check that copy.
            _self_contained(staging / DB_FILE)
            _check_snapshot(staging)
            # The vector state first: if this is cut off, the next start rebuilds vectors from the database.
            (data_dir / VECTORS_STATE_FILE).unlink(missing_ok=True)
            for stale in (DB_FILE + "-wal", DB_FILE + "-shm"):  # they belong to the database being replaced
                (data_dir / stale).unlink(missing_ok=True)
            shutil.rmtree(data_dir / VECTORS_DIR, ignore_errors=True)
            if (staging / VECTORS_DIR).exists():
                (staging / VECTORS_DIR).rename(data_dir / VECTORS_DIR)
            for stale in (DB_FILE + "-wal", DB_FILE + "-shm"):  # folded into the staged database
                (staging / stale).unlink(missing_ok=True)
            for name in (MANIFEST_FILE, DB_FILE, VECTORS_STATE_FILE):  # the database before its vector state
                if (staging / name).exists():
                    os.replace(staging / name, data_dir / name)
            directory = os.open(data_dir, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        lock.release()


def _copy_vectors(data_dir: Path, target: Path) -> None:
    """The files the saved vector state names, then the state. A save running meanwhile may delete them:
    then read the (newer) state again."""
    for _ in range(5):
        state_path = data_dir / VECTORS_STATE_FILE
        if not state_path.exists():
            return
        state = state_path.read_bytes()
        try:
            files = json.loads(state)["files"].values()
            (target / VECTORS_DIR).mkdir(exist_ok=True)
            for name in files:
                _link_or_copy(data_dir / VECTORS_DIR / name, target / VECTORS_DIR / name)
        except FileNotFoundError:
            shutil.rmtree(target / VECTORS_DIR, ignore_errors=True)
            continue
        except (ValueError, KeyError, AttributeError):
            return  # unreadable state: the copy rebuilds its vectors from the database
        (target / VECTORS_STATE_FILE).write_bytes(state)
        return


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError as error:
        if isinstance(error, FileNotFoundError):
            raise
        shutil.copy2(source, target)


def _backup(database: Path, target: Path) -> None:
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        # In one step: stepping page by page restarts whenever a writer commits, and might never finish
        # under steady writes (which is why the CLI shows no progress bar for a snapshot, only its time).
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        copy.close()
        source.close()


def _self_contained(database: Path) -> None:
    """Checkpoint ``database``'s write-ahead log into it and leave it one file (journal_mode=DELETE)."""
    try:
        connection = sqlite3.connect(database)
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.execute("PRAGMA journal_mode=DELETE")
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise CorruptIndexError(f"the database in the copy cannot be read ({error})") from error


def _check_snapshot(source: Path) -> None:
    try:
        copy = sqlite3.connect(f"file:{source / DB_FILE}?mode=ro", uri=True)
        try:
            if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise CorruptIndexError(f"the database in {source} is damaged; take another snapshot")
            copy.execute("SELECT COUNT(*) FROM documents").fetchone()
        finally:
            copy.close()
    except sqlite3.DatabaseError as error:
        raise CorruptIndexError(f"the database in {source} cannot be read ({error})") from error
