"""A stream of groups upserted with the next group chunked while the current one embeds: the same result as
upserting the groups one after the other, even when a group's documents change after they were chunked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from index import Document, InvalidInputError, SearchIndex
from index.ingest.preparation import batches

OpenIndex = Callable[..., SearchIndex]


def test_a_stream_gives_what_upserting_each_group_gives(open_index: OpenIndex, tmp_path: Path) -> None:
    documents = [
        Document(f"d{i}", f"Paragraph {i} about rivers and the sea. " * (1 + i % 4)) for i in range(40)
    ]
    streamed, plain = open_index(), open_index(data_dir=tmp_path / "plain")
    embedded: list[int] = []
    got = [
        r
        for group in streamed.upsert_stream(batches(documents, 7), on_embedded=embedded.append)
        for r in group
    ]
    expected = [r for group in batches(documents, 7) for r in plain.upsert(group)]
    assert got == expected
    assert sum(embedded) == 40
    assert streamed.stats().chunks == plain.stats().chunks
    again = [r.status for group in streamed.upsert_stream(batches(documents, 7)) for r in group]
    assert set(again) == {"unchanged"}


def test_a_document_changed_after_it_was_chunked_is_written_as_the_stream_says(open_index: OpenIndex) -> None:
    index = open_index()
    index.upsert([Document("a", "the old text")])
    # The second group is read and chunked while the first embeds: "a" then still holds the old text, so
    # the second group's "a" looked unchanged. The stream checks again before writing it.
    stream = [[Document("a", "the new text")], [Document("a", "the old text")]]
    statuses = [[r.status for r in group] for group in index.upsert_stream(stream)]
    assert statuses == [["updated"], ["updated"]]
    assert index.get("a").text == "the old text"


def test_an_invalid_group_stops_the_stream_after_the_groups_before_it(open_index: OpenIndex) -> None:
    index = open_index()
    stream = iter([[Document("a", "fine")], [Document("b", "   ")], [Document("c", "never")]])
    written: list[str] = []

    def consume() -> None:
        for group in index.upsert_stream(stream):
            written.extend(r.id for r in group)

    with pytest.raises(InvalidInputError):
        consume()
    assert written == ["a"]
    assert index.stats().documents == 1
