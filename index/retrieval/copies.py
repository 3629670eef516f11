"""Copies among hits: chunks of the same text, for ``duplicates="collapse"``
(:func:`index.retrieval.ranking.rank`; docs/retrieval.md, "The same passage in several documents").

Two chunks are copies when their texts are equal, as the chunker cut them (it strips each chunk's ends): the
same file under two paths, a footer on every page, a paragraph kept from one version of a handbook to the
next. A text is looked up by its hash, which Python keeps with the string: a page of ten hits costs ten
dictionary lookups. Texts that differ in their spacing alone are different chunks here: copies met in
practice are cut alike, and comparing every hit's text spacing aside read every character of it.
"""

from __future__ import annotations


class Kept:
    """A hit's document, and the other documents holding a copy of its chunk, in the order met."""

    __slots__ = ("doc_id", "duplicates")

    def __init__(self, doc_id: str) -> None:
        self.doc_id = doc_id
        self.duplicates: list[str] = []

    def add(self, doc_id: str) -> None:
        """A copy in ``doc_id``: named once, and not at all when it is the hit's own document."""
        if doc_id != self.doc_id and doc_id not in self.duplicates:
            self.duplicates.append(doc_id)


class Copies:
    """The hits kept so far, by text: which of them a chunk is a copy of."""

    def __init__(self) -> None:
        self._kept: dict[str, Kept] = {}

    def of(self, text: str) -> Kept | None:
        """The kept hit ``text`` is a copy of, or None."""
        return self._kept.get(text)

    def keep(self, text: str, doc_id: str) -> Kept:
        """Record a kept hit; its record, whose ``duplicates`` fill as copies are met."""
        kept = self._kept[text] = Kept(doc_id)
        return kept
