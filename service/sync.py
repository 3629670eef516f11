"""``semsearch sync`` and ``semsearch index --url``: documents written to a data directory or to a running
service through the same two small targets.

A sync compares the folder with the documents stored from it (:mod:`index.ingest.sync`), reads and writes
only the files that are new or changed, and deletes the documents of files that are gone. A file that
cannot be read is reported and left as it was stored (its document is not deleted for being unreadable).
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from index.distributed.sharding import ShardedIndex
from index.ingest.sources import SourceError, describe_left_out, describe_unsupported, discover, file_document
from index.ingest.sync import SyncPlan, plan_sync
from index.search_index import SearchIndex
from index.types import Document, UpsertResult
from service.client import SemsearchClient
from service.schemas import TaskOut

# The metadata field naming the folder a document was synced from.
SOURCE_FIELD = "source"
# Most ids one delete-by-filter names (the filter language's limit on an `in` list is 1,024).
DELETE_BATCH = 1000
# What one HTTP upload carries at most: a count, and characters of text (the body limit is 32 MiB).
REMOTE_BATCH_DOCUMENTS = 64
REMOTE_BATCH_CHARS = 4_000_000


class Target(Protocol):
    """Where documents go: a data directory opened here, or a running service."""

    description: str

    def stored(self, source: str) -> dict[str, Stored]:
        """Every document synced from ``source``, by id."""
        ...

    def upsert(self, documents: Sequence[Document], reuse: Mapping[str, str]) -> list[UpsertResult]:
        """Write ``documents``; ``reuse`` names, for a moved file's, the stored document it was (whose
        chunk embeddings it may take instead of being embedded again)."""
        ...

    def delete(self, source: str, paths: Sequence[str]) -> int:
        """Delete the documents synced from ``source`` out of these ``paths``; how many were."""
        ...


@dataclass(frozen=True)
class Stored:
    sha256: str | None
    path: str | None

    @staticmethod
    def of(metadata: dict[str, Any]) -> Stored:
        sha, path = metadata.get("sha256"), metadata.get("path")
        return Stored(sha if isinstance(sha, str) else None, path if isinstance(path, str) else None)


class LocalTarget:
    def __init__(self, index: SearchIndex | ShardedIndex) -> None:
        self.index = index
        self.description = str(index.data_dir)

    def stored(self, source: str) -> dict[str, Stored]:
        found: dict[str, Stored] = {}
        after: str | None = None
        while True:
            page = self.index.list_documents(
                after=after, limit=1000, filter_spec={"field": SOURCE_FIELD, "eq": source}
            )
            found |= {d.id: Stored.of(d.metadata) for d in page}
            if len(page) < 1000:
                return found
            after = page[-1].id

    def upsert(self, documents: Sequence[Document], reuse: Mapping[str, str]) -> list[UpsertResult]:
        return self.index.upsert(documents, reuse=reuse)

    def delete(self, source: str, paths: Sequence[str]) -> int:
        return sum(len(self.index.delete_where(spec)) for spec in _delete_filters(source, paths))


class RemoteTarget:
    def __init__(self, client: SemsearchClient, url: str) -> None:
        self.client = client
        self.description = url + (f" (collection {client.collection})" if client.collection else "")

    def stored(self, source: str) -> dict[str, Stored]:
        documents = self.client.iter_documents(filter={"field": SOURCE_FIELD, "eq": source}, page_size=1000)
        return {d.id: Stored.of(d.metadata) for d in documents}

    def upsert(
        self, documents: Sequence[Document], reuse: Mapping[str, str] | None = None
    ) -> list[UpsertResult]:
        """Over HTTP, where a document's embeddings cannot be named for another: a moved file is embedded
        again by the service (``reuse`` is not sent)."""
        results: list[UpsertResult] = []
        for batch in remote_batches(documents):
            payload = [{"id": d.id, "text": d.text, "title": d.title, "metadata": d.metadata} for d in batch]
            answer = self.client.upsert(payload)
            assert not isinstance(answer, TaskOut)  # wait=True answers with the results
            results.extend(UpsertResult(r.id, r.status, r.chunks) for r in answer.documents)
        return results

    def delete(self, source: str, paths: Sequence[str]) -> int:
        return sum(self.client.delete_where(spec).count for spec in _delete_filters(source, paths))


def remote_batches(documents: Iterable[Document]) -> Iterator[list[Document]]:
    """Documents in groups one request can carry (by count and by characters of text)."""
    batch: list[Document] = []
    chars = 0
    for document in documents:
        size = len(document.text) + len(document.title or "")
        if batch and (len(batch) >= REMOTE_BATCH_DOCUMENTS or chars + size > REMOTE_BATCH_CHARS):
            yield batch
            batch, chars = [], 0
        batch.append(document)
        chars += size
    if batch:
        yield batch


@dataclass
class FolderFile:
    doc_id: str
    relative: str
    path: Path
    sha256: str


@dataclass
class SyncReport:
    folder: str
    target: str
    source: str
    dry_run: bool
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    moved: int = 0  # of the added, files with a deleted one's bytes: its embeddings reused where they can be
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)  # "path: why"
    skipped: list[str] = field(default_factory=list)  # files sync does not take (.jsonl)

    def as_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "target": self.target,
            "source": self.source,
            "dry_run": self.dry_run,
            "added": self.added,
            "updated": self.updated,
            "deleted": self.deleted,
            "moved": self.moved,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "skipped": self.skipped,
        }


def scan(folder: Path, prefix: str, *, ignore: bool = True) -> tuple[dict[str, FolderFile], list[str]]:
    """The folder's files by document id (without what its ``.gitignore`` files leave out, with ``ignore``),
    and the files sync leaves alone (``.jsonl``: many documents)."""
    files: dict[str, FolderFile] = {}
    skipped: list[str] = []
    unsupported: Counter[str] = Counter()
    left_out: list[str] = []
    sources = discover([folder], unsupported, ignore=ignore, left_out=left_out)
    if unsupported:
        skipped.append(describe_unsupported(unsupported))
    if left_out:
        skipped.append(describe_left_out(left_out))
    for source in sources:
        if source.format == "jsonl":
            skipped.append(f"{source.relative}: a .jsonl holds many documents; use semsearch index for it")
            continue
        try:
            digest = hashlib.sha256(source.path.read_bytes()).hexdigest()
        except OSError as error:  # gone or unreadable since it was listed
            skipped.append(f"{source.relative}: cannot be read ({error.strerror})")
            continue
        doc_id = prefix + source.relative
        files[doc_id] = FolderFile(doc_id, source.relative, source.path, digest)
    return files, skipped


def sync_folder(
    folder: Path,
    target: Target,
    *,
    source: str,
    prefix: str = "",
    dry_run: bool = False,
    batch_size: int = 32,
    max_chars: int | None = None,
    encoding: str | None = None,
    ignore: bool = True,
) -> SyncReport:
    """Make the documents synced from ``folder`` (metadata ``source``) equal its files (without what its
    ``.gitignore`` files leave out, with ``ignore``); text files that are not UTF-8 and do not say their
    encoding are read in ``encoding``."""
    files, skipped = scan(folder, prefix, ignore=ignore)
    report = SyncReport(str(folder), target.description, source, dry_run, skipped=skipped)
    stored = target.stored(source)
    plan: SyncPlan = plan_sync(
        {i: f.sha256 for i, f in files.items()}, {i: s.sha256 for i, s in stored.items()}
    )
    report.unchanged = len(plan.unchanged)
    report.deleted = plan.delete
    if dry_run:
        report.added, report.updated = plan.add, plan.update
        return report
    # A file moved or renamed is a new id with the bytes a gone one had: written before the gone ones are
    # deleted, it takes their stored chunk embeddings (those under the same title) instead of the model's.
    was = {stored[doc_id].sha256: doc_id for doc_id in plan.delete if stored[doc_id].sha256}
    reuse = {doc_id: was[files[doc_id].sha256] for doc_id in plan.add if files[doc_id].sha256 in was}
    report.moved = len(reuse)
    wanted = [files[doc_id] for doc_id in plan.add + plan.update]
    for start in range(0, len(wanted), batch_size):
        documents = []
        for item in wanted[start : start + batch_size]:
            document = _read(item, source, max_chars, report.failed, encoding)
            if document is not None:
                documents.append(document)
        for result in target.upsert(documents, reuse):
            (report.added if result.status == "created" else report.updated).append(result.id)
    gone = [stored[doc_id].path for doc_id in plan.delete]
    target.delete(source, [path for path in gone if path is not None])
    return report


def watch(folder: Path, run: Callable[[], object], *, stop: threading.Event, debounce_ms: int = 500) -> int:
    """Run ``run`` again after every burst of changes in ``folder`` until ``stop`` is set; the number of
    runs made."""
    from watchfiles import watch as changes

    runs = 0
    for _ in changes(folder, stop_event=stop, debounce=debounce_ms, rust_timeout=500, yield_on_timeout=False):
        run()
        runs += 1
    return runs


def _read(
    item: FolderFile, source: str, max_chars: int | None, failed: list[str], encoding: str | None
) -> Document | None:
    try:
        data = item.path.read_bytes()
        document = file_document(
            item.doc_id, str(item.path), data, {"path": item.relative, SOURCE_FIELD: source}, encoding
        )
    except OSError as error:
        failed.append(f"{item.relative}: cannot be read ({error.strerror})")
        return None
    except (SourceError, ValueError) as error:  # ExtractionError is a ValueError
        failed.append(str(error))
        return None
    if max_chars is not None and len(document.text) > max_chars:
        failed.append(
            f"{item.relative}: too large ({len(document.text)} characters; SEMSEARCH_MAX_TEXT_CHARS is "
            f"{max_chars})"
        )
        return None
    return document


def _delete_filters(source: str, paths: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Filters matching the documents synced from ``source`` out of ``paths``, a batch at a time."""
    for start in range(0, len(paths), DELETE_BATCH):
        yield {
            "must": [
                {"field": SOURCE_FIELD, "eq": source},
                {"field": "path", "in": list(paths[start : start + DELETE_BATCH])},
            ]
        }
