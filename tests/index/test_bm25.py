"""The in-memory keyword index: BM25 as a from-scratch reference computes it, after any writes; and in a
SearchIndex, the same answers as FTS5 and the same chunks as the store."""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index import Document, SearchIndex
from index.storage import keyword
from index.storage.bm25 import K1, B, MemoryKeywordIndex, _sum_by_id, catch_up
from index.storage.keyword import STOPWORDS_EN, indexed_form, query_terms, word_tokens
from index.storage.layout import DB_FILE
from index.storage.store import Store
from tests.fakes import FakeEmbedder

OpenIndex = Callable[..., SearchIndex]

WORDS = ["river", "rivers", "sea", "the", "salt", "café", "cafe", "delta", "x1", "stone", "of"]
texts = st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join)
titles = st.none() | texts


def reference(
    rows: dict[int, tuple[str | None, str]], terms: list[str], title_weight: float
) -> dict[int, float]:
    """BM25 as FTS5 defines it, computed from scratch over ``rows``."""

    def stems(words: list[str]) -> Counter[str]:
        return Counter(indexed_form([w for w in words if w not in STOPWORDS_EN]))

    analysed = {}
    for chunk_id, (title, text) in rows.items():
        title_words, body_words = word_tokens(title or ""), word_tokens(text)
        analysed[chunk_id] = (len(title_words) + len(body_words), stems(title_words), stems(body_words))
    n = len(rows)
    average = sum(length for length, _, _ in analysed.values()) / n if n else 1.0
    scores: dict[int, float] = {}
    for stem in indexed_form(terms):
        holding = [c for c, (_, t, b) in analysed.items() if t[stem] or b[stem]]
        if not holding:
            continue
        idf = max(1e-6, math.log((n - len(holding) + 0.5) / (len(holding) + 0.5)))
        for chunk_id in holding:
            length, title_counts, body_counts = analysed[chunk_id]
            tf = body_counts[stem] + title_weight * title_counts[stem]
            norm = K1 * (1 - B + B * length / (average or 1.0))
            scores[chunk_id] = scores.get(chunk_id, 0.0) + idf * tf * (K1 + 1) / (tf + norm)
    return scores


operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.lists(st.tuples(titles, texts), min_size=1, max_size=6)),
        st.tuples(st.just("remove"), st.lists(st.integers(0, 40), max_size=6)),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(
    operations,
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=4),
    st.sampled_from([0.0, 1.0, 2.0]),
    st.none() | st.sets(st.integers(-1, 80)),
)
def test_scores_equal_bm25_from_scratch_after_any_writes(
    ops: list[tuple[str, list]],  # type: ignore[type-arg]
    query: list[str],
    title_weight: float,
    allowed: set[int] | None,
) -> None:
    memory = MemoryKeywordIndex()
    rows: dict[int, tuple[str | None, str]] = {}
    next_id = 1
    for kind, payload in ops:
        if kind == "add":
            batch = []
            for title, text in payload:
                batch.append((next_id, title, text))
                rows[next_id] = (title, text)
                next_id += 1
            memory.add(batch)
        else:
            memory.remove(payload)
            for chunk_id in payload:
                rows.pop(chunk_id, None)
    assert memory.ids().tolist() == sorted(rows)
    terms = query_terms(" ".join(query))
    expected = reference(rows, terms, title_weight)
    hits, _ = memory.search(terms, 1000, title_weight=title_weight)
    assert dict(hits) == pytest.approx(expected, rel=1e-9)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    top, _ = memory.search(terms, 3, title_weight=title_weight)
    assert top == hits[:3]
    if allowed is not None:  # a filter: the chunks it keeps, scored as they are without one (IDF is global)
        kept, scale = memory.search(
            terms, 1000, title_weight=title_weight, allowed=np.array(sorted(allowed), dtype=np.int64)
        )
        assert dict(kept) == pytest.approx({c: s for c, s in expected.items() if c in allowed}, rel=1e-9)
        assert [s for _, s in kept] == sorted((s for _, s in kept), reverse=True)
        assert scale == (memory.score_scale(terms) if rows else 0.0)
    frequencies = memory.document_frequencies(terms)
    for term, frequency in zip(terms, frequencies, strict=True):
        (stem,) = indexed_form([term])
        assert frequency == sum(
            stem in Counter(indexed_form(word_tokens(f"{t or ''} {x}"))) for t, x in rows.values()
        )


