"""A new version of a stored document embeds only the chunks it does not share with the stored one: new
metadata embeds nothing, one edited paragraph embeds the chunks that changed, and the stored embeddings are
always the ones a fresh index would hold."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index import ChunkingOptions, Document, SearchIndex
from index.encoders.base import Vectors
from tests.fakes import FakeEmbedder

OpenIndex = Callable[..., SearchIndex]
SMALL = ChunkingOptions(max_tokens=16, overlap_tokens=0, min_tokens=0)


class RecordingEmbedder(FakeEmbedder):
    """The fake embedder, keeping every document text it was asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        self.embedded.extend(texts)
        return super().embed_documents(texts)


def paragraphs(*words: str) -> str:
    return "\n\n".join(f"{word} river flows past the old mill at dawn." for word in words)


def stored(index: SearchIndex) -> dict[str, list[tuple[str, bytes]]]:
    """Each stored document's chunks: their text and embedding, in order."""
    return {
        item.document.id: [
            (chunk.text, vector.tobytes()) for chunk, vector in zip(item.chunks, item.embeddings, strict=True)
        ]
        for batch in index.export_prepared()
        for item in batch
    }


def test_new_metadata_embeds_nothing_and_is_filterable(open_index: OpenIndex) -> None:
    embedder = RecordingEmbedder()
    index = open_index(embedder, chunking=SMALL)
    index.upsert([Document("a", paragraphs("north", "south", "east"), "Rivers", {"tag": "old"})])
    before = stored(index)
    embedder.embedded.clear()

    [result] = index.upsert([Document("a", paragraphs("north", "south", "east"), "Rivers", {"tag": "new"})])

    assert (result.status, result.chunks) == ("updated", 3)
    assert embedder.embedded == []
    assert stored(index) == before
    hits = index.search("river", k=5, filter={"field": "tag", "eq": "new"}).hits
    assert {hit.doc_id for hit in hits} == {"a"}
    assert index.search("river", k=5, filter={"field": "tag", "eq": "old"}).hits == []


def test_an_edited_paragraph_embeds_only_its_chunk(open_index: OpenIndex, tmp_path: Path) -> None:
    embedder = RecordingEmbedder()
    index = open_index(embedder, chunking=SMALL)
    index.upsert([Document("a", paragraphs("north", "south", "east", "west"))])
    embedder.embedded.clear()

    edited = Document("a", paragraphs("north", "SOUTHERN", "east", "west"))
    index.upsert([edited])

    assert embedder.embedded == ["SOUTHERN river flows past the old mill at dawn."]
    fresh = open_index(data_dir=tmp_path / "fresh", chunking=SMALL)
    fresh.upsert([edited])
    assert stored(index) == stored(fresh)
    assert index.search("SOUTHERN", k=1, mode="keyword").hits[0].text.startswith("SOUTHERN")


def test_a_new_title_embeds_every_chunk_again_when_titles_are_embedded(open_index: OpenIndex) -> None:
    embedder = RecordingEmbedder()
    index = open_index(embedder, chunking=ChunkingOptions(max_tokens=24, min_tokens=0, title_context=True))
    index.upsert([Document("a", paragraphs("north", "south"), "Rivers")])
    embedder.embedded.clear()

    index.upsert([Document("a", paragraphs("north", "south"), "Mills")])

    assert len(embedder.embedded) == 2
    assert all(text.startswith("Mills\n\n") for text in embedder.embedded)


def test_a_new_title_embeds_nothing_when_titles_are_not_embedded(open_index: OpenIndex) -> None:
    embedder = RecordingEmbedder()
    index = open_index(embedder, chunking=SMALL)
    index.upsert([Document("a", paragraphs("north", "south"), "Rivers")])
    embedder.embedded.clear()

    index.upsert([Document("a", paragraphs("north", "south"), "Mills")])

    assert embedder.embedded == []
    assert index.get("a").title == "Mills"


