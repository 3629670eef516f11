"""Haystack over a semsearch service: a document store for indexing pipelines (``DocumentWriter``) and a
retriever component that searches it. The service embeds, with its index's model: no embedder component is
needed on either side, and no query is embedded in the pipeline.

    from haystack import Pipeline
    from service.integrations.haystack import SemsearchDocumentStore, SemsearchRetriever

    store = SemsearchDocumentStore("http://127.0.0.1:8000", collection="notes")
    pipeline = Pipeline()
    pipeline.add_component("retriever", SemsearchRetriever(document_store=store, top_k=5))
    pipeline.run({"retriever": {"query": "when does the sea come in?"}})

Filters are Haystack's (``{"field": "meta.shelf", "operator": "==", "value": "sea"}``, and ``AND``, ``OR``,
``NOT``), translated into the service's filter language by :func:`semsearch_filter`.
"""

from __future__ import annotations

import datetime
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy
from haystack.errors import FilterError
from haystack.utils import Secret, deserialize_secrets_inplace

from service.client import DEFAULT_TIMEOUT, NotFoundError, SemsearchClient
from service.integrations._hits import (
    EITHER_WAY,
    EVERY_DOCUMENT,
    field_path,
    hit_metadata,
    json_metadata,
    metadata_title,
    or_missing,
)


