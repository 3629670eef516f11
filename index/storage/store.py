"""The system of record: one SQLite database (WAL mode) holding documents, chunks and their embeddings.

Everything else in a data directory (the FAISS index) is derived from this file and can be rebuilt from it.
Each write is one transaction that also bumps ``generation``, so a derived index can tell whether it is
current. Writes go through one connection under a lock; reads use one connection per thread and, thanks to
WAL, never wait for a writer.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from index.errors import CorruptIndexError, DocumentNotFoundError, QueryTimeoutError
from index.ingest.extract.base import PAGE_BREAK, page_of, page_starts
from index.retrieval.filters import SqlFilter, register_functions
from index.storage import keyword
from index.storage.faults import opening_database
from index.types import (
    ChunkRow,
    ChunkSpan,
    Document,
    DocumentSummary,
    FacetOrder,
    FacetRows,
    MetadataField,
    StoredChunk,
    StoredDocument,
    tally_fields,
)

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- the keyword index's row id of the document
    id TEXT NOT NULL UNIQUE,
    title TEXT,
    text TEXT NOT NULL,
    metadata TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    keyword_title TEXT,  -- the keyword forms of title and text where they differ (index.storage.keyword)
    keyword_text TEXT
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start_char INTEGER NOT NULL,
    end_char INTEGER NOT NULL,
    text TEXT NOT NULL,
    embedding BLOB NOT NULL,
    page INTEGER,  -- paged documents: the 1-based page the chunk starts on (form feeds before it, plus one)
    page_end INTEGER,
    UNIQUE (doc_id, ordinal)
);
-- Filters read documents' metadata (and id, seq); a document's row holds its text before its metadata, and
-- reading past the text walks its overflow pages. This index holds just what filters read, so they scan it
-- instead: a filter over SciFact's 5,183 documents 15 ms to 2.6 ms (docs/benchmarks.md, "Filtered searches").
CREATE INDEX IF NOT EXISTS documents_metadata ON documents (id, metadata);
"""


# SQLite virtual machine steps between two looks at the clock while a read runs under a time limit.
_PROGRESS_STEPS = 20_000
# The orders of facet values (``{p}``: a table alias), as :func:`index.search_index.facet_order` and
# :func:`index.search_index.value_order` give them in Python.
_FACET_ORDERS: dict[str, str] = {
    "count": "{p}n DESC, {p}type, {p}value",
    "value": "CASE {p}type WHEN 'integer' THEN 0 WHEN 'real' THEN 0 WHEN 'text' THEN 1 WHEN 'false' THEN 2 "
    "ELSE 3 END, {p}value, {p}type",
}
# What a metadata change makes of a document (id, title, text, metadata): its new metadata and content hash.
MetadataChange = Callable[[str, str | None, str, dict[str, Any]], tuple[dict[str, Any], str]]
# Documents read per statement by a write over many of them (a bound on the statement's variables).
_ID_BATCH = 500


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A document ready to be written: its chunks and one embedding row per chunk."""

    document: Document
    content_hash: str
    chunks: Sequence[ChunkSpan]
    embeddings: NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one write changed: chunk ids to drop from and to add to derived indexes."""

    removed_ids: list[int]
    added_ids: list[int]
    created: list[bool]
    generation: int  # the store generation this write produced; the one before it is ``generation - 1``


