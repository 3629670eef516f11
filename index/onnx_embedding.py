"""The ONNX Runtime encoder: the same embeddings as sentence-transformers, without torch on the query path.

A sentence-transformers model is exported once, locally (never from a hub), into a cache folder::

    <cache_dir>/<model key>/model.onnx       the whole model: transformer, pooling, normalisation
    <cache_dir>/<model key>/tokenizer.json   its fast tokenizer
    <cache_dir>/<model key>/export.json      prompts, sequence length, and torch's embeddings of a probe

Every load re-embeds the probe texts with ONNX Runtime and compares them with the torch embeddings recorded
at export time; below :data:`MIN_PROBE_COSINE` the encoder refuses to start, so a model that does not export
faithfully is caught before it writes a single vector. Loading needs only onnxruntime and tokenizers; torch
and sentence-transformers are imported only to export.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from index.chunking import Tokenizer
from index.embedding import ModelLoadError, Vectors, resolve_model

if TYPE_CHECKING:
    import onnxruntime
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer as FastTokenizer

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1
MIN_PROBE_COSINE = 0.9999
MIN_INT8_PROBE_COSINE = 0.98
ONNX_OPSET = 17
PROBE_TEXTS = (
    "How do vaccines train the immune system?",
    "Semantic search returns the paragraphs that mean the same thing as the query, not only the ones that "
    "share its words. Café, naïve, Straße and 東京 are tokenised too; numbers like 3.14 and 2026 as well.",
)
_DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus")  # sentence-transformers' encode_document order


@dataclass(frozen=True)
class ExportInfo:
    """What the runtime needs besides the graph and the tokenizer (``export.json``)."""

    format: int
    model_id: str
    dim: int
    max_seq_length: int
    special_tokens: int
    do_lower_case: bool
    input_names: list[str]
    pad_id: int
    pad_token: str
    query_prompt: str
    document_prompt: str
    probe_queries: list[list[float]]
    probe_documents: list[list[float]]
    exported_with: dict[str, str]


def export_model(model: str, destination: Path) -> ExportInfo:
    """Export the sentence-transformers ``model`` (name or path) to ONNX in ``destination`` (created).

    Needs torch, sentence-transformers and onnx. Raises :class:`ModelLoadError` if the model cannot be
    loaded or has parts that run outside its forward pass (pooling that drops prompt tokens, routers).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    model_id, source = resolve_model(model)
    try:
        st_model = SentenceTransformer(source, device="cpu")
    except Exception as error:
        raise ModelLoadError(f"cannot load the model {model!r} to export it: {error}") from error
    _check_exportable(st_model, model)
    hf_tokenizer = st_model.tokenizer
    input_names = [name for name in hf_tokenizer.model_input_names if name != "prompt_length"]
    dim = int(st_model.get_embedding_dimension() or 0)

    class _Forward(torch.nn.Module):
        def __init__(self, inner: SentenceTransformer) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            features = dict(zip(input_names, inputs, strict=True))
            embedding: torch.Tensor = self.inner(features)["sentence_embedding"]
            return torch.nn.functional.normalize(embedding, p=2.0, dim=1)

    sample = hf_tokenizer(list(PROBE_TEXTS), padding=True, return_tensors="pt")
    destination.mkdir(parents=True, exist_ok=True)
    axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    # The tracer warns about shape checks it freezes (padding, mask sizes); the probes verify the result.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Forward(st_model).eval(),
            tuple(sample[name] for name in input_names),
            str(destination / "model.onnx"),
            input_names=input_names,
            output_names=["sentence_embedding"],
            dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    (destination / "tokenizer.json").write_text(hf_tokenizer.backend_tokenizer.to_str(), encoding="utf-8")
    probes = list(PROBE_TEXTS)
    first = st_model[0]
    info = ExportInfo(
        format=EXPORT_FORMAT,
        model_id=model_id,
        dim=dim,
        max_seq_length=int(st_model.get_max_seq_length() or hf_tokenizer.model_max_length),
        special_tokens=int(hf_tokenizer.num_special_tokens_to_add(pair=False)),
        do_lower_case=bool(getattr(first, "do_lower_case", False)),
        input_names=input_names,
        pad_id=int(hf_tokenizer.pad_token_id or 0),
        pad_token=str(hf_tokenizer.pad_token or "[PAD]"),
        query_prompt=_prompt(st_model, ("query",)),
        document_prompt=_prompt(st_model, _DOCUMENT_PROMPT_NAMES),
        probe_queries=_as_lists(st_model.encode_query(probes, normalize_embeddings=True)),
        probe_documents=_as_lists(st_model.encode_document(probes, normalize_embeddings=True)),
        exported_with={
            "torch": torch.__version__,
            "sentence_transformers": sentence_transformers.__version__,
        },
    )
    (destination / "export.json").write_text(json.dumps(asdict(info), indent=1) + "\n", encoding="utf-8")
    return info


