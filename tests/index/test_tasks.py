from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from index import Document, InvalidInputError, SearchIndex
from index.embedding import Vectors
from index.preparation import PROGRESS_SLICE
from index.search_index import DB_FILE
from index.tasks import TaskNotFoundError, TaskQueue
from index.types import UpsertResult
from tests.fakes import FakeEmbedder

OpenIndex = Callable[..., SearchIndex]


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
    bad = index.submit_upsert([Document("ok", "Fine words here."), Document("bad", "A poison pill.")])
    good = index.submit_upsert(docs(2))
    failed = index.tasks.wait(bad.id)
    assert failed.status == "failed"
    assert "choked on poison" in (failed.error or "")
    assert index.tasks.wait(good.id).status == "done"
    assert index.stats().documents == 2  # "ok" went with the failed task: all or nothing


def test_an_acknowledged_task_survives_a_stop_in_the_middle(open_index: OpenIndex, tmp_path: Path) -> None:
    """As after a crash: a task left 'running' runs again when the index opens, and completes."""
    open_index().close()  # create the database
    release = threading.Event()
    started = threading.Event()

    def stuck_upsert(
        documents: Sequence[Document], progress: Callable[[int, int], object]
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