class Store:
    """Documents and chunks in SQLite. Thread-safe."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: weakref.WeakSet[_ThreadConnection] = weakref.WeakSet()
        self._readers_lock = threading.Lock()
        if read_only and not path.exists():
            raise CorruptIndexError(f"there is no index at {path} to open read-only")
        writer = None
        try:
            # Opening the database (its header read: a file that is not one fails here), its log and shared
            # memory: a process at its limit of open files is told so (OSError), not that it is corrupt.
            writer = self._writer = self._connect()
            with opening_database(path):
                if read_only:
                    self._writer.execute("PRAGMA query_only=ON")
                    self._writer.execute("SELECT COUNT(*) FROM documents").fetchone()
                else:
                    self._writer.execute("PRAGMA journal_mode=WAL")
                    self._writer.executescript(_SCHEMA)
                    _add_keyword_forms(self._writer)
                    self._writer.executescript(keyword.SCHEMA)
                    _fold_keyword_text(self._writer)
                    _add_pages(self._writer)
                columns = {str(row[1]) for row in self._writer.execute("PRAGMA table_info(chunks)")}
        except OSError:
            if writer is not None:
                writer.close()
            raise
        except sqlite3.DatabaseError as error:
            if writer is not None:
                writer.close()
            raise CorruptIndexError(
                f"the database {path} cannot be read ({error}); restore it from a backup or move the data "
                "directory away to start empty"
            ) from error
        # A read-only copy of a database from before pages reads them as NULL.
        self._pages = "c.page, c.page_end" if "page" in columns else "NULL, NULL"

    def _connect(self) -> sqlite3.Connection:
        with opening_database(self.path):  # SQLite may open the file here already
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        try:
            with opening_database(self.path):
                connection.execute("PRAGMA schema_version").fetchone()  # SQLite opens the file on first use
                connection.execute("PRAGMA foreign_keys=ON")
                # FULL: a commit is on disk before it is acknowledged, even across a power loss.
                connection.execute("PRAGMA synchronous=FULL")
        except BaseException:
            connection.close()
            raise
        register_functions(connection)
        connection.create_function("casefold", 1, _casefold, deterministic=True)
        return connection

    def _reader(self) -> sqlite3.Connection:
        """This thread's read connection. It closes when the thread ends (server thread pools retire idle
        threads and start new ones), so connections do not pile up over a long run."""
        holder: _ThreadConnection | None = getattr(self._local, "holder", None)
        if holder is None:
            connection = self._connect()
            connection.execute("PRAGMA query_only=ON")
            connection.set_progress_handler(self._past_deadline, _PROGRESS_STEPS)
            holder = self._local.holder = _ThreadConnection(connection)
            with self._readers_lock:
                self._readers.add(holder)
        return holder.connection

    def _past_deadline(self) -> int:
        """SQLite's progress handler on read connections: non-zero interrupts the statement."""
        deadline: float | None = getattr(self._local, "deadline", None)
        return int(deadline is not None and time.monotonic() > deadline)

    @contextmanager
    def time_limit(self, seconds: float | None, doing: str = "evaluating the filter") -> Iterator[None]:
        """Reads on this thread within the block stop after ``seconds`` in all, raising
        :class:`QueryTimeoutError` that says what was being done (no limit if None)."""
        if seconds is None:
            yield
            return
        self._local.deadline = time.monotonic() + seconds
        try:
            yield
        except sqlite3.OperationalError as error:
            if "interrupt" not in str(error):
                raise
            raise QueryTimeoutError(
                f"{doing} took longer than {seconds * 1000:.0f} ms "
                "(SEMSEARCH_FILTER_TIMEOUT_MS); narrow it, or raise the limit"
            ) from error
        finally:
            self._local.deadline = None

    @property
    def open_readers(self) -> int:
        """How many per-thread read connections are open (for tests and metrics)."""
        with self._readers_lock:
            return len(self._readers)

    def close(self) -> None:
        with self._readers_lock:
            for holder in list(self._readers):
                holder.connection.close()
            self._readers.clear()
        with self._write_lock:
            self._writer.close()

    # -- meta ---------------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._reader().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._write_lock:
            self._writer.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def generation(self) -> int:
        """A number that every committed write increases."""
        value = self.get_meta("generation")
        return 0 if value is None else int(value)

    # -- writes -------------------------------------------------------------------------------------

    def write(
        self,
        upserts: Sequence[PreparedDocument],
        deletes: Sequence[str] = (),
        *,
        finish: Callable[[sqlite3.Cursor, list[bool]], object] | None = None,
    ) -> WriteResult:
        """Replace the given documents and delete others, all in one transaction. ``finish`` is called in
        that transaction, after the writes, with its cursor and whether each upsert created its document:
        whatever it writes commits with them, and whatever it raises rolls everything back. A call with
        nothing to write or delete leaves the generation as it is.

        Raises :class:`DocumentNotFoundError` (and changes nothing) if a document to delete does not exist.
        """
        now = time.time()
        removed: list[int] = []
        added: list[int] = []
        created: list[bool] = []
        with self._write_lock:
            cursor = self._writer.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                for doc_id in deletes:
                    if not self._unindex(cursor, doc_id, removed):
                        raise DocumentNotFoundError(doc_id)
                    cursor.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
                for prepared in upserts:
                    created.append(not self._unindex(cursor, prepared.document.id, removed))
                    added.extend(self._replace(cursor, prepared, now))
                if finish is not None:
                    finish(cursor, created)
                generation = _generation(cursor, advance=bool(upserts or deletes))
                cursor.execute("COMMIT")
            except BaseException:
                _roll_back(cursor.connection)
                raise
        return WriteResult(removed_ids=removed, added_ids=added, created=created, generation=generation)

    def update_metadata(self, doc_id: str, change: MetadataChange) -> tuple[DocumentSummary, int]:
        """Replace a document's metadata and content hash with what ``change`` makes of its title, text and
        metadata, in one transaction (its text, chunks and their vectors stay as they are): the document as
        listed, and the generation after the write. Whatever ``change`` raises rolls it back. A change that
        leaves the metadata as it was (the same JSON) writes nothing: the generation stays, and with it every
        cache and replica.

        Raises :class:`DocumentNotFoundError` (and changes nothing) if there is no such document.
        """
        with self._write_lock:
            cursor = self._writer.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                row = cursor.execute(
                    "SELECT title, text, metadata, updated_at FROM documents WHERE id = ?", (doc_id,)
                ).fetchone()
                if row is None:
                    raise DocumentNotFoundError(doc_id)
                before = json.loads(row[2])
                metadata, content_hash = change(doc_id, row[0], str(row[1]), before)
                now = time.time()
                changed = _set_metadata(cursor, doc_id, before, metadata, content_hash, now, write=True)
                now = now if changed else float(row[3])
                generation = _generation(cursor, advance=changed)
                chunks = self.chunk_counts([doc_id], cursor).get(doc_id, 0)
                cursor.execute("COMMIT")
            except BaseException:
                _roll_back(cursor.connection)
                raise
        return DocumentSummary(doc_id, row[0], metadata, chunks, now), generation

    def update_metadata_of(
        self,
        doc_ids: Sequence[str],
        change: MetadataChange,
        *,
        check_only: bool = False,
    ) -> tuple[list[str], int]:
        """:meth:`update_metadata` for each of ``doc_ids`` that exists, in one transaction (``change`` gets
        the document's id first): the ids whose metadata changed, in id order, and the generation after the
        write. Whatever ``change`` raises for any document rolls back all of them. With ``check_only``,
        every change is worked out and none written."""
        with self._write_lock:
            cursor = self._writer.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                changed: list[str] = []
                ordered = sorted(set(doc_ids))
                for first in range(0, len(ordered), _ID_BATCH):
                    changed += _patch_metadata(cursor, ordered[first : first + _ID_BATCH], change, check_only)
                generation = _generation(cursor, advance=bool(changed) and not check_only)
                cursor.execute("ROLLBACK" if check_only else "COMMIT")
            except BaseException:
                _roll_back(cursor.connection)
                raise
        return changed, generation

    @staticmethod
    def _unindex(cursor: sqlite3.Cursor, doc_id: str, removed: list[int]) -> bool:
        """Take a document's chunks and text out of the keyword indexes, appending its chunk ids to
        ``removed``; False if there is no such document."""
        row = cursor.execute(
            "SELECT seq, COALESCE(keyword_title, title), COALESCE(keyword_text, text) FROM documents "
            "WHERE id = ?",
            (doc_id,),
        ).fetchone()
        if row is None:
            return False
        keyword.remove_document(cursor, int(row[0]), row[1], row[2])
        chunk_ids = [
            int(r[0]) for r in cursor.execute("SELECT id FROM chunks WHERE doc_id = ? ORDER BY id", (doc_id,))
        ]
        keyword.remove_chunks(cursor, chunk_ids)
        removed.extend(chunk_ids)
        return True

    @staticmethod
    def _replace(cursor: sqlite3.Cursor, prepared: PreparedDocument, now: float) -> list[int]:
        document = prepared.document
        cursor.execute("DELETE FROM chunks WHERE doc_id = ?", (document.id,))
        forms = keyword.keyword_forms(document.title, document.text)
        cursor.execute(
            "INSERT INTO documents (id, title, text, metadata, content_hash, created_at, updated_at, "
            "keyword_title, keyword_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "title = excluded.title, text = excluded.text, metadata = excluded.metadata, "
            "content_hash = excluded.content_hash, updated_at = excluded.updated_at, "
            "keyword_title = excluded.keyword_title, keyword_text = excluded.keyword_text",
            (
                document.id,
                document.title,
                document.text,
                json.dumps(document.metadata, ensure_ascii=False, sort_keys=True),
                prepared.content_hash,
                now,
                now,
                *forms,
            ),
        )
        seq = int(cursor.execute("SELECT seq FROM documents WHERE id = ?", (document.id,)).fetchone()[0])
        keyword.add_document(
            cursor,
            seq,
            document.title if forms[0] is None else forms[0],
            document.text if forms[1] is None else forms[1],
        )
        ids: list[int] = []
        pages = chunk_pages(document.text, prepared.chunks)
        for chunk, vector, pages_of in zip(prepared.chunks, prepared.embeddings, pages, strict=True):
            cursor.execute(
                "INSERT INTO chunks (doc_id, ordinal, start_char, end_char, text, embedding, page, page_end) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (document.id, chunk.ordinal, chunk.start, chunk.end, chunk.text, vector.tobytes(), *pages_of),
            )
            ids.append(int(cursor.lastrowid or 0))
        keyword.add_chunks(
            cursor, [(i, document.title, c.text) for i, c in zip(ids, prepared.chunks, strict=True)]
        )
        return ids

    # -- reads --------------------------------------------------------------------------------------

    def content_hashes(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """The stored content hash of each of ``doc_ids`` that exists."""
        if not doc_ids:
            return {}
        marks = ",".join("?" * len(doc_ids))
        rows = self._reader().execute(
            f"SELECT id, content_hash FROM documents WHERE id IN ({marks})", list(doc_ids)
        )
        return {str(doc_id): str(digest) for doc_id, digest in rows}

    def stored_chunks(self, doc_ids: Sequence[str]) -> dict[str, tuple[Document, str, dict[str, bytes]]]:
        """Each of ``doc_ids`` that exists: the stored document, its content hash and its chunks'
        embeddings by chunk text (what an upsert of a new version reuses,
        :class:`~index.ingest.preparation.DocumentPreparer`). Read in one snapshot."""
        found: dict[str, tuple[Document, str, dict[str, bytes]]] = {}
        if not doc_ids:
            return found
        ids = json.dumps(list(doc_ids))
        reader = self._reader()
        reader.execute("BEGIN")
        try:
            for doc_id, title, text, metadata, content_hash in reader.execute(
                "SELECT id, title, text, metadata, content_hash FROM documents "
                "WHERE id IN (SELECT value FROM json_each(?))",
                (ids,),
            ):
                found[doc_id] = (Document(doc_id, text, title, json.loads(metadata)), content_hash, {})
            for doc_id, text, embedding in reader.execute(
                "SELECT doc_id, text, embedding FROM chunks WHERE doc_id IN (SELECT value FROM json_each(?))",
                (ids,),
            ):
                found[doc_id][2][text] = embedding
        finally:
            reader.execute("COMMIT")
        return found

    def chunk_counts(self, doc_ids: Sequence[str], cursor: sqlite3.Cursor | None = None) -> dict[str, int]:
        """The number of chunks of each of ``doc_ids`` that exists (read through ``cursor``, inside a
        write's transaction, if given)."""
        if not doc_ids:
            return {}
        rows = (cursor or self._reader()).execute(
            "SELECT doc_id, COUNT(*) FROM chunks WHERE doc_id IN (SELECT value FROM json_each(?)) "
            "GROUP BY doc_id",
            (json.dumps(list(doc_ids)),),
        )
        return {str(doc_id): int(count) for doc_id, count in rows}

    def get_document(self, doc_id: str) -> StoredDocument:
        reader = self._reader()
        row = reader.execute(
            "SELECT id, title, text, metadata, created_at, updated_at FROM documents WHERE id = ?", (doc_id,)
        ).fetchone()
        if row is None:
            raise DocumentNotFoundError(doc_id)
        chunks = [
            StoredChunk(int(r[0]), int(r[1]), int(r[2]), int(r[3]), str(r[4]), r[5], r[6])
            for r in reader.execute(
                f"SELECT c.id, c.ordinal, c.start_char, c.end_char, c.text, {self._pages} FROM chunks c "
                "WHERE c.doc_id = ? ORDER BY c.ordinal",
                (doc_id,),
            )
        ]
        return StoredDocument(
            id=str(row[0]),
            title=row[1],
            text=str(row[2]),
            metadata=json.loads(row[3]),
            created_at=float(row[4]),
            updated_at=float(row[5]),
            chunks=chunks,
        )

    def list_documents(
        self, after: str | None, limit: int, allowed: SqlFilter | None, text_budget: int | None = None
    ) -> list[DocumentSummary]:
        """Up to ``limit`` documents whose id sorts after ``after``, in id order, those ``allowed`` keeps.
        With a ``text_budget``, each with its text, ending with the document whose text brings the page's
        characters to the budget (rows are read one at a time, so a page of long texts stops early)."""
        where = "d.id > ?"
        params: list[object] = [after or ""]
        if allowed is not None:
            where += f" AND ({allowed.where})"
            params.extend(allowed.params)
        text = "NULL" if text_budget is None else "d.text"
        rows = self._reader().execute(
            f"SELECT d.id, d.title, d.metadata, d.updated_at, {text}, "
            "(SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.id) "
            f"FROM documents d WHERE {where} ORDER BY d.id LIMIT ?",
            [*params, limit],
        )
        page: list[DocumentSummary] = []
        characters = 0
        try:
            for r in rows:
                page.append(DocumentSummary(str(r[0]), r[1], json.loads(r[2]), int(r[5]), float(r[3]), r[4]))
                characters += len(r[4] or "")
                if text_budget is not None and characters >= text_budget:
                    break
        finally:
            rows.close()  # a statement left unfinished would hold its read snapshot open
        return page

    def count_documents(self, allowed: SqlFilter | None) -> int:
        """How many documents ``allowed`` keeps (all of them if None)."""
        where, params = ("", []) if allowed is None else (f"WHERE {allowed.where}", list(allowed.params))
        return int(self._reader().execute(f"SELECT COUNT(*) FROM documents d {where}", params).fetchone()[0])

    def fields(self, allowed: SqlFilter | None, after: str | None, limit: int) -> list[MetadataField]:
        """The first ``limit`` top-level metadata keys after ``after`` (all from the first if None), in
        code point order, over the documents ``allowed`` keeps: how many documents hold each, by JSON type.
        One pass over the documents' metadata."""
        where, params = ("", []) if allowed is None else (f"AND ({allowed.where})", list(allowed.params))
        rows = (
            self._reader()
            .execute(
                f"""
            WITH f AS MATERIALIZED (
                SELECT j.key AS name, j.type AS type, COUNT(*) AS n
                FROM documents d, json_each(d.metadata) AS j
                WHERE (? IS NULL OR j.key > ?) {where}
                GROUP BY j.key, j.type
            )
            SELECT f.name, f.type, f.n
            FROM f JOIN (SELECT DISTINCT name FROM f ORDER BY name LIMIT ?) AS k ON k.name = f.name
            ORDER BY f.name, f.type
            """,
                [after, after, *params, limit],
            )
            .fetchall()
        )
        return tally_fields((str(name), _JSON_TYPES[kind], int(n)) for name, kind, n in rows)

    def facet(
        self,
        path: str,
        allowed: SqlFilter | None,
        limit: int | None,
        *,
        order: FacetOrder = "count",
        offset: int = 0,
        contains: str | None = None,
    ) -> FacetRows:
        """The values at the JSON ``path`` of the documents' metadata (each element of a list; objects and
        nulls left out), with how many documents ``allowed`` keeps hold each: most held first (then by JSON
        type and value) or, with ``order="value"``, in :func:`value_order`; ``offset`` of them skipped and
        at most ``limit`` answered (all if None); only strings holding ``contains`` (case folded) if given.
        Also how many values there are (those ``contains`` keeps) and the least and greatest number among
        them all (None if none is a number). One pass over the documents, whatever is asked."""
        where, params = ("", []) if allowed is None else (f"AND ({allowed.where})", list(allowed.params))
        kept, term = (
            ("1", [])
            if contains is None
            else ("type = 'text' AND instr(casefold(value), ?) > 0", [contains.casefold()])
        )
        inner, outer = _FACET_ORDERS[order].format(p=""), _FACET_ORDERS[order].format(p="p.")
        sql = f"""
            WITH g AS MATERIALIZED (
                SELECT type, value, COUNT(*) AS n FROM (
                    SELECT DISTINCT j.type AS type, j.value AS value, d.seq AS seq
                    FROM documents d, json_each(d.metadata, ?) AS j
                    WHERE typeof(j.key) <> 'text' AND j.type NOT IN ('object', 'array', 'null') {where}
                ) GROUP BY type, value
            )
            SELECT s.distinct_values, s.lo, s.hi, p.type, p.value, p.n FROM (
                SELECT (SELECT COUNT(*) FROM g WHERE {kept}) AS distinct_values,
                       (SELECT MIN(value) FROM g WHERE type IN ('integer', 'real')) AS lo,
                       (SELECT MAX(value) FROM g WHERE type IN ('integer', 'real')) AS hi
            ) AS s LEFT JOIN (
                SELECT type, value, n FROM g WHERE {kept} ORDER BY {inner} LIMIT ? OFFSET ?
            ) AS p ON 1
            ORDER BY {outer}
        """
        rows = self._reader().execute(
            sql, [path, *params, *term, *term, -1 if limit is None else limit, offset]
        )
        fetched = rows.fetchall()
        distinct, lo, hi = fetched[0][:3]
        values = [
            (_json_scalar(kind, value), int(n)) for _, _, _, kind, value, n in fetched if kind is not None
        ]
        return FacetRows(values, int(distinct), lo, hi)

    def rows(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        """The chunks with these ids that still exist, keyed by id."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        rows = self._reader().execute(
            "SELECT c.id, c.doc_id, c.ordinal, c.start_char, c.end_char, c.text, d.title, d.metadata, "
            f"{self._pages} FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id IN ({marks})",
            [int(i) for i in chunk_ids],
        )
        return {
            int(r[0]): ChunkRow(
                chunk_id=int(r[0]),
                doc_id=str(r[1]),
                ordinal=int(r[2]),
                start=int(r[3]),
                end=int(r[4]),
                text=str(r[5]),
                title=r[6],
                metadata=json.loads(r[7]),
                page=r[8],
                page_end=r[9],
            )
            for r in rows
        }

    def iter_embeddings(
        self, dim: int, batch_size: int = 10_000
    ) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float32]]]:
        """Every chunk's ``(ids (n,), embeddings (n, dim))`` in id order, in batches, from one snapshot."""
        reader = self._reader()
        reader.execute("BEGIN")
        try:
            rows = reader.execute("SELECT id, embedding FROM chunks ORDER BY id")
            while batch := rows.fetchmany(batch_size):
                ids = np.fromiter((row[0] for row in batch), dtype=np.int64, count=len(batch))
                vectors = np.frombuffer(b"".join(row[1] for row in batch), dtype=np.float32)
                yield ids, vectors.reshape(len(batch), dim)
        finally:
            reader.execute("COMMIT")

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own, reading one snapshot of the database until it closes."""
        connection = self._connect()
        try:
            connection.execute("PRAGMA query_only=ON")
            connection.execute("BEGIN")
            yield connection
        finally:
            connection.close()

    def iter_documents(self, batch_size: int = 256) -> Iterator[list[Document]]:
        """Every document as it was sent (text, title, metadata), oldest first, in batches, all from one
        snapshot: to index them again with other settings (a collection reindexed from another)."""
        with self._snapshot() as connection:
            rows = connection.execute("SELECT id, title, text, metadata FROM documents ORDER BY seq")
            while batch := rows.fetchmany(batch_size):
                yield [Document(str(i), str(text), title, json.loads(meta)) for i, title, text, meta in batch]

    def documents_after(self, after: str | None, limit: int) -> list[Document]:
        """Up to ``limit`` documents as they were sent whose id sorts after ``after``, in id order: a page
        of :meth:`iter_documents` for a reader that cannot hold a snapshot open (a remote shard)."""
        rows = self._reader().execute(
            "SELECT id, title, text, metadata FROM documents WHERE id > ? ORDER BY id LIMIT ?",
            (after or "", limit),
        )
        return [Document(str(i), str(text), title, json.loads(meta)) for i, title, text, meta in rows]

    def iter_prepared(self, batch_size: int = 256) -> Iterator[list[PreparedDocument]]:
        """Every document as it was written (text, title, metadata, content hash, chunks and their
        embeddings), oldest first, in batches, all from one snapshot: an index copied or re-sharded
        elsewhere without embedding anything again."""
        with self._snapshot() as connection:
            documents = connection.execute(
                "SELECT id, title, text, metadata, content_hash FROM documents ORDER BY seq"
            )
            while batch := documents.fetchmany(batch_size):
                ids = [str(row[0]) for row in batch]
                chunks: dict[str, list[tuple[ChunkSpan, bytes]]] = {doc_id: [] for doc_id in ids}
                for doc_id, ordinal, start, end, text, embedding in connection.execute(
                    "SELECT doc_id, ordinal, start_char, end_char, text, embedding FROM chunks "
                    "WHERE doc_id IN (SELECT value FROM json_each(?)) ORDER BY doc_id, ordinal",
                    (json.dumps(ids),),
                ):
                    chunks[str(doc_id)].append(
                        (ChunkSpan(int(ordinal), int(start), int(end), str(text)), embedding)
                    )
                prepared = []
                for doc_id, title, text, metadata, digest in batch:
                    spans = [span for span, _ in chunks[str(doc_id)]]
                    vectors = np.frombuffer(b"".join(e for _, e in chunks[str(doc_id)]), dtype=np.float32)
                    document = Document(str(doc_id), str(text), title, json.loads(metadata))
                    prepared.append(
                        PreparedDocument(document, str(digest), spans, vectors.reshape(len(spans), -1).copy())
                    )
                yield prepared

    def embeddings_of(
        self, chunk_ids: Sequence[int], dim: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """``(ids, embeddings)`` of those ``chunk_ids`` that exist, in id order."""
        rows = (
            self._reader()
            .execute(
                "SELECT id, embedding FROM chunks WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
                (json.dumps([int(c) for c in chunk_ids]),),
            )
            .fetchall()
        )
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        vectors = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32)
        return ids, vectors.reshape(len(rows), dim)

    def iter_keyword_rows(self, batch_size: int = 2_000) -> Iterator[list[tuple[int, str | None, str]]]:
        """Every chunk's ``(id, document title, text)`` in id order, in batches, from one snapshot (what the
        in-memory keyword index is built from)."""
        with self._snapshot() as connection:
            rows = connection.execute(
                "SELECT c.id, d.title, c.text FROM chunks c JOIN documents d ON d.id = c.doc_id ORDER BY c.id"
            )
            while batch := rows.fetchmany(batch_size):
                yield [(int(r[0]), r[1], str(r[2])) for r in batch]

    def keyword_rows(self, chunk_ids: Sequence[int]) -> list[tuple[int, str | None, str]]:
        """``(id, document title, text)`` of those ``chunk_ids`` that exist, in id order."""
        rows = self._reader().execute(
            "SELECT c.id, d.title, c.text FROM chunks c JOIN documents d ON d.id = c.doc_id "
            "WHERE c.id IN (SELECT value FROM json_each(?)) ORDER BY c.id",
            (json.dumps([int(c) for c in chunk_ids]),),
        )
        return [(int(r[0]), r[1], str(r[2])) for r in rows]

    def chunk_id_array(self) -> NDArray[np.int64]:
        """Every chunk id, ascending."""
        rows = self._reader().execute("SELECT id FROM chunks ORDER BY id").fetchall()
        return np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))

    def keyword_search(
        self, terms: Sequence[str], limit: int, *, title_weight: float, allowed: SqlFilter | None = None
    ) -> list[tuple[int, float]]:
        """BM25 over chunk texts and titles: ``(chunk_id, score)`` best first, within ``allowed``."""
        sql, params = (None, ()) if allowed is None else allowed.chunk_ids_sql()
        return keyword.search(
            self._reader(), terms, limit, title_weight=title_weight, allowed_sql=sql, allowed_params=params
        )

    def keyword_search_documents(
        self, terms: Sequence[str], limit: int, *, title_weight: float, allowed: SqlFilter | None = None
    ) -> list[tuple[str, float]]:
        """BM25 over whole documents (title and text): ``(doc_id, score)`` best first, within ``allowed``."""
        sql, params = (None, ()) if allowed is None else allowed.document_seqs_sql()
        return keyword.search_documents(
            self._reader(), terms, limit, title_weight=title_weight, allowed_sql=sql, allowed_params=params
        )

    def document_frequencies(self, terms: Sequence[str]) -> list[int]:
        """In how many chunks each of ``terms`` occurs."""
        return keyword.document_frequencies(self._reader(), keyword.FTS_TABLE, terms)

    def keyword_score_scale(self, table: str, terms: Sequence[str], rows: int) -> float:
        return keyword.score_scale(self._reader(), table, terms, rows)

    def chunk_documents(self, chunk_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
        """``{chunk_id: (doc_id, ordinal)}`` of those chunks that exist."""
        if not chunk_ids:
            return {}
        rows = self._reader().execute(
            "SELECT id, doc_id, ordinal FROM chunks WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps([int(c) for c in chunk_ids]),),
        )
        return {int(r[0]): (str(r[1]), int(r[2])) for r in rows}

    def first_chunks(self, doc_ids: Sequence[str]) -> dict[str, int]:
        """``{doc_id: chunk_id}`` of each existing document's first chunk."""
        if not doc_ids:
            return {}
        rows = self._reader().execute(
            "SELECT doc_id, id FROM chunks WHERE ordinal = 0 AND doc_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(doc_ids)),),
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def document_chunk_ids(self, doc_id: str) -> list[int]:
        """The ids of a document's chunks, in order (none if there is no such document)."""
        rows = self._reader().execute("SELECT id FROM chunks WHERE doc_id = ? ORDER BY ordinal", (doc_id,))
        return [int(r[0]) for r in rows]

    # The store is the ranking's ChunkLookup (see index.retrieval.ranking).
    documents = chunk_documents

    def embeddings(self, chunk_ids: Sequence[int]) -> dict[int, NDArray[np.float32]]:
        """``{chunk_id: embedding}`` of those chunks that exist."""
        if not chunk_ids:
            return {}
        rows = self._reader().execute(
            "SELECT id, embedding FROM chunks WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps([int(c) for c in chunk_ids]),),
        )
        return {int(r[0]): np.frombuffer(r[1], dtype=np.float32) for r in rows}

    def chunk_ids_matching(self, allowed: SqlFilter) -> NDArray[np.int64]:
        """The ids of every chunk of the documents that ``allowed`` keeps."""
        sql, params = allowed.chunk_ids_sql()
        rows = self._reader().execute(sql, list(params)).fetchall()
        return np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))

    def document_ids_matching(self, allowed: SqlFilter) -> list[str]:
        sql, params = allowed.document_ids_sql()
        return [str(row[0]) for row in self._reader().execute(sql, list(params))]

    def keyword_chunk_ids(self) -> set[int]:
        """Every chunk id in the keyword index (for consistency checks)."""
        return {int(row[0]) for row in self._reader().execute(f"SELECT rowid FROM {keyword.FTS_TABLE}")}

    def keyword_documents_consistent(self) -> bool:
        """Whether the document keyword index matches the documents table exactly (FTS5 integrity-check).

        The check is spelt as an INSERT, though it writes nothing, so it runs on a connection of its own
        (a read-only index's connections refuse every INSERT)."""
        checker = self._connect()
        try:
            keyword.check_documents(checker)
        except sqlite3.DatabaseError:
            return False
        finally:
            checker.close()
        return True

    def chunk_ids(self) -> set[int]:
        return {int(row[0]) for row in self._reader().execute("SELECT id FROM chunks")}

    def counts(self) -> tuple[int, int]:
        """``(documents, chunks)``."""
        reader = self._reader()
        documents = reader.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        chunks = reader.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return int(documents), int(chunks)


