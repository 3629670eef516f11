"""A LangChain retriever over a semsearch service (``pip install 'semsearch[langchain]'``)::

from service.integrations.langchain import SemsearchRetriever

retriever = SemsearchRetriever(url="http://127.0.0.1:8000", k=4)
docs = retriever.invoke("how do I back up the index?")
docs[0].page_content, docs[0].metadata["doc_id"], docs[0].metadata["page"]
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from service.client import DEFAULT_TIMEOUT, AsyncSemsearchClient, SemsearchClient
from service.integrations._hits import hit_metadata
from service.schemas import SearchResponse


class SemsearchRetriever(BaseRetriever):
    """The ``k`` best passages of a semsearch service for a query, as LangChain ``Document`` objects whose
    metadata holds ``doc_id``, ``chunk_id``, ``title``, ``score``, ``start``, ``end`` and ``page`` (over the
    document's own metadata). ``mode`` (hybrid, dense, keyword), ``filter`` (the metadata filter language)
    and ``collection`` (a collection or alias) pass through to the search."""

    url: str
    k: int = 4
    api_key: str | None = None
    collection: str | None = None
    mode: str | None = None
    filter: dict[str, Any] | None = None
    timeout: float = DEFAULT_TIMEOUT

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        with SemsearchClient(
            self.url, api_key=self.api_key, collection=self.collection, timeout=self.timeout
        ) as client:
            return _documents(client.search(query, k=self.k, mode=self.mode, filter=self.filter))

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        async with AsyncSemsearchClient(
            self.url, api_key=self.api_key, collection=self.collection, timeout=self.timeout
        ) as client:
            return _documents(await client.search(query, k=self.k, mode=self.mode, filter=self.filter))


def _documents(result: SearchResponse) -> list[Document]:
    return [Document(page_content=hit.text, metadata=hit_metadata(hit)) for hit in result.hits]
