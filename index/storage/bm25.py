"""The keyword side's fast path: BM25 over the chunks, in memory, derived from the store like the vectors.

SQLite FTS5 (:mod:`index.storage.keyword`) stays the keyword side of record: it is written in the same
transaction as the chunks and answers whatever this index does not (whole documents, and every search until
this index is built). This one answers chunk searches in well under a millisecond where FTS5 takes several
(docs/benchmarks.md, "Keyword engines"); a filtered one within the chunks the filter keeps, which the store
reads.

It scores as FTS5's ``bm25()`` does (k1 = 1.2, b = 0.75; a row is the chunk's title and text, the title's
term frequencies weighted; the row length counts every token of both; IDF ``log((N - n + 0.5) / (n + 0.5))``
floored at 1e-6) over the words :func:`index.storage.keyword.words` finds, folded and stemmed as
:func:`~index.storage.keyword.indexed_form` does, so the query side's terms are its terms.

Layout, as Lucene's: immutable **segments** (term -> a slice of posting arrays: chunk ids as int32, title
and text term frequencies as uint16; 8 bytes per chunk and distinct term), a **live** mask and the row
**lengths**, both indexed by chunk id (chunk ids are never reused). A write adds one segment and clears
removed chunks from the live mask; segments are merged as they pile up (each merge at least doubles the
size, so a posting is copied O(log n) times) and dead postings are dropped then. The state a search reads is
one immutable object swapped whole, so searches never lock and never see a segment half-made. Writes are
serialised by the caller (:class:`~index.search_index.SearchIndex` holds its write lock).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from index.storage.keyword import STOPWORDS_EN, indexed_form, word_tokens

K1 = 1.2
B = 0.75
# Bounded so that a stream of never-seen words cannot grow it without end.
_STEM_CACHE_SIZE = 500_000

Row = tuple[int, str | None, str]  # (chunk id, document title, chunk text)


@dataclass(frozen=True, slots=True)
class Segment:
    """Postings of some chunks: ``terms[t]`` is a slot; postings ``starts[slot]:starts[slot + 1]``."""

    terms: dict[str, int]
    starts: NDArray[np.int64]
    ids: NDArray[np.int32]
    body: NDArray[np.uint16]
    title: NDArray[np.uint16]

    @property
    def postings(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, slots=True)
class _State:
    segments: tuple[Segment, ...]
    live: NDArray[np.bool_]  # by chunk id
    lengths: NDArray[np.float32]  # tokens in the row, by chunk id
    distinct: NDArray[np.uint32]  # postings of the row (its distinct indexed terms), by chunk id
    count: int  # live rows
    total: float  # tokens in live rows
    dead: int  # postings of removed rows still in segments
    norms: NDArray[np.float64]  # BM25's length normalisation k1 * (1 - b + b * length / average), by chunk id


class MemoryKeywordIndex:
    """BM25 over chunk rows in memory. Searches are lock-free; writes must be serialised by the caller."""

    def __init__(self) -> None:
        self._state = _new_state(
            (), np.zeros(0, np.bool_), np.zeros(0, np.float32), np.zeros(0, np.uint32), 0, 0.0, 0
        )
        self._stems: dict[str, str] = {}
        self._stems_lock = threading.Lock()

    # -- writes (serialised by the caller) ------------------------------------------------------------

    def add(self, rows: Iterable[Row]) -> None:
        """Index these rows (chunk ids not in the index: ids are never reused)."""
        analysed = [(chunk_id, self._analyse(title), self._analyse(text)) for chunk_id, title, text in rows]
        if not analysed:
            return
        state = self._state
        # New ids are in no segment a search in flight reads, so the arrays are written in place unless
        # they must grow (into copies).
        top = max(chunk_id for chunk_id, _, _ in analysed)
        live, lengths, distinct = (_grown(a, top) for a in (state.live, state.lengths, state.distinct))
        keys: dict[str, int] = {}
        term_of: list[int] = []
        ids: list[int] = []
        body: list[int] = []
        title: list[int] = []
        added_tokens = 0.0
        for chunk_id, (title_tokens, title_counts), (body_tokens, body_counts) in analysed:
            length = title_tokens + body_tokens
            terms = body_counts.keys() | title_counts.keys()
            lengths[chunk_id] = length
            distinct[chunk_id] = len(terms)
            live[chunk_id] = True
            added_tokens += length
            for term in terms:
                term_of.append(keys.setdefault(term, len(keys)))
                ids.append(chunk_id)
                body.append(min(body_counts.get(term, 0), 65535))
                title.append(min(title_counts.get(term, 0), 65535))
        segment = _segment(
            list(keys),
            np.asarray(term_of, dtype=np.int64),
            np.asarray(ids, dtype=np.int32),
            np.asarray(body, dtype=np.uint16),
            np.asarray(title, dtype=np.uint16),
        )
        segments, dropped = _merged_tail([*state.segments, segment], live)
        count, total = state.count + len(analysed), state.total + added_tokens
        self._state = _new_state(tuple(segments), live, lengths, distinct, count, total, state.dead - dropped)

    def remove(self, chunk_ids: Iterable[int]) -> None:
        """Take these chunks out (ids not in the index are ignored)."""
        state = self._state
        gone = sorted({c for c in chunk_ids if 0 <= c < len(state.live) and state.live[c]})
        if not gone:
            return
        # In place: a search in flight may or may not see these go, as with a search that started a moment
        # earlier or later; its hits are read from the store, which no longer has them, either way.
        state.live[gone] = False
        dead = state.dead + int(state.distinct[gone].sum())
        segments = list(state.segments)
        if dead > sum(s.postings for s in segments) // 2:  # mostly garbage: compact into one segment
            segments = [_merge(segments, state.live)[0]]
            dead = 0
        count = state.count - len(gone)
        total = max(0.0, state.total - float(state.lengths[gone].sum())) if count else 0.0
        self._state = _new_state(
            tuple(segments), state.live, state.lengths, state.distinct, count, total, dead
        )

    # -- reads --------------------------------------------------------------------------------------

    def ids(self) -> NDArray[np.int64]:
        """Every chunk id in the index, ascending."""
        return np.flatnonzero(self._state.live).astype(np.int64)

    def __len__(self) -> int:
        return self._state.count

    def document_frequencies(self, terms: Sequence[str]) -> list[int]:
        """In how many chunks each of ``terms`` (query words) occurs."""
        state = self._state
        return [_frequency(state, stem) for stem in indexed_form(terms)]

    def score_scale(self, terms: Sequence[str]) -> float:
        """The BM25 score of a row of average length holding each of ``terms`` once: the sum of their IDFs
        (as :func:`index.storage.keyword.score_scale` computes it from FTS5)."""
        state = self._state
        return sum(_idf(state.count, _frequency(state, stem)) for stem in indexed_form(terms))

    def search(
        self,
        terms: Sequence[str],
        limit: int,
        *,
        title_weight: float,
        allowed: NDArray[np.int64] | None = None,
    ) -> tuple[list[tuple[int, float]], float]:
        """The best ``limit`` chunks for any of ``terms`` as ``(chunk_id, bm25 score)``, best first, and
        the query's :meth:`score_scale` (computed on the way). ``allowed``: the ids of the chunks a filter
        keeps (the others are not scored; every term's IDF is still the whole index's, as FTS5's is)."""
        state = self._state
        if not terms or limit <= 0 or state.count == 0:
            return [], 0.0
        keep = None
        if allowed is not None:  # a mask by chunk id; ids past the index's (written since) hold nothing here
            keep = np.zeros(len(state.live), np.bool_)
            keep[allowed[(allowed >= 0) & (allowed < len(keep))]] = True
        found_ids: list[NDArray[np.int32]] = []
        found_scores: list[NDArray[np.float64]] = []
        scale = 0.0
        for stem in indexed_form(terms):
            parts = _postings(state, stem)
            frequency = sum(len(part[0]) for part in parts)
            idf = _idf(state.count, frequency)
            scale += idf
            if not frequency:
                continue
            for part_ids, body, title in parts:
                if keep is not None:
                    kept = keep[part_ids]
                    part_ids, body, title = part_ids[kept], body[kept], title[kept]
                tf = body.astype(np.float64)
                if title_weight:
                    tf += title_weight * title
                norm = state.norms[part_ids]
                found_ids.append(part_ids)
                found_scores.append(idf * ((tf * (K1 + 1.0)) / (tf + norm)))  # FTS5's order of operations
        if not found_ids:
            return [], scale
        ids: NDArray[Any] = np.concatenate(found_ids)
        scores: NDArray[np.float64] = np.concatenate(found_scores)
        if len(found_ids) > 1:  # a chunk holding several terms: its scores add up
            ids, scores = _sum_by_id(ids, scores, len(state.lengths))
        if len(ids) > limit:  # the best ``limit``, and every chunk tied with the last of them
            least = -np.partition(-scores, limit - 1)[limit - 1]
            best = scores >= least
            ids, scores = ids[best], scores[best]
        order = np.lexsort((ids, -scores))[:limit]  # best first; ties by chunk id
        hits = [(int(i), float(s)) for i, s in zip(ids[order], scores[order], strict=True)]
        return hits, scale

    # -- analysis -----------------------------------------------------------------------------------

    def _analyse(self, text: str | None) -> tuple[int, Counter[str]]:
        """``(tokens, {stem: count})`` of a text: every word counts toward the length; stop words are not
        indexed (no query ever holds one)."""
        if not text:
            return 0, Counter()
        tokens = word_tokens(text)
        return len(tokens), Counter(self._stem(word) for word in tokens if word not in STOPWORDS_EN)

    def _stem(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            stem = indexed_form([word])[0]
            with self._stems_lock:
                if len(self._stems) >= _STEM_CACHE_SIZE:
                    self._stems.clear()
                self._stems[word] = stem
        return stem


def _new_state(
    segments: tuple[Segment, ...],
    live: NDArray[np.bool_],
    lengths: NDArray[np.float32],
    distinct: NDArray[np.uint32],
    count: int,
    total: float,
    dead: int,
) -> _State:
    """The state with its length normalisations worked out, once per write rather than per query term (the
    same arithmetic, element by element, so the same scores). Linear in the chunk ids: 6 ms a write at a
    million chunks (measured here), where it saves a tenth or more of every query."""
    average = (total / count or 1.0) if count else 1.0
    norms = K1 * (1.0 - B + B * lengths.astype(np.float64) / average)
    return _State(segments, live, lengths, distinct, count, total, dead, norms)


def id_changes(held: NDArray[np.int64], stored: NDArray[np.int64]) -> tuple[NDArray[Any], NDArray[Any]]:
    """``(gone, missing)``: the ids a derived index holds that the store no longer has, and the reverse
    (chunk ids are never reused, so a set difference finds every change)."""
    return np.setdiff1d(held, stored, assume_unique=True), np.setdiff1d(stored, held, assume_unique=True)


def catch_up(
    memory: MemoryKeywordIndex, store: KeywordRows, stored: NDArray[np.int64] | None = None
) -> tuple[int, int]:
    """Make ``memory`` hold exactly the store's chunks (``stored``: its chunk ids, if already read); how
    many rows went and came."""
    gone, missing = id_changes(memory.ids(), store.chunk_id_array() if stored is None else stored)
    memory.remove(gone.tolist())
    for first in range(0, len(missing), 2_000):
        memory.add(store.keyword_rows(missing[first : first + 2_000].tolist()))
    return len(gone), len(missing)


class KeywordRows(Protocol):
    """Where :func:`catch_up` reads rows from (a :class:`~index.storage.store.Store`)."""

    def chunk_id_array(self) -> NDArray[np.int64]: ...

    def keyword_rows(self, chunk_ids: Sequence[int]) -> list[Row]: ...


def _sum_by_id(
    ids: NDArray[Any], scores: NDArray[np.float64], space: int
) -> tuple[NDArray[Any], NDArray[np.float64]]:
    """Each distinct id of ``ids`` once, in id order, with the sum of its ``scores``. Postings that cover an
    eighth of the id space or more are added up in place, over the whole space (linear; half the time of
    sorting them for SciFact's queries); sparser ones are sorted (n log n in the postings alone)."""
    if len(ids) * 8 >= space:
        present = np.flatnonzero(np.bincount(ids, minlength=space))
        summed = np.bincount(ids, weights=scores, minlength=space).astype(np.float64, copy=False)
        return present, summed[present]
    distinct, inverse = np.unique(ids, return_inverse=True)
    return distinct, np.bincount(inverse, weights=scores).astype(np.float64)


def _idf(rows: int, with_term: int) -> float:
    n = max(rows, with_term)
    return max(1e-6, math.log((n - with_term + 0.5) / (with_term + 0.5)))


def _postings(
    state: _State, stem: str
) -> list[tuple[NDArray[np.int32], NDArray[np.uint16], NDArray[np.uint16]]]:
    """The live postings of ``stem``, one ``(ids, body tf, title tf)`` per segment holding it."""
    parts = []
    for segment in state.segments:
        slot = segment.terms.get(stem)
        if slot is None:
            continue
        start, end = int(segment.starts[slot]), int(segment.starts[slot + 1])
        ids, body, title = segment.ids[start:end], segment.body[start:end], segment.title[start:end]
        if state.dead:
            keep = state.live[ids]
            if not keep.all():
                ids, body, title = ids[keep], body[keep], title[keep]
        if len(ids):
            parts.append((ids, body, title))
    return parts


def _frequency(state: _State, stem: str) -> int:
    """In how many live rows ``stem`` occurs: the postings counted, not copied (a paragraph-long query asks
    this of a thousand terms)."""
    total = 0
    for segment in state.segments:
        slot = segment.terms.get(stem)
        if slot is None:
            continue
        start, end = int(segment.starts[slot]), int(segment.starts[slot + 1])
        total += int(np.count_nonzero(state.live[segment.ids[start:end]])) if state.dead else end - start
    return total


def _segment(
    keys: list[str],
    term_of: NDArray[np.int64],
    ids: NDArray[np.int32],
    body: NDArray[np.uint16],
    title: NDArray[np.uint16],
) -> Segment:
    """A segment from postings given as parallel arrays (``term_of`` indexes ``keys``), in any order."""
    order = np.lexsort((ids, term_of))
    counts = np.bincount(term_of, minlength=len(keys))
    starts = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    present = {key: slot for slot, key in enumerate(keys) if counts[slot]}
    return Segment(present, starts, ids[order], body[order], title[order])


def _merge(segments: Sequence[Segment], live: NDArray[np.bool_]) -> tuple[Segment, int]:
    """One segment holding the live postings of ``segments``, and how many dead ones it dropped."""
    keys: dict[str, int] = {}
    term_of, ids, body, title = [], [], [], []
    for segment in segments:
        slots = np.zeros(len(segment.starts) - 1, dtype=np.int64)
        for term, slot in segment.terms.items():
            slots[slot] = keys.setdefault(term, len(keys))
        per_posting = np.repeat(slots, np.diff(segment.starts))
        keep = live[segment.ids]
        term_of.append(per_posting[keep])
        ids.append(segment.ids[keep])
        body.append(segment.body[keep])
        title.append(segment.title[keep])
    merged = _segment(
        list(keys), np.concatenate(term_of), np.concatenate(ids), np.concatenate(body), np.concatenate(title)
    )
    return merged, sum(s.postings for s in segments) - merged.postings


def _merged_tail(segments: list[Segment], live: NDArray[np.bool_]) -> tuple[list[Segment], int]:
    """Merge the newest segments while the newest is at least half the size of the one before: sizes then
    at least double from newest to oldest, so there are O(log n) segments and each posting is copied
    O(log n) times. Also how many dead postings the merges dropped."""
    dropped = 0
    while len(segments) > 1 and segments[-1].postings * 2 >= segments[-2].postings:
        merged, gone = _merge(segments[-2:], live)
        segments[-2:] = [merged]
        dropped += gone
    return segments, dropped


def _grown(array: NDArray[Any], top: int) -> NDArray[Any]:
    """``array`` if it can index ``top``, else a copy long enough (doubling, so growth is amortised)."""
    if top < len(array):
        return array
    size = max(len(array), 1)
    while size <= top:
        size *= 2
    grown = np.zeros(size, dtype=array.dtype)
    grown[: len(array)] = array
    return grown
