"""The demo corpus answers what a new user asks of it first, in their own words, with the real model and the
default (hybrid) search: the page of the guide that holds the answer comes first."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from index import Embedder, SearchIndex
from service.runtime import DEMO_PREFIX, seed_demo

pytestmark = pytest.mark.integration

QUESTIONS = [
    ("How can I make a copy of my data while the server keeps running?", "operations.md"),
    ("How do I move to a different embedding model without downtime?", "operations.md"),
    ("How do I protect the API so that not everyone can change it?", "operations.md"),
    ("Can I upload a Word document or a PDF?", "getting-started.md"),
    ("How do I get rid of a document I no longer want?", "getting-started.md"),
    ("Will my documents be sent to a cloud service?", "faq.md"),
    ("How do I find the documents that mention one part number exactly?", "faq.md"),
    ("Does it work for German or Chinese text?", "faq.md"),
    ("What does it mean when two texts have similar vectors?", "semantic-search.md"),
    ("What happens to a paragraph that is too long for the model?", "chunking.md"),
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Iterator[Callable[[str], str]]:
    index = SearchIndex.open(tmp_path_factory.mktemp("demo"), real_embedder)
    seed_demo(index)
    index.wait_for_keyword_index()

    def first(question: str) -> str:
        return index.search(question, k=1).hits[0].doc_id.removeprefix(DEMO_PREFIX)

    yield first
    index.close()


@pytest.mark.parametrize(("question", "page"), QUESTIONS)
def test_a_new_users_question_finds_the_page_that_answers_it(
    demo: Callable[[str], str], question: str, page: str
) -> None:
    assert demo(question) == page
