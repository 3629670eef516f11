"""The OpenVINO encoder runs the same export as ONNX Runtime (its embeddings against torch's are tested with
ONNX Runtime's, in test_onnx.py): bfloat16 only where the probes accept it, and the same answers whether
calls overlap or not."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from index import Embedder, ModelLoadError, load_embedder
from index.encoders import factory, onnx_encoder
from index.encoders.base import DEFAULT_MODEL
from index.encoders.factory import resolve_backend
from index.encoders.openvino_encoder import OpenVinoEmbedder

pytestmark = pytest.mark.integration


def test_overlapping_calls_give_what_calls_one_at_a_time_give(
    openvino_embedder: OpenVinoEmbedder, article: str
) -> None:
    """Overlapping calls run on the one-thread-per-stream model, each thread with its own infer request:
    no thread may read another's output buffer."""
    paragraphs = [p for p in article.split("\n\n") if p.strip()][:16]
    texts = [f"{paragraph} ({n})" for n, paragraph in enumerate(paragraphs)]
    alone = openvino_embedder.embed_queries(texts)
    got: dict[int, np.ndarray] = {}
    start = threading.Barrier(4)

    def embed(worker: int) -> None:
        start.wait()
        for _ in range(3):
            for row in range(worker, len(texts), 4):
                got[row] = openvino_embedder.embed_queries([texts[row]])[0]

    threads = [threading.Thread(target=embed, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    overlapped = np.stack([got[row] for row in range(len(texts))])
    # The same arithmetic on one or two threads: equal up to the order of float additions.
    assert np.min(np.sum(overlapped * alone, axis=1)) >= 0.9999
    # Every row is its own text's embedding, not a neighbour's.
    assert np.array_equal(np.argmax(overlapped @ alone.T, axis=1), np.arange(len(texts)))


def test_bfloat16_gives_way_to_float32_when_the_probes_ask_for_more(
    model_cache: Path,
    openvino_embedder: OpenVinoEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """bfloat16 keeps about three significant digits: a bound it cannot meet (cosine 0.999999) leaves
    float32, which meets it. Float32 failing too is the export's fault, refused as for ONNX Runtime."""
    assert openvino_embedder.precision in {"bf16", "f32"}
    monkeypatch.setattr(onnx_encoder, "MIN_PROBE_COSINE", 0.999999)
    with caplog.at_level(logging.WARNING, logger="index.encoders.openvino_encoder"):
        strict = OpenVinoEmbedder(DEFAULT_MODEL, model_cache)
    assert strict.precision == "f32"
    assert strict.probe_cosine()[0] >= 0.999999
    if openvino_embedder.precision == "bf16":  # a CPU with bfloat16: it was tried first, and said so
        assert "trying float32" in caplog.text

    monkeypatch.setattr(onnx_encoder, "MIN_PROBE_COSINE", 1.5)
    with pytest.raises(ModelLoadError, match=r"does not reproduce the model in OpenVINO"):
        OpenVinoEmbedder(DEFAULT_MODEL, model_cache)


def test_without_openvino_installed_the_backend_says_how_to_get_it(
    model_cache: Path, real_embedder: Embedder
) -> None:
    """As in the image, which leaves the openvino extra out: the backend refuses with the fix, not an
    ImportError (the service answers a collection that asks for it with a 422)."""
    program = (
        "import sys\n"
        "sys.modules['openvino'] = None\n"
        "from index import ModelLoadError, load_embedder\n"
        "try:\n"
        f"    load_embedder(backend='openvino', cache_dir={str(model_cache)!r})\n"
        "except ModelLoadError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "SEMSEARCH_EMBED_BACKEND=openvino needs the openvino package: pip install 'semsearch[openvino]'"
    )


@pytest.mark.parametrize(
    ("flags", "installed", "expected"),
    [
        ({"avx512f", "amx_bf16"}, True, "openvino"),
        ({"avx512f", "amx_bf16"}, False, "onnx"),  # the image: no openvino
        ({"avx512f", "avx512_bf16"}, True, "onnx"),  # bfloat16 arithmetic without AMX (AMD Zen 4 and 5)
        (set(), True, "onnx"),
    ],
)
def test_auto_is_openvino_on_a_cpu_with_amx_where_it_is_installed(
    flags: set[str], installed: bool, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(factory, "cpu_flags", lambda: frozenset(flags))
    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name: (found(name) if installed else None) if name == "openvino" else found(name),
    )
    assert resolve_backend("auto") == expected
    for backend in ("onnx", "onnx-int8", "openvino", "torch"):
        assert resolve_backend(backend) == backend


def test_auto_runs_onnx_runtime_where_openvino_cannot_run_the_model_in_bfloat16(
    model_cache: Path,
    openvino_embedder: OpenVinoEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``auto`` on an AMX machine: OpenVINO when it runs the model in bfloat16 within the probes' bound,
    else ONNX Runtime (float32 on OpenVINO is no faster); a backend asked for by name is not replaced."""
    bfloat16_here = openvino_embedder.precision == "bf16"  # what the probes accepted on this CPU
    monkeypatch.setattr(factory, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    chosen = load_embedder(backend="auto", cache_dir=model_cache)
    assert type(chosen) is (OpenVinoEmbedder if bfloat16_here else onnx_encoder.OnnxEmbedder)
    monkeypatch.setattr(onnx_encoder, "MIN_PROBE_COSINE", 0.999999)  # bfloat16 cannot meet it
    with caplog.at_level(logging.INFO, logger="index.encoders.factory"):
        assert type(load_embedder(backend="auto", cache_dir=model_cache)) is onnx_encoder.OnnxEmbedder
    if bfloat16_here:
        assert "in float32 only here: running it with ONNX Runtime" in caplog.text
    assert type(load_embedder(backend="openvino", cache_dir=model_cache)) is OpenVinoEmbedder


def test_auto_runs_onnx_runtime_where_openvino_fails_to_load(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object) -> None:
        raise ModelLoadError("OpenVINO cannot compile the model in bf16 (a plugin error)")

    monkeypatch.setattr(factory, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    monkeypatch.setattr(OpenVinoEmbedder, "_load", broken)
    with caplog.at_level(logging.WARNING, logger="index.encoders.factory"):
        assert type(load_embedder(backend="auto", cache_dir=model_cache)) is onnx_encoder.OnnxEmbedder
    assert "OpenVINO cannot run" in caplog.text
    assert "a plugin error" in caplog.text
    with pytest.raises(ModelLoadError, match="a plugin error"):
        load_embedder(backend="openvino", cache_dir=model_cache)
