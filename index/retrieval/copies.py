"""Copies among hits: chunks of the same text, spacing aside, for ``duplicates="collapse"``
(:func:`index.retrieval.ranking.rank`; docs/retrieval.md, "The same passage in several documents").

Two texts are the same when they are equal once each run of spaces, tabs and line breaks is one space and
none is left at either end: a page's paragraph from a PDF and from a DOCX wraps its lines differently. A text
is compared in full only with kept texts of its fingerprint (its length without those characters, counted
without a copy), so a page of ten different hits costs ten fingerprints, not ten rewritten texts.
"""

from __future__ import annotations

import re

_SPACING = re.compile(r"[ \t\n\r]+")


def spacing_aside(text: str) -> str:
    """``text`` as its copies share it: each run of spaces, tabs and line breaks one space, none at the
    ends."""
    return _SPACING.sub(" ", text).strip(" ")


def fingerprint(text: str) -> int:
    """The number of characters of ``text`` that are not spaces, tabs or line breaks: equal for copies."""
    return len(text) - text.count(" ") - text.count("\n") - text.count("\t") - text.count("\r")


class Kept:
    """A hit's text and document, and the other documents holding a copy of it, in the order met."""

    __slots__ = ("_same", "doc_id", "duplicates", "text")

    def __init__(self, text: str, doc_id: str) -> None:
        self.text = text
        self.doc_id = doc_id
        self.duplicates: list[str] = []
        self._same: str | None = None

    def same(self) -> str:
        if self._same is None:
            self._same = spacing_aside(self.text)
        return self._same

    def add(self, doc_id: str) -> None:
        """A copy in ``doc_id``: named once, and not at all when it is the hit's own document."""
        if doc_id != self.doc_id and doc_id not in self.duplicates:
            self.duplicates.append(doc_id)


class Copies:
    """The hits kept so far, by fingerprint: which of them a chunk's text is a copy of."""

    def __init__(self) -> None:
        self._kept: dict[int, list[Kept]] = {}

    def of(self, text: str) -> Kept | None:
        """The kept hit ``text`` is a copy of, or None."""
        candidates = self._kept.get(fingerprint(text))
        if not candidates:
            return None
        same = spacing_aside(text)
        return next((kept for kept in candidates if kept.text == text or kept.same() == same), None)

    def keep(self, text: str, doc_id: str) -> Kept:
        """Record a kept hit; its record, whose ``duplicates`` fill as copies are met."""
        kept = Kept(text, doc_id)
        self._kept.setdefault(fingerprint(text), []).append(kept)
        return kept
