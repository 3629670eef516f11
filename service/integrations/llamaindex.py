"""A LlamaIndex retriever and vector store over semsearch (``pip install 'semsearch[llamaindex]'``)::

    from service.integrations.llamaindex import SemsearchRetriever

    retriever = SemsearchRetriever(url="http://127.0.0.1:8000", k=4)
    nodes = retriever.retrieve("how do I back up the index?")
    nodes[0].score, nodes[0].node.get_content(), nodes[0].node.metadata["page"]

It plugs into LlamaIndex's query engines (``RetrieverQueryEngine.from_args(retriever, llm=...)``).
:class:`SemsearchVectorStore` is the service as a LlamaIndex vector store, for an index that writes too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.callbacks import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import (
    BaseNode,
    MetadataMode,
    NodeRelationship,
    NodeWithScore,
    QueryBundle,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)

from service.client import DEFAULT_TIMEOUT, AsyncSemsearchClient, NotFoundError, SemsearchClient
from service.integrations._hits import EVERY_DOCUMENT, field_path, hit_metadata, json_metadata, or_missing
from service.schemas import SearchResponse

# LlamaIndex's defaults for maximal marginal relevance (its mmr_threshold; its stores' mmr_prefetch_factor).
MMR_THRESHOLD = 0.5
MMR_PREFETCH_FACTOR = 4.0


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


class SemsearchVectorStore(BasePydanticVectorStore):
    """A semsearch service (or one of its collections) as a LlamaIndex vector store.

    The service embeds with its own model: queries go to it as text (``is_embedding_query`` is False, so a
    ``VectorStoreIndex`` over this store never embeds a query), and the embeddings LlamaIndex computes for
    nodes it adds are not used. A node added is a semsearch document under the node's id (the service cuts
    it into chunks), its metadata the node's, with ``ref_doc_id`` (the node's source document) added, so
    that :meth:`delete` removes every node of a source; a ``"title"`` in the metadata is also its title.
    A query answers one hit per node (``group_by: document``), its text the node's best-matching chunk, its
    metadata the retriever's (the node's own, then ``doc_id``, ``chunk_id``, ``title``, ``score``,
    ``start``, ``end``, ``page``). LlamaIndex metadata filters become the service's filter language (``==``,
    ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``in``, ``nin``, ``any``, ``all``, ``is_empty``; ``and``, ``or``,
    ``not``); others raise ``ValueError``.
    """

    stores_text: bool = True
    is_embedding_query: bool = False
    flat_metadata: bool = False

    url: str
    api_key: str | None = None
    collection: str | None = None
    mode: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    batch_size: int = 64
    _client: SemsearchClient = PrivateAttr()

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        collection: str | None = None,
        mode: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        batch_size: int = 64,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        super().__init__(
            stores_text=True,
            url=url,
            api_key=api_key,
            collection=collection,
            mode=mode,
            timeout=timeout,
            batch_size=batch_size,
        )
        self._client = SemsearchClient(url, api_key=api_key, collection=collection, timeout=timeout)

    @property
    def client(self) -> SemsearchClient:
        return self._client

    def close(self) -> None:
        self._client.close()

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        documents = []
        for node in nodes:
            metadata = json_metadata(node.metadata)
            if node.ref_doc_id is not None:
                metadata["ref_doc_id"] = node.ref_doc_id
            title = node.metadata.get("title")
            documents.append(
                {
                    "id": node.node_id,
                    "text": node.get_content(metadata_mode=MetadataMode.NONE),
                    "title": title if isinstance(title, str) and title.strip() else None,
                    "metadata": metadata,
                }
            )
        for start in range(0, len(documents), self.batch_size):
            self._client.upsert(documents[start : start + self.batch_size])
        return [node.node_id for node in nodes]

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node of the source document ``ref_doc_id``."""
        self._client.delete_where({"field": "ref_doc_id", "eq": ref_doc_id})

    def delete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """Delete the nodes with these ids (those already gone are skipped), or those the filters match."""
        if node_ids is None and filters is None:
            raise ValueError("name the nodes or give filters; to delete everything, delete the collection")
        for node_id in node_ids or []:
            try:
                self._client.delete_document(node_id)
            except NotFoundError:
                continue
        if filters is not None:
            self._client.delete_where(semsearch_filter(filters))

    def get_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None
    ) -> list[BaseNode]:
        """The stored nodes with these ids (in their order; those not stored are left out), or those the
        filters match (in id order), or with both the nodes of those ids the filters match: each a
        ``TextNode`` with its text and metadata, and its source (``ref_doc_id``) as LlamaIndex relates it."""
        if node_ids is None and filters is None:
            raise ValueError("name the nodes or give filters")
        chosen = None if filters is None or not filters.filters else semsearch_filter(filters)
        if chosen is None and node_ids is not None:
            found: list[BaseNode] = []
            for node_id in node_ids:
                try:
                    stored = self._client.get_document(node_id)
                except NotFoundError:
                    continue
                found.append(_node(stored.id, stored.text, stored.metadata))
            return found
        wanted = None if node_ids is None else set(node_ids)
        return [
            _node(d.id, d.text or "", d.metadata)
            for d in self._client.iter_documents(filter=chosen, page_size=1000, include_text=True)
            if wanted is None or d.id in wanted
        ]

    def clear(self) -> None:
        """Delete every node of the collection, in one transaction (the collection and its settings stay)."""
        self._client.delete_where(EVERY_DOCUMENT)

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """The best documents for ``query.query_str``. In MMR mode (``as_retriever(
        vector_store_query_mode="mmr", vector_store_kwargs={"mmr_threshold": 0.5})``) the service picks
        them by maximal marginal relevance from its best ``mmr_prefetch_k`` (or ``mmr_prefetch_factor``
        times ``similarity_top_k``, default 4); ``mmr_threshold`` is relevance's share (default 0.5; the
        service's ``diversity`` is one minus it). The text modes search the words (``mode="keyword"``), the
        hybrid mode both sides; the default mode is the store's ``mode``. The learner modes (SVM,
        regressions) and semantic hybrid raise ``ValueError``."""
        if not query.query_str:
            raise ValueError("semsearch embeds queries itself: give the query as text (query_str)")
        if query.mode not in _MODES:
            raise ValueError(f"semsearch does not offer LlamaIndex's {query.mode.value!r} query mode")
        options: dict[str, Any] = {}
        if query.mode == VectorStoreQueryMode.MMR:
            threshold = kwargs.get("mmr_threshold", query.mmr_threshold)
            threshold = MMR_THRESHOLD if threshold is None else float(threshold)
            if not 0 <= threshold <= 1:
                raise ValueError(f"mmr_threshold lies between 0 and 1, got {threshold}")
            factor = float(kwargs.get("mmr_prefetch_factor", MMR_PREFETCH_FACTOR))
            options["diversity"] = 1.0 - threshold
            options["diversity_pool"] = int(
                kwargs.get("mmr_prefetch_k") or max(1, round(factor * query.similarity_top_k))
            )
        result = self._client.search(
            query.query_str,
            k=query.similarity_top_k,
            mode=_MODES[query.mode] or self.mode,
            filter=None
            if query.filters is None or not query.filters.filters
            else semsearch_filter(query.filters),
            group_by="document",
            **options,
        )
        nodes: list[BaseNode] = [
            TextNode(id_=hit.doc_id, text=hit.text, metadata=hit_metadata(hit)) for hit in result.hits
        ]
        return VectorStoreQueryResult(
            nodes=nodes,
            similarities=[hit.score for hit in result.hits],
            ids=[hit.doc_id for hit in result.hits],
        )


