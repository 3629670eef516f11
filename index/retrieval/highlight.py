"""Highlights: the sentence of a chunk that best matches the query, as offsets into the document text.

The score of a sentence is the number of distinct query word stems it contains (Snowball English stemmer,
stop words ignored); ties go to the earlier sentence. A chunk that shares no word with the query (a pure
paraphrase, found by the dense side) is highlighted by its first sentence. It is lexical on purpose: it costs
microseconds per hit, where embedding every sentence of every hit would cost more than the search itself.
A chunk's sentences and their stems are worked out once and shared by the searches that find it again.
"""

from __future__ import annotations

import re
import threading

import Stemmer

from index.ingest.chunking import trim_span
from index.storage.keyword import WORD, keyword_text, query_terms

# A run without sentence punctuation, then its terminators and closing quotes, if any. Every part after the
# first always matches, so the engine never backtracks: linear in the text, whatever the text holds (an
# alternation ending in ``$`` used to retry every suffix of a long line that ends in a newline).
_ENDS = ".!?\u3002\uff01\uff1f"  # and the full-width marks that end Chinese and Japanese sentences
_CLOSES = "\"')\\]\u300d\u300f"  # and corner brackets
_SENTENCE = re.compile(f"[^{_ENDS}\\n]+[{_ENDS}]*[{_CLOSES}]*|[{_ENDS}]+[{_CLOSES}]*")

# Bytes other than ASCII letters and digits (what ``WORD`` matches in ASCII text) made spaces.
_ASCII_WORDS = bytes(c if chr(c).isascii() and chr(c).isalnum() else 32 for c in range(256))


def _words(text: str) -> list[str]:
    """The words of ``text`` as the keyword side finds them (``WORD.findall(keyword_text(text))``: ligatures
    and soft hyphens read through); for ASCII text (most text) by a translation and a split, a third of the
    time of the regular expression."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORDS).decode("ascii").split()
    return WORD.findall(keyword_text(text))


_local = threading.local()
# Word -> stem, shared by every thread (a dict's get and set are atomic): a search's hits hold about 1,500
# words, mostly seen before, and a lookup costs a tenth of stemming. Emptied when it reaches the bound.
_STEMS: dict[str, str] = {}
_STEMS_BOUND = 200_000
# Chunk text -> its sentences, each ``(start, end, its distinct word stems)``, shared by every thread: the
# hits of popular chunks recur across searches, and a cached chunk is highlighted in a tenth of the time of
# analysing it (about 4 against 40 microseconds). About 3 kB each for 600 characters of text (9 kB for the
# longest chunks); emptied when it reaches the bound.
Sentences = tuple[tuple[int, int, tuple[str, ...]], ...]
_SENTENCES: dict[str, Sentences] = {}
_SENTENCES_BOUND = 4096


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

    def best_span(self, chunk_text: str, chunk_start: int) -> tuple[int, int]:
        """``(start, end)`` of the best sentence, as offsets into the document text."""
        sentences = self._sentences(chunk_text)
        if not sentences:
            start, end = trim_span(chunk_text, 0, len(chunk_text))
            return chunk_start + start, chunk_start + end
        best, best_score = sentences[0], 0
        intersection = self._query_stems.intersection
        for sentence in sentences:
            score = len(intersection(sentence[2]))
            if score > best_score:
                best, best_score = sentence, score
        return chunk_start + best[0], chunk_start + best[1]

    def _sentences(self, chunk_text: str) -> Sentences:
        """The sentences of ``chunk_text`` and their words' stems, from the shared cache or analysed now."""
        known = _SENTENCES.get(chunk_text)
        if known is not None:
            return known
        sentences = []
        for match in _SENTENCE.finditer(chunk_text):
            start, end = trim_span(chunk_text, match.start(), match.end())
            if end > start:
                stems = self._stems(_words(chunk_text[start:end].lower()))
                sentences.append((start, end, tuple(set(stems))))
        analysed = tuple(sentences)
        if len(_SENTENCES) >= _SENTENCES_BOUND:
            _SENTENCES.clear()
        _SENTENCES[chunk_text] = analysed
        return analysed

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
