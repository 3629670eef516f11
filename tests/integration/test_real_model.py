"""The real default model, end to end through the library."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from index import Document, Embedder, SearchIndex
from tests.integration.conftest import QUESTIONS

pytestmark = pytest.mark.integration

OpenIndex = Callable[..., SearchIndex]


@pytest.mark.parametrize(("question", "answer"), QUESTIONS)
def test_paraphrased_questions_find_the_right_paragraph_in_the_top_3(
    open_index: OpenIndex,
    real_embedder: Embedder,
    article: str,
    question: str,
    answer: str,
) -> None:
    index = open_index(real_embedder)
    index.upsert([Document("article", article, "Harbour town switches on tidal lagoon")])
    answer_at = article.index(answer)
    hits = index.search(question, k=3).hits
    assert any(hit.start <= answer_at < hit.end for hit in hits), [hit.text[:80] for hit in hits]


def test_chunks_fit_the_model_and_cover_the_article(
    open_index: OpenIndex, real_embedder: Embedder, article: str
) -> None:
    index = open_index(real_embedder)
    (result,) = index.upsert([Document("article", article)])
    assert result.chunks >= 10
    stored = index.get("article")
    budget = real_embedder.tokenizer.max_tokens
    assert budget == 254  # 256 positions minus [CLS] and [SEP]
    counts = real_embedder.tokenizer.count_tokens([c.text for c in stored.chunks])
    assert max(counts) <= budget
    for chunk in stored.chunks:
        assert article[chunk.start : chunk.end] == chunk.text
    for paragraph in article.split("\n\n"):
        at = article.index(paragraph.strip())
        assert any(c.start <= at < c.end for c in stored.chunks)


def test_a_paragraph_longer_than_the_model_is_split_not_truncated(
    open_index: OpenIndex, real_embedder: Embedder, article: str
) -> None:
    one_paragraph = " ".join(part.strip() for part in article.split("\n\n"))
    index = open_index(real_embedder)
    index.upsert([Document("flat", one_paragraph)])
    chunks = index.get("flat").chunks
    assert len(chunks) > 3
    counts = real_embedder.tokenizer.count_tokens([c.text for c in chunks])
    assert max(counts) <= real_embedder.tokenizer.max_tokens
    last_sentence = "the water began to pour through the turbines for the first time in earnest."
    hit = index.search("water flowing through the turbines properly for the first time", k=3).hits
    assert any(last_sentence in h.text for h in hit)


def test_upsert_replace_delete_and_restart(
    open_index: OpenIndex, real_embedder: Embedder, tmp_path: Path
) -> None:
    index = open_index(real_embedder)
    index.upsert(
        [
            Document("pets", "My cat spends most of the afternoon asleep on the windowsill."),
            Document("money", "The central bank raised interest rates by half a percentage point."),
        ]
    )
    assert index.search("where does the kitten nap?", k=1).hits[0].doc_id == "pets"
    index.upsert([Document("pets", "Our parrot can whistle the national anthem.")])
    hits = index.search("where does the kitten nap?", k=2).hits
    assert all("windowsill" not in hit.text for hit in hits)
    assert index.search("a bird that sings songs", k=1).hits[0].doc_id == "pets"
    index.delete("money")
    assert all(hit.doc_id != "money" for hit in index.search("borrowing costs went up", k=5).hits)
    index.close()

    reopened = open_index(real_embedder)
    assert reopened.stats().documents == 1
    assert reopened.search("a bird that sings songs", k=1).hits[0].doc_id == "pets"


def test_searches_keep_answering_while_a_writer_ingests(
    open_index: OpenIndex, real_embedder: Embedder, article: str
) -> None:
    """Searches and a writer share the model from several threads; none of them may fail.

    Fast tokenizers once raised "RuntimeError: Already borrowed" under concurrent use
    (huggingface/tokenizers#537); the installed versions do not (checked with 8 threads x 200 calls),
    and this test guards against a regression.
    """
    index = open_index(real_embedder)
    index.upsert([Document("article", article)])
    paragraphs = [p for p in article.split("\n\n") if p.strip()]
    batches = range(0, len(paragraphs), 5)

    def search(question: str) -> int:
        return sum(len(index.search(question, k=3).hits) for _ in range(5))

    def write() -> int:
        for i in batches:
            index.upsert([Document(f"part-{i}", "\n\n".join(paragraphs[i : i + 5]))])
        return len(batches)

    with ThreadPoolExecutor(max_workers=5) as pool:
        writer = pool.submit(write)
        searchers = [pool.submit(search, question) for question, _ in QUESTIONS[:4]]
        assert [future.result(timeout=300) for future in searchers] == [15, 15, 15, 15]
        assert writer.result(timeout=300) == len(batches)
    assert index.stats().documents == 1 + len(batches)
