"""Whole search results kept for searches that come again, as Solr's query result cache and
Elasticsearch's shard request cache keep them: a repeated search costs a dictionary lookup instead of an
encode, a vector scan, a keyword search, fusion and highlighting.

A result is kept under its request and the *state* of the index it was computed from: the store's generation,
which every write moves on, and whatever else changes what a search returns without a write (a rebuilt vector
index, the in-memory keyword index coming into use, the index's search settings). The cache holds results of
one state only. A lookup under a new state empties it, and a result computed under a state that has since
passed is not kept. A write's generation moves on before the write is acknowledged, so no search that starts
after the acknowledgement can be answered from before the write.

The cache is bounded by an estimate of its results' size in bytes; the least recently used go first. Results
are shared between the searches they answer: treat them as read-only.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Hashable
from dataclasses import fields
from typing import Any, NamedTuple

from cachetools import LRUCache

from index.types import Like, SearchRequest, SearchResult

_FIELDS = tuple(f.name for f in fields(SearchRequest))
# What a result holds besides its strings, in bytes, measured (bench/result_cache_memory.py): a hit's
# objects (the hit, its numbers, its span, its empty containers), a matching chunk's, the result's own.
_HIT_BYTES, _MATCH_BYTES, _RESULT_BYTES = 350, 200, 400


def request_key(request: SearchRequest) -> Hashable | None:
    """``request`` as a dictionary key: equal only for requests that search alike (``True``, ``1`` and
    ``1.0`` in a filter stay apart, a filter's keys in any order alike); None if it cannot be one (a filter
    holding something unhashable, or nested deeper than any filter may be)."""
    try:
        key = tuple(
            _frozen(getattr(request, name)) if name == "filter" else getattr(request, name)
            for name in _FIELDS
        )
        hash(key)
    except (TypeError, RecursionError):  # unhashable, or nested past Python's stack (never a valid filter)
        return None
    return key


def _frozen(value: Any) -> Hashable:
    """A filter value as a hashable, type-tagged tree (``True == 1 == 1.0`` in Python, not in a filter)."""
    if isinstance(value, dict):
        items = [(_frozen(k), _frozen(v)) for k, v in value.items()]
        return ("dict", frozenset(items))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_frozen(v) for v in value))
    return (type(value).__name__, value)


def result_size(result: SearchResult) -> int:
    """An estimate of the bytes ``result`` holds: its strings as Python stores them (one to four bytes a
    character), and its other objects at their measured size."""
    size = _RESULT_BYTES
    for hit in result.hits:
        size += _HIT_BYTES + sys.getsizeof(hit.text) + sys.getsizeof(hit.doc_id)
        size += 0 if hit.title is None else sys.getsizeof(hit.title)
        if hit.metadata:
            size += sys.getsizeof(hit.metadata) + 3 * len(repr(hit.metadata))  # keys and values: objects
        for match in hit.matches:  # the first is the hit's own chunk, its text the same string
            size += _MATCH_BYTES + (0 if match.text is hit.text else sys.getsizeof(match.text))
    return size


def key_size(key: Hashable) -> int:
    """An estimate of the bytes a request key holds: its strings (a query may be a pasted page), the
    tuples and sets of its filter, and an example's text, each at the size Python gives it."""
    if isinstance(key, tuple | frozenset):
        return sys.getsizeof(key) + sum(key_size(item) for item in key)
    if isinstance(key, str):
        return sys.getsizeof(key)
    if isinstance(key, Like):
        return 64 + sum(sys.getsizeof(text) for text in (key.doc_id, key.text) if text is not None)
    return 32  # a number, None, a bool


class _Kept(NamedTuple):
    result: SearchResult
    size: int  # of the result and its key


class ResultCache:
    """Search results of one index state, at most ``max_bytes`` of them and their keys (estimated);
    thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1 (no cache at all is None)")
        self.max_bytes = max_bytes
        self._results: LRUCache[Hashable, _Kept] = LRUCache(max_bytes, getsizeof=lambda kept: kept.size)
        self._state: Hashable = None
        self._lock = threading.Lock()

    def get(self, state: Hashable, key: Hashable) -> SearchResult | None:
        """The result kept for ``key`` under ``state``, if any. A new state empties the cache."""
        with self._lock:
            if state != self._state:
                self._results.clear()
                self._state = state
            found = self._results.get(key)
            return None if found is None else found.result

    def put(self, state: Hashable, key: Hashable, result: SearchResult) -> None:
        """Keep ``result`` for ``key`` if ``state`` is still the cache's (and the result fits at all)."""
        size = result_size(result) + key_size(key)  # outside the lock: a result's strings
        with self._lock:
            if state == self._state:
                with contextlib.suppress(ValueError):  # larger than the whole cache: not kept
                    self._results[key] = _Kept(result, size)

    @property
    def bytes(self) -> int:
        """The estimated size of the results held, and of their keys."""
        with self._lock:
            return int(self._results.currsize)

    def __len__(self) -> int:
        with self._lock:
            return len(self._results)
