"""Uploaded files are read in processes of their own, not in the server's.

Reading a file is Python work: BeautifulSoup building a page's tree, python-docx walking a document, the
Markdown written from either. In the server's process that work holds the interpreter's lock for as long
as it runs, seconds for a large page, and every search waits for the lock in turn: while an 8.6 MB HTML
page was read, the p99 of another client's searches went from 26 to 252 ms, and 28 ms with the page read
in a process of its own (docs/benchmarks.md, "Searches while a file is read"): there it takes a core, not
the lock. The process also bounds what one file can do to the server: a reader that crashes or is killed
for running out of memory loses that file (named in the refusal), not the service, and one that runs past
``timeout_seconds`` is stopped. Time a reader spends reading scanned pages by OCR (seconds a page) does
not count against it: each page read starts its time again, so a scanned book is read whatever its length
and a stuck reader is still stopped.

The processes are started with ``spawn`` (a fork of a threaded server may copy a lock another thread
holds), on the first upload, and kept: starting one and importing the readers took 0.4 s.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any, TypeVar

from index.ingest.extract import CorruptFileError, ocr
from index.ingest.sources import FileContents
from index.ingest.uploaded import read_file
from service.errors import NotReadyError

log = logging.getLogger(__name__)

# Longest wait for a new reader process to start and import the readers (about a second on a quiet machine).
START_SECONDS = 60.0
# How often a file's wait looks at its reader's count of pages read.
PROGRESS_SECONDS = 1.0

_T = TypeVar("_T")
# What reads one file: index.ingest.uploaded.read_file's parameters and answer.
Read = Callable[..., FileContents]


class FileReader:
    """Reads files into documents (:func:`index.ingest.uploaded.read_file`) in ``processes`` worker
    processes, at most one file each at a time; with ``processes=0``, in the calling thread. Raises what
    the reader raises (an :class:`~index.ingest.extract.ExtractionError` saying what is wrong with the
    file), or :class:`~index.ingest.extract.CorruptFileError` for a file whose reader crashed or ran past
    ``timeout_seconds``."""

    def __init__(self, processes: int = 1, timeout_seconds: float = 600.0, read: Read = read_file) -> None:
        self._processes = processes
        self._timeout = timeout_seconds
        self._read = read
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        # A file waits here for a free process, so that its time limit counts its reading only.
        self._free = threading.BoundedSemaphore(max(processes, 1))
        self._closed = False
        # Each file being read has a slot of the pool's shared counters, which its reader adds a page to.
        self._slots = list(range(max(processes, 1)))
        self._pages: Any = None

    def contents(
        self,
        doc_id: str,
        name: str,
        data: bytes,
        metadata: dict[str, Any] | None = None,
        encoding: str | None = None,
        *,
        id_prefix: str = "",
        max_file_bytes: int,
    ) -> FileContents:
        """What one uploaded file holds (:func:`index.ingest.uploaded.read_file`): its document, or a ZIP
        archive's (a mailbox's) documents, those of its files (messages) that could not be read and those
        passed over. An archive is read in one process, its time limit that of one file."""
        read = partial(self._read, id_prefix=id_prefix, max_file_bytes=max_file_bytes)
        return self._call(name, read, doc_id, name, data, metadata, encoding)

    def _call(self, name: str, read: Callable[..., _T], *args: Any) -> _T:
        if self._processes == 0:
            return read(*args)
        with self._free:
            # Once more on a new pool if the first broke: a crash of another file's reader (with several
            # processes) or a pool stopped for another file's time limit is not this file's fault.
            for attempt in (1, 2):
                pool = self._executor()
                if pool is None:  # processes cannot be started here
                    return read(*args)
                try:
                    return self._wait(pool, read, args)
                except FutureTimeout:
                    self._stop(pool, f"{name} ran past {self._timeout:g} s")
                    raise CorruptFileError(
                        f"{name}: reading it took longer than {self._timeout:g} s "
                        "(SEMSEARCH_FILE_READ_TIMEOUT_SECONDS); nothing was written"
                    ) from None
                except BrokenProcessPool:
                    self._stop(pool, f"the reader stopped on {name}")
                    if attempt == 2:
                        raise CorruptFileError(
                            f"{name}: the reader stopped on this file (it crashed, or ran out of memory); "
                            "nothing was written"
                        ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, pool: ProcessPoolExecutor, read: Callable[..., _T], args: tuple[Any, ...]) -> _T:
        """``read(*args)`` in ``pool``'s process; :class:`FutureTimeout` if it read no page by OCR for
        ``timeout_seconds`` (or read none, and ran that long)."""
        with self._lock:
            slot, pages = self._slots.pop(), self._pages
        try:
            future = pool.submit(_counting_pages, slot, read, *args)
            seen, deadline = pages[slot], time.monotonic() + self._timeout
            while True:
                try:
                    return future.result(max(0.0, min(deadline - time.monotonic(), PROGRESS_SECONDS)))
                except FutureTimeout:
                    if pages[slot] != seen:
                        seen, deadline = pages[slot], time.monotonic() + self._timeout
                    elif time.monotonic() >= deadline:
                        raise
        finally:
            with self._lock:
                self._slots.append(slot)

    def close(self) -> None:
        """Stop the processes (a file being read is abandoned); the reader reads no more."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            _kill(pool)

    def _executor(self) -> ProcessPoolExecutor | None:
        """The pool, started if need be; None where processes cannot be (no POSIX semaphores, as in some
        sandboxes): then files are read in the server's process, as with ``processes=0``."""
        with self._lock:
            if self._closed:  # the server is stopping: the upload was not acknowledged
                raise NotReadyError("the service is shutting down")
            if self._pool is None and self._processes > 0:
                self._pool = self._start()
            return self._pool

    def _start(self) -> ProcessPoolExecutor | None:
        """A new pool whose process has answered, or None (and files read in this process from now on)."""
        try:
            context = multiprocessing.get_context("spawn")
            pages = context.Array("q", max(self._processes, 1))  # a slot for each file being read
            pool = ProcessPoolExecutor(
                self._processes, mp_context=context, initializer=_share, initargs=(pages,)
            )
        except (OSError, NotImplementedError, ImportError) as error:
            log.warning("files will be read in the server's process: no reader process (%s)", error)
            self._processes = 0
            return None
        try:
            pool.submit(_ready).result(START_SECONDS)
        except Exception as error:  # whatever kept the process from starting
            # A spawned process imports the program's main module again: one run from standard input cannot
            # be, and a script that starts a server without `if __name__ == "__main__":` starts another.
            log.warning(
                "files will be read in the server's process: the reader process did not start (%s); a "
                "script that serves semsearch needs `if __name__ == '__main__':` around its start "
                "(or set SEMSEARCH_FILE_READERS=0)",
                type(error).__name__,
            )
            _kill(pool)
            self._processes = 0
            return None
        self._pages = pages
        return pool

    def _stop(self, pool: ProcessPoolExecutor, why: str) -> None:
        """Kill ``pool``'s processes (whatever they are reading) and let the next file start a new one."""
        log.warning("stopping the file reader processes: %s", why)
        with self._lock:
            if self._pool is pool:
                self._pool = None
        _kill(pool)


def _ready() -> bool:
    """Run in a new reader process: it started, and imported the readers."""
    return True


# In a reader process: the pool's counters of pages read, one slot for each file being read.
_PAGES: Any = None


def _share(pages: Any) -> None:
    global _PAGES
    _PAGES = pages


def _counting_pages(slot: int, read: Callable[..., _T], *args: Any) -> _T:
    """``read(*args)``, adding each page OCR reads meanwhile to the slot ``slot`` of the pool's counters."""

    def page() -> None:
        with _PAGES.get_lock():
            _PAGES[slot] += 1

    ocr.on_page(page)
    try:
        return read(*args)
    finally:
        ocr.on_page(None)


def _kill(pool: ProcessPoolExecutor) -> None:
    kill_workers = getattr(pool, "kill_workers", None)  # Python 3.14
    if kill_workers is not None:
        kill_workers()
        return
    # Before 3.14 the executor cannot stop a task it started: its processes are killed, which breaks it.
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
