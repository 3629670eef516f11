"""Highlights: the sentence of a chunk that best matches the query, as offsets into the document text.

The score of a sentence is the number of distinct query word stems it contains (Snowball English stemmer,
stop words ignored); ties go to the earlier sentence. A chunk that shares no word with the query (a pure
paraphrase, found by the dense side) is highlighted by its first sentence. It is lexical on purpose: it costs
microseconds per hit, where embedding every sentence of every hit would cost more than the search itself.
"""

from __future__ import annotations

import re
import threading

import Stemmer

from index.ingest.chunking import trim_span
from index.storage.keyword import query_terms

# A run without sentence punctuation, then its terminators and closing quotes, if any. Every part after the
# first always matches, so the engine never backtracks: linear in the text, whatever the text holds (an
# alternation ending in ``$`` used to retry every suffix of a long line that ends in a newline).
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*[\"')\]]*|[.!?]+[\"')\]]*")
_WORD = re.compile(r"\w+")


_local = threading.local()
# Word -> stem, shared by every thread (a dict's get and set are atomic): a search's hits hold about 1,500
# words, mostly seen before, and a lookup costs a tenth of stemming. Emptied when it reaches the bound.
_STEMS: dict[str, str] = {}
_STEMS_BOUND = 200_000


def _stemmer() -> Stemmer.Stemmer:
    """This thread's stemmer: making one costs more than highlighting a search's hits with it, and one is
    not safe to share between threads."""
    stemmer: Stemmer.Stemmer | None = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


class Highlighter:
    """Finds the best-matching sentence of a chunk. Not thread-safe: make one per thread or per search."""

    def __init__(self, query: str) -> None:
        self._stemmer = _stemmer()
        self._query_stems = set(self._stemmer.stemWords(query_terms(query)))
        # A word stems to s only if it starts with s less its last two letters (the stemmer rewrites
        # endings: "dying" -> "die", "academy" -> "academi"; checked over SciFact's 36,000 words), so a
        # sentence holding none of these prefixes scores 0 without being stemmed.
        self._prefixes = {stem[: max(1, len(stem) - 2)] for stem in self._query_stems}

    def best_span(self, chunk_text: str, chunk_start: int) -> tuple[int, int]:
        """``(start, end)`` of the best sentence, as offsets into the document text."""
        best: tuple[int, int] | None = None
        best_score = 0
        for match in _SENTENCE.finditer(chunk_text):
            start, end = trim_span(chunk_text, match.start(), match.end())
            if end <= start:
                continue
            if best is None:
                best = (start, end)
            sentence = chunk_text[start:end].lower()
            if not any(prefix in sentence for prefix in self._prefixes):
                continue
            score = len(self._query_stems.intersection(self._stems(_WORD.findall(sentence))))
            if score > best_score:
                best, best_score = (start, end), score
        if best is None:
            best = trim_span(chunk_text, 0, len(chunk_text))
        return chunk_start + best[0], chunk_start + best[1]

    def _stems(self, words: list[str]) -> list[str]:
        """The stem of each of ``words``, from the shared cache, stemming (and remembering) the rest."""
        known = _STEMS
        stems = [known.get(word) for word in words]
        if None not in stems:
            return stems  # type: ignore[return-value]  # every one was found
        missing = list({word for word, stem in zip(words, stems, strict=True) if stem is None})
        fresh = dict(zip(missing, self._stemmer.stemWords(missing), strict=True))
        if len(known) + len(fresh) > _STEMS_BOUND:
            known.clear()
        known.update(fresh)
        return [fresh[word] if stem is None else stem for word, stem in zip(words, stems, strict=True)]
