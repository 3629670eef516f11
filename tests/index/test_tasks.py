from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from index import Document, InvalidInputError, SearchIndex
from index.encoders.base import Vectors
from index.ingest.preparation import PROGRESS_SLICE
from index.storage.layout import DB_FILE
from index.storage.tasks import CommitHook, QueueFullError, TaskLimits, TaskNotFoundError, TaskQueue
from index.types import UpsertResult
from tests.fakes import FakeEmbedder

OpenIndex = Callable[..., SearchIndex]
QUICK = TaskLimits(first_backoff=0.01, max_backoff=0.05, max_attempts=3)


def docs(n: int, prefix: str = "d") -> list[Document]:
    return [
        Document(f"{prefix}{i}", f"Paragraph {i} about rivers and mountains number {i}.") for i in range(n)
    ]


def test_a_background_upsert_is_queued_run_and_reported(open_index: OpenIndex) -> None:
    index = open_index(FakeEmbedder(max_tokens=16))
    long_text = "\n\n".join(f"Paragraph {i} about glaciers carving valleys slowly." for i in range(600))
    task = index.submit_upsert([*docs(3), Document("long", long_text)])
    assert task.status in ("queued", "running")
    assert task.documents == 4
    done = index.tasks.wait(task.id)
    assert done.status == "done"
    assert done.results is not None
    assert [r.status for r in done.results] == ["created"] * 4
    assert done.chunks_total == sum(r.chunks for r in done.results) > PROGRESS_SLICE  # reported in slices
    assert done.chunks_done == done.chunks_total
    assert done.finished_at is not None
    assert index.search("glaciers carving valleys", k=1).hits[0].doc_id == "long"
    again = index.tasks.wait(index.submit_upsert(docs(3)).id)
    assert again.results is not None
    assert [r.status for r in again.results] == ["unchanged"] * 3


def test_invalid_documents_are_refused_before_anything_is_queued(open_index: OpenIndex) -> None:
    index = open_index()
    with pytest.raises(InvalidInputError, match="appears twice"):
        index.submit_upsert([Document("a", "x y"), Document("a", "z")])
    with pytest.raises(TaskNotFoundError):
        index.tasks.get("no-such-task")


class PoisonedEmbedder(FakeEmbedder):
    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if any("poison" in text for text in texts):
            raise ValueError("the model choked on poison")
        return super().embed_documents(texts)


def test_a_failing_task_fails_alone_and_changes_nothing(open_index: OpenIndex) -> None:
    index = open_index(PoisonedEmbedder())
    index.tasks.limits = QUICK
    bad = index.submit_upsert([Document("ok", "Fine words here."), Document("bad", "A poison pill.")])
    good = index.submit_upsert(docs(2))
    failed = index.tasks.wait(bad.id)
    assert failed.status == "failed"
    assert "choked on poison" in (failed.error or "")
    assert failed.attempts == QUICK.max_attempts
    assert index.tasks.wait(good.id).status == "done"
    assert index.stats().documents == 2  # "ok" went with the failed task: all or nothing


def test_an_acknowledged_task_survives_a_stop_in_the_middle(open_index: OpenIndex, tmp_path: Path) -> None:
    """As after a crash: a task left 'running' runs again when the index opens, and completes."""
    open_index().close()  # create the database
    release = threading.Event()
    started = threading.Event()

    def stuck_upsert(
        documents: Sequence[Document], progress: Callable[[int, int], object], on_commit: CommitHook
    ) -> list[UpsertResult]:
        started.set()
        release.wait(10)
        raise RuntimeError("the process died")  # never reached in a real crash; here it is ignored on close

    queue = TaskQueue(tmp_path / "data" / DB_FILE, stuck_upsert)
    task = queue.submit(docs(5, "kept"))
    assert started.wait(10)
    queue.close(timeout=0.1)
    release.set()
    time.sleep(0.1)
    reopened = open_index()
    done = reopened.tasks.wait(task.id)
    assert done.status == "done"
    assert reopened.stats().documents == 5


class GatedEmbedder(FakeEmbedder):
    """Holds every embedding of a text containing ``word`` ("" for all) until ``release`` is set."""

    def __init__(self, release: threading.Event, word: str = "") -> None:
        super().__init__()
        self.release = release
        self.word = word

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if any(self.word in text for text in texts):
            self.release.wait(10)
        return super().embed_documents(texts)


