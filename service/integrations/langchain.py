"""LangChain over a semsearch service (``pip install 'semsearch[langchain]'``): a retriever, and a vector
store that LangChain's indexing API and chains can write to as well::

from service.integrations.langchain import SemsearchRetriever, SemsearchVectorStore

retriever = SemsearchRetriever(url="http://127.0.0.1:8000", k=4)
docs = retriever.invoke("how do I back up the index?")
docs[0].page_content, docs[0].metadata["doc_id"], docs[0].metadata["page"]

store = SemsearchVectorStore("http://127.0.0.1:8000", api_key="the-write-key", collection="notes")
ids = store.add_texts(["The tide turns twice a day."], metadatas=[{"source": "almanac"}])
store.similarity_search_with_score("when does the sea come in?", k=2)
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.vectorstores import VectorStore

from service.client import DEFAULT_TIMEOUT, AsyncSemsearchClient, NotFoundError, SemsearchClient
from service.integrations._hits import field_path, hit_metadata, json_metadata, metadata_title, or_missing
from service.schemas import SearchResponse


class SemsearchRetriever(BaseRetriever):
    """The ``k`` best passages of a semsearch service for a query, as LangChain ``Document`` objects whose
    metadata holds ``doc_id``, ``chunk_id``, ``title``, ``score``, ``start``, ``end`` and ``page`` (over the
    document's own metadata). ``mode`` (hybrid, dense, keyword), ``filter`` (:func:`semsearch_filter`)
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
            found = client.search(query, k=self.k, mode=self.mode, filter=semsearch_filter(self.filter))
            return _documents(found)

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        async with AsyncSemsearchClient(
            self.url, api_key=self.api_key, collection=self.collection, timeout=self.timeout
        ) as client:
            found = await client.search(query, k=self.k, mode=self.mode, filter=semsearch_filter(self.filter))
            return _documents(found)


def _documents(result: SearchResponse) -> list[Document]:
    return [Document(page_content=hit.text, metadata=hit_metadata(hit)) for hit in result.hits]


class SemsearchVectorStore(VectorStore):
    """A semsearch service (or one of its collections) as a LangChain vector store.

    The service embeds with its own model, so there is no ``embedding`` to give (``embeddings`` is None).
    A text added is a semsearch document (split into chunks by the service), under the id given (a
    ``Document``'s ``id``) or a new UUID; a ``"title"`` in its metadata is also its title. A search answers
    chunks: each ``Document`` has the chunk's text, the document's id as its ``id``, and the document's
    metadata as it was added (LangChain's convention, which its standard tests hold stores to); with
    ``hit_details``, the retriever's keys after it: ``doc_id``, ``chunk_id``, ``title``, ``score``,
    ``start``, ``end``, ``page``. ``mode`` and ``filter`` (:func:`semsearch_filter`) pass through to
    searches; ``batch_size`` texts go in each upload, each upload all or none.
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        collection: str | None = None,
        mode: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        batch_size: int = 64,
        hit_details: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.client = SemsearchClient(url, api_key=api_key, collection=collection, timeout=timeout)
        self.mode = mode
        self.batch_size = batch_size
        self.hit_details = hit_details

    @property
    def embeddings(self) -> Embeddings | None:
        return None  # the service embeds, with the model its index was built with

    def close(self) -> None:
        self.client.close()

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        texts = list(texts)
        metadatas = metadatas if metadatas is not None else [{} for _ in texts]
        ids = (
            [doc_id or uuid.uuid4().hex for doc_id in ids]
            if ids is not None
            else [uuid.uuid4().hex for _ in texts]
        )
        if not len(texts) == len(metadatas) == len(ids):
            raise ValueError(
                f"{len(texts)} texts, {len(metadatas)} metadatas and {len(ids)} ids: one of each"
            )
        documents = [
            {
                "id": doc_id,
                "text": text,
                "metadata": json_metadata(metadata),
                "title": metadata_title(metadata),
            }
            for doc_id, text, metadata in zip(ids, texts, metadatas, strict=True)
        ]
        for start in range(0, len(documents), self.batch_size):
            self.client.upsert(documents[start : start + self.batch_size])
        return ids

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete the documents with these ids (those already gone are skipped). Deleting everything is
        not offered here: delete the collection instead."""
        if ids is None:
            raise ValueError("name the ids to delete; to delete everything, delete the collection")
        for doc_id in ids:
            try:
                self.client.delete_document(doc_id)
            except NotFoundError:
                continue
        return True

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The whole documents with these ids (those that do not exist are left out)."""
        found = []
        for doc_id in ids:
            try:
                stored = self.client.get_document(doc_id)
            except NotFoundError:
                continue
            metadata = dict(stored.metadata)
            if self.hit_details:
                metadata.update(doc_id=stored.id, title=stored.title)
            found.append(Document(id=stored.id, page_content=stored.text, metadata=metadata))
        return found

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        return [document for document, _ in self.similarity_search_with_score(query, k, **kwargs)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """The ``k`` best chunks and their scores (higher is better); ``kwargs`` pass other search fields
        (``group_by``, ``min_score``, ``fusion``...)."""
        result = self.client.search(
            query, k=k, mode=kwargs.pop("mode", self.mode), filter=semsearch_filter(filter), **kwargs
        )
        return [
            (
                Document(
                    id=hit.doc_id,
                    page_content=hit.text,
                    metadata=hit_metadata(hit) if self.hit_details else dict(hit.metadata),
                ),
                hit.score,
            )
            for hit in result.hits
        ]

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """``k`` chunks relevant to ``query`` and unlike each other, picked by the service by maximal
        marginal relevance from its best ``fetch_k`` (``as_retriever(search_type="mmr")``). ``lambda_mult``
        is relevance's share, 1 the plain ranking (the service's ``diversity`` is ``1 - lambda_mult``)."""
        if not 0 <= lambda_mult <= 1:
            raise ValueError(f"lambda_mult lies between 0 and 1, got {lambda_mult}")
        found = self.similarity_search_with_score(
            query, k, filter=filter, diversity=1.0 - lambda_mult, diversity_pool=fetch_k, **kwargs
        )
        return [document for document, _ in found]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        # Scores are similarities already, mostly within 0..1; a blended one can pass 1 (docs/api.md).
        return lambda score: min(1.0, max(0.0, score))

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings | None = None,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        url: str = "http://127.0.0.1:8000",
        **kwargs: Any,
    ) -> SemsearchVectorStore:
        """A store on the service at ``url`` (``kwargs``: the other arguments of the constructor) holding
        ``texts`` too. ``embedding`` is not used: the service embeds with its own model."""
        if embedding is not None:
            warnings.warn(
                "SemsearchVectorStore ignores the embedding given: the service embeds with its own model",
                stacklevel=2,
            )
        store = cls(url, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store


# The clauses of semsearch's own filter language: a filter holding one of them is passed as it is.
_NATIVE_KEYS = frozenset(("field", "must", "should", "must_not", "phrase"))
# MongoDB's order operators, as LangChain's stores take them (Chroma, PGVector...), and semsearch's.
_MONGO_ORDER = {"$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}


def semsearch_filter(filter: dict[str, Any] | None) -> dict[str, Any] | None:
    """A filter as LangChain users write them, in semsearch's filter language (docs/api.md): semsearch's own
    (``{"field": ...}``, ``must``...) as it is; ``{"source": "a.pdf"}`` (a value, or a list of values: any of
    them) as equality, as LangChain's in-memory stores take it; MongoDB's operators as Chroma and PGVector
    take them: ``{"year": {"$gte": 2020}}``, ``$eq``, ``$ne``, ``$gt``, ``$gte``, ``$lt``, ``$lte``,
    ``$in``, ``$nin``, ``$exists``, and ``$and`` / ``$or`` of such filters. Several keys must all match. As in
    MongoDB, a field holding a list matches when an element does. Other ``$`` operators raise ValueError."""
    if filter is None or not filter:
        return None
    if _NATIVE_KEYS & filter.keys():
        return filter
    return _mongo(filter)


def _mongo(filter: dict[str, Any]) -> dict[str, Any]:
    clauses: list[dict[str, Any]] = []
    for key, value in filter.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
                raise ValueError(f"{key} takes a non-empty list of filters")
            clauses.append({"must" if key == "$and" else "should": [_mongo(v) for v in value]})
        elif key.startswith("$"):
            raise ValueError(f"semsearch's filters have no {key!r}")
        elif isinstance(value, dict):  # a key as MongoDB reads it: dots reach into objects
            clauses.extend(_field_operators(field_path(key.split(".")), value))
        elif isinstance(value, list):
            clauses.append(_in(field_path(key.split(".")), value))
        else:
            clauses.append(_eq(field_path(key.split(".")), value))
    return clauses[0] if len(clauses) == 1 else {"must": clauses}


def _eq(field: str, value: Any) -> dict[str, Any]:
    """Equality, MongoDB's way: None matches null and a missing field."""
    if value is None:
        return or_missing(field, "eq", None)
    return {"field": field, "eq": value}


def _in(field: str, values: Any) -> dict[str, Any]:
    """One of ``values``, MongoDB's way: None among them matches null and a missing field."""
    if not isinstance(values, list):
        raise ValueError(f"$in and $nin take a list of values (filter on {field!r})")
    if None in values:
        return or_missing(field, "in", values)
    return {"field": field, "in": values}


def _field_operators(field: str, operators: dict[str, Any]) -> list[dict[str, Any]]:
    if not operators:
        raise ValueError(f"the filter on {field!r} names no operator")
    clauses: list[dict[str, Any]] = []
    for operator, value in operators.items():
        if operator in _MONGO_ORDER:
            clauses.append({"field": field, _MONGO_ORDER[operator]: value})
        elif operator == "$eq":
            clauses.append(_eq(field, value))
        elif operator == "$in":
            clauses.append(_in(field, value))
        elif operator == "$ne":
            clauses.append({"must_not": [_eq(field, value)]})
        elif operator == "$nin":
            clauses.append({"must_not": [_in(field, value)]})
        elif operator == "$exists":
            clauses.append({"field": field, "exists": value})
        else:
            raise ValueError(f"semsearch's filters have no {operator!r} (filter on {field!r})")
    return clauses
