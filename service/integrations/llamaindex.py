"""A LlamaIndex retriever over a semsearch service (``pip install 'semsearch[llamaindex]'``)::

    from service.integrations.llamaindex import SemsearchRetriever

    retriever = SemsearchRetriever(url="http://127.0.0.1:8000", k=4)
    nodes = retriever.retrieve("how do I back up the index?")
    nodes[0].score, nodes[0].node.get_content(), nodes[0].node.metadata["page"]

It plugs into LlamaIndex's query engines (``RetrieverQueryEngine.from_args(retriever, llm=...)``).
"""

from __future__ import annotations

from typing import Any

from llama_index.core.callbacks import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from service.client import DEFAULT_TIMEOUT, AsyncSemsearchClient, SemsearchClient
from service.integrations._hits import hit_metadata
from service.schemas import SearchResponse


class SemsearchRetriever(BaseRetriever):
    """The ``k`` best passages of a semsearch service for a query, as scored ``TextNode`` objects (id
    ``<doc_id>#<chunk_id>``; metadata as in the LangChain retriever: ``doc_id``, ``chunk_id``, ``title``,
    ``score``, ``start``, ``end``, ``page``)."""

    def __init__(
        self,
        url: str,
        *,
        k: int = 4,
        api_key: str | None = None,
        collection: str | None = None,
        mode: str | None = None,
        filter: dict[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        super().__init__(callback_manager=callback_manager)
        self.url = url
        self.k = k
        self.api_key = api_key
        self.collection = collection
        self.mode = mode
        self.filter = filter
        self.timeout = timeout

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        with SemsearchClient(
            self.url, api_key=self.api_key, collection=self.collection, timeout=self.timeout
        ) as client:
            return _nodes(client.search(query_bundle.query_str, k=self.k, mode=self.mode, filter=self.filter))

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        async with AsyncSemsearchClient(
            self.url, api_key=self.api_key, collection=self.collection, timeout=self.timeout
        ) as client:
            result = await client.search(query_bundle.query_str, k=self.k, mode=self.mode, filter=self.filter)
            return _nodes(result)


def _nodes(result: SearchResponse) -> list[NodeWithScore]:
    return [
        NodeWithScore(
            node=TextNode(id_=f"{hit.doc_id}#{hit.chunk_id}", text=hit.text, metadata=hit_metadata(hit)),
            score=hit.score,
        )
        for hit in result.hits
    ]
