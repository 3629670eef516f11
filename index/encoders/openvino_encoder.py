"""The OpenVINO encoder: the ONNX export run by OpenVINO's CPU plugin, in bfloat16 where the CPU has it.

The same export, tokenizer and probe check as :mod:`index.encoders.onnx_encoder`; only the runtime
differs. On a CPU with native bfloat16 arithmetic (AVX512-BF16, AMX) OpenVINO runs the matrix
multiplications in bfloat16: on the AMX machines measured SciFact abstracts embedded 3.2-3.7x faster than
in ONNX Runtime (``bench/embed_throughput.py``), and on the second one the service answered 22% more
searches at 8 clients (``bench/peer_comparison.py``; docs/benchmarks.md, "The backend by machine"), at a
cosine to torch of 0.99997. So it is what ``auto`` runs on a CPU with AMX (index.encoders.factory),
installed with the ``openvino`` extra. The probes decide the arithmetic: if bfloat16 does not reproduce
torch's embeddings to :data:`~index.encoders.onnx_encoder.MIN_PROBE_COSINE`, the model is compiled again
in float32, and on a CPU without bfloat16 it is float32 from the start.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from numpy.typing import NDArray

from index.cores import usable_cores
from index.encoders.base import ModelLoadError
from index.encoders.onnx_encoder import Feeds, OnnxEmbedder, Runner

if TYPE_CHECKING:
    import openvino

log = logging.getLogger(__name__)


class OpenVinoEmbedder(OnnxEmbedder):
    """An :class:`~index.encoders.base.Embedder` that runs the ONNX export with OpenVINO on the CPU.

    As in :class:`~index.encoders.onnx_encoder.OnnxEmbedder`, a call that runs alone gets ``threads``
    (default: every core) and calls that overlap get one each (here: a second compiled model, with one
    stream per core). :attr:`precision` says which arithmetic the probes accepted: ``"bf16"`` or ``"f32"``.
    """

    runtime: ClassVar[str] = "OpenVINO"
    precision: str = "f32"

    def _load(self, graph: Path, folder: Path) -> None:
        try:
            import openvino
        except ImportError as error:
            raise ModelLoadError(
                "SEMSEARCH_EMBED_BACKEND=openvino needs the openvino package: "
                "pip install 'semsearch[openvino]'"
            ) from error
        core = openvino.Core()
        try:
            model = core.read_model(str(graph))
            capabilities = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        except Exception as error:  # OpenVINO raises RuntimeError subclasses of its own for unreadable graphs
            raise ModelLoadError(
                f"OpenVINO cannot load {graph} ({error}); delete its folder to export again"
            ) from error
        for precision in ("bf16", "f32") if "BF16" in capabilities else ("f32",):
            self.precision = precision
            self._wide = _compiled(core, model, precision, threads=self._threads, streams=1)
            # One stream per core, of one thread each: a compiled model runs one call per stream at a time,
            # so with fewer streams overlapping calls would queue (ONNX Runtime runs them on their callers).
            cores = usable_cores()
            self._narrow = (
                _compiled(core, model, precision, threads=cores, streams=cores) if cores > 1 else self._wide
            )
            cosine, kind = self.probe_cosine()
            if cosine >= self._min_cosine:
                log.info(
                    "OpenVINO runs %s in %s (probe cosine to torch %.6f)", self.model_id, precision, cosine
                )
                return
            log.warning(
                "OpenVINO in %s gives %s probe cosine %.6f to torch, under %s: trying float32",
                precision,
                kind,
                cosine,
                self._min_cosine,
            )
        self._verify(folder)  # float32 failed too: refuse to start, saying why


def _compiled(
    core: openvino.Core, model: openvino.Model, precision: str, *, threads: int, streams: int
) -> Runner:
    """A runner over ``model`` compiled for the CPU: ``streams`` calls at once on ``threads`` threads in all.

    An infer request holds its own buffers and is not safe to share between threads, so each calling
    thread gets one of its own; the compiled model is shared.
    """
    config = {
        "INFERENCE_PRECISION_HINT": precision,
        "INFERENCE_NUM_THREADS": threads,
        "NUM_STREAMS": streams,
        # Threads float, as ONNX Runtime's do: the HTTP server, FAISS and the other stream share the cores.
        "ENABLE_CPU_PINNING": False,
    }
    try:
        compiled = core.compile_model(model, "CPU", config)
    except Exception as error:  # OpenVINO's own RuntimeError subclasses: a graph its CPU plugin cannot run
        raise ModelLoadError(f"OpenVINO cannot compile the model in {precision} ({error})") from error
    local = threading.local()

    def run(feeds: Feeds) -> NDArray[np.float32]:
        request = getattr(local, "request", None)
        if request is None:
            request = local.request = compiled.create_infer_request()
        outputs = request.infer(feeds)
        # A copy: the request writes its next call's output into the same buffer.
        return np.array(outputs[0], dtype=np.float32)

    return run
