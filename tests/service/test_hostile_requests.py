"""The probes of a hostile client (issue 13) against the app: each one answers a clear 4xx, or works, on
every route that takes a filter; none answers 5xx, none fires the last-resort handler, none changes
anything."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

DOCS = [
    {"id": "a", "text": "Tenant documents about rivers.", "metadata": {"tenant": "acme", "n": 1}},
    {"id": "b", "text": "Other rivers and lakes.", "metadata": {"tenant": "globex", "t": "2024-01-01"}},
]
FILTERS: list[tuple[str, Any, int]] = [
    ("1,024 values of in", {"field": "n", "in": list(range(1024))}, 200),
    ("an integer beyond 64 bits", {"field": "n", "eq": 2**70}, 422),
    ("year 1 with an offset", {"field": "t", "gte": "0001-01-01T00:00+01:00"}, 200),
    ("year 9999 with an offset", {"field": "t", "lte": "9999-12-31T23:59-01:00"}, 200),
    ("a lone surrogate", {"field": "tenant", "eq": "\ud800"}, 422),
    ("a NUL in the value", {"field": "tenant", "eq": "acme\x00evil"}, 422),
    ("nested four levels", {"must": [{"must": [{"must": [{"field": "n", "eq": 1}]}]}]}, 200),
]


def post(client: TestClient, path: str, body: Any) -> Any:
    # ensure_ascii: the lone surrogate travels as the JSON escape a client would send.
    payload = json.dumps(body, ensure_ascii=True)
    return client.post(path, content=payload, headers={"content-type": "application/json"})


@pytest.mark.parametrize(("name", "spec", "status"), FILTERS, ids=[f[0] for f in FILTERS])
def test_filter_probes_answer_4xx_or_work_on_every_route(
    client: TestClient, name: str, spec: Any, status: int
) -> None:
    assert post(client, "/documents", {"documents": DOCS}).status_code == 200
    searched = post(client, "/search", {"query": "rivers", "filter": spec})
    batched = post(client, "/search/batch", {"queries": [{"query": "rivers", "filter": spec}]})
    got = client.get("/search", params={"q": "rivers", "filter": json.dumps(spec, ensure_ascii=True)})
    for response in (searched, batched, got):
        assert response.status_code == status, (name, response.text)
        assert response.headers["content-type"] == "application/json"
    if status == 422:
        deleted = post(client, "/documents/delete", {"filter": spec})
        assert deleted.status_code == 422, deleted.text
        updated = post(client, "/documents/update", {"filter": spec, "metadata": {"probe": 1}})
        assert updated.status_code == 422, updated.text
    assert client.get("/stats").json()["documents"] == 2
    assert client.app.state.metrics.unhandled._value.get() == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 2_500 + "]" * 2_500,
        '{"field": "n", "eq": ' + "9" * 5000 + "}",
        '{"field": "n", "eq": 1e999}',
    ],
    ids=["deeply nested arrays", "a 5,000-digit number", "an infinite number"],
)
def test_json_in_a_parameter_or_form_field_that_cannot_be_read_is_422(client: TestClient, raw: str) -> None:
    response = client.get("/search", params={"q": "rivers", "filter": raw})
    assert response.status_code == 422, response.text
    # An upload's metadata field: the nesting and the digits answered 500.
    files = {"files": ("note.txt", b"Rivers and lakes.", "text/plain")}
    uploaded = client.post("/documents/files", files=files, data={"metadata": raw})
    assert uploaded.status_code == 422, uploaded.text
    assert "metadata" in uploaded.json()["detail"]
    assert client.get("/stats").json()["documents"] == 0
    assert client.app.state.metrics.unhandled._value.get() == 0  # type: ignore[attr-defined]


def test_metadata_nested_300_deep_is_refused_not_stored_unreadable(client: TestClient) -> None:
    """It used to be accepted, then every read of it answered 500 (pydantic's serialiser stops at a depth)."""
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(299):
        deep = {"x": deep}
    response = post(client, "/documents", {"documents": [{"id": "deep", "text": "words", "metadata": deep}]})
    assert response.status_code == 422
    assert "deeper than 32" in response.text
    assert client.get("/documents/deep").status_code == 404


def test_a_bug_answers_json_500_with_the_request_id(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last resort: JSON, the request id to report, counted; never plain text."""
    state = client.app.state.semsearch  # type: ignore[attr-defined]

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(state.index, "stats", broken)
    quiet = TestClient(client.app, raise_server_exceptions=False)
    response = quiet.get("/stats", headers={"X-Request-ID": "probe-42"})
    assert response.status_code == 500
    assert response.json() == {
        "detail": "internal error: please report it with the request id",
        "request_id": "probe-42",
    }
    assert client.app.state.metrics.unhandled._value.get() == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", ["\u200b", "\ufeff\u200b", "\u00ad \u2060"])
def test_a_query_or_document_of_invisible_characters_is_422_and_changes_nothing(
    client: TestClient, text: str
) -> None:
    assert client.get("/search", params={"q": text}).status_code == 422
    response = post(client, "/search", {"query": text})
    assert response.status_code == 422
    assert "empty" in response.json()["detail"]
    before = client.get("/stats").json()["documents"]
    assert post(client, "/documents", {"documents": [{"id": "blank", "text": text}]}).status_code == 422
    assert post(client, "/documents", {"documents": [{"id": text, "text": "fine"}]}).status_code == 422
    assert client.get("/stats").json()["documents"] == before
