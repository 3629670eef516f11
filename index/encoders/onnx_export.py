"""Exporting a sentence-transformers model to ONNX, once, locally (never from a hub), into a cache folder::

    <cache_dir>/<model key>/model.onnx       the transformer (packed), or the whole model
    <cache_dir>/<model key>/tokenizer.json   its fast tokenizer
    <cache_dir>/<model key>/export.json      prompts, sequence length, pooling, torch's embeddings of a probe

A model that is a transformer, mean or CLS pooling and normalisation (all-MiniLM-L6-v2 and most
sentence-transformers models) is exported **packed**: one sequence may hold several texts, each attending
only to its own tokens (a mask made from segment ids) with its own positions, and the graph returns every
token's embedding, which the runtime pools per text (:mod:`index.encoders.packing`). Short texts then share
a model call without padding: queries encoded together cost up to 30% less each than in a padded batch,
ingest a fifth less (bench/packing.py, docs/benchmarks.md). The packed graph is checked against the model in
torch before it is written; a model it does not reproduce (other pooling, extra layers, a transformer that
takes no positions or no 4-D mask) is exported whole, as before.

torch and sentence-transformers are imported only here, and only to export; the runtime
(:mod:`index.encoders.onnx_encoder`) needs onnxruntime and tokenizers alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.encoders.base import DEFAULT_MODEL, ModelLoadError, resolve_model
from index.encoders.packing import pack, pool

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

# 2: attention exported eagerly (bench/onnx_graph.py: 16% faster queries, 26% faster documents than SDPA's).
# 3: packed where the model allows it (see above).
EXPORT_FORMAT = 3

# The pooling a packed graph leaves to the runtime: sentence-transformers' mode names.
POOLINGS = ("mean", "cls")
# A packed graph is exported only if, in torch, it gives the whole model's embeddings to this cosine.
PACKED_MIN_COSINE = 0.99999


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
    # Set for a packed graph: how its token embeddings are pooled, and the position of a text's first token.
    pooling: str | None = None
    position_offset: int = 0


def export_model(model: str, destination: Path, *, packed: bool = True) -> ExportInfo:
    """Export the sentence-transformers ``model`` (name or path) to ONNX in ``destination`` (created):
    packed where it can be (and ``packed``), whole otherwise.

    Needs torch, sentence-transformers and onnx. Raises :class:`ModelLoadError` if the model cannot be
    loaded or has parts that run outside its forward pass (pooling that drops prompt tokens, routers).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    model_id, source = resolve_model(model)
    try:
        # Eager attention exports as plain MatMul/Softmax, which ONNX Runtime runs faster than the graph
        # torch's default attention (SDPA) exports to; the transformer optimizer's fused Attention on top of
        # it gained nothing more for queries (bench/onnx_graph.py, docs/benchmarks.md).
        st_model = SentenceTransformer(source, device="cpu", model_kwargs={"attn_implementation": "eager"})
    except Exception:  # a model whose code takes no attention choice
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

    destination.mkdir(parents=True, exist_ok=True)
    padded = hf_tokenizer(list(PROBE_TEXTS), padding=True, return_tensors="pt")
    whole = _Forward(st_model).eval()
    with torch.no_grad():
        reference = whole(*(padded[name] for name in input_names)).numpy()
    packing = _packing(st_model, input_names, reference) if packed else None
    module: torch.nn.Module
    if packing is not None:
        module, inputs, sample = packing.module, list(packing.input_names), packing.sample
        outputs, output_axes = ["token_embeddings"], {0: "rows", 1: "sequence"}
    else:
        module, inputs, outputs, output_axes = whole, input_names, ["sentence_embedding"], {0: "batch"}
        sample = tuple(padded[name] for name in input_names)
    axes = {name: {0: "batch", 1: "sequence"} for name in inputs}
    # The tracer warns about shape checks it freezes (padding, mask sizes); the probes verify the result.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            sample,
            str(destination / "model.onnx"),
            input_names=inputs,
            output_names=outputs,
            dynamic_axes={**axes, outputs[0]: output_axes},
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
        input_names=inputs,
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
        pooling=None if packing is None else packing.pooling,
        position_offset=0 if packing is None else packing.position_offset,
    )
    (destination / "export.json").write_text(json.dumps(asdict(info), indent=1) + "\n", encoding="utf-8")
    return info


@dataclass(frozen=True)
class _Packing:
    """A packed graph to export: the module, its inputs, a sample to trace, and what the runtime must know."""

    module: Any  # a torch.nn.Module
    input_names: tuple[str, ...]
    sample: tuple[Any, ...]  # torch tensors
    pooling: str
    position_offset: int


