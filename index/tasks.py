"""Ingest in the background: an upload is stored durably, acknowledged with a task id, and indexed later.

A task is a row in the ``tasks`` table of the index's own SQLite database, committed (``synchronous=FULL``)
before its id is returned, so an acknowledged upload survives a crash or a restart. One worker thread runs
queued tasks in order, each as one :meth:`~index.search_index.SearchIndex.upsert` (one transaction: all
documents of a task or none). A task found ``running`` when the index opens was interrupted; it runs again
from the start, which is safe because an upsert of unchanged documents changes nothing (their status then
reads ``unchanged``). Finished tasks keep their results (not their documents) for :data:`KEEP_FINISHED`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from index.errors import SemsearchError
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

Upsert = Callable[[Sequence[Document], Callable[[int, int], object]], list[UpsertResult]]


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


class TaskNotFoundError(SemsearchError):
    """No task has this id (or it finished long ago and was forgotten)."""


class TaskQueue:
    """Durable background upserts over one database. Thread-safe."""

    def __init__(self, path: Path, upsert: Upsert, *, read_only: bool = False) -> None:
        self._upsert = upsert
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = read_only  # a read-only queue only reports
        self._worker: threading.Thread | None = None
        if read_only:
            self._db.execute("PRAGMA query_only=ON")
            return
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        with self._lock:
            self._db.execute("UPDATE tasks SET status = 'queued' WHERE status = 'running'")
            self._db.execute(
                "DELETE FROM tasks WHERE finished_at IS NOT NULL AND finished_at < ?",
                (time.time() - KEEP_FINISHED,),
            )
            pending = self._db.execute("SELECT COUNT(*) FROM tasks WHERE status = 'queued'").fetchone()[0]
        if pending:
            log.info("resuming %d queued ingest tasks", pending)
            self._start()

    def submit(self, documents: Sequence[Document]) -> Task:
        """Store ``documents`` as a new queued task (durably) and return it."""
        if self._closed:
            raise RuntimeError("the task queue is closed (or read-only)")
        payload = json.dumps(
            [[d.id, d.text, d.title, d.metadata] for d in documents], ensure_ascii=False, allow_nan=False
        )
        task_id = uuid.uuid4().hex
        with self._lock:
            self._db.execute(
                "INSERT INTO tasks (id, status, documents, payload, created_at) "
                "VALUES (?, 'queued', ?, ?, ?)",
                (task_id, len(documents), payload, time.time()),
            )
        self._start()
        self._wake.set()
        return self.get(task_id)

    def get(self, task_id: str) -> Task:
        with self._lock:
            try:
                row = self._db.execute(
                    "SELECT id, status, documents, chunks_done, chunks_total, result, error, created_at, "
                    "started_at, finished_at FROM tasks WHERE id = ?",
                    (task_id,),
                ).fetchone()
            except sqlite3.OperationalError:  # a read-only copy of a database that never had tasks
                row = None
        if row is None:
            raise TaskNotFoundError(f"no task has the id {task_id!r}")
        results = None if row[5] is None else [UpsertResult(*item) for item in json.loads(row[5])]
        return Task(row[0], row[1], row[2], row[3], row[4], results, row[6], row[7], row[8], row[9])

    def wait(self, task_id: str, timeout: float = 60.0) -> Task:
        """Block until the task is done or failed (or ``timeout`` passes); the task as it then is."""
        deadline = time.monotonic() + timeout
        while (task := self.get(task_id)).status in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.05)
        return task

    def close(self, timeout: float = 5.0) -> None:
        """Stop after the running task (if any); queued tasks stay queued for the next start."""
        self._closed = True
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout)
        with self._lock:
            self._db.close()

    def _start(self) -> None:
        with self._lock:
            if self._worker is None and not self._closed:
                self._worker = threading.Thread(target=self._run, name="semsearch-ingest", daemon=True)
                self._worker.start()

    def _run(self) -> None:
        while not self._closed:
            with self._lock:
                row = self._db.execute(
                    "SELECT id, payload FROM tasks WHERE status = 'queued' ORDER BY seq LIMIT 1"
                ).fetchone()
                if row is not None:
                    self._db.execute(
                        "UPDATE tasks SET status = 'running', started_at = ? WHERE id = ?",
                        (time.time(), row[0]),
                    )
            if row is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            self._execute(str(row[0]), json.loads(row[1]))

    def _execute(self, task_id: str, payload: list[list[Any]]) -> None:
        documents = [Document(item[0], item[1], item[2], item[3]) for item in payload]

        def progress(done: int, total: int) -> None:
            self._update(
                "UPDATE tasks SET chunks_done = ?, chunks_total = ? WHERE id = ?", (done, total, task_id)
            )

        try:
            results = self._upsert(documents, progress)
        except Exception as error:  # the task fails alone; the queue goes on
            if self._closed and isinstance(error, sqlite3.ProgrammingError):
                return  # the index closed under the task: it stays 'running' and re-runs on the next start
            log.warning("ingest task %s failed: %s", task_id, error)
            self._finish(task_id, "failed", None, str(error))
            return
        encoded = json.dumps([[r.id, r.status, r.chunks] for r in results])
        self._finish(task_id, "done", encoded, None)

    def _finish(self, task_id: str, status: str, result: str | None, error: str | None) -> None:
        self._update(
            "UPDATE tasks SET status = ?, result = ?, error = ?, payload = NULL, finished_at = ? "
            "WHERE id = ?",
            (status, result, error, time.time(), task_id),
        )

    def _update(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._lock:
            try:
                self._db.execute(sql, params)
            except sqlite3.ProgrammingError:
                if not self._closed:
                    raise  # else: closed under a running task, which re-runs on the next start
