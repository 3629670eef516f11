"""Ingest in the background: an upload is stored durably, acknowledged with a task id, and indexed later.

A task is a row in the ``tasks`` table of the index's own SQLite database, committed (``synchronous=FULL``)
before its id is returned, so an acknowledged upload survives a crash or a restart. One worker thread runs
queued tasks in the order they were acknowledged, each as one upsert (one transaction: all documents of a
task or none).

What keeps an acknowledged upload from being lost or applied twice:

* **Done in the same transaction.** The upsert marks its task ``done`` (results stored, payload dropped)
  inside the very transaction that writes its documents. A crash before that commit leaves the task
  ``queued`` with its payload, and it runs again from the start; a crash after it leaves it done. A task
  never re-runs after its write, so it cannot undo a later write of the same documents.
* **Transient faults are retried, not failed.** A locked or busy database (a backup tool, a stuck reader),
  a full disk or an I/O error (``sqlite3.OperationalError``, ``OSError``) puts the task back in the queue
  and the worker retries it with exponential backoff, for as long as it takes; the payload stays. Any other
  error counts as an attempt, and after :attr:`TaskLimits.max_attempts` the task is ``failed`` with the
  error recorded (its payload kept, until it is forgotten with the finished tasks).
* **A supervised worker.** Whatever escapes a task ends in the worker's log and a backoff, never in a dead
  thread; a thread that dies anyway is started again by the next :meth:`TaskQueue.submit` or
  :meth:`TaskQueue.health` check, and :meth:`TaskQueue.health` reports a worker that makes no progress.
* **Acknowledged order.** A synchronous write of a document waits (:meth:`TaskQueue.wait_for_ids`) until
  every earlier-acknowledged task that holds the document is finished, so writes apply in the order they
  were acknowledged.
* **A bounded queue.** :meth:`TaskQueue.submit` refuses with :class:`QueueFullError` (HTTP 429) once the
  pending tasks or their bytes reach :class:`TaskLimits`.

Finished tasks are kept for :data:`KEEP_FINISHED`.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from index.errors import SemsearchError
from index.storage.faults import opening_database
from index.types import Document, UpsertResult

log = logging.getLogger(__name__)

TaskStatus = Literal["queued", "running", "done", "failed"]
KEEP_FINISHED = 7 * 24 * 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    documents INTEGER NOT NULL,
    chunks_done INTEGER NOT NULL DEFAULT 0,
    chunks_total INTEGER NOT NULL DEFAULT 0,
    payload TEXT,
    result TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL
);
"""
# Columns added after the first release; added to an older database when it opens.
_ADDED_COLUMNS = {
    "attempts": "INTEGER NOT NULL DEFAULT 0",
    "payload_bytes": "INTEGER NOT NULL DEFAULT 0",
}

# Hook the upsert calls inside its transaction, with its cursor and each document's outcome.
CommitHook = Callable[[sqlite3.Cursor, list[UpsertResult]], None]
Upsert = Callable[[Sequence[Document], Callable[[int, int], object], CommitHook], list[UpsertResult]]


@dataclass(frozen=True, slots=True)
class TaskLimits:
    """How much may wait in the queue, and how a task is retried."""

    max_tasks: int = 1000
    max_bytes: int = 512 * 1024 * 1024
    max_attempts: int = 5
    first_backoff: float = 0.5  # seconds before the first retry; doubled each time
    max_backoff: float = 30.0
    wait_for_ids_timeout: float = 60.0  # how long a synchronous write waits for earlier tasks
    stalled_after: float = 120.0  # a queue with work and no progress for this long is reported stalled


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    status: TaskStatus
    documents: int
    chunks_done: int
    chunks_total: int
    results: list[UpsertResult] | None
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    attempts: int = 0


class TaskNotFoundError(SemsearchError):
    """No task has this id (or it finished long ago and was forgotten)."""


class QueueFullError(SemsearchError):
    """The queue holds as many tasks or bytes as its limits allow; try again once it drains."""


