"""The single-writer rule: one process at a time may open a data directory for writing.

The writer holds an exclusive lock (``fcntl.flock`` through the filelock package) on ``writer.lock`` in the
data directory for as long as it has the index open. The operating system drops the lock when the process
ends, however it ends, so a crash never leaves a stale lock behind. A second writer is refused at once with
:class:`DataDirLockedError`; readers (``read_only=True``) take no lock.
"""

from __future__ import annotations

from pathlib import Path

import filelock

from index.errors import SemsearchError

LOCK_FILE = "writer.lock"


class DataDirLockedError(SemsearchError):
    """Another process (or another open index in this one) is writing to the data directory."""


class WriterLock:
    """The data directory's write lock, taken on construction."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._lock = filelock.FileLock(self.path, timeout=0, thread_local=False)
        try:
            self._lock.acquire()
        except filelock.Timeout as error:
            raise DataDirLockedError(
                f"{data_dir} is open for writing by another process (or another index in this one); only "
                "one writer may use a data directory. Stop it, send writes to it over HTTP, or open this "
                "one read-only (SEMSEARCH_READ_ONLY=true)."
            ) from error

    def release(self) -> None:
        self._lock.release(force=True)