def test_a_moved_document_takes_the_embeddings_of_the_one_it_was(
    open_index: OpenIndex, tmp_path: Path
) -> None:
    """A file moved to another folder is a new id with the same text (semsearch sync names the one it was):
    it was embedded again whole, hours for a large folder moved."""
    embedder = RecordingEmbedder()
    index = open_index(embedder, chunking=SMALL)
    index.upsert([Document("old/notes.md", paragraphs("north", "south"), "Rivers", {"path": "old/notes.md"})])
    embedder.embedded.clear()

    moved = Document("new/notes.md", paragraphs("north", "south", "east"), "Rivers", {"path": "new/notes.md"})
    [result] = index.upsert([moved], reuse={"new/notes.md": "old/notes.md"})

    assert (result.status, result.chunks) == ("created", 3)
    assert embedder.embedded == ["east river flows past the old mill at dawn."]  # only what it did not have
    fresh = open_index(data_dir=tmp_path / "fresh", chunking=SMALL)
    fresh.upsert([moved])
    assert stored(index)["new/notes.md"] == stored(fresh)["new/notes.md"]
    # Named for a document that is not stored, or under another title where titles are embedded: embedded.
    embedder.embedded.clear()
    index.upsert([Document("c", paragraphs("west"), "Rivers")], reuse={"c": "gone"})
    assert embedder.embedded == ["west river flows past the old mill at dawn."]
    titled = open_index(
        embedder,
        data_dir=tmp_path / "titled",
        chunking=ChunkingOptions(max_tokens=24, min_tokens=0, title_context=True),
    )
    titled.upsert([Document("a", paragraphs("north"), "Rivers")])
    embedder.embedded.clear()
    titled.upsert([Document("b", paragraphs("north"), "Mills")], reuse={"b": "a"})
    assert embedder.embedded == ["Mills\n\nnorth river flows past the old mill at dawn."]


WORDS = st.sampled_from(["north", "south", "east", "west", "mill", "dawn"])
VERSION = st.tuples(
    st.lists(WORDS, min_size=1, max_size=6),
    st.sampled_from([None, "Rivers", "Mills"]),
    st.booleans(),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(versions=st.lists(VERSION, min_size=1, max_size=4), title_context=st.booleans())
def test_reuse_stores_what_a_fresh_index_stores(
    open_index: OpenIndex,
    tmp_path: Path,
    versions: list[tuple[list[str], str | None, bool]],
    title_context: bool,
) -> None:
    """Any sequence of versions, upserted one after the other, leaves the embeddings that the last version
    upserted into an empty index gets, and the last upsert embeds at most the chunks it has."""
    chunking = ChunkingOptions(max_tokens=24, overlap_tokens=4, min_tokens=0, title_context=title_context)
    folder = tmp_path / uuid.uuid4().hex
    embedder = RecordingEmbedder()
    index = open_index(embedder, data_dir=folder / "reused", chunking=chunking)
    documents = [Document("d", paragraphs(*words), title, {"flag": flag}) for words, title, flag in versions]
    for document in documents:
        embedder.embedded.clear()
        index.upsert([document])
    fresh = open_index(data_dir=folder / "fresh", chunking=chunking)
    fresh.upsert([documents[-1]])
    try:
        assert stored(index) == stored(fresh)
        assert len(embedder.embedded) <= len(stored(fresh)["d"])
    finally:
        index.close()
        fresh.close()


def test_nothing_is_reused_from_a_document_stored_under_other_chunking(
    open_index: OpenIndex, tmp_path: Path
) -> None:
    """Chunking parameters may change between runs (with a warning): a document stored without its title in
    front of its chunks has no embedding a run with titles embedded can reuse, whatever its chunks' text."""
    before = open_index(RecordingEmbedder(), data_dir=tmp_path / "data", chunking=SMALL)
    before.upsert([Document("a", paragraphs("north", "south"), "Rivers", {"v": 1})])
    before.close()
    embedder = RecordingEmbedder()
    with_titles = ChunkingOptions(max_tokens=16, overlap_tokens=0, min_tokens=0, title_context=True)
    after = open_index(embedder, data_dir=tmp_path / "data", chunking=with_titles)

    edited = Document("a", paragraphs("north", "south"), "Rivers", {"v": 2})
    after.upsert([edited])

    assert len(embedder.embedded) == 2
    fresh = open_index(data_dir=tmp_path / "fresh", chunking=with_titles)
    fresh.upsert([edited])
    assert stored(after) == stored(fresh)