class SemsearchDocumentStore:
    """A Haystack ``DocumentStore`` whose documents are a semsearch collection's (the default one unless
    ``collection``). A Haystack ``Document`` is a semsearch document under the same id, with its ``content``
    as the text (split into chunks by the service) and its ``meta`` as the metadata (a string ``"title"`` in
    it is also the title). Documents without text (a ``blob`` only) cannot be indexed and raise
    ``ValueError``; embeddings sent along are not used (the service embeds). ``write_documents`` with
    ``DuplicatePolicy.NONE`` overwrites, as the service's upserts do. ``api_key``: the write key for writes
    (the read key suffices to search), by default from ``SEMSEARCH_API_KEY``."""

    def __init__(
        self,
        url: str = "http://127.0.0.1:8000",
        *,
        api_key: Secret | None = Secret.from_env_var("SEMSEARCH_API_KEY", strict=False),
        collection: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        batch_size: int = 64,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.url = url
        self.api_key = api_key
        self.collection = collection
        self.timeout = timeout
        self.batch_size = batch_size
        key = api_key.resolve_value() if api_key is not None else None
        self.client = SemsearchClient(url, api_key=key, collection=collection, timeout=timeout)

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(
            self,
            url=self.url,
            api_key=self.api_key.to_dict() if self.api_key is not None else None,
            collection=self.collection,
            timeout=self.timeout,
            batch_size=self.batch_size,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SemsearchDocumentStore:
        deserialize_secrets_inplace(data["init_parameters"], keys=["api_key"])
        store: SemsearchDocumentStore = default_from_dict(cls, data)
        return store

    def close(self) -> None:
        self.client.close()

    def count_documents(self) -> int:
        return self.client.stats().documents

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """The documents matching ``filters`` (all of them without), whole, in id order."""
        matching = self.client.iter_documents(
            filter=semsearch_filter(filters) if filters else None, include_text=True
        )
        return [Document(id=d.id, content=d.text, meta=d.metadata) for d in matching]

    def write_documents(
        self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE
    ) -> int:
        """Write ``documents`` (all or none per batch of ``batch_size``); how many were written. ``SKIP``
        leaves documents whose id exists alone; ``FAIL`` raises ``DuplicateDocumentError`` before writing
        anything if one exists; ``NONE`` and ``OVERWRITE`` replace them."""
        if not isinstance(documents, list):
            raise ValueError(f"write_documents takes a list of Documents, got {type(documents).__name__}")
        for document in documents:
            if not isinstance(document, Document):
                raise ValueError(f"write_documents takes Haystack Documents, got {type(document).__name__}")
            if document.content is None or not document.content.strip():
                raise ValueError(f"document {document.id!r} has no text to index (a blob is not read)")
        unique = list({document.id: document for document in documents}.values())
        if policy in (DuplicatePolicy.SKIP, DuplicatePolicy.FAIL):
            existing = {document.id for document in unique if self._exists(document.id)}
            if existing and policy == DuplicatePolicy.FAIL:
                raise DuplicateDocumentError(f"documents with these ids exist already: {sorted(existing)}")
            unique = [document for document in unique if document.id not in existing]
        payload = [
            {
                "id": document.id,
                "text": document.content,
                "metadata": json_metadata(document.meta),
                "title": metadata_title(document.meta),
            }
            for document in unique
        ]
        for start in range(0, len(payload), self.batch_size):
            self.client.upsert(payload[start : start + self.batch_size])
        return len(payload)

    def delete_documents(self, document_ids: list[str]) -> None:
        """Delete the documents with these ids (those that do not exist are skipped)."""
        for doc_id in document_ids:
            try:
                self.client.delete_document(doc_id)
            except NotFoundError:
                continue

    def delete_all_documents(self, recreate_index: bool = False) -> None:
        """Delete every document of the collection (in one transaction). The collection and its settings stay
        either way: semsearch has no index schema to recreate (``recreate_index`` is Haystack's name)."""
        self.client.delete_where(_EVERYTHING)

    def delete_by_filter(self, filters: dict[str, Any]) -> int:
        """Delete the documents matching ``filters`` (in one transaction); how many went."""
        return self.client.delete_where(semsearch_filter(filters) or _EVERYTHING).count

    def count_documents_by_filter(self, filters: dict[str, Any]) -> int:
        """How many documents match ``filters`` (all of them for ``{}``)."""
        return self.client.count(semsearch_filter(filters) if filters else None)

    def count_unique_metadata_by_filter(
        self, filters: dict[str, Any], metadata_fields: list[str]
    ) -> dict[str, int]:
        """How many different values each of ``metadata_fields`` has over the documents matching ``filters``
        (all documents for ``{}``), from the service's facets (``GET /facets``)."""
        chosen = semsearch_filter(filters) if filters else None
        return {
            field: self.client.facets(field.removeprefix("meta."), filter=chosen, limit=1).distinct
            for field in metadata_fields
        }

    def get_metadata_fields_info(self) -> dict[str, dict[str, Any]]:
        """Every top-level metadata field the documents hold, with its JSON type (the one most documents
        give it: ``string``, ``integer``, ``number``, ``boolean``, ``array``, ``object`` or ``null``) and
        how many documents hold it, from the service's listing of keys (``GET /fields``)."""
        return {
            field.name: {
                "type": min(field.types, key=lambda t: (-field.types[t], t)),
                "documents": field.documents,
            }
            for field in self.client.iter_fields()
        }

    def get_metadata_field_min_max(self, metadata_field: str) -> dict[str, Any]:
        """The least and greatest number ``metadata_field`` holds over all documents (``None`` for both if
        it holds none), from the service's facets."""
        found = self.client.facets(metadata_field.removeprefix("meta."), limit=1)
        return {"min": found.min, "max": found.max}

    def get_metadata_field_unique_values(
        self,
        metadata_field: str,
        search_term: str | None = None,
        from_: int = 0,
        size: int = 10,
        filters: dict[str, Any] | None = None,
    ) -> tuple[list[Any], int]:
        """The different values of ``metadata_field`` in value order (numbers, strings, false, true), the
        ``size`` from ``from_`` on, over the documents matching ``filters``; only strings holding
        ``search_term`` (case aside) if given; and how many such values there are in all. From the service's
        facets (``GET /facets?order=value``), a page of up to 1,000 values a request."""
        field, chosen = metadata_field.removeprefix("meta."), semsearch_filter(filters) if filters else None
        values: list[Any] = []
        total = 0
        while True:
            wanted = min(size - len(values), _FACET_PAGE)
            found = self.client.facets(
                field,
                filter=chosen,
                limit=max(wanted, 1),
                order="value",
                offset=from_ + len(values),
                contains=search_term or None,
            )
            total = found.distinct
            values += [v.value for v in found.values][:wanted]
            if wanted < _FACET_PAGE or len(found.values) < wanted or len(values) >= size:
                return values, total

    def update_by_filter(self, filters: dict[str, Any], meta: dict[str, Any]) -> int:
        """Set the ``meta`` fields of every document matching ``filters`` (its other fields stay; nothing is
        embedded again); how many were updated. It is a JSON Merge Patch: a field set to None is removed,
        which reads the same to a Haystack filter (a missing field is None), and an object is merged into
        the field's object where there is one. One request, one transaction (``POST /documents/update``)."""
        return self.client.update_where(semsearch_filter(filters) or _EVERYTHING, json_metadata(meta)).matched

    def _exists(self, doc_id: str) -> bool:
        try:
            self.client.get_document(doc_id)
        except NotFoundError:
            return False
        return True


@component
class SemsearchRetriever:
    """The ``top_k`` best passages for a query from a :class:`SemsearchDocumentStore`'s service, each a
    Haystack ``Document`` with id ``<doc_id>#<chunk_id>``, the passage as ``content``, its ``score``, and as
    ``meta`` the document's metadata with ``doc_id``, ``chunk_id``, ``title``, ``score``, ``start``, ``end``
    and ``page``. ``mode`` (hybrid, dense, keyword) and ``diversity`` (maximal marginal relevance, 0 to 1)
    pass through to the search; ``filters`` given to ``run`` replace those given here."""

    def __init__(
        self,
        document_store: SemsearchDocumentStore,
        *,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        mode: str | None = None,
        diversity: float = 0.0,
    ) -> None:
        if not isinstance(document_store, SemsearchDocumentStore):
            raise ValueError("SemsearchRetriever searches a SemsearchDocumentStore")
        self.document_store = document_store
        self.filters = filters
        self.top_k = top_k
        self.mode = mode
        self.diversity = diversity

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(
            self,
            document_store=self.document_store.to_dict(),
            filters=self.filters,
            top_k=self.top_k,
            mode=self.mode,
            diversity=self.diversity,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SemsearchRetriever:
        parameters = data["init_parameters"]
        parameters["document_store"] = SemsearchDocumentStore.from_dict(parameters["document_store"])
        retriever: SemsearchRetriever = default_from_dict(cls, data)
        return retriever

    @component.output_types(documents=list[Document])
    def run(
        self, query: str, filters: dict[str, Any] | None = None, top_k: int | None = None
    ) -> dict[str, list[Document]]:
        chosen = filters if filters is not None else self.filters
        result = self.document_store.client.search(
            query,
            k=top_k or self.top_k,
            mode=self.mode,
            filter=semsearch_filter(chosen) if chosen else None,
            diversity=self.diversity,
        )
        return {
            "documents": [
                Document(
                    id=f"{hit.doc_id}#{hit.chunk_id}",
                    content=hit.text,
                    meta=hit_metadata(hit),
                    score=hit.score,
                )
                for hit in result.hits
            ]
        }


_COMPARISONS = {"==": "eq", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "in": "in"}
# Clauses true of every document and of none (compared by identity below).
_EVERYTHING = EVERY_DOCUMENT
# Most facet values one request answers (the service's limit).
_FACET_PAGE = 1000
_NOTHING: dict[str, Any] = {"must": EITHER_WAY}


class SemsearchFilterError(FilterError, ValueError):
    """A Haystack filter that is malformed, or that semsearch cannot apply: Haystack's ``FilterError``, as its
    document stores raise, and a ``ValueError``."""


def semsearch_filter(filters: dict[str, Any]) -> dict[str, Any] | None:
    """A Haystack filter in semsearch's filter language (docs/api.md), or None where it keeps every document
    (an empty ``AND``). Fields are ``meta.<key>`` (dots reach into nested objects); ``content`` and ``id``
    cannot be filtered on. Where a field holds a list, semsearch matches an element (``==`` is "holds"),
    where Haystack compares the whole list. A filter Haystack refuses (a key missing, an unknown operator,
    ``in`` without a list, ``>`` with a value that is neither a number nor an ISO date) raises
    :class:`SemsearchFilterError`, a ``FilterError`` as from Haystack's own stores.

    ``NOT`` is pushed down to the comparisons and nested ``AND`` / ``OR`` are merged, so the translation is
    no deeper than the filter plus one: a Haystack filter does not run into the service's nesting limit
    (SEMSEARCH_MAX_FILTER_DEPTH) sooner than its own depth says."""
    translated = _translate(filters, negated=False)
    return None if translated is _EVERYTHING else translated


def _translate(filters: dict[str, Any], negated: bool) -> dict[str, Any]:
    if not isinstance(filters, dict):
        raise SemsearchFilterError(f"a Haystack filter is a dict, not {filters!r}")
    if "conditions" in filters:
        operator = filters.get("operator")
        if operator not in ("AND", "OR", "NOT"):
            raise SemsearchFilterError(f"unknown logical operator {operator!r} in a Haystack filter")
        if not isinstance(filters["conditions"], list):
            raise SemsearchFilterError(f"a {operator} filter's conditions are a list")
        # Haystack's NOT negates the conjunction of its conditions; De Morgan swaps AND and OR under it.
        inner_negated = negated != (operator == "NOT")
        conjunction = (operator == "AND") != negated
        clauses = [_translate(condition, inner_negated) for condition in filters["conditions"]]
        return _all_of(clauses) if conjunction else _any_of(clauses)
    clause = _comparison(filters)
    return _negation(clause) if negated else clause


def _all_of(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    if any(clause is _NOTHING for clause in clauses):
        return _NOTHING
    kept = [part for clause in clauses if clause is not _EVERYTHING for part in _parts(clause, "must")]
    return _EVERYTHING if not kept else kept[0] if len(kept) == 1 else {"must": kept}


def _any_of(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    if any(clause is _EVERYTHING for clause in clauses):
        return _EVERYTHING
    kept = [part for clause in clauses if clause is not _NOTHING for part in _parts(clause, "should")]
    return _NOTHING if not kept else kept[0] if len(kept) == 1 else {"should": kept}


def _parts(clause: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The clauses of ``clause`` if it is only a ``key`` list (merged into the list being built), else it."""
    return list(clause[key]) if clause.keys() == {key} else [clause]


def _negation(clause: dict[str, Any]) -> dict[str, Any]:
    if clause is _EVERYTHING or clause is _NOTHING:
        return _NOTHING if clause is _EVERYTHING else _EVERYTHING
    if clause.keys() == {"must_not"}:  # none of these, negated: any of them
        return _any_of(clause["must_not"])
    return {"must_not": _parts(clause, "should")}  # none of: a negated OR keeps its own list


def _comparison(filters: dict[str, Any]) -> dict[str, Any]:
    missing = [key for key in ("field", "operator", "value") if key not in filters]
    if missing:
        raise SemsearchFilterError(
            f"a Haystack comparison has field, operator and value (and a logical filter operator and "
            f"conditions); {filters!r} has no {' or '.join(missing)}"
        )
    field, operator, value = filters["field"], filters["operator"], filters["value"]
    if not isinstance(field, str) or not field.startswith("meta."):
        raise SemsearchFilterError(f"semsearch filters metadata fields only ('meta.<key>'), not {field!r}")
    try:
        key = field_path(field.removeprefix("meta.").split("."))  # Haystack's dots reach into objects
    except ValueError as error:
        raise SemsearchFilterError(str(error)) from None
    if operator == "==" and value is None:  # Haystack: a missing field is None
        return or_missing(key, "eq", None)
    if operator in (">", ">=", "<", "<=") and value is None:  # Haystack: nothing is ordered against None
        return _NOTHING
    if operator in (">", ">=", "<", "<=") and not _orderable(value):
        raise SemsearchFilterError(
            f"'{operator}' compares numbers and ISO dates (like '2024-05-01'), not {value!r} (on {field!r})"
        )
    if operator in _COMPARISONS:
        if operator == "in" and not isinstance(value, list):
            raise SemsearchFilterError(f"'in' takes a list of values (filter on {field!r})")
        if operator == "in" and not value:
            return _NOTHING
        return {"field": key, _COMPARISONS[operator]: value}
    if operator == "!=":
        return _negation(_comparison({"field": field, "operator": "==", "value": value}))
    if operator == "not in":
        if not isinstance(value, list):
            raise SemsearchFilterError(f"'not in' takes a list of values (filter on {field!r})")
        return _negation(_comparison({"field": field, "operator": "in", "value": value}))
    raise SemsearchFilterError(f"unknown comparison operator {operator!r} in a Haystack filter ({field!r})")


def _orderable(value: Any) -> bool:
    """What Haystack orders: numbers, and strings that are ISO dates."""
    if isinstance(value, int | float):
        return True
    if not isinstance(value, str):
        return False
    try:
        datetime.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True
