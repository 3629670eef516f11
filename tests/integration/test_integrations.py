"""What builders plug in, each tested with its own real client against a real server (uvicorn on
127.0.0.1, the real model, both API keys set): OpenAI's SDK on /v1/embeddings, the MCP SDK's client on /mcp
and on `semsearch mcp` over stdio, the LangChain and LlamaIndex retrievers, and LangChain's vector store."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import itertools
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import numpy as np
import openai
import pytest
from haystack import Document as HaystackDocument
from haystack import Pipeline
from haystack.components.writers import DocumentWriter
from haystack.document_stores.types import DocumentStore
from haystack.testing.document_store import (
    CountDocumentsByFilterTest,
    CountDocumentsTest,
    CountUniqueMetadataByFilterTest,
    DeleteAllTest,
    DeleteByFilterTest,
    DeleteDocumentsTest,
    FilterDocumentsTest,
    GetMetadataFieldMinMaxTest,
    GetMetadataFieldsInfoTest,
    GetMetadataFieldUniqueValuesTest,
    UpdateByFilterTest,
    WriteDocumentsTest,
)
from haystack.utils import Secret
from langchain_core.documents import Document as LangChainDocument
from langchain_tests.integration_tests import VectorStoreIntegrationTests
from llama_index.core import Document as LlamaDocument
from llama_index.core import StorageContext, VectorStoreIndex
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.vector_stores.types import (
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from index.encoders.base import Embedder
from service.client import SemsearchClient
from service.integrations.haystack import SemsearchDocumentStore
from service.integrations.haystack import SemsearchRetriever as HaystackRetriever
from service.integrations.langchain import SemsearchRetriever as LangChainRetriever
from service.integrations.langchain import SemsearchVectorStore
from service.integrations.llamaindex import SemsearchRetriever as LlamaIndexRetriever
from service.integrations.llamaindex import SemsearchVectorStore as LlamaIndexVectorStore
from tests.integration.test_server import free_port, running, server_env

pytestmark = pytest.mark.integration

READ = "integrations-read-key-0123"
WRITE = "integrations-write-key-0123"
PASSAGES = {
    "lens": "A Fresnel lens folds curved glass into rings of prisms, bending one flame into a single beam.",
    "tide": "The tide turns twice a day, pulled by the moon and, less, by the sun.",
    "bread": "Sourdough rises because wild yeast ferments the flour for many hours.",
}
AGAIN = "The tide turns twice each day, pulled by the moon and, to a lesser degree, by the sun."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("integrations")
    port = free_port()
    env = server_env(
        tmp / "data", SEMSEARCH_SEED_DEMO="false", SEMSEARCH_READ_KEY=READ, SEMSEARCH_WRITE_KEY=WRITE
    )
    command = [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with running(command, port, env, tmp / "server.log") as client:
        documents = [{"id": key, "text": text, "metadata": {"topic": key}} for key, text in PASSAGES.items()]
        response = client.post("/documents", json={"documents": documents}, headers={"X-API-Key": WRITE})
        assert response.status_code == 200, response.text
        yield f"http://127.0.0.1:{port}", tmp / "data"


def test_openai_sdk_embeds_with_the_model_the_service_indexes_with(
    server: tuple[str, Path], real_embedder: Embedder
) -> None:
    url, _ = server
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=READ)
    texts = ["How does a lighthouse lens work?", PASSAGES["tide"]]
    answer = client.embeddings.create(input=texts, model="default")
    vectors = np.array([item.embedding for item in answer.data], dtype=np.float32)
    assert vectors.shape == (2, 384)
    assert answer.usage.prompt_tokens > 10
    reference = real_embedder.embed_documents(texts)
    assert float(np.min(np.sum(vectors * reference, axis=1))) >= 0.9999

    # The same text alone, as floats and as base64: the same vector (alone, not beside another text, so the
    # same model call; texts encoded together differ from alone only in float rounding).
    floats = client.embeddings.create(input=texts[0], model=answer.model)
    alone = np.array(floats.data[0].embedding, dtype=np.float32)
    assert float(alone @ vectors[0]) >= 0.99999
    encoded = client.embeddings.create(input=texts[0], model=answer.model, encoding_format="base64")
    assert np.allclose(np.frombuffer(base64.b64decode(str(encoded.data[0].embedding)), "<f4"), alone)
    assert {"default", answer.model} <= {model.id for model in client.models.list()}
    # The model's short name, as people write it, is the same model (its id is sentence-transformers/...).
    short = client.embeddings.create(input=texts[0], model="all-MiniLM-L6-v2")
    assert short.model == answer.model == "sentence-transformers/all-MiniLM-L6-v2"
    assert np.allclose([short.data[0].embedding], vectors[:1], atol=1e-6)

    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(input="x", model="text-embedding-3-small")
    with pytest.raises(openai.UnprocessableEntityError):
        client.embeddings.create(input=["fine", "  "], model="default")
    for tokens in ([[1820, 3290]], [1820, 3290]):  # the SDK sends token ids as they are
        with pytest.raises(openai.UnprocessableEntityError) as refused:
            client.embeddings.create(input=tokens, model="default")
        assert "input holds token ids" in str(refused.value.body)
    with pytest.raises(openai.PermissionDeniedError):  # a wrong key; none at all is 401
        openai.OpenAI(base_url=f"{url}/v1", api_key="wrong-key-0123456789").embeddings.create(
            input="x", model="default"
        )


async def _mcp_http(
    url: str, key: str, calls: list[tuple[str, dict[str, Any]]]
) -> tuple[list[str], list[Any]]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = [tool.name for tool in (await session.list_tools()).tools]
        return tools, [await session.call_tool(name, arguments) for name, arguments in calls]


def test_mcp_over_http_gives_search_to_readers_and_writes_to_the_write_key(server: tuple[str, Path]) -> None:
    url, _ = server
    tools, (found, missing) = asyncio.run(
        _mcp_http(
            url,
            READ,
            [
                ("search", {"query": "glass rings of prisms that bend a flame into a beam", "k": 2}),
                ("get_document", {"doc_id": "nope"}),
            ],
        )
    )
    assert tools == ["search", "get_document", "list_collections"]
    assert not found.is_error
    assert found.content[0].text.startswith("1. lens (id lens;")
    assert found.structured_content["hits"][0]["doc_id"] == "lens"
    assert missing.is_error
    assert "404" in missing.content[0].text

    note = {"id": "mcp-note", "text": "Agents can add notes about glaciers carving valleys."}
    again = {"id": "mcp-again", "text": "Agents can add notes about the glaciers that carve valleys."}
    copy = {"id": "mcp-copy", "text": note["text"]}  # the same passage: one hit, which names the other
    question = "what shapes valleys made by ice"
    tools, (added, searched, diverse) = asyncio.run(
        _mcp_http(
            url,
            WRITE,
            [
                ("add_documents", {"documents": [note, again, copy]}),
                ("search", {"query": question, "k": 3}),  # the three are read: two hits
                ("search", {"query": question, "k": 2, "diversity": 0.7}),
            ],
        )
    )
    assert "add_documents" in tools
    assert [d["status"] for d in added.structured_content["documents"]] == ["created"] * 3
    best_two = searched.structured_content["hits"][:2]  # the third passage is another document's
    assert {h["doc_id"] for h in best_two} | {d for h in best_two for d in h["duplicates"]} == {
        "mcp-note", "mcp-again", "mcp-copy"
    }  # fmt: skip
    assert "also in mcp-" in searched.content[0].text
    # Diverse: the near-copy of the best passage waits behind something new.
    best, second = (h["doc_id"] for h in diverse.structured_content["hits"])
    assert best in ("mcp-note", "mcp-again", "mcp-copy")
    assert second not in ("mcp-note", "mcp-again", "mcp-copy")
    assert httpx.post(f"{url}/mcp", json={}).status_code == 401  # the read key guards /mcp too
    # Stateless: nothing to stream by GET (the SDK held it open for good, with nothing to send) or end by
    # DELETE. The protocol's answer for that is 405; the SDK's client opens no GET stream without a session.
    for method in ("GET", "DELETE"):
        headers = {"accept": "text/event-stream", "authorization": f"Bearer {READ}"}
        refused = httpx.request(method, f"{url}/mcp", headers=headers, timeout=10)
        assert refused.status_code == 405
        assert refused.headers["allow"] == "POST"


async def _mcp_stdio(args: list[str], env: dict[str, str]) -> tuple[list[str], Any]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "service", "mcp", *args], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = [tool.name for tool in (await session.list_tools()).tools]
        return tools, await session.call_tool("search", {"query": "why does bread dough rise?", "k": 1})


def test_mcp_over_stdio_forwards_to_a_service_or_reads_a_data_directory(server: tuple[str, Path]) -> None:
    url, data_dir = server
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SEMSEARCH_") or k == "SEMSEARCH_MODEL_CACHE_DIR"
    }
    tools, result = asyncio.run(_mcp_stdio(["--url", url], {**keep, "SEMSEARCH_READ_KEY": READ}))
    assert tools == ["search", "get_document", "list_collections"]
    assert result.structured_content["hits"][0]["doc_id"] == "bread"
    tools, result = asyncio.run(
        _mcp_stdio(["--data-dir", str(data_dir)], keep)
    )  # read-only, beside the service
    assert "add_documents" not in tools
    assert result.structured_content["hits"][0]["doc_id"] == "bread"


def test_langchain_and_llamaindex_retrievers_return_passages_with_their_source(
    server: tuple[str, Path],
) -> None:
    url, _ = server
    retriever = LangChainRetriever(url=url, k=2, api_key=READ)
    documents = retriever.invoke("how does the moon move the sea?")
    assert documents[0].page_content == PASSAGES["tide"]
    assert {"doc_id", "chunk_id", "score", "start", "end", "page"} <= set(documents[0].metadata)
    assert documents[0].metadata["doc_id"] == "tide"
    assert documents[0].metadata["topic"] == "tide"
    filtered = LangChainRetriever(url=url, k=3, api_key=READ, filter={"field": "topic", "eq": "bread"})
    assert [d.metadata["doc_id"] for d in asyncio.run(filtered.ainvoke("anything"))] == ["bread"]

    nodes = LlamaIndexRetriever(url, k=2, api_key=READ, mode="dense").retrieve("a beam of light from a flame")
    assert nodes[0].node.metadata["doc_id"] == "lens"
    assert (nodes[0].score or 0.0) > 0.3
    assert nodes[0].node.get_content() == PASSAGES["lens"]


def test_langchain_vector_store_writes_searches_and_deletes_through_the_service(
    server: tuple[str, Path],
) -> None:
    url, _ = server
    with SemsearchClient(url, api_key=WRITE) as admin:
        admin.create_collection("langchain", None)  # beside the other tests' corpus, not in it
    store = SemsearchVectorStore(url, api_key=WRITE, collection="langchain", batch_size=2)
    try:
        ids = store.add_texts(
            [PASSAGES["tide"], PASSAGES["bread"], PASSAGES["lens"]],
            metadatas=[{"title": "Tides", "shelf": "sea"}, {"shelf": "kitchen"}, {"shelf": "sea"}],
        )
        assert len(set(ids)) == 3  # new ids, in two uploads of at most two
        loaded = store.add_texts(  # as LangChain's loaders leave metadata: dates, paths
            ["Neap tides come at the quarter moons."],
            metadatas=[
                {"modified": datetime.datetime(2026, 3, 1, 9, 30), "source": Path("/notes/tides.txt")}
            ],
        )
        stored = store.get_by_ids(loaded)[0].metadata
        assert (stored["modified"], stored["source"]) == ("2026-03-01T09:30:00", "/notes/tides.txt")
        store.delete(loaded)
        added = store.add_documents(
            [
                LangChainDocument(
                    page_content="Barometers fall before a storm.", metadata={"shelf": "sky"}, id="baro"
                )
            ]
        )
        assert added == ["baro"]

        # Maximal marginal relevance: a near-copy of the best passage waits behind something new.
        store.add_texts([AGAIN], ids=["tide-again"])
        question = "why does the sea rise and fall every day?"
        assert [d.id for d in store.similarity_search(question, k=2)] == [ids[0], "tide-again"]
        mmr = store.as_retriever(search_type="mmr", search_kwargs={"k": 2, "fetch_k": 4, "lambda_mult": 0.3})
        picked = [d.id for d in mmr.invoke(question)]
        assert picked[0] == ids[0]
        assert picked[1] not in (ids[0], "tide-again")
        assert [d.id for d in store.max_marginal_relevance_search(question, k=2, lambda_mult=1.0)] == [
            ids[0],
            "tide-again",
        ]
        store.delete(["tide-again"])

        found = store.similarity_search_with_score("why does the sea rise and fall every day?", k=2)
        top, score = found[0]
        assert (top.id, top.page_content, top.metadata["title"], top.metadata["shelf"]) == (
            ids[0],
            PASSAGES["tide"],
            "Tides",
            "sea",
        )
        assert score > 0
        assert score >= found[1][1]
        assert top.metadata == {"title": "Tides", "shelf": "sea"}  # as added (LangChain's convention)
        detailed = SemsearchVectorStore(url, api_key=WRITE, collection="langchain", hit_details=True)
        hit = detailed.similarity_search("why does the sea rise and fall every day?", k=1)[0].metadata
        assert (hit["shelf"], hit["doc_id"], hit["start"], hit["page"]) == ("sea", ids[0], 0, None)
        assert detailed.get_by_ids([ids[0]])[0].metadata["doc_id"] == ids[0]
        detailed.close()
        sea = store.similarity_search("light", k=4, filter={"field": "shelf", "eq": "sea"})
        assert {d.id for d in sea} == {ids[0], ids[2]}
        # As LangChain users write filters for Chroma, PGVector or the in-memory stores:
        written = {"shelf": {"$in": ["sea", "sky"]}, "title": {"$ne": "Tides"}}
        assert {d.id for d in store.similarity_search("light", k=4, filter=written)} == {ids[2], "baro"}
        assert {d.id for d in store.similarity_search("light", k=4, filter={"shelf": "sea"})} == {
            ids[0],
            ids[2],
        }
        assert [d.id for d in store.as_retriever(search_kwargs={"k": 1}).invoke("a storm is coming")] == [
            "baro"
        ]
        assert [d.id for d in asyncio.run(store.asimilarity_search("sourdough yeast", k=1))] == [ids[1]]
        relevant = store.similarity_search_with_relevance_scores("wild yeast", k=1)
        assert relevant[0][0].id == ids[1]
        assert 0 <= relevant[0][1] <= 1

        whole = store.get_by_ids([ids[1], "no-such-id"])
        assert [(d.id, d.page_content) for d in whole] == [(ids[1], PASSAGES["bread"])]
        assert store.delete([ids[1], "no-such-id"]) is True
        assert store.get_by_ids([ids[1]]) == []
        assert ids[1] not in {d.id for d in store.similarity_search("sourdough yeast", k=4)}

        more = SemsearchVectorStore.from_texts(
            ["Lighthouses stand on headlands."], url=url, api_key=WRITE, collection="langchain", ids=["house"]
        )
        assert [d.id for d in more.similarity_search("a tower with a lamp by the sea", k=1)] == ["house"]
        more.close()
    finally:
        store.close()
    # The other tests' corpus is untouched.
    assert LangChainRetriever(url=url, k=1, api_key=READ).invoke("storm")[0].metadata["doc_id"] in PASSAGES


def test_llamaindex_vector_store_indexes_queries_filters_and_deletes_through_the_service(
    server: tuple[str, Path],
) -> None:
    """A real LlamaIndex VectorStoreIndex over the store: documents in (LlamaIndex splits them into nodes,
    the service embeds them), a retriever that never embeds a query, metadata filters, deletes by source."""
    url, _ = server
    with SemsearchClient(url, api_key=WRITE) as admin:
        admin.create_collection("llamaindex", None)
    store = LlamaIndexVectorStore(url, api_key=WRITE, collection="llamaindex", batch_size=1)
    try:
        sources = [
            LlamaDocument(text=PASSAGES["tide"], id_="tides.md", metadata={"shelf": "sea", "year": 2024}),
            LlamaDocument(
                text=PASSAGES["bread"], id_="bread.md", metadata={"shelf": "kitchen", "year": 2019}
            ),
            LlamaDocument(text=PASSAGES["lens"], id_="lens.md", metadata={"shelf": "sea", "year": 2021}),
        ]
        # LlamaIndex asks its embedding model for the nodes it adds; the store does not use them (the
        # service embeds), so a mock one is enough, and no query is ever embedded.
        index = VectorStoreIndex.from_documents(
            sources,
            storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=MockEmbedding(embed_dim=8),
        )
        with SemsearchClient(url, api_key=READ, collection="llamaindex") as reader:
            assert reader.stats().documents == 3
        retriever = index.as_retriever(similarity_top_k=2)
        found = retriever.retrieve("why does the sea rise and fall every day?")
        assert found[0].node.get_content() == PASSAGES["tide"]
        assert found[0].node.metadata["ref_doc_id"] == "tides.md"
        assert (found[0].score or 0.0) >= (found[1].score or 0.0)

        # Maximal marginal relevance: a near-copy of the best passage waits behind something new.
        index.insert(LlamaDocument(text=AGAIN, id_="tides-again.md", metadata={"shelf": "sea", "year": 2025}))
        plain = [n.node.metadata["ref_doc_id"] for n in retriever.retrieve("why does the sea rise and fall?")]
        assert plain == ["tides.md", "tides-again.md"]
        mmr = index.as_retriever(
            similarity_top_k=2, vector_store_query_mode="mmr", vector_store_kwargs={"mmr_threshold": 0.3}
        )
        picked = [n.node.metadata["ref_doc_id"] for n in mmr.retrieve("why does the sea rise and fall?")]
        assert picked[0] == "tides.md"
        assert picked[1] not in ("tides.md", "tides-again.md")
        index.delete_ref_doc("tides-again.md")

        sea = MetadataFilters(
            filters=[
                MetadataFilter(key="shelf", value="sea"),
                MetadataFilter(key="year", value=2022, operator=FilterOperator.LT),
            ]
        )
        filtered = index.as_retriever(similarity_top_k=3, filters=sea).retrieve("light")
        assert [n.node.metadata["ref_doc_id"] for n in filtered] == ["lens.md"]
        either = MetadataFilters(
            filters=[MetadataFilter(key="year", value=[2019, 2024], operator=FilterOperator.IN)],
        )
        answer = store.query(VectorStoreQuery(query_str="x", similarity_top_k=3, filters=either))
        assert {node.metadata["ref_doc_id"] for node in answer.nodes or []} == {"tides.md", "bread.md"}
        assert answer.ids == [node.node_id for node in answer.nodes or []]
        # The text modes search the words: a word no passage holds finds nothing; meaning finds the nearest.
        for mode, found_count in ((VectorStoreQueryMode.TEXT_SEARCH, 0), (VectorStoreQueryMode.DEFAULT, 1)):
            answer = store.query(VectorStoreQuery(query_str="zqxjv", similarity_top_k=1, mode=mode))
            assert len(answer.nodes or []) == found_count, mode
        with pytest.raises(ValueError, match="'svm' query mode"):
            store.query(VectorStoreQuery(query_str="x", mode=VectorStoreQueryMode.SVM))
        with pytest.raises(ValueError, match="no 'text_match'"):
            store.query(
                VectorStoreQuery(
                    query_str="x",
                    filters=MetadataFilters(
                        filters=[MetadataFilter(key="shelf", value="se", operator=FilterOperator.TEXT_MATCH)]
                    ),
                )
            )

        index.delete_ref_doc("bread.md")
        assert "bread.md" not in {
            n.node.metadata["ref_doc_id"] for n in retriever.retrieve("sourdough yeast flour")
        }
        # Nodes read back as LlamaIndex wrote them: text, metadata, source.
        at_sea = store.get_nodes(filters=MetadataFilters(filters=[MetadataFilter(key="shelf", value="sea")]))
        by_source = {node.ref_doc_id: node for node in at_sea}
        assert set(by_source) == {"lens.md", "tides.md"}
        tide = by_source["tides.md"]
        assert tide.get_content() == PASSAGES["tide"]
        assert tide.metadata == {"shelf": "sea", "year": 2024}
        assert [n.node_id for n in store.get_nodes(node_ids=["not-stored", tide.node_id])] == [tide.node_id]
        old = MetadataFilters(filters=[MetadataFilter(key="year", value=2022, operator=FilterOperator.LT)])
        both_ways = store.get_nodes(node_ids=[n.node_id for n in at_sea], filters=old)
        assert [n.ref_doc_id for n in both_ways] == ["lens.md"]
        with pytest.raises(ValueError, match="name the nodes or give filters"):
            store.get_nodes()
        store.delete_nodes(filters=MetadataFilters(filters=[MetadataFilter(key="shelf", value="sea")]))
        with SemsearchClient(url, api_key=READ, collection="llamaindex") as reader:
            assert reader.stats().documents == 0
            index.insert(LlamaDocument(text=PASSAGES["bread"], id_="bread.md", metadata={"shelf": "kitchen"}))
            assert reader.stats().documents == 1
            store.clear()
            assert reader.stats().documents == 0
    finally:
        store.close()


_COLLECTIONS = itertools.count()


@contextlib.contextmanager
def new_collection(url: str) -> Iterator[str]:
    """A new, empty collection of the service for one framework test, deleted after it."""
    name = f"framework-{next(_COLLECTIONS)}"
    with SemsearchClient(url, api_key=WRITE) as admin:
        admin.create_collection(name, None)
    try:
        yield name
    finally:
        with SemsearchClient(url, api_key=WRITE) as admin:
            admin.delete_collection(name, force=True)


class TestLangChainVectorStore(VectorStoreIntegrationTests):
    """LangChain's own tests of a vector store (langchain-tests' standard suite), sync and async, against
    the service: each on a new collection."""

    @pytest.fixture
    def vectorstore(self, server: tuple[str, Path]) -> Iterator[SemsearchVectorStore]:
        with new_collection(server[0]) as name:
            store = SemsearchVectorStore(server[0], api_key=WRITE, collection=name)
            yield store
            store.close()


class TestHaystackDocumentStore(
    CountDocumentsTest,
    DeleteDocumentsTest,
    WriteDocumentsTest,
    FilterDocumentsTest,
    CountDocumentsByFilterTest,
    CountUniqueMetadataByFilterTest,
    DeleteAllTest,
    DeleteByFilterTest,
    UpdateByFilterTest,
    GetMetadataFieldMinMaxTest,
    GetMetadataFieldsInfoTest,
    GetMetadataFieldUniqueValuesTest,
):
    """Haystack's own tests of a document store (haystack.testing), against the service: each on a new
    collection."""

    @staticmethod
    def assert_documents_are_equal(
        received: list[HaystackDocument], expected: list[HaystackDocument]
    ) -> None:
        """The service embeds texts itself and keeps no embedding sent along, so documents compare by id,
        content and metadata, in any order (as Haystack's stores that drop embeddings do)."""

        def view(documents: list[HaystackDocument]) -> list[tuple[str, str | None, str]]:
            return sorted((d.id, d.content, json.dumps(d.meta, sort_keys=True)) for d in documents)

        assert view(received) == view(expected)

    @pytest.fixture
    def document_store(self, server: tuple[str, Path]) -> Iterator[SemsearchDocumentStore]:
        with new_collection(server[0]) as name:
            store = SemsearchDocumentStore(server[0], api_key=Secret.from_token(WRITE), collection=name)
            yield store
            store.close()

    def test_write_documents(self, document_store: DocumentStore) -> None:
        """The default policy (NONE) overwrites, as the service's upserts do (Haystack lets stores choose)."""
        document = HaystackDocument(content="test doc", meta={"shelf": "sea"})
        assert document_store.write_documents([document]) == 1
        assert document_store.write_documents([document]) == 1
        self.assert_documents_are_equal(document_store.filter_documents(), [document])


def test_haystack_pipelines_write_and_retrieve_through_the_service(
    server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An indexing pipeline (Haystack's DocumentWriter) and a query pipeline (the retriever), with no
    embedder in either (the service embeds); filters in Haystack's language; a pipeline saved as YAML and
    loaded again, its key read from the environment."""
    url, _ = server
    with SemsearchClient(url, api_key=WRITE) as admin:
        admin.create_collection("haystack", None)
    monkeypatch.setenv("SEMSEARCH_API_KEY", WRITE)
    store = SemsearchDocumentStore(url, collection="haystack")
    try:
        indexing = Pipeline()
        indexing.add_component("writer", DocumentWriter(document_store=store))
        written = indexing.run(
            {
                "writer": {
                    "documents": [
                        HaystackDocument(
                            id="tides", content=PASSAGES["tide"], meta={"shelf": "sea", "title": "Tides"}
                        ),
                        HaystackDocument(id="bread", content=PASSAGES["bread"], meta={"shelf": "kitchen"}),
                        HaystackDocument(
                            id="lens", content=PASSAGES["lens"], meta={"shelf": "sea", "year": 2021}
                        ),
                    ]
                }
            }
        )
        assert written["writer"]["documents_written"] == 3
        assert store.count_documents() == 3
        assert store.count_documents_by_filter({}) == 3  # no filter: all of them, as Haystack's own stores

        querying = Pipeline()
        querying.add_component("retriever", HaystackRetriever(document_store=store, top_k=2))
        found = querying.run({"retriever": {"query": "why does the sea rise and fall every day?"}})
        top = found["retriever"]["documents"][0]
        assert (top.content, top.meta["doc_id"], top.meta["title"], top.meta["shelf"]) == (
            PASSAGES["tide"],
            "tides",
            "Tides",
            "sea",
        )
        assert top.id == f"tides#{top.meta['chunk_id']}"
        assert (top.score or 0.0) > 0

        sea = {"field": "meta.shelf", "operator": "==", "value": "sea"}
        filtered = querying.run({"retriever": {"query": "sourdough bread", "filters": sea, "top_k": 5}})
        assert {d.meta["doc_id"] for d in filtered["retriever"]["documents"]} == {"tides", "lens"}
        not_sea = store.filter_documents({"operator": "NOT", "conditions": [sea]})
        assert [(d.id, d.content, d.meta) for d in not_sea] == [
            ("bread", PASSAGES["bread"], {"shelf": "kitchen"})
        ]
        with pytest.raises(ValueError, match="metadata fields only"):
            store.filter_documents({"field": "content", "operator": "==", "value": "x"})

        loaded = Pipeline.loads(querying.dumps(), allowed_modules=["service.integrations.haystack"])
        again = loaded.run({"retriever": {"query": "why does the sea rise and fall every day?"}})
        assert [d.id for d in again["retriever"]["documents"]] == [
            d.id for d in found["retriever"]["documents"]
        ]
        saved = querying.dumps()
        assert "SEMSEARCH_API_KEY" in saved
        assert WRITE not in saved

        with pytest.raises(ValueError, match="no text to index"):
            store.write_documents([HaystackDocument(id="empty", content="  ")])
        assert store.count_documents() == 3
    finally:
        store.close()
