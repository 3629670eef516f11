"""POST /v1/embeddings and GET /v1/models in process (the fake embedder: 64 dimensions, 128 words)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import numpy as np
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from index import SearchIndex
from index.encoders.base import DEFAULT_MODEL, named_model_id
from service.app import create_app
from service.routes.embeddings import _readable
from service.settings import Settings
from tests.fakes import FakeEmbedder


def test_texts_are_embedded_as_the_index_embeds_documents(client: TestClient) -> None:
    texts = ["cats purr softly", "dogs bark"]
    body = client.post("/v1/embeddings", json={"input": texts, "model": "default"}).json()
    assert body["object"] == "list"
    assert body["model"] == "fake/bag-of-words"
    assert [item["index"] for item in body["data"]] == [0, 1]
    vectors = np.array([item["embedding"] for item in body["data"]], dtype=np.float32)
    assert np.allclose(vectors, FakeEmbedder().embed_documents(texts), atol=1e-6)
    assert body["usage"] == {"prompt_tokens": 5, "total_tokens": 5}

    packed = client.post(
        "/v1/embeddings",
        json={"input": "cats purr softly", "model": "fake/bag-of-words", "encoding_format": "base64"},
    ).json()
    assert np.allclose(np.frombuffer(base64.b64decode(packed["data"][0]["embedding"]), "<f4"), vectors[0])
    assert [m["id"] for m in client.get("/v1/models").json()["data"]] == ["default", "fake/bag-of-words"]


def test_bad_requests_are_refused_with_the_reason(client: TestClient) -> None:
    cases = [
        ({"input": [], "model": "default"}, 422, "empty"),
        ({"input": ["fine", " "], "model": "default"}, 422, "input[1] is empty"),
        ({"input": ["x"] * 2049, "model": "default"}, 422, "at most 2048"),
        ({"input": "x", "model": "default", "dimensions": 8}, 422, "dimensions must be 64"),
        ({"input": "x", "model": "text-embedding-3-small"}, 404, "no collection uses the model"),
        ({"input": "a\x00b", "model": "default"}, 422, "NUL"),
        ({"input": [[1, 2, 3]], "model": "default"}, 422, ""),
    ]
    for body, status, message in cases:
        response = client.post("/v1/embeddings", json=body)
        assert response.status_code == status, (body, response.text)
        assert message in str(response.json()["detail"])


def test_a_model_name_opens_only_the_collections_of_that_model(
    open_index: Callable[..., SearchIndex], settings: Settings
) -> None:
    """Every collection not open yet was opened to look for a model name no collection uses (a typo, or
    OpenAI's own model names from a client's defaults): one request could open every collection of the data
    directory. Now only those whose settings name the model are opened, and a name no collection uses
    opens none."""
    first = open_index()
    with TestClient(create_app(settings, index=first)) as client:
        for name in ("papers", "notes"):
            assert client.put(f"/collections/{name}").status_code == 201
    first.close()  # a service started again: no collection but the default is open
    with TestClient(create_app(settings, index=open_index())) as client:
        collections = client.app.state.semsearch.collections  # type: ignore[attr-defined]
        assert list(collections.opened()) == ["default"]
        missing = client.post("/v1/embeddings", json={"input": "x", "model": "text-embedding-3-small"})
        assert missing.status_code == 404
        assert list(collections.opened()) == ["default"]


def test_the_default_models_short_name_is_its_id() -> None:
    assert named_model_id("all-MiniLM-L6-v2") == DEFAULT_MODEL == "sentence-transformers/all-MiniLM-L6-v2"
    assert named_model_id(DEFAULT_MODEL) == DEFAULT_MODEL
    assert named_model_id("text-embedding-3-small") == "text-embedding-3-small"


@given(st.lists(st.sampled_from(["word", "  ", "\n", "é", "ab"]), max_size=400).map("".join))
def test_a_text_is_cut_to_what_the_model_reads(text: str) -> None:
    embedder = FakeEmbedder(max_tokens=16)
    (read,), tokens = _readable(embedder, [text])
    assert text.startswith(read)
    assert tokens == min(len(text.split()), 16) == len(read.split())
