"""The keyword side: BM25 over chunks with SQLite FTS5, in the same database as the chunks.

Because the full-text table lives in the store's database, every upsert and delete changes it in the same
transaction as the chunks themselves: the keyword side can never hold a chunk the store does not, nor miss
one it does (see docs/retrieval.md for why FTS5 was chosen over tantivy and bm25s).

Each row is one chunk (rowid = chunk id) with two columns: the document title and the chunk text, both
tokenized by FTS5's ``unicode61`` tokenizer (diacritics folded) and English Porter stemming, after
:func:`keyword_form` has set each Chinese character and hiragana apart, as words of their own. Queries are
parsed here, not by FTS5's query syntax: words are extracted (:data:`WORD`, the same words FTS5 finds),
English stop words dropped, and the rest OR-ed, so no user input is ever interpreted as FTS5 operators.
"""

from __future__ import annotations

import functools
import math
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Sequence
from typing import Any

import Stemmer

FTS_TABLE = "chunk_fts"
DOCUMENT_FTS_TABLE = "document_fts"
_TOKENIZE = "tokenize = 'porter unicode61 remove_diacritics 2'"

DOCUMENT_KEYWORD_VIEW = "document_keyword_text"

# Chunks: one row per chunk (rowid = chunk id), holding the keyword form (:func:`keyword_form`) of the title
# and the chunk text. Documents: an external-content index over the documents table itself (rowid =
# documents.seq), read through a view that gives the keyword forms the table keeps for the documents whose
# forms differ (those with Chinese or Japanese text), so the whole text is indexed without a second copy of
# every document; it scores whole documents when results are grouped by them.
DOCUMENT_INDEX = (
    f"""CREATE VIEW IF NOT EXISTS {DOCUMENT_KEYWORD_VIEW} AS SELECT seq,
    COALESCE(keyword_title, title) AS title, COALESCE(keyword_text, text) AS text FROM documents""",
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {DOCUMENT_FTS_TABLE} USING fts5(
    title, text, content = '{DOCUMENT_KEYWORD_VIEW}', content_rowid = 'seq', {_TOKENIZE}
)""",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {DOCUMENT_FTS_TABLE}_vocab "
    f"USING fts5vocab({DOCUMENT_FTS_TABLE}, 'row')",
)
SCHEMA = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(title, body, {_TOKENIZE});
CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE}_vocab USING fts5vocab({FTS_TABLE}, 'row');
{";".join(DOCUMENT_INDEX)};
"""

# Lucene's default English stop set (EnglishAnalyzer), the classic BM25 baseline's choice.
STOPWORDS_EN = frozenset(
    (
        "a an and are as at be but by for if in into is it no not of on or such that the their then there "
        "these they this to was will with"
    ).split()
)

# Chinese characters and hiragana are one word each, as Lucene's standard tokenizer has them: those scripts
# put no spaces between words, so FTS5's unicode61 tokenizer took a whole run of them ("東京は日本の首都で
# す") for one word, and no query but that very run found it. Katakana and hangul runs stay words.
_ONE_CHARACTER_WORDS = (
    "\u3040-\u309f"  # hiragana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK unified ideographs, extension A, compatibility
    "\U00020000-\U0002fa1f\U00030000-\U0003134f"  # CJK extensions B to G, compatibility supplement
)
_ONE_CHARACTER_WORD = re.compile(f"[{_ONE_CHARACTER_WORDS}]")
_ONE_CHARACTER_RUN = re.compile(f"[{_ONE_CHARACTER_WORDS}]+")
# Invisible format characters found inside words: soft hyphen, Mongolian vowel separator, zero-width
# non-joiner and joiner, word joiner, byte order mark (zero-width no-break space).
_INSIDE_WORDS = re.compile("[\u00ad\u180e\u200c\u200d\u2060\ufeff]")
# Letters and digits; not "_", which Python's \w counts and FTS5's tokenizer does not.
WORD = re.compile(f"[^\\W_{_ONE_CHARACTER_WORDS}]+|[{_ONE_CHARACTER_WORDS}]")


_stemmers = threading.local()


def indexed_form(terms: Sequence[str]) -> list[str]:
    """``terms`` as the FTS5 tokenizer stores them: diacritics folded, Porter-stemmed."""
    stemmer = getattr(_stemmers, "porter", None)
    if stemmer is None:
        stemmer = _stemmers.porter = Stemmer.Stemmer("porter")
    folded = [
        "".join(c for c in unicodedata.normalize("NFKD", term) if not unicodedata.combining(c))
        for term in terms
    ]
    return list(stemmer.stemWords(folded))


def document_frequencies(connection: sqlite3.Connection, table: str, terms: Sequence[str]) -> list[int]:
    """In how many rows of ``table`` each of ``terms`` occurs (FTS5's vocabulary table)."""
    if table not in (FTS_TABLE, DOCUMENT_FTS_TABLE):
        raise ValueError(f"unknown keyword table {table!r}")
    counts = []
    for term in indexed_form(terms):
        found = connection.execute(f"SELECT doc FROM {table}_vocab WHERE term = ?", (term,)).fetchone()
        counts.append(int(found[0]) if found else 0)
    return counts


def score_scale(connection: sqlite3.Connection, table: str, terms: Sequence[str], rows: int) -> float:
    """The BM25 score, as FTS5's ``bm25()`` computes it, of a row of average length that holds each of
    ``terms`` once: the sum of their IDFs. Dividing BM25 scores by it makes them comparable across queries,
    so a document that matches one common query word scores low however it ranks among the candidates."""
    if table not in (FTS_TABLE, DOCUMENT_FTS_TABLE):
        raise ValueError(f"unknown keyword table {table!r}")
    total = 0.0
    for term in indexed_form(terms):
        found = connection.execute(f"SELECT doc FROM {table}_vocab WHERE term = ?", (term,)).fetchone()
        with_term = int(found[0]) if found else 0
        # The caller's row count may lag a write that committed meanwhile: never below the term's count.
        n = max(rows, with_term)
        # FTS5's IDF, floored as FTS5 floors it.
        total += max(1e-6, math.log((n - with_term + 0.5) / (with_term + 0.5)))
    return total


def word_tokens(text: str) -> list[str]:
    """The lower-cased words of ``text`` (read as :func:`keyword_text` reads it), in order, stop words and
    repeats included."""
    return WORD.findall(keyword_text(text).lower())


def keyword_text(text: str) -> str:
    """``text`` as the keyword side reads it: without the invisible characters that sit inside words (soft
    hyphens, which ebooks and web pages put at every hyphenation point, zero-width joiners, word joiners,
    byte order marks), and with compatibility forms folded (NFKC: PDF ligatures, full-width letters), so
    that "ex\u00adtra\u00adordinary" and "eﬃcient" are the words "extraordinary" and "efficient" for FTS5
    as for the in-memory index. Text with neither is returned as it is (the same string)."""
    if text.isascii():  # a flag of the string, read in constant time: nothing to fold
        return text
    if _INSIDE_WORDS.search(text) is not None:
        text = _INSIDE_WORDS.sub("", text)
    if not unicodedata.is_normalized("NFKC", text) and not unicodedata.is_normalized(
        "NFKC", _between_words().sub(" ", text)
    ):
        text = nfkc(text)
    return text


# Characters normalised in one call at most (plus the rest of a word): about a millisecond of work.
NFKC_PIECE = 1 << 16


def nfkc(text: str, piece: int = NFKC_PIECE) -> str:
    """``unicodedata.normalize("NFKC", text)``, a piece at a time: each piece ends before a space, which
    nothing before it composes with, so the pieces normalise as the whole does, and other threads run
    between them (a 20-million-character text took 0.3 s in one call, holding Python's lock)."""
    if len(text) <= piece:
        return unicodedata.normalize("NFKC", text)
    pieces = []
    start = 0
    while start < len(text):
        end = text.find(" ", start + piece)
        end = len(text) if end < 0 else end
        pieces.append(unicodedata.normalize("NFKC", text[start:end]))
        start = end
    return "".join(pieces)


@functools.cache
def _between_words() -> re.Pattern[str]:
    """The characters (of the Basic Multilingual Plane) that NFKC changes but that are spaces, punctuation
    or symbols before and after: a no-break space, an ellipsis, an em space. Both keyword indexes read them
    as word breaks either way, so a text whose only such characters are these is left as it is, and the
    store keeps no second copy of it (a no-break space is in most web pages and Word files). Built on first
    use, in about 25 ms."""
    between = ("P", "S", "Z")
    found = []
    for code in range(0x80, 0x10000):
        character = chr(code)
        if unicodedata.category(character) == "Cs":
            continue
        folded = unicodedata.normalize("NFKC", character)
        if folded != character and all(unicodedata.category(c)[0] in between for c in character + folded):
            found.append(re.escape(character))
    return re.compile(f"[{''.join(found)}]")


def keyword_form(text: str) -> str:
    """``text`` as the FTS5 tables are given it: :func:`keyword_text`, with each one-character word (a
    Chinese character, a hiragana) set apart by spaces, so that FTS5's tokenizer finds the words
    :func:`word_tokens` does; text that needs neither unchanged (the same string)."""
    text = keyword_text(text)
    if text.isascii() or _ONE_CHARACTER_WORD.search(text) is None:
        return text
    # A run at a time, joined in C: a character at a time held Python's lock for 0.65 s per million
    # characters of Chinese (13 s for the longest text a document may have); this takes a sixth of that,
    # and lets other threads run between runs (bench/keyword_text.py).
    return _ONE_CHARACTER_RUN.sub(_spaced, text)


def _spaced(run: re.Match[str]) -> str:
    return " " + " ".join(run.group()) + " "


def keyword_forms(title: str | None, text: str) -> tuple[str | None, str | None]:
    """The keyword forms of a document's title and text where they differ from them, else None: what the
    documents table keeps for the document keyword index to read (its ``document_keyword_text`` view)."""
    title_form = None if title is None else keyword_form(title)
    text_form = keyword_form(text)
    return (None if title_form == title else title_form), (None if text_form == text else text_form)


def words(text: str) -> list[str]:
    """The lower-cased words of ``text`` that are not stop words, in order, repeats included."""
    return [word for word in word_tokens(text) if word not in STOPWORDS_EN]


def query_terms(text: str) -> list[str]:
    """The distinct lower-cased words of ``text`` that are not stop words, in order."""
    return list(dict.fromkeys(words(text)))


def match_expression(terms: Sequence[str]) -> str:
    """An FTS5 query matching any of ``terms``; each is quoted, so none is read as an operator."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def add_chunks(cursor: sqlite3.Cursor, rows: Sequence[tuple[int, str | None, str]]) -> None:
    """Index ``(chunk_id, title, text)`` rows."""
    cursor.executemany(
        f"INSERT INTO {FTS_TABLE} (rowid, title, body) VALUES (?, ?, ?)",
        [
            (chunk_id, None if title is None else keyword_form(title), keyword_form(text))
            for chunk_id, title, text in rows
        ],
    )


def remove_chunks(cursor: sqlite3.Cursor, chunk_ids: Sequence[int]) -> None:
    cursor.executemany(f"DELETE FROM {FTS_TABLE} WHERE rowid = ?", [(chunk_id,) for chunk_id in chunk_ids])


def add_document(cursor: sqlite3.Cursor, seq: int, title: str | None, text: str) -> None:
    """Index a document's title and text as its row of :data:`DOCUMENT_KEYWORD_VIEW` gives them."""
    cursor.execute(
        f"INSERT INTO {DOCUMENT_FTS_TABLE} (rowid, title, text) VALUES (?, ?, ?)", (seq, title, text)
    )


def remove_document(cursor: sqlite3.Cursor, seq: int, title: str | None, text: str) -> None:
    """Remove a document; an external-content index needs the values it indexed to remove them (its row of
    :data:`DOCUMENT_KEYWORD_VIEW`)."""
    cursor.execute(
        f"INSERT INTO {DOCUMENT_FTS_TABLE} ({DOCUMENT_FTS_TABLE}, rowid, title, text) "
        "VALUES ('delete', ?, ?, ?)",
        (seq, title, text),
    )


def rebuild_documents(connection: sqlite3.Connection) -> None:
    """Index every document again, as :data:`DOCUMENT_KEYWORD_VIEW` gives it."""
    connection.execute(f"INSERT INTO {DOCUMENT_FTS_TABLE} ({DOCUMENT_FTS_TABLE}) VALUES ('rebuild')")


def check_documents(connection: sqlite3.Connection) -> None:
    """Raise ``sqlite3.DatabaseError`` unless the document index matches the documents table."""
    connection.execute(
        f"INSERT INTO {DOCUMENT_FTS_TABLE} ({DOCUMENT_FTS_TABLE}, rank) VALUES ('integrity-check', 1)"
    )


def search(
    connection: sqlite3.Connection,
    terms: Sequence[str],
    limit: int,
    *,
    title_weight: float,
    allowed_sql: str | None = None,
    allowed_params: Sequence[object] = (),
) -> list[tuple[int, float]]:
    """The best ``limit`` chunks for ``terms`` as ``(chunk_id, bm25 score)``, best first (higher is better).

    ``allowed_sql`` is a ``SELECT`` of chunk ids that restricts the result (a metadata filter).
    """
    rows = _ranked(
        connection,
        FTS_TABLE,
        f"{FTS_TABLE}.rowid",
        "",
        terms,
        limit,
        title_weight,
        allowed_sql,
        allowed_params,
    )
    return [(int(chunk_id), score) for chunk_id, score in rows]


def search_documents(
    connection: sqlite3.Connection,
    terms: Sequence[str],
    limit: int,
    *,
    title_weight: float,
    allowed_sql: str | None = None,
    allowed_params: Sequence[object] = (),
) -> list[tuple[str, float]]:
    """The best ``limit`` documents for ``terms`` as ``(doc_id, bm25 score)``, best first.

    ``allowed_sql`` is a ``SELECT`` of document ``seq`` values that restricts the result.
    """
    join = f"JOIN documents doc ON doc.seq = {DOCUMENT_FTS_TABLE}.rowid"
    rows = _ranked(
        connection,
        DOCUMENT_FTS_TABLE,
        "doc.id",
        join,
        terms,
        limit,
        title_weight,
        allowed_sql,
        allowed_params,
    )
    return [(str(doc_id), score) for doc_id, score in rows]


def _ranked(
    connection: sqlite3.Connection,
    table: str,
    key: str,
    join: str,
    terms: Sequence[str],
    limit: int,
    title_weight: float,
    allowed_sql: str | None,
    allowed_params: Sequence[object],
) -> list[tuple[Any, float]]:
    """``(key, score)`` of the best rows of an FTS5 table, where score is -bm25 (higher is better)."""
    if not terms or limit <= 0:
        return []
    where = f"{table} MATCH ?"
    params: list[object] = [match_expression(terms)]
    if allowed_sql is not None:
        # The unary + keeps SQLite from handing the filter to FTS5 as "rowid = ?", which FTS5 answers by
        # running the whole MATCH once per allowed row: a keyword search filtered to half of SciFact took 2 s
        # so (past the filter time limit), 22 ms with the + (docs/benchmarks.md, "Filtered searches").
        where += f" AND +{table}.rowid IN ({allowed_sql})"
        params.extend(allowed_params)
    rows = connection.execute(
        f"SELECT {key}, bm25({table}, ?, 1.0) AS rank FROM {table} {join} "
        f"WHERE {where} ORDER BY rank LIMIT ?",
        [title_weight, *params, limit],
    )
    return [(found, -float(rank)) for found, rank in rows]
