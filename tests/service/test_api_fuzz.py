"""Arbitrary request bodies and parameters never produce a 5xx (a bounded number of cases, in process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index import SearchIndex
from service.app import create_app
from service.settings import Settings

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
search_like = st.fixed_dictionaries(
    {"query": st.text(max_size=40)},
    optional={
        "k": json_values,
        "offset": json_values,
        "mode": st.sampled_from(["dense", "keyword", "hybrid", "x"]),
        "fusion": st.sampled_from(["rrf", "blend", 1]),
        "weight": json_values,
        "group_by": st.sampled_from(["chunk", "document", None]),
        "filter": json_values,
        "min_score": json_values,
    },
)
document_like = st.fixed_dictionaries(
    {"id": st.text(max_size=12), "text": st.text(max_size=80)},
    optional={"title": json_values, "metadata": json_values},
)

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from index import Document
    from tests.fakes import FakeEmbedder

    data = tmp_path_factory.mktemp("fuzz")
    index = SearchIndex.open(data / "data", FakeEmbedder())
    index.upsert(
        [Document("a", "Cats sleep a lot.", metadata={"n": 1, "tags": ["x"]}), Document("b", "Dogs bark.")]
    )
    with TestClient(
        create_app(Settings(data_dir=data / "data", seed_demo=False), index=index)
    ) as test_client:
        yield test_client
    index.close()


def no_server_error(response: Any) -> None:
    assert response.status_code < 500, response.text


@FUZZ
@given(body=search_like | json_values)
def test_post_search(client: TestClient, body: Any) -> None:
    no_server_error(client.post("/search", json=body))


@FUZZ
@given(queries=st.lists(search_like, max_size=4))
def test_batch_search(client: TestClient, queries: list[Any]) -> None:
    no_server_error(client.post("/search/batch", json={"queries": queries}))


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["q", "k", "offset", "mode", "filter", "min_score"]), st.text(max_size=20)
    )
)
def test_get_search(client: TestClient, params: dict[str, str]) -> None:
    no_server_error(client.get("/search", params=params))


@FUZZ
@given(documents=st.lists(document_like, max_size=3), deletion=json_values)
def test_document_writes(client: TestClient, documents: list[Any], deletion: Any) -> None:
    no_server_error(client.post("/documents", json={"documents": documents}))
    no_server_error(client.post("/documents/delete", json={"filter": deletion}))
    client.post("/documents", json={"documents": [{"id": "a", "text": "Cats sleep a lot."}]})


@FUZZ
@given(doc_id=st.text(max_size=20))
def test_document_paths(client: TestClient, doc_id: str) -> None:
    path = "/documents/" + quote(doc_id, safe="")
    no_server_error(client.get(path))
    no_server_error(client.delete(path))
