"""The ONNX Runtime encoder: the same embeddings as sentence-transformers, without torch on the query path.

The model is exported once into a cache folder (:mod:`index.encoders.onnx_export`). Every load re-embeds the
probe texts with ONNX Runtime and compares them with the torch embeddings recorded at export time; below
:data:`MIN_PROBE_COSINE` the encoder refuses to start, so a model that does not export faithfully is caught
before it writes a single vector. Loading needs only onnxruntime and tokenizers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from numpy.typing import NDArray

from index.cores import usable_cores
from index.encoders.base import ModelLoadError, Vectors, fold_compatibility_forms
from index.encoders.onnx_export import PROBE_TEXTS, ExportInfo, export_folder, quantize, read_info
from index.encoders.packing import pack, pool, row_width
from index.ingest.chunking import Tokenizer

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer as FastTokenizer

log = logging.getLogger(__name__)

MIN_PROBE_COSINE = 0.9999


MIN_INT8_PROBE_COSINE = 0.98

Feeds = dict[str, NDArray[np.int64]]
# One model call: the tokenized batch in, its normalised embeddings out (a packed graph's: every token's
# embedding, which :func:`index.encoders.packing.pool` pools). Safe to call from several threads.
Runner = Callable[[Feeds], NDArray[np.float32]]


class OnnxEmbedder:
    """An :class:`~index.encoders.base.Embedder` that runs an exported model with ONNX Runtime on the
    CPU.

    ``threads`` is ONNX Runtime's intra-op thread count (default: every core) for a call that runs alone:
    no other call of this encoder is running and, if ``alone`` is given, it says so too (the service: no
    other request in flight in any of its processes, service.in_flight). That session's threads spin
    between the model's steps and stop at the call's end, which answers a lone query sooner; spinning would
    take the cores concurrent work needs, so only a call alone gets them. Calls that overlap run on a
    second, single-threaded session instead: on two cores, two queries encoded side by side on one thread
    each get through 35% more than one after the other on two threads. Sessions are safe to call from
    several threads at once; the tokenizer is never reconfigured after loading, so it is too.

    ``int8=True`` runs a copy of the export with its weights quantised to 8 bits (dynamic quantisation,
    made once beside the export): faster, and lossy (the probe check then asks for cosine >=
    :data:`MIN_INT8_PROBE_COSINE`). docs/benchmarks.md has what it costs in retrieval quality.
    """

    runtime: ClassVar[str] = "ONNX Runtime"  # what runs the graph, for messages

    def __init__(
        self,
        model: str,
        cache_dir: Path | str,
        *,
        batch_size: int = 32,
        threads: int | None = None,
        int8: bool = False,
        alone: Callable[[], bool] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._model_id, folder = export_folder(model, Path(cache_dir))
        self._info = read_info(folder)
        graph = folder / "model.onnx"
        if int8:
            graph = folder / "model.int8.onnx"
            if not graph.exists():
                try:
                    quantize(folder / "model.onnx", graph)
                except OSError as error:
                    raise ModelLoadError(
                        f"cannot write the int8 model beside the export in {folder} ({error}); point "
                        "SEMSEARCH_MODEL_CACHE_DIR at a writable folder"
                    ) from error
        self._min_cosine = MIN_INT8_PROBE_COSINE if int8 else MIN_PROBE_COSINE
        self._threads = threads or usable_cores()
        self._alone = alone
        self._running = 0
        self._running_lock = threading.Lock()
        self._batch_size = batch_size
        self._encoder = _load_tokenizer(folder, self._info, pad=self._info.pooling is None)
        self._tokenizer = _TokenCounter(_load_tokenizer(folder, None), self._info)
        self._load(graph, folder)

    def _load(self, graph: Path, folder: Path) -> None:
        """Open the graph for calls that run alone (``_wide``, every thread) and for overlapping ones
        (``_narrow``), and check the probes."""
        self._wide = _session(graph, self._threads)
        self._narrow = _session(graph, 1) if self._threads > 1 else self._wide
        self._verify(folder)

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._info.dim

    @property
    def tokenizer(self) -> Tokenizer:
        return self._tokenizer

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, self._info.document_prompt)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, self._info.query_prompt)

    def _embed(self, texts: Sequence[str], prompt: str) -> Vectors:
        out = np.zeros((len(texts), self._info.dim), dtype=np.float32)
        if not texts:
            return out
        inputs = self._inputs(texts, prompt)
        # Longest first, so that each batch pads to similar lengths (as sentence-transformers does).
        order = np.argsort([-len(text) for text in inputs], kind="stable")
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            out[rows] = self._run([inputs[i] for i in rows])
        return out

    def _inputs(self, texts: Sequence[str], prompt: str) -> list[str]:
        """The texts as the model reads them: after the prompt, stripped (as sentence-transformers does),
        lower-cased if the model is."""
        inputs = [(prompt + text).strip() for text in texts]
        return [text.lower() for text in inputs] if self._info.do_lower_case else inputs

    def _run(self, texts: list[str], capacity: int | None = None) -> NDArray[np.float32]:
        """One model call: ``texts`` padded into a batch, or, for a packed graph, packed into rows of at most
        ``capacity`` tokens (default: :func:`row_width`)."""
        encoded = self._encoder.encode_batch(texts)
        pooling = self._info.pooling
        if pooling is None:
            feeds = {
                "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
            }
            return self._call(feeds)
        token_ids = [e.ids for e in encoded]
        packed = pack(
            token_ids,
            capacity or row_width(token_ids, self._info.max_seq_length),
            pad_id=self._info.pad_id,
            position_offset=self._info.position_offset,
        )
        return pool(self._call(packed.feeds), packed.places, pooling)

    def _call(self, feeds: Feeds) -> NDArray[np.float32]:
        with self._running_lock:
            self._running += 1
            first = self._running == 1
        run = self._wide if first and (self._alone is None or self._alone()) else self._narrow
        try:
            return run({name: feeds[name] for name in self._info.input_names})
        finally:
            with self._running_lock:
                self._running -= 1

    def _verify(self, folder: Path) -> None:
        """Raise :class:`ModelLoadError` unless the probes embed as torch embedded them at export time."""
        cosine, kind = self.probe_cosine()
        if not cosine >= self._min_cosine:
            raise ModelLoadError(
                f"the ONNX export of {self._model_id!r} in {folder} does not reproduce the model in "
                f"{self.runtime}: {kind} probe cosine {cosine:.6f} < {self._min_cosine}. Delete that folder "
                "to export again, or set SEMSEARCH_EMBED_BACKEND=torch to run the model in torch."
            )

    def probe_cosine(self) -> tuple[float, str]:
        """The lowest cosine between the probes' embeddings here and torch's, and of which kind (a packed
        graph's queries both packed in one row and one to a row, padded)."""
        probes = list(PROBE_TEXTS)
        checks = [
            ("query", self.embed_queries(probes), self._info.probe_queries),
            ("document", self.embed_documents(probes), self._info.probe_documents),
        ]
        if self._info.pooling is not None:
            prompted = self._inputs(probes, self._info.query_prompt)
            longest = max(len(e.ids) for e in self._encoder.encode_batch(prompted))
            checks.append(("query", self._run(prompted, capacity=longest), self._info.probe_queries))
        found = []
        for kind, got, expected in checks:
            cosine = np.min(np.sum(got * np.asarray(expected, dtype=np.float32), axis=1))
            found.append((float(np.nan_to_num(cosine, nan=-1.0)), kind))  # a NaN is as bad as it gets
        return min(found)


class _TokenCounter:
    """The chunker's view of the model's tokenizer: no truncation, no padding, no special tokens."""

    def __init__(self, tokenizer: FastTokenizer, info: ExportInfo) -> None:
        self._tokenizer = tokenizer
        self._lower = info.do_lower_case
        prompts = [p for p in (info.query_prompt, info.document_prompt) if p]
        prompt_tokens = max(self.count_tokens(prompts), default=0)
        self._max_tokens = info.max_seq_length - info.special_tokens - prompt_tokens

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        inputs = [t.lower() for t in texts] if self._lower else list(texts)
        return [len(e.ids) for e in self._tokenizer.encode_batch(inputs, add_special_tokens=False)]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        # Lower-casing can change a string's length (rarely: "İ"); spans are then of the original text.
        encoded = self._tokenizer.encode(text, add_special_tokens=False)
        return [(int(start), int(end)) for start, end in encoded.offsets]


def _session(path: Path, threads: int) -> Runner:
    session = _ort_session(path, threads)

    def run(feeds: Feeds) -> NDArray[np.float32]:
        (vectors,) = session.run(None, feeds)
        return np.asarray(vectors, dtype=np.float32)

    return run


def session_options(threads: int) -> onnxruntime.SessionOptions:
    """ONNX Runtime's options for a session of ``threads`` threads. With more than one, the pool's threads
    spin while a call runs, between the model's steps, instead of sleeping until woken for each, and stop
    at its end (``force_spinning_stop``): a lone query's encoding took 4.7 ms against 5.8 on two cores
    (docs/benchmarks.md, "A lone search on every core"). Only a call that runs alone gets such a session
    (:meth:`OnnxEmbedder._call`): spinning beside concurrent work took the core a concurrent query, FAISS
    or the HTTP server needed (12-30% fewer searches/s at 8 clients)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if threads > 1 else "0")
    options.add_session_config_entry("session.force_spinning_stop", "1")
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def _ort_session(path: Path, threads: int) -> onnxruntime.InferenceSession:
    import onnxruntime

    options = session_options(threads)
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for unreadable graphs
        raise ModelLoadError(
            f"cannot load the ONNX model {path} ({error}); delete its folder to export again"
        ) from error


def _load_tokenizer(folder: Path, encoding: ExportInfo | None, *, pad: bool = True) -> FastTokenizer:
    """The exported tokenizer: bare for counting, or truncating (and padding, unless the graph is packed) as
    the model reads text."""
    from tokenizers import Tokenizer as FastTokenizer

    tokenizer = FastTokenizer.from_file(str(folder / "tokenizer.json"))
    fold_compatibility_forms(tokenizer)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    if encoding is not None:
        tokenizer.enable_truncation(encoding.max_seq_length)
        if pad:
            tokenizer.enable_padding(pad_id=encoding.pad_id, pad_token=encoding.pad_token)
    return tokenizer