class IngestBusyError(SemsearchError):
    """A write waited too long for earlier background uploads of the same documents."""


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is a fault of the moment (locked, busy, full, I/O) rather than of the task."""
    return isinstance(error, sqlite3.OperationalError | OSError)


class TaskQueue:
    """Durable background upserts over one database. Thread-safe."""

    def __init__(
        self, path: Path, upsert: Upsert, *, read_only: bool = False, limits: TaskLimits | None = None
    ) -> None:
        self._upsert = upsert
        self.limits = limits or TaskLimits()
        with opening_database(path):
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA schema_version").fetchone()  # SQLite opens the file on first use
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = read_only  # a read-only queue only reports
        self._worker: threading.Thread | None = None
        # Pending (queued or running) tasks: their document ids and payload sizes, for ordering and limits.
        self._pending: dict[str, tuple[frozenset[str], int]] = {}
        self._pending_ids: Counter[str] = Counter()
        self._changed = threading.Condition()
        self._progress_at = time.monotonic()
        self._retrying: tuple[str, int, str] | None = None  # task, attempts, last error
        if read_only:
            self._db.execute("PRAGMA query_only=ON")
            return
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(tasks)")}
        for name, kind in _ADDED_COLUMNS.items():
            if name not in columns:
                self._db.execute(f"ALTER TABLE tasks ADD COLUMN {name} {kind}")
        with self._lock:
            self._db.execute("UPDATE tasks SET status = 'queued' WHERE status = 'running'")
            self._db.execute(
                "DELETE FROM tasks WHERE finished_at IS NOT NULL AND finished_at < ?",
                (time.time() - KEEP_FINISHED,),
            )
            pending = self._db.execute(
                "SELECT id, payload, LENGTH(CAST(payload AS BLOB)) FROM tasks WHERE status = 'queued'"
            ).fetchall()
        for task_id, payload, size in pending:
            self._hold(str(task_id), (str(item[0]) for item in json.loads(payload)), int(size))
        if pending:
            log.info("resuming %d queued ingest tasks", len(pending))
            self._start()

    # -- the API ------------------------------------------------------------------------------------

    def submit(self, documents: Sequence[Document]) -> Task:
        """Store ``documents`` as a new queued task (durably) and return it. Raises
        :class:`QueueFullError` (and stores nothing) if the queue is at its limits."""
        if self._closed:
            raise RuntimeError("the task queue is closed (or read-only)")
        payload = json.dumps(
            [[d.id, d.text, d.title, d.metadata] for d in documents], ensure_ascii=False, allow_nan=False
        )
        size = len(payload.encode("utf-8"))
        task_id = uuid.uuid4().hex
        with self._changed:
            tasks = len(self._pending)
            queued_bytes = sum(held for _, held in self._pending.values())
            if tasks >= self.limits.max_tasks or (tasks and queued_bytes + size > self.limits.max_bytes):
                raise QueueFullError(
                    f"the ingest queue is full ({tasks} tasks, {queued_bytes} bytes waiting; limits "
                    f"{self.limits.max_tasks} tasks, {self.limits.max_bytes} bytes): retry once it drains"
                )
            with self._lock:
                self._db.execute(
                    "INSERT INTO tasks (id, status, documents, payload, payload_bytes, created_at) "
                    "VALUES (?, 'queued', ?, ?, ?, ?)",
                    (task_id, len(documents), payload, size, time.time()),
                )
            self._hold(task_id, (d.id for d in documents), size)
        self._start()
        self._wake.set()
        return self.get(task_id)

    def get(self, task_id: str) -> Task:
        with self._lock:
            try:
                row = self._db.execute(
                    "SELECT id, status, documents, chunks_done, chunks_total, result, error, created_at, "
                    "started_at, finished_at, attempts FROM tasks WHERE id = ?",
                    (task_id,),
                ).fetchone()
            except sqlite3.OperationalError:  # a read-only copy of a database that never had tasks
                row = None
        if row is None:
            raise TaskNotFoundError(f"no task has the id {task_id!r}")
        results = None if row[5] is None else [UpsertResult(*item) for item in json.loads(row[5])]
        return Task(row[0], row[1], row[2], row[3], row[4], results, row[6], row[7], row[8], row[9], row[10])

    def wait(self, task_id: str, timeout: float = 60.0) -> Task:
        """Block until the task is done or failed (or ``timeout`` passes); the task as it then is."""
        deadline = time.monotonic() + timeout
        while (task := self.get(task_id)).status in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.05)
        return task

    def wait_for_ids(self, doc_ids: Iterable[str] | None) -> None:
        """Block until no task acknowledged before this call holds any of ``doc_ids`` (every pending task,
        if None). Raises :class:`IngestBusyError` after :attr:`TaskLimits.wait_for_ids_timeout`."""
        wanted = None if doc_ids is None else frozenset(doc_ids)
        with self._changed:
            if wanted is None:
                earlier = set(self._pending)
            else:
                if not any(self._pending_ids[doc_id] for doc_id in wanted):
                    return
                earlier = {t for t, (ids, _) in self._pending.items() if ids & wanted}
            if not earlier:
                return
            finished = self._changed.wait_for(
                lambda: not earlier & self._pending.keys(), self.limits.wait_for_ids_timeout
            )
        if not finished:
            raise IngestBusyError(
                "earlier background uploads of these documents are still being indexed; retry shortly "
                "(GET /tasks/{task_id} shows their progress)"
            )

    def health(self) -> str | None:
        """None while the worker keeps up; else what is wrong (a stalled or retrying worker). Starts the
        worker again if its thread died."""
        if self._closed:
            return None
        with self._changed:
            pending = len(self._pending)
        if pending and (self._worker is None or not self._worker.is_alive()):
            self._worker = None
            log.error("the ingest worker had stopped; starting it again")
            self._start()
        retrying = self._retrying
        idle_for = time.monotonic() - self._progress_at
        if pending and idle_for > self.limits.stalled_after:
            detail = f"{pending} ingest tasks waiting, no progress for {idle_for:.0f} s"
            if retrying is not None:
                detail += f"; task {retrying[0]} failed {retrying[1]} times, last: {retrying[2]}"
            return detail
        return None

    def close(self, timeout: float = 5.0) -> None:
        """Stop after the running task (if any); queued tasks stay queued for the next start."""
        self._closed = True
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout)
        with self._lock:
            self._db.close()

    # -- the worker ---------------------------------------------------------------------------------

    def _hold(self, task_id: str, doc_ids: Iterable[str], size: int) -> None:
        ids = frozenset(doc_ids)
        with self._changed:
            self._pending[task_id] = (ids, size)
            self._pending_ids.update(ids)

    def _release(self, task_id: str) -> None:
        with self._changed:
            ids, _ = self._pending.pop(task_id, (frozenset(), 0))
            self._pending_ids.subtract(ids)
            for doc_id in ids:
                if self._pending_ids[doc_id] <= 0:
                    del self._pending_ids[doc_id]
            self._changed.notify_all()

    def _start(self) -> None:
        with self._lock:
            if self._worker is None and not self._closed:
                self._worker = threading.Thread(target=self._run, name="semsearch-ingest", daemon=True)
                self._worker.start()

    def _run(self) -> None:
        backoff = self.limits.first_backoff
        while not self._closed:
            try:
                ran = self._run_next()
                backoff = self.limits.first_backoff
            except Exception as error:  # the worker never dies of a task or of a fault
                if self._closed:
                    return
                log.warning("ingest worker: %s; retrying in %.1f s", error, backoff)
                self._wake.wait(backoff)
                self._wake.clear()
                backoff = min(backoff * 2, self.limits.max_backoff)
                continue
            if not ran:
                self._progress_at = time.monotonic()
                self._wake.wait(1.0)
                self._wake.clear()

    def _run_next(self) -> bool:
        """Run the oldest pending task (queued, or still marked running because a fault stopped the worker
        from putting it back: there is one worker); False if there is none."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, payload, attempts FROM tasks WHERE status IN ('queued', 'running') "
                "ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is None:
                return False
            self._db.execute(
                "UPDATE tasks SET status = 'running', started_at = COALESCE(started_at, ?) WHERE id = ?",
                (time.time(), row[0]),
            )
        task_id, attempts = str(row[0]), int(row[2])
        documents = [Document(item[0], item[1], item[2], item[3]) for item in json.loads(row[1])]
        try:
            results = self._upsert(
                documents,
                lambda done, total: self._progress(task_id, done, total),
                functools.partial(self._mark_done, task_id),
            )
        except Exception as error:
            if self._closed and isinstance(error, sqlite3.ProgrammingError):
                return True  # the index closed under the task: it re-runs on the next start
            attempts += 1
            self._retrying = (task_id, attempts, str(error)[:500])
            poison = not is_transient(error) and attempts >= self.limits.max_attempts
            log.warning(
                "ingest task %s: attempt %d failed (%s)%s",
                task_id,
                attempts,
                error,
                "; giving up" if poison else "",
            )
            with self._lock:
                self._db.execute(
                    "UPDATE tasks SET status = ?, attempts = ?, error = ?, finished_at = ? WHERE id = ?",
                    (
                        "failed" if poison else "queued",
                        attempts,
                        str(error),
                        time.time() if poison else None,
                        task_id,
                    ),
                )
            if poison:
                self._release(task_id)
                return True
            raise  # back off before the next attempt
        self._retrying = None
        self._progress_at = time.monotonic()
        # The upsert marked the task done in its transaction; one that could not is marked here.
        with self._lock:
            status = self._db.execute("SELECT status FROM tasks WHERE id = ?", (task_id,)).fetchone()
            if status is not None and status[0] != "done":
                self._mark_done(task_id, self._db.cursor(), results)
        self._release(task_id)
        return True

    @staticmethod
    def _mark_done(task_id: str, cursor: sqlite3.Cursor, results: list[UpsertResult]) -> None:
        """Called by the upsert inside its transaction: the task's outcome commits with its documents."""
        encoded = json.dumps([[r.id, r.status, r.chunks] for r in results])
        cursor.execute(
            "UPDATE tasks SET status = 'done', result = ?, error = NULL, payload = NULL, finished_at = ? "
            "WHERE id = ?",
            (encoded, time.time(), task_id),
        )

    def _progress(self, task_id: str, done: int, total: int) -> None:
        self._progress_at = time.monotonic()
        with self._lock:
            try:
                self._db.execute(
                    "UPDATE tasks SET chunks_done = ?, chunks_total = ? WHERE id = ?", (done, total, task_id)
                )
            except sqlite3.ProgrammingError:
                if not self._closed:
                    raise  # else: closed under a running task, which re-runs on the next start
            except sqlite3.OperationalError as error:  # progress is best effort; the task goes on
                log.debug("ingest task %s: progress not recorded (%s)", task_id, error)
