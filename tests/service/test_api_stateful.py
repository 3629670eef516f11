"""The API as a client sees it over a sequence of calls, against a model (a dict of what was acknowledged):
uploads of hostile and ordinary documents, reads, deletes by id and by filter, searches. Whatever the API
accepts reads back exactly and is found by search; whatever it refuses (a clear 4xx) changes nothing; no
call ever answers 5xx, and the last-resort handler never fires."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from index import SearchIndex
from service.app import create_app
from service.settings import Settings
from tests.fakes import FakeEmbedder

SAFE = 2**53 - 1
# Ids: a few that recur (so that calls meet the same document), and anything else, slashes, dots and NUL
# included (the last two refused). Not '%': Starlette's TestClient decodes the path twice (httpx's decoded
# path, unquoted again), so '%252e' would reach the app as '.'; tests/integration/test_server.py sends such
# ids to a real server.
IDS = st.one_of(
    st.sampled_from(["a", "b/c", "ü 1", "x.y", "../z", "q/./r", "dir/", "a\x00b", "?#&", " "]),
    st.text(st.characters(codec="utf-8", exclude_characters="%"), min_size=1, max_size=12),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-SAFE - 2, SAFE + 2),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["acme", "acme\x00evil", "globex", "9999-12-31T23:59-01:00", "0001-01-01T00:00+01:00"]),
)
METADATA = st.dictionaries(
    st.one_of(st.sampled_from(["tenant", "year", "tags"]), st.text(max_size=5)),
    st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
        max_leaves=5,
    ),
    max_size=4,
)
TEXTS = st.one_of(
    st.text(min_size=1, max_size=200),
    st.sampled_from(
        ["Rivers cross the plain.", "alpha" + " " * 5000 + "omega\nend", "a) b) " * 200, "x" * 3000]
    ),
)
TITLES = st.none() | st.text(max_size=30)


class ApiMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        data = Path(self.folder.name) / "data"
        self.index = SearchIndex.open(data, FakeEmbedder())
        self.app = create_app(Settings(data_dir=data, seed_demo=False), index=self.index)
        self.client = TestClient(self.app)
        self.client.__enter__()
        self.model: dict[str, dict[str, Any]] = {}

    def teardown(self) -> None:
        self.client.__exit__(None, None, None)
        self.index.close()
        self.folder.cleanup()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        assert response.status_code < 500, (method, path, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/json")
        return response

    @rule(doc_id=IDS, text=TEXTS, title=TITLES, metadata=METADATA)
    def upsert(self, doc_id: str, text: str, title: str | None, metadata: dict[str, Any]) -> None:
        doc = {"id": doc_id, "text": text, "title": title, "metadata": metadata}
        response = self.call("POST", "/documents", json={"documents": [doc]})
        event(f"upsert answered {response.status_code}")
        if response.status_code == 200:
            self.model[doc_id] = doc
        else:
            assert response.status_code == 422, response.text
            self.check_stored(doc_id)  # unchanged

    @rule(doc_id=IDS)
    def get(self, doc_id: str) -> None:
        self.check_stored(doc_id)

    def check_stored(self, doc_id: str) -> None:
        response = self.call("GET", "/documents/" + _segment(doc_id))
        if doc_id not in self.model or "\x00" in doc_id:
            assert response.status_code in (404, 422), response.text
            return
        assert response.status_code == 200, response.text
        body, sent = response.json(), self.model[doc_id]
        assert (body["id"], body["text"], body["title"], body["metadata"]) == (
            sent["id"],
            sent["text"],
            sent["title"],
            sent["metadata"],
        )

    @rule(doc_id=IDS)
    def delete(self, doc_id: str) -> None:
        response = self.call("DELETE", "/documents/" + _segment(doc_id))
        if doc_id in self.model:
            assert response.status_code == 200, response.text
            del self.model[doc_id]
        else:
            assert response.status_code in (404, 422), response.text

    @rule(tenant=st.sampled_from(["acme", "globex", "acme\x00evil"]))
    def delete_by_filter(self, tenant: str) -> None:
        response = self.call("POST", "/documents/delete", json={"filter": {"field": "tenant", "eq": tenant}})
        if "\x00" in tenant:
            assert response.status_code == 422
            return
        expected = {i for i, d in self.model.items() if _holds(d["metadata"].get("tenant"), tenant)}
        assert response.status_code == 200, response.text
        assert set(response.json()["deleted"]) == expected
        for doc_id in expected:
            del self.model[doc_id]

    @rule(data=st.data())
    def search_finds_what_was_stored(self, data: st.DataObject) -> None:
        if not self.model:
            return
        doc_id = data.draw(st.sampled_from(sorted(self.model)))
        text = self.model[doc_id]["text"]
        query = " ".join(text.split())[:200] or "x"
        for mode in ("dense", "keyword", "hybrid"):
            response = self.call("POST", "/search", json={"query": query, "k": 100, "mode": mode})
            if response.status_code == 422:  # a query with nothing to search for (only punctuation, say)
                continue
            assert response.status_code == 200, response.text
            hits = response.json()["hits"]  # a chunk of the same text as another's is in its duplicates
            found = {hit["doc_id"] for hit in hits} | {other for hit in hits for other in hit["duplicates"]}
            if mode == "dense" and len(self.model) <= 100:
                assert doc_id in found or len(text) > 200, (doc_id, mode)

    @invariant()
    def counts_agree_and_nothing_went_unhandled(self) -> None:
        assert self.call("GET", "/stats").json()["documents"] == len(self.model)
        assert self.app.state.metrics.unhandled._value.get() == 0


def _holds(value: Any, wanted: str) -> bool:
    """The filter language's eq: the value itself, or any element of an array."""
    return value == wanted or (isinstance(value, list) and wanted in value)


ApiMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=12, deadline=None, suppress_health_check=list(HealthCheck)
)
test_api_sequences = ApiMachine.TestCase


def _segment(doc_id: str) -> str:
    """``doc_id`` as one path segment, its dots escaped too: a client must, or URL normalisation turns an id
    of ``.`` or ``..`` into a step up the path (RFC 3986, section 5.2.4)."""
    return quote(doc_id, safe="").replace(".", "%2E")
