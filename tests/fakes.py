"""A deterministic fake embedder for fast unit tests: texts sharing words get similar vectors."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

from index.encoders.base import Vectors

_TOKEN = re.compile(r"\w+|[^\w\s]")


class WordTokenizer:
    """One token per word or punctuation mark."""

    def __init__(self, max_tokens: int) -> None:
        self._max_tokens = max_tokens

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_TOKEN.findall(text)) for text in texts]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return [match.span() for match in _TOKEN.finditer(text)]


class FakeEmbedder:
    """A bag of hashed words: each lower-cased word maps to a fixed random vector."""

    def __init__(self, dim: int = 64, max_tokens: int = 128, model_id: str = "fake/bag-of-words") -> None:
        self._dim = dim
        self._model_id = model_id
        self._tokenizer = WordTokenizer(max_tokens)
        self.calls = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def tokenizer(self) -> WordTokenizer:
        return self._tokenizer

    def _word(self, word: str) -> Vectors:
        rng = np.random.default_rng(zlib.crc32(word.encode("utf-8")))
        return rng.standard_normal(self._dim).astype(np.float32)

    def _embed(self, texts: Sequence[str]) -> Vectors:
        self.calls += 1
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row] += self._word(word)
            norm = np.linalg.norm(out[row])
            out[row] = (
                out[row] / norm if norm > 0 else self._word("<empty>") / np.linalg.norm(self._word("<empty>"))
            )
        return out

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts)