def test_segments_stay_few_and_dead_postings_are_dropped() -> None:
    memory = MemoryKeywordIndex()
    for first in range(1, 2001, 10):
        memory.add((i, None, f"word{i % 50} river sea") for i in range(first, first + 10))
    state = memory._state
    assert len(state.segments) <= 12  # O(log n) of 200 writes
    memory.remove(range(1, 1800))
    assert memory._state.dead == 0  # more than half was dead: compacted
    assert sum(s.postings for s in memory._state.segments) == 201 * 3
    hits, _ = memory.search(["river"], 5, title_weight=1.0)
    assert {c for c, _ in hits} <= set(range(1800, 2001))


def test_memory_and_fts5_agree_and_follow_every_write(open_index: OpenIndex, tmp_path: Path) -> None:
    index = open_index()
    index.upsert(
        [
            Document("rivers", "Rivers carry sediment from the mountains to the sea.", "Rivers"),
            Document("delta", "A delta forms where a river deposits sediment at its mouth.", "Deltas"),
            Document(
                "salt", "The sea is salty because rivers carry minerals into it.", None, {"kind": "sea"}
            ),
            Document("stone", "Stone bridges cross the river in the old town.", "Bridges"),
        ]
    )
    assert index.wait_for_keyword_index()
    sides = index.consistency()
    assert sides["keyword_memory"] == sides["store"]
    fast = index.search("river sediment sea", mode="keyword", k=4).hits
    index.keyword_memory = False
    slow = index.search("river sediment sea", mode="keyword", k=4).hits
    assert [h.chunk_id for h in fast] == [h.chunk_id for h in slow]
    assert [h.score for h in fast] == pytest.approx([h.score for h in slow], rel=1e-3)
    index.keyword_memory = True

    index.delete("rivers")
    index.upsert([Document("delta", "Deltas are built of mud.", "Deltas")])
    assert index.consistency()["keyword_memory"] == index.consistency()["store"]
    assert [h.doc_id for h in index.search("sediment", mode="keyword").hits] == []
    # A filter is answered by the in-memory index too, within the filter's chunks, as FTS5 answers it.
    sea = {"field": "kind", "eq": "sea"}
    filtered = index.search("sea", mode="keyword", filter=sea).hits
    assert [h.doc_id for h in filtered] == ["salt"]
    index.keyword_memory = False
    slow = index.search("sea", mode="keyword", filter=sea).hits
    assert [h.chunk_id for h in slow] == [h.chunk_id for h in filtered]
    assert [h.score for h in slow] == pytest.approx([h.score for h in filtered], rel=1e-3)
    index.keyword_memory = True

    replica = open_index(read_only=True)  # another reader of the same directory catches up on search
    assert replica.consistency()["keyword_memory"] == replica.consistency()["store"]
    index.upsert([Document("mud", "Mud and sediment settle where the river slows.", None)])
    assert [h.doc_id for h in replica.search("sediment", mode="keyword").hits] == ["mud"]
    assert replica.consistency()["keyword_memory"] == index.consistency()["store"]


JAPANESE = [
    Document("tokyo", "東京は日本の首都です。人口が多い。", "東京", {"lang": "ja"}),
    Document("osaka", "大阪は商業の中心地です。", None, {"lang": "ja"}),
    Document("tower", "東京タワーへ行く。", None, {"lang": "ja"}),
    Document("english", "Tokyo is the capital of Japan.", None, {"lang": "en"}),
]