class FlakyEmbedder(FakeEmbedder):
    """Fails with a transient fault (an I/O error) the first ``failures`` times it embeds."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if self.failures > 0:
            self.failures -= 1
            raise OSError(5, "Input/output error")
        return super().embed_documents(texts)


def test_transient_faults_are_retried_until_the_task_is_done(open_index: OpenIndex) -> None:
    """Faults of the moment never fail an acknowledged task, however many times they come: more than
    max_attempts here."""
    index = open_index(FlakyEmbedder(failures=QUICK.max_attempts + 2))
    index.tasks.limits = QUICK
    done = index.tasks.wait(index.submit_upsert(docs(2)).id, timeout=30)
    assert done.status == "done"
    assert done.attempts == QUICK.max_attempts + 2  # counted, never fatal
    assert done.error is None
    assert index.stats().documents == 2


def test_a_task_is_marked_done_in_the_transaction_that_writes_it(
    open_index: OpenIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault after the documents and the task's 'done' are written, before the commit (as a kill would
    be), rolls both back: the task is queued again with its payload, never done without its documents, and
    it completes on the retry."""
    index = open_index()
    index.tasks.limits = QUICK
    store = index._store
    original = store.write
    faults: list[list[tuple[str]]] = []

    def failing_commit(*args: object, **kwargs: object) -> object:
        finish = kwargs.get("finish")
        if finish is not None and not faults:

            def finish_then_fail(cursor: sqlite3.Cursor, created: list[bool]) -> None:
                finish(cursor, created)  # type: ignore[operator]
                status = cursor.execute("SELECT status FROM tasks WHERE status = 'done'").fetchall()
                faults.append(status)
                raise sqlite3.OperationalError("disk I/O error")

            kwargs["finish"] = finish_then_fail
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "write", failing_commit)
    task = index.submit_upsert(docs(3))
    done = index.tasks.wait(task.id, timeout=30)
    assert faults == [[("done",)]]  # it was marked done inside the transaction that then failed
    assert done.status == "done"
    assert done.attempts == 1
    assert index.stats().documents == 3


def test_a_synchronous_write_waits_for_earlier_background_uploads_of_its_documents(
    open_index: OpenIndex,
) -> None:
    """Acknowledged order: a task holding 'x' is acknowledged, then a synchronous upsert of 'x' arrives
    while the task is still embedding. The upsert waits; the final text is the later one."""
    release = threading.Event()

    index = open_index(GatedEmbedder(release, "older"))
    task = index.submit_upsert([Document("x", "The older text of x.")])
    finished = threading.Event()

    def write_newer() -> None:
        index.upsert([Document("x", "The newer text of x.")])
        finished.set()

    writer = threading.Thread(target=write_newer)
    writer.start()
    assert not finished.wait(0.5), "the synchronous write did not wait for the earlier task"
    release.set()
    writer.join(10)
    assert index.tasks.get(task.id).status == "done"
    assert index.get("x").text == "The newer text of x."
    # A write of other documents does not wait.
    index.upsert([Document("y", "Unrelated words.")])


def test_the_queue_is_bounded_in_tasks_and_bytes(open_index: OpenIndex) -> None:
    release = threading.Event()

    index = open_index(GatedEmbedder(release))
    index.tasks.limits = TaskLimits(max_tasks=2, max_bytes=10_000)
    index.submit_upsert(docs(1, "a"))
    index.submit_upsert(docs(1, "b"))
    with pytest.raises(QueueFullError, match="2 tasks"):
        index.submit_upsert(docs(1, "c"))
    release.set()
    index.tasks.wait_for_ids(None)
    index.tasks.limits = TaskLimits(max_tasks=10, max_bytes=2_000)
    release.clear()
    index.submit_upsert(docs(1, "d"))
    with pytest.raises(QueueFullError, match="bytes"):
        index.submit_upsert([Document("big", "word " * 1000)])
    release.set()


def test_a_dead_worker_is_started_again_and_a_stalled_one_reported(open_index: OpenIndex) -> None:
    index = open_index()
    queue = index.tasks
    queue.limits = TaskLimits(stalled_after=0.0)
    assert queue.wait(index.submit_upsert(docs(1)).id).status == "done"
    assert queue.health() is None
    queue._closed = True  # stop the worker thread, as if it had died
    queue._wake.set()
    assert queue._worker is not None
    queue._worker.join(5)
    queue._closed = False
    queue._hold("ghost", ["g"], 10)  # work waiting, nobody doing it
    assert "no progress" in (queue.health() or "")
    assert queue._worker is not None
    assert queue._worker.is_alive()
    queue._release("ghost")


def test_an_upload_survives_the_database_locked_from_outside(open_index: OpenIndex, tmp_path: Path) -> None:
    """The finding: with the database locked by another process (a backup tool, a stuck reader) for longer
    than SQLite waits, an acknowledged upload was marked failed and its payload dropped. Here the lock is
    real (another connection's exclusive transaction) and SQLite waits only 0.1 s, so every write of the
    worker fails while it lasts, even the one that would record the failure; the upload is applied once the
    lock goes, and the attempt limit (1 here) does not count such faults."""
    release = threading.Event()

    index = open_index(GatedEmbedder(release))
    index.tasks.limits = TaskLimits(first_backoff=0.05, max_backoff=0.2, max_attempts=1)
    index._store._writer.execute("PRAGMA busy_timeout=100")
    index.tasks._db.execute("PRAGMA busy_timeout=100")
    task = index.submit_upsert(docs(3, "locked"))
    locker = sqlite3.connect(tmp_path / "data" / DB_FILE, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    release.set()
    time.sleep(1.5)  # several attempts fail meanwhile
    assert index.tasks.get(task.id).status in ("queued", "running")  # WAL: reads go on under the lock
    assert index.stats().documents == 0
    locker.execute("COMMIT")
    locker.close()
    done = index.tasks.wait(task.id, timeout=30)
    assert done.status == "done", done.error
    assert index.stats().documents == 3
