"""Which encoder a setting names: ONNX Runtime (optionally with 8-bit weights), OpenVINO or torch, or the
fastest of them that reproduces torch's embeddings on this machine (``auto``)."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from pathlib import Path

from index.cores import cpu_flags
from index.encoders.base import DEFAULT_MODEL, Backend, Embedder, ModelLoadError
from index.encoders.torch_encoder import SentenceTransformerEmbedder

log = logging.getLogger(__name__)

# The CPU flag of AMX's bfloat16 matrix units (Intel Xeon from Sapphire Rapids on).
AMX_BFLOAT16 = "amx_bf16"


def resolve_backend(backend: Backend) -> Backend:
    """The backend ``auto`` stands for here: OpenVINO in bfloat16 on a CPU with AMX, where it is installed
    (the ``openvino`` extra), and ONNX Runtime elsewhere. On an AMX machine OpenVINO in bfloat16 embedded
    documents 3.2x as fast and answered 22% more uncached searches at 8 clients, a lone one 11% sooner, at
    a cosine of 0.99997 to torch; on CPUs with bfloat16 arithmetic but no AMX (AMD Zen 4 and 5) it gave
    queries nothing, and without bfloat16 it is slower (docs/benchmarks.md, "OpenVINO in bfloat16" and
    "The backend by machine"). Any other backend is itself."""
    if backend != "auto":
        return backend
    if AMX_BFLOAT16 in cpu_flags() and importlib.util.find_spec("openvino") is not None:
        return "openvino"
    return "onnx"


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
    (``openvino``: bfloat16 where the CPU has it and the probes agree), sentence-transformers on torch, or
    ``auto`` (:func:`resolve_backend`; if OpenVINO cannot load the model, or only in float32, ONNX Runtime).
    ``threads`` and ``alone``: see :class:`~index.encoders.onnx_encoder.OnnxEmbedder`."""
    chosen = resolve_backend(backend)
    if chosen == "torch":
        return SentenceTransformerEmbedder(model, batch_size=batch_size)
    if cache_dir is None:
        raise ValueError("the onnx backend needs a cache_dir to keep the exported model in")
    if chosen == "openvino":
        from index.encoders.openvino_encoder import OpenVinoEmbedder

        try:
            embedder = OpenVinoEmbedder(model, cache_dir, batch_size=batch_size, threads=threads, alone=alone)
        except ModelLoadError as error:
            if backend != "auto":
                raise
            log.warning("OpenVINO cannot run %s here (%s): running it with ONNX Runtime", model, error)
        else:
            if backend != "auto" or embedder.precision == "bf16":
                return embedder
            log.info("OpenVINO runs %s in float32 only here: running it with ONNX Runtime", model)
    from index.encoders.onnx_encoder import OnnxEmbedder

    int8 = chosen == "onnx-int8"
    return OnnxEmbedder(model, cache_dir, batch_size=batch_size, threads=threads, int8=int8, alone=alone)