def test_chinese_and_japanese_words_are_found_on_every_keyword_path(open_index: OpenIndex) -> None:
    # Before, FTS5 took "東京は日本の首都です" for one word: no query found the document but that very run.
    index = open_index()
    index.upsert(JAPANESE)
    assert index.wait_for_keyword_index()
    fast = index.search("東京", mode="keyword").hits  # in memory
    assert {h.doc_id for h in fast} == {"tokyo", "tower"}
    index.keyword_memory = False
    slow = index.search("東京", mode="keyword").hits  # FTS5
    assert [h.chunk_id for h in slow] == [h.chunk_id for h in fast]
    assert [h.score for h in slow] == pytest.approx([h.score for h in fast], rel=1e-3)
    index.keyword_memory = True
    filtered = index.search("首都", mode="keyword", filter={"field": "lang", "eq": "ja"}).hits
    assert [h.doc_id for h in filtered] == ["tokyo"]
    text = JAPANESE[0].text  # the sentence that holds the query's words is the one highlighted
    assert text[filtered[0].highlight.start : filtered[0].highlight.end] == "東京は日本の首都です。"
    later = index.search("人口", mode="keyword").hits[0].highlight
    assert text[later.start : later.end] == "人口が多い。"
    documents = index.search("商業", mode="keyword", group_by="document").hits  # the document index
    assert [h.doc_id for h in documents] == ["osaka"]
    index.upsert([Document("osaka", "大阪城は古い。", None, {"lang": "ja"})])
    index.delete("tower")
    assert index.search("商業", mode="keyword", group_by="document").hits == []
    assert [h.doc_id for h in index.search("城", mode="keyword", group_by="document").hits] == ["osaka"]
    assert index.keyword_documents_consistent()
    assert index.consistency()["keyword_memory"] == index.consistency()["store"]