class OnnxEmbedder:
    """An :class:`~index.embedding.Embedder` that runs an exported model with ONNX Runtime on the CPU.

    ``threads`` is ONNX Runtime's intra-op thread count (default: every core) for a call that runs alone.
    Calls that overlap run on a second, single-threaded session instead: on two cores, two queries encoded
    side by side on one thread each get through 35% more than one after the other on two threads, while a
    lone query still gets every core. Sessions are safe to call from several threads at once; the tokenizer
    is never reconfigured after loading, so it is too.

    ``int8=True`` runs a copy of the export with its weights quantised to 8 bits (dynamic quantisation,
    made once beside the export): faster, and lossy (the probe check then asks for cosine >=
    :data:`MIN_INT8_PROBE_COSINE`). docs/benchmarks.md has what it costs in retrieval quality.
    """

    def __init__(
        self,
        model: str,
        cache_dir: Path | str,
        *,
        batch_size: int = 32,
        threads: int | None = None,
        int8: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._model_id, source = resolve_model(model)
        folder = Path(cache_dir) / model_cache_key(self._model_id, source)
        if not (folder / "export.json").exists():
            _export_atomically(model, folder)
        self._info = _read_info(folder)
        graph = folder / "model.onnx"
        if int8:
            graph = folder / "model.int8.onnx"
            if not graph.exists():
                try:
                    _quantize(folder / "model.onnx", graph)
                except OSError as error:
                    raise ModelLoadError(
                        f"cannot write the int8 model beside the export in {folder} ({error}); point "
                        "SEMSEARCH_MODEL_CACHE_DIR at a writable folder"
                    ) from error
        self._min_cosine = MIN_INT8_PROBE_COSINE if int8 else MIN_PROBE_COSINE
        wide = threads or os.cpu_count() or 1
        self._wide = _session(graph, wide)
        self._narrow = _session(graph, 1) if wide > 1 else self._wide
        self._running = 0
        self._running_lock = threading.Lock()
        self._batch_size = batch_size
        self._encoder = _load_tokenizer(folder, self._info)
        self._tokenizer = _TokenCounter(_load_tokenizer(folder, None), self._info)
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
        inputs = [(prompt + text).strip() for text in texts]  # sentence-transformers strips too
        if self._info.do_lower_case:
            inputs = [text.lower() for text in inputs]
        # Longest first, so that each batch pads to similar lengths (as sentence-transformers does).
        order = np.argsort([-len(text) for text in inputs], kind="stable")
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            out[rows] = self._run([inputs[i] for i in rows])
        return out

    def _run(self, texts: list[str]) -> NDArray[np.float32]:
        encoded = self._encoder.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        with self._running_lock:
            self._running += 1
            session = self._wide if self._running == 1 else self._narrow
        try:
            (vectors,) = session.run(None, {name: feeds[name] for name in self._info.input_names})
        finally:
            with self._running_lock:
                self._running -= 1
        return np.asarray(vectors, dtype=np.float32)

    def _verify(self, folder: Path) -> None:
        probes = list(PROBE_TEXTS)
        for kind, got, expected in (
            ("query", self.embed_queries(probes), self._info.probe_queries),
            ("document", self.embed_documents(probes), self._info.probe_documents),
        ):
            cosine = float(np.min(np.sum(got * np.asarray(expected, dtype=np.float32), axis=1)))
            if not cosine >= self._min_cosine:
                raise ModelLoadError(
                    f"the ONNX export of {self._model_id!r} in {folder} does not reproduce the model: "
                    f"{kind} probe cosine {cosine:.6f} < {self._min_cosine}. Delete that folder to export "
                    "again, or set SEMSEARCH_EMBED_BACKEND=torch to run the model in torch."
                )


def model_cache_key(model_id: str, source: str) -> str:
    """A folder name that changes when the model's files do.

    Small files are hashed whole; large ones (weights) by size and three sampled blocks, which any change
    of weights reaches, so that the key costs milliseconds, and survives copies that reset modification times.
    """
    digest = hashlib.sha256(f"{EXPORT_FORMAT}\0{model_id}".encode())
    path = Path(source)
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(f"\0{file.relative_to(path)}\0".encode())
            digest.update(_file_sample(file))
    readable = "".join(c if c.isalnum() else "-" for c in Path(model_id).name)[:48]
    return f"{readable}-{digest.hexdigest()[:16]}"


def _file_sample(file: Path, block: int = 1 << 20) -> bytes:
    size = file.stat().st_size
    with file.open("rb") as handle:
        if size <= 4 * block:
            return handle.read()
        parts = [str(size).encode()]
        for offset in (0, size // 2, size - block):
            handle.seek(offset)
            parts.append(handle.read(block))
    return b"\0".join(parts)


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


def _check_exportable(model: SentenceTransformer, name: str) -> None:
    for module in model:
        kind = type(module).__name__
        if kind == "Router" or (kind == "Pooling" and not getattr(module, "include_prompt", True)):
            raise ModelLoadError(
                f"the model {name!r} has a {kind} module that runs outside its forward pass, which the "
                "ONNX export does not reproduce; set SEMSEARCH_EMBED_BACKEND=torch for this model"
            )


def _prompt(model: SentenceTransformer, names: Sequence[str]) -> str:
    """The prompt sentence-transformers' encode_query/encode_document would put in front of the text."""
    prompts = model.prompts or {}
    for name in names:
        if name in prompts:
            return prompts[name] or ""
    default = model.default_prompt_name
    return (prompts.get(default) or "") if default else ""


def _as_lists(vectors: Any) -> list[list[float]]:
    return [[float(x) for x in row] for row in np.asarray(vectors, dtype=np.float32)]


def _export_atomically(model: str, folder: Path) -> None:
    """Export into a scratch folder beside ``folder`` and rename it into place (another process may race)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    log.info("exporting %s to ONNX in %s (once per model)", model, folder)
    scratch = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    scratch.chmod(0o755)  # mkdtemp's 0700 would hide the export from other users (a container's service user)
    try:
        try:
            export_model(model, scratch)
        except ModelLoadError:
            raise
        except Exception as error:  # torch.onnx raises many kinds; the message is what matters
            raise ModelLoadError(
                f"cannot export {model!r} to ONNX ({type(error).__name__}: {error}); "
                "set SEMSEARCH_EMBED_BACKEND=torch to run it in torch instead"
            ) from error
        try:
            scratch.rename(folder)
        except OSError:
            if not (folder / "export.json").exists():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log.info("exported %s to ONNX in %.1f s", model, time.perf_counter() - started)


def _quantize(source: Path, target: Path) -> None:
    """Dynamic 8-bit quantisation of the matrix multiplications' weights, per channel (activations are
    quantised on the fly), written aside and renamed. Per channel keeps the probe cosine near 0.99; per
    tensor, as ONNX Runtime does by default, drops it to 0.93."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    scratch = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        quantize_dynamic(
            str(source),
            str(scratch),
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            reduce_range=True,
            weight_type=QuantType.QUInt8,
        )
        os.replace(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)