class _ThreadConnection:
    """One thread's read connection, closed when the thread's locals are dropped (the thread ended)."""

    __slots__ = ("__weakref__", "connection")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __del__(self) -> None:
        self.connection.close()


# SQLite's JSON types (json_each's ``type``) by the names JSON Schema gives them.
_JSON_TYPES = {
    "text": "string",
    "integer": "integer",
    "real": "number",
    "true": "boolean",
    "false": "boolean",
    "array": "array",
    "object": "object",
    "null": "null",
}


def _json_scalar(kind: str, value: Any) -> str | int | float | bool:
    """A JSON scalar as ``json_each`` gives it (its type, and 1 or 0 for true and false) in Python."""
    if kind in ("true", "false"):
        return kind == "true"
    return float(value) if kind == "real" else value


def chunk_pages(text: str, chunks: Sequence[ChunkSpan]) -> list[tuple[int | None, int | None]]:
    """The pages each chunk starts and ends on, if ``text`` has pages (form feeds); else ``None`` each."""
    if PAGE_BREAK not in text:
        return [(None, None)] * len(chunks)
    starts = page_starts(text)
    return [(page_of(starts, c.start), page_of(starts, max(c.start, c.end - 1))) for c in chunks]


def _generation(cursor: sqlite3.Cursor, *, advance: bool) -> int:
    """The store's generation in the write transaction of ``cursor``, moved on by one first if ``advance``."""
    if advance:
        cursor.execute(
            "INSERT INTO meta (key, value) VALUES ('generation', '1') "
            "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )
    row = cursor.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    return 0 if row is None else int(row[0])


def _patch_metadata(
    cursor: sqlite3.Cursor,
    doc_ids: list[str],
    change: MetadataChange,
    check_only: bool,
) -> list[str]:
    """Apply ``change`` to the metadata of those of ``doc_ids`` that exist (unless ``check_only``); the ids
    it changed, in id order."""
    marks = ",".join("?" * len(doc_ids))
    rows = cursor.execute(
        f"SELECT id, title, text, metadata FROM documents WHERE id IN ({marks}) ORDER BY id", doc_ids
    ).fetchall()
    changed, now = [], time.time()
    for doc_id, title, text, raw in rows:
        before = json.loads(raw)
        metadata, content_hash = change(str(doc_id), title, str(text), before)
        if _set_metadata(cursor, str(doc_id), before, metadata, content_hash, now, write=not check_only):
            changed.append(str(doc_id))
    return changed


def _set_metadata(
    cursor: sqlite3.Cursor,
    doc_id: str,
    before: dict[str, Any],
    metadata: dict[str, Any],
    content_hash: str,
    now: float,
    *,
    write: bool,
) -> bool:
    """Whether ``metadata`` differs from what the document holds (``before``), and if so (and ``write``) store
    it with its content hash. Compared as JSON, not as Python values: 1 and true are equal in Python."""
    stored = json.dumps(metadata, ensure_ascii=False, sort_keys=True)
    if stored == json.dumps(before, ensure_ascii=False, sort_keys=True):
        return False
    if write:
        cursor.execute(
            "UPDATE documents SET metadata = ?, content_hash = ?, updated_at = ? WHERE id = ?",
            (stored, content_hash, now, doc_id),
        )
    return True


def _casefold(value: str | int | float | None) -> str | int | float | None:
    """SQL ``casefold(x)``: Python's case folding of a string (SQLite's own ``lower`` folds ASCII only)."""
    return value.casefold() if isinstance(value, str) else value


def _roll_back(connection: sqlite3.Connection) -> None:
    """Roll back the transaction that failed, unless SQLite already has (it does so itself on a full disk
    or an I/O error), so that the error raised is the one that stopped it, not "no transaction is active"."""
    if connection.in_transaction:
        connection.execute("ROLLBACK")


def _add_keyword_forms(connection: sqlite3.Connection) -> None:
    """Give a database from before one-character words (:func:`index.storage.keyword.keyword_form`) their
    keyword forms: the documents table's columns for them, the document keyword index read through its view
    (built again), and the chunks with Chinese or Japanese text indexed again. One transaction: a database is
    upgraded whole or not at all."""
    columns = {str(row[1]) for row in connection.execute("PRAGMA table_info(documents)")}
    if "keyword_text" in columns:
        return
    log.info(
        "adding keyword forms to %s: the document keyword index is built again, once", _path_of(connection)
    )
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute("ALTER TABLE documents ADD COLUMN keyword_title TEXT")
        connection.execute("ALTER TABLE documents ADD COLUMN keyword_text TEXT")
        connection.execute(f"DROP TABLE IF EXISTS {keyword.DOCUMENT_FTS_TABLE}_vocab")
        connection.execute(f"DROP TABLE IF EXISTS {keyword.DOCUMENT_FTS_TABLE}")
        last = 0
        while rows := connection.execute(
            "SELECT d.seq, d.title, d.text FROM documents d WHERE d.seq > ? ORDER BY d.seq LIMIT 256", (last,)
        ).fetchall():
            last = int(rows[-1][0])
            for seq, title, text in rows:
                forms = keyword.keyword_forms(title, str(text))
                if forms == (None, None):
                    continue
                connection.execute(
                    "UPDATE documents SET keyword_title = ?, keyword_text = ? WHERE seq = ?", (*forms, seq)
                )
                chunks = connection.execute(
                    "SELECT c.id, c.text FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE d.seq = ?",
                    (seq,),
                ).fetchall()
                keyword.remove_chunks(connection.cursor(), [int(c[0]) for c in chunks])
                keyword.add_chunks(connection.cursor(), [(int(c[0]), title, str(c[1])) for c in chunks])
        for statement in keyword.DOCUMENT_INDEX:
            connection.execute(statement)
        keyword.rebuild_documents(connection)
        connection.execute("COMMIT")
    except BaseException:
        _roll_back(connection)
        raise


# The version of :func:`index.storage.keyword.keyword_form` the keyword indexes were built with (meta key
# ``keyword_text``): 2 reads text through ``keyword_text`` (NFKC, soft hyphens and joiners removed).
KEYWORD_TEXT_VERSION = "2"


def _fold_keyword_text(connection: sqlite3.Connection) -> None:
    """Index again, as :func:`index.storage.keyword.keyword_text` reads them, the documents of a database
    from before it whose keyword forms it changes (those with ligatures, full-width letters, soft hyphens
    and the like; most have none), then record the version. One transaction."""
    row = connection.execute("SELECT value FROM meta WHERE key = 'keyword_text'").fetchone()
    if row is not None and row[0] == KEYWORD_TEXT_VERSION:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        cursor = connection.cursor()
        last, changed = 0, 0
        while rows := connection.execute(
            "SELECT seq, id, title, text, keyword_title, keyword_text FROM documents WHERE seq > ? "
            "ORDER BY seq LIMIT 256",
            (last,),
        ).fetchall():
            last = int(rows[-1][0])
            for seq, doc_id, title, text, title_form, text_form in rows:
                forms = keyword.keyword_forms(title, str(text))
                if forms == (title_form, text_form):
                    continue
                changed += 1
                # As the view gives them: the form where there is one, else the text itself.
                old_title = title if title_form is None else title_form
                old_text = text if text_form is None else text_form
                keyword.remove_document(cursor, seq, old_title, old_text)
                cursor.execute(
                    "UPDATE documents SET keyword_title = ?, keyword_text = ? WHERE seq = ?", (*forms, seq)
                )
                new_title = title if forms[0] is None else forms[0]
                keyword.add_document(cursor, seq, new_title, text if forms[1] is None else forms[1])
                chunks = cursor.execute("SELECT id, text FROM chunks WHERE doc_id = ?", (doc_id,)).fetchall()
                keyword.remove_chunks(cursor, [int(c[0]) for c in chunks])
                keyword.add_chunks(cursor, [(int(c[0]), title, str(c[1])) for c in chunks])
        cursor.execute(
            "INSERT INTO meta (key, value) VALUES ('keyword_text', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (KEYWORD_TEXT_VERSION,),
        )
        connection.execute("COMMIT")
    except BaseException:
        _roll_back(connection)
        raise
    if changed:
        log.info(
            "%s: %d documents indexed again for keyword search (text folded)", _path_of(connection), changed
        )


def _path_of(connection: sqlite3.Connection) -> str:
    row = connection.execute("PRAGMA database_list").fetchone()
    return str(row[2]) if row is not None else "the database"


def _add_pages(connection: sqlite3.Connection) -> None:
    """Give a database from before pages its page columns, filled in for documents that have pages."""
    columns = {str(row[1]) for row in connection.execute("PRAGMA table_info(chunks)")}
    if "page" in columns:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute("ALTER TABLE chunks ADD COLUMN page INTEGER")
        connection.execute("ALTER TABLE chunks ADD COLUMN page_end INTEGER")
        for doc_id, text in connection.execute(
            "SELECT id, text FROM documents WHERE instr(text, char(12)) > 0"
        ).fetchall():
            rows = connection.execute(
                "SELECT id, ordinal, start_char, end_char FROM chunks WHERE doc_id = ?", (doc_id,)
            ).fetchall()
            spans = [ChunkSpan(int(r[1]), int(r[2]), int(r[3]), "") for r in rows]
            for (chunk_id, *_), (page, page_end) in zip(rows, chunk_pages(str(text), spans), strict=True):
                connection.execute(
                    "UPDATE chunks SET page = ?, page_end = ? WHERE id = ?", (page, page_end, chunk_id)
                )
        connection.execute("COMMIT")
    except BaseException:
        _roll_back(connection)
        raise