# The tables as they were before keyword forms: the document keyword index read the documents table itself.
OLD_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, title TEXT, text TEXT NOT NULL,
    metadata TEXT NOT NULL, content_hash TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, start_char INTEGER NOT NULL, end_char INTEGER NOT NULL, text TEXT NOT NULL,
    embedding BLOB NOT NULL, page INTEGER, page_end INTEGER, UNIQUE (doc_id, ordinal)
);
CREATE VIRTUAL TABLE chunk_fts USING fts5(title, body, tokenize = 'porter unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE document_fts USING fts5(
    title, text, content = 'documents', content_rowid = 'seq',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE chunk_fts_vocab USING fts5vocab(chunk_fts, 'row');
CREATE VIRTUAL TABLE document_fts_vocab USING fts5vocab(document_fts, 'row');
"""


def test_a_database_from_before_keyword_forms_is_upgraded_whole(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(OLD_SCHEMA)
    for seq, document in enumerate(JAPANESE, start=1):
        old.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, '{}', 'hash', 0, 0)",
            (seq, document.id, document.title, document.text),
        )
        old.execute(
            "INSERT INTO document_fts (rowid, title, text) VALUES (?, ?, ?)",
            (seq, document.title, document.text),
        )
        old.execute(
            "INSERT INTO chunks VALUES (?, ?, 0, 0, ?, ?, x'00', NULL, NULL)",
            (seq, document.id, len(document.text), document.text),
        )
        old.execute(
            "INSERT INTO chunk_fts (rowid, title, body) VALUES (?, ?, ?)",
            (seq, document.title, document.text),
        )
    old.commit()
    assert keyword.search(old, keyword.query_terms("東京"), 10, title_weight=1.0) == []  # the old words
    old.close()

    store = Store(path)
    try:
        reader = store._reader()
        found = keyword.search(reader, keyword.query_terms("東京"), 10, title_weight=1.0)
        assert sorted(c for c, _ in found) == [1, 3]
        by_document = keyword.search_documents(reader, keyword.query_terms("商業"), 10, title_weight=1.0)
        assert [d for d, _ in by_document] == ["osaka"]
        assert keyword.search(reader, ["tokyo"], 10, title_weight=1.0)[0][0] == 4  # the rest as it was
        assert store.keyword_documents_consistent()
        store.write([], ["tokyo"])  # a delete takes out what the upgrade indexed
        assert store.keyword_documents_consistent()
        assert sorted(
            c for c, _ in keyword.search(reader, keyword.query_terms("東京"), 10, title_weight=1.0)
        ) == [3]
    finally:
        store.close()
    Store(path).close()  # opened again: nothing left to upgrade


def test_catch_up_makes_memory_equal_the_store(open_index: OpenIndex) -> None:
    index = open_index(keyword_memory=False)
    index.upsert([Document(f"d{i}", f"river number {i}", None) for i in range(6)])
    memory = MemoryKeywordIndex()
    memory.add([(999_999, None, "not in the store")])
    store = index._store
    assert catch_up(memory, store) == (1, 6)
    assert set(memory.ids().tolist()) == index.consistency()["store"]
    assert index.wait_for_keyword_index() is False  # never built when turned off


@given(
    st.lists(st.tuples(st.integers(0, 199), st.floats(0.0, 10.0)), max_size=60),
    st.integers(200, 4000),
)
def test_scores_of_one_chunk_add_up_whichever_way_they_are_summed(
    postings: list[tuple[int, float]], space: int
) -> None:
    """Summed in place over the id space (many postings) or by sorting (few): the reference's sums, in id
    order, a chunk whose scores are all 0 included."""
    expected: dict[int, float] = {}
    for chunk, score in postings:
        expected[chunk] = expected.get(chunk, 0.0) + score
    ids = np.array([chunk for chunk, _ in postings], dtype=np.int32)
    scores = np.array([score for _, score in postings], dtype=np.float64)
    got_ids, got_scores = _sum_by_id(ids, scores, space)
    assert got_ids.tolist() == sorted(expected)
    assert got_scores.tolist() == pytest.approx([expected[chunk] for chunk in sorted(expected)])


FOLDED = [
    Document("lig", "The \ufb01nance o\ufb03ce reported pro\ufb01ts.", "E\ufb03ciency"),
    Document("full", "Ｆｕｌｌｗｉｄｔｈ text about ｒｏｂｏｔｓ."),
    Document("soft", "An ex\u00adtra\u00adordinary hy\u00adphen\u00adated word."),
    Document("plain", "Nothing to fold in this one."),
]


def test_filtered_and_unfiltered_keyword_searches_read_text_alike(open_index: OpenIndex) -> None:
    """The in-memory index (unfiltered searches) and FTS5 (filtered ones) read ligatures, full-width
    letters and soft hyphens as the plain words, whichever way the query is written."""
    index = open_index()
    index.upsert(FOLDED)
    everything = {"field": "format", "exists": False}
    for query, expected in [
        ("finance", {"lig"}),
        ("\ufb01nance", {"lig"}),
        ("efficiency", {"lig"}),
        ("robots", {"full"}),
        ("ＲＯＢＯＴＳ", {"full"}),
        ("extraordinary", {"soft"}),
        ("hyphenated", {"soft"}),
    ]:
        unfiltered = {hit.doc_id for hit in index.search(query, k=5, mode="keyword").hits}
        filtered = {hit.doc_id for hit in index.search(query, k=5, mode="keyword", filter=everything).hits}
        assert unfiltered == filtered == expected, query


def test_a_database_indexed_before_text_was_folded_is_indexed_again(tmp_path: Path) -> None:
    path = tmp_path / "data" / DB_FILE
    with SearchIndex.open(tmp_path / "data", FakeEmbedder()) as index:
        index.upsert(FOLDED)
    # As a database from before keyword_text: no forms for these documents, their raw text in FTS5.
    old = sqlite3.connect(path)
    for seq, title, text, title_form, text_form in old.execute(
        "SELECT seq, title, text, keyword_title, keyword_text FROM documents"
    ).fetchall():
        keyword.remove_document(old.cursor(), seq, title_form or title, text_form or text)
        keyword.add_document(old.cursor(), seq, title, text)
    old.execute("UPDATE documents SET keyword_title = NULL, keyword_text = NULL")
    for chunk_id, title, text in old.execute(
        "SELECT c.id, d.title, c.text FROM chunks c JOIN documents d ON d.id = c.doc_id"
    ).fetchall():
        old.execute("UPDATE chunk_fts SET title = ?, body = ? WHERE rowid = ?", (title, text, chunk_id))
    old.execute("DELETE FROM meta WHERE key = 'keyword_text'")
    old.commit()
    assert keyword.search(old, ["finance"], 10, title_weight=1.0) == []  # the words as they were
    old.close()

    store = Store(path)
    try:
        reader = store._reader()
        assert [c for c, _ in keyword.search(reader, ["finance"], 10, title_weight=1.0)] != []
        by_document = keyword.search_documents(reader, ["extraordinary"], 10, title_weight=1.0)
        assert [d for d, _ in by_document] == ["soft"]
        assert store.keyword_documents_consistent()
        assert reader.execute("SELECT value FROM meta WHERE key = 'keyword_text'").fetchone() == ("2",)
        store.write([], ["lig", "soft"])  # a delete takes out what the upgrade indexed
        assert store.keyword_documents_consistent()
    finally:
        store.close()