def _read_info(folder: Path) -> ExportInfo:
    try:
        info = ExportInfo(**json.loads((folder / "export.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as error:
        raise ModelLoadError(
            f"the ONNX export in {folder} is unreadable ({error}); delete the folder to export again"
        ) from error
    if info.format != EXPORT_FORMAT:
        raise ModelLoadError(
            f"the ONNX export in {folder} has format {info.format}; delete it to export again"
        )
    return info


def _session(path: Path, threads: int) -> onnxruntime.InferenceSession:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    # Idle pool threads sleep instead of spinning: spinning saves ~1 ms on a lone query but burns the core
    # that a concurrent query, FAISS or the HTTP server needs (30% fewer queries/s at 8 clients here).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for unreadable graphs
        raise ModelLoadError(
            f"cannot load the ONNX model {path} ({error}); delete its folder to export again"
        ) from error


def _load_tokenizer(folder: Path, encoding: ExportInfo | None) -> FastTokenizer:
    """The exported tokenizer: bare for counting, or truncating and padding as the model reads text."""
    from tokenizers import Tokenizer as FastTokenizer

    tokenizer = FastTokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    if encoding is not None:
        tokenizer.enable_truncation(encoding.max_seq_length)
        tokenizer.enable_padding(pad_id=encoding.pad_id, pad_token=encoding.pad_token)
    return tokenizer
