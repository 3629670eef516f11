"""What a failure of the disk or the database under the index means to whoever asked for the read or write.

SQLite reports a full disk, a lock held by another program, a read-only file and an I/O error all as
``sqlite3.OperationalError`` (with its result code); the file system reports a full disk as ``OSError``
(``ENOSPC``). A write that fails so has changed nothing (its transaction rolled back, and the in-memory
indexes follow only committed writes), and none of them is a fault of the request: the same request succeeds
once the operator has freed space or the lock is gone. :func:`storage_fault` says which it is, in words an
operator can act on; anything else is left to be a bug.
"""

from __future__ import annotations

import errno
import sqlite3
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["full", "busy", "unwritable", "io"]

_MESSAGES: dict[FaultKind, str] = {
    "full": "the disk that holds the index is full",
    "busy": "the index's database is locked by another program (a backup tool, a long read)",
    "unwritable": "the index's database cannot be written (a read-only file system, or its permissions)",
    "io": "the disk that holds the index failed to read or write",
}
_SQLITE_KINDS: dict[int, FaultKind] = {
    sqlite3.SQLITE_FULL: "full",
    sqlite3.SQLITE_BUSY: "busy",
    sqlite3.SQLITE_LOCKED: "busy",
    sqlite3.SQLITE_READONLY: "unwritable",
    sqlite3.SQLITE_IOERR: "io",
}
_OS_KINDS: dict[int, FaultKind] = {
    errno.ENOSPC: "full",
    errno.EDQUOT: "full",
    errno.EROFS: "unwritable",
    errno.EIO: "io",
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
