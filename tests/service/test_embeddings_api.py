"""POST /v1/embeddings and GET /v1/models in process (the fake embedder: 64 dimensions, 128 words)."""

from __future__ import annotations

import base64

import numpy as np
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from service.routes.embeddings import _readable
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


@given(st.lists(st.sampled_from(["word", "  ", "\n", "é", "ab"]), max_size=400).map("".join))
def test_a_text_is_cut_to_what_the_model_reads(text: str) -> None:
    embedder = FakeEmbedder(max_tokens=16)
    (read,), tokens = _readable(embedder, [text])
    assert text.startswith(read)
    assert tokens == min(len(text.split()), 16) == len(read.split())