def _node(node_id: str, text: str, metadata: dict[str, Any]) -> TextNode:
    """A stored node as LlamaIndex wrote it: its metadata without the ``ref_doc_id`` the store added, which
    becomes the node's source again."""
    own = {key: value for key, value in metadata.items() if key != "ref_doc_id"}
    source = metadata.get("ref_doc_id")
    related = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id=source)} if isinstance(source, str) else {}
    return TextNode(id_=node_id, text=text, metadata=own, relationships=related)


# LlamaIndex's query modes that semsearch answers, and the search mode each asks for (None: the store's).
_MODES: dict[VectorStoreQueryMode, str | None] = {
    VectorStoreQueryMode.DEFAULT: None,
    VectorStoreQueryMode.MMR: None,
    VectorStoreQueryMode.HYBRID: "hybrid",
    VectorStoreQueryMode.TEXT_SEARCH: "keyword",
    VectorStoreQueryMode.SPARSE: "keyword",
}

_COMPARISONS = {
    FilterOperator.EQ: "eq",
    FilterOperator.GT: "gt",
    FilterOperator.GTE: "gte",
    FilterOperator.LT: "lt",
    FilterOperator.LTE: "lte",
    FilterOperator.IN: "in",
    FilterOperator.ANY: "in",
}


def semsearch_filter(filters: MetadataFilters) -> dict[str, Any]:
    """LlamaIndex metadata filters in semsearch's filter language (docs/api.md)."""
    clauses = [
        semsearch_filter(item) if isinstance(item, MetadataFilters) else _clause(item)
        for item in filters.filters
    ]
    if filters.condition == FilterCondition.OR:
        return {"should": clauses}
    if filters.condition == FilterCondition.NOT:
        return {"must_not": clauses}
    return {"must": clauses}


def _clause(item: MetadataFilter) -> dict[str, Any]:
    operator, field, value = item.operator, field_path([item.key]), item.value  # LlamaIndex's keys are flat
    if operator in _COMPARISONS:
        return {"field": field, _COMPARISONS[operator]: value}
    if operator == FilterOperator.NE:
        return {"must_not": [{"field": field, "eq": value}]}
    if operator == FilterOperator.NIN:
        return {"must_not": [{"field": field, "in": value}]}
    if operator == FilterOperator.ALL and isinstance(value, list):
        return {"must": [{"field": field, "eq": one} for one in value]}
    if operator == FilterOperator.IS_EMPTY:  # as LlamaIndex's own stores read it: missing, null or ""
        return or_missing(field, "in", [None, ""])
    raise ValueError(f"semsearch's filters have no {operator.value!r} (metadata filter on {field!r})")
