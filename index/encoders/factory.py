"""Which encoder a setting names: ONNX Runtime (the default, optionally with 8-bit weights), OpenVINO or
torch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from index.encoders.base import DEFAULT_MODEL, Backend, Embedder
from index.encoders.torch_encoder import SentenceTransformerEmbedder


def load_embedder(
    model: str = DEFAULT_MODEL,
    *,
    backend: Backend = "onnx",
    cache_dir: Path | str | None = None,
    batch_size: int = 32,
    threads: int | None = None,
    alone: Callable[[], bool] | None = None,
) -> Embedder:
    """The embedder for ``model`` on ``backend``: ONNX Runtime (exported once into ``cache_dir``, verified
    against torch at every load; ``onnx-int8``: with 8-bit weights, lossy), OpenVINO on the same export
    (``openvino``: bfloat16 where the CPU has it and the probes agree) or sentence-transformers on torch.
    ``threads`` and ``alone``: see :class:`~index.encoders.onnx_encoder.OnnxEmbedder`."""
    if backend == "torch":
        return SentenceTransformerEmbedder(model, batch_size=batch_size)
    if cache_dir is None:
        raise ValueError("the onnx backend needs a cache_dir to keep the exported model in")
    if backend == "openvino":
        from index.encoders.openvino_encoder import OpenVinoEmbedder

        return OpenVinoEmbedder(model, cache_dir, batch_size=batch_size, threads=threads, alone=alone)
    from index.encoders.onnx_encoder import OnnxEmbedder

    int8 = backend == "onnx-int8"
    return OnnxEmbedder(model, cache_dir, batch_size=batch_size, threads=threads, int8=int8, alone=alone)