def _packing(model: SentenceTransformer, input_names: Sequence[str], reference: Any) -> _Packing | None:
    """The packed form of ``model`` if it reproduces ``reference`` (the whole model's embeddings of the
    probes, padded as one batch): a transformer, mean or CLS pooling, and at most normalisation after them,
    run on the probes packed in one row and one to a row (with padding). None otherwise (exported whole)."""
    import torch

    kinds = [type(module).__name__ for module in model]
    transformer = getattr(model[0], "auto_model", None)
    pooling = _pooling_mode(model[1]) if len(kinds) >= 2 else None
    if (
        kinds[:2] != ["Transformer", "Pooling"]
        or any(kind != "Normalize" for kind in kinds[2:])
        or not isinstance(transformer, torch.nn.Module)
        or pooling is None
        or set(input_names) - {"input_ids", "token_type_ids", "attention_mask"}
    ):
        return None
    with_types = "token_type_ids" in input_names
    names = ("input_ids", *(("token_type_ids",) if with_types else ()), "position_ids", "segment_ids")

    class _Packed(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            given = dict(zip(names, inputs, strict=True))
            segments = given.pop("segment_ids")
            same = segments[:, :, None] == segments[:, None, :]
            mask = torch.where(same, 0.0, torch.finfo(torch.float32).min)[:, None, :, :]
            hidden: torch.Tensor = self.inner(**given, attention_mask=mask).last_hidden_state
            return hidden

    module = _Packed(transformer).eval()
    tokenizer = model.tokenizer
    capacity = int(model.get_max_seq_length() or tokenizer.model_max_length)
    probes = [tokenizer(text, truncation=True, max_length=capacity)["input_ids"] for text in PROBE_TEXTS]
    pad_id = int(tokenizer.pad_token_id or 0)
    for offset in dict.fromkeys((0, pad_id + 1)):  # BERT counts positions from 0, RoBERTa after its pad id
        samples = []
        try:
            for room in (capacity, max(len(ids) for ids in probes)):  # one row; one text a row, padded
                packed = pack(probes, room, pad_id=pad_id, position_offset=offset)
                sample = tuple(torch.from_numpy(packed.feeds[name]) for name in names)
                with torch.no_grad():
                    tokens = module(*sample).numpy()
                got = pool(tokens, packed.places, pooling)
                if not np.min(np.sum(got * reference, axis=1)) >= PACKED_MIN_COSINE:
                    break
                samples.append(sample)
        except Exception as error:  # a transformer whose forward takes no positions or no 4-D mask
            log.info("exporting %s whole: it does not run packed (%s)", type(transformer).__name__, error)
            return None
        if len(samples) == 2:
            return _Packing(module, names, samples[0], pooling, offset)
    log.info("exporting %s whole: packed, it does not reproduce the model", type(transformer).__name__)
    return None


def _pooling_mode(module: Any) -> str | None:
    """``"mean"`` or ``"cls"`` if that is the one thing a sentence-transformers Pooling module does."""
    config = module.get_config_dict() if hasattr(module, "get_config_dict") else {}
    if not config.get("include_prompt", True):
        return None
    mode = config.get("pooling_mode")
    if isinstance(mode, str):  # sentence-transformers 6
        return mode if mode in POOLINGS else None
    flags = {name for name, on in config.items() if name.startswith("pooling_mode_") and on is True}
    named = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}
    return named.get(flags.pop()) if len(flags) == 1 else None  # sentence-transformers 5: a flag per mode


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


def export_folder(model: str, cache_dir: Path) -> tuple[str, Path]:
    """``(model_id, folder)``: the folder under ``cache_dir`` holding ``model``'s export, made first if
    needed.

    Where the default model's package is not installed (an image that runs without torch leaves it out, and
    ships the export made at build time), an export of the default model already in ``cache_dir`` is used as
    it is: the probes recorded in it are still checked at every load.
    """
    try:
        model_id, source = resolve_model(model)
    except ModelLoadError as missing:
        found = _existing_export(cache_dir, DEFAULT_MODEL)
        if found is None:
            raise ModelLoadError(f"{missing}, or an ONNX export of it in {cache_dir}") from missing
        return DEFAULT_MODEL, found
    folder = cache_dir / model_cache_key(model_id, source)
    if not (folder / "export.json").exists():
        export_atomically(model, folder)
    return model_id, folder


def _existing_export(cache_dir: Path, model_id: str) -> Path | None:
    """The newest readable export of ``model_id`` in ``cache_dir``, if any."""
    found: list[tuple[float, Path]] = []
    for info_file in cache_dir.glob("*/export.json"):
        try:
            info = read_info(info_file.parent)
        except ModelLoadError:
            continue
        if info.model_id == model_id:
            found.append((info_file.stat().st_mtime, info_file.parent))
    return max(found)[1] if found else None


def export_atomically(model: str, folder: Path) -> None:
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


def quantize(source: Path, target: Path) -> None:
    """Dynamic 8-bit quantisation of the matrix multiplications' weights, per channel (activations are
    quantised on the fly), written aside and renamed. Per channel keeps the probe cosine near 0.99; per
    tensor, as ONNX Runtime does by default, drops it to 0.93."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as error:  # the image's runtime leaves onnx out
        raise ModelLoadError(
            f"quantising the model to int8 needs the onnx package ({error}): pip install onnx, or use the "
            "onnx backend"
        ) from error

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


def read_info(folder: Path) -> ExportInfo:
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
