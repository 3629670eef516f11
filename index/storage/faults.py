"""What a failure of the disk or the database under the index means to whoever asked for the read or write.

SQLite reports a full disk, a lock held by another program, a read-only file and an I/O error all as
``sqlite3.OperationalError`` (with its result code); the file system reports a full disk as ``OSError``
(``ENOSPC``). A write that fails so has changed nothing (its transaction rolled back, and the in-memory
indexes follow only committed writes), and none of them is a fault of the request: the same request succeeds
once the operator has freed space or the lock is gone. :func:`storage_fault` says which it is, in words an
operator can act on; anything else is left to be a bug.

A process at its limit of open files (``EMFILE``) is one too: each open collection holds files, and the same
request succeeds once the limit is raised or collections are deleted. SQLite says only that it could not
open a file ("unable to open database file"), and by the time the error reaches a handler, unwinding may
have closed files; so the system is asked (:func:`at_open_file_limit`) where SQLite opens files
(:func:`opening_database`), and its error becomes ``EMFILE`` if the limit is the cause. Otherwise the
database's file or folder is not where it was.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["full", "busy", "unwritable", "io", "files", "missing"]

_MESSAGES: dict[FaultKind, str] = {
    "full": "the disk that holds the index is full",
    "busy": "the index's database is locked by another program (a backup tool, a long read)",
    "unwritable": "the index's database cannot be written (a read-only file system, or its permissions)",
    "io": "the disk that holds the index failed to read or write",
    "files": "the service has as many files open as its limit allows (ulimit -n); raise the limit, or delete "
    "collections no longer used (each open collection holds some files)",
    "missing": "the index's database file cannot be opened: its folder was moved or removed, or its "
    "permissions changed",
}
_SQLITE_KINDS: dict[int, FaultKind] = {
    sqlite3.SQLITE_FULL: "full",
    sqlite3.SQLITE_BUSY: "busy",
    sqlite3.SQLITE_LOCKED: "busy",
    sqlite3.SQLITE_READONLY: "unwritable",
    sqlite3.SQLITE_IOERR: "io",
    sqlite3.SQLITE_CANTOPEN: "missing",  # at the open-file limit, opening_database raises EMFILE instead
}
_OS_KINDS: dict[int, FaultKind] = {
    errno.ENOSPC: "full",
    errno.EDQUOT: "full",
    errno.EROFS: "unwritable",
    errno.EIO: "io",
    errno.EMFILE: "files",
    errno.ENFILE: "files",  # the whole system's limit
}


@dataclass(frozen=True, slots=True)
class StorageFault:
    kind: FaultKind
    message: str


def storage_fault(error: BaseException) -> StorageFault | None:
    """The storage fault ``error`` reports, or None if it reports none (a bug, say)."""
    kind: FaultKind | None = None
    if isinstance(error, sqlite3.OperationalError):
        code = getattr(error, "sqlite_errorcode", None)
        kind = None if code is None else _SQLITE_KINDS.get(code & 0xFF)  # extended codes keep the primary
    elif isinstance(error, OSError) and error.errno is not None:
        kind = _OS_KINDS.get(error.errno)
    if kind is None:
        return None
    return StorageFault(kind, f"{_MESSAGES[kind]} ({error})")


@contextmanager
def opening_database(path: object) -> Iterator[None]:
    """Where SQLite opens ``path`` (a connection, or its first statement): its "unable to open database
    file" raised as ``OSError(EMFILE)`` when this process is at its limit of open files."""
    try:
        yield
    except sqlite3.OperationalError as error:
        if getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_CANTOPEN and at_open_file_limit():
            raise OSError(errno.EMFILE, f"Too many open files: SQLite could not open {path}") from error
        raise


def at_open_file_limit(spare: int = 4) -> bool:
    """Whether this process is within ``spare`` files of its limit (SQLite opens a database, its log and
    its shared memory): tried, with the one file every system has."""
    opened: list[int] = []
    try:
        for _ in range(spare):
            opened.append(os.open(os.devnull, os.O_RDONLY))
    except OSError as error:
        return error.errno in (errno.EMFILE, errno.ENFILE)
    finally:
        for descriptor in opened:
            os.close(descriptor)
    return False
