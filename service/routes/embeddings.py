"""OpenAI-compatible embeddings: ``POST /v1/embeddings`` and ``GET /v1/models``.

Any client of OpenAI's embeddings API (the official SDKs, LangChain's ``OpenAIEmbeddings``, LlamaIndex's
``OpenAIEmbedding``, most RAG tools) can use the service's model by pointing its base URL at ``/v1``. The
vectors are the ones the service indexes with: the same model, the same normalisation (unit length).
"""

from __future__ import annotations

import base64
import time
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, model_validator

from index.encoders.base import Embedder, model_id, named_model_id
from index.errors import InvalidInputError
from index.ingest.chunking import MAX_CHARS_PER_TOKEN
from index.validation import check_text
from service.deps import StateDep
from service.errors import ModelNotFoundError, NotReadyError
from service.schemas import ErrorOut, InvalidOut
from service.security import AUTH_RESPONSES, require_read
from service.state import AppState

router = APIRouter(prefix="/v1", tags=["openai-compatible"])

# OpenAI's own limit on inputs per request; clients batch to it (LangChain sends 1,000 at a time).
MAX_INPUTS = 2048
DEFAULT_MODEL_NAME = "default"


class EmbeddingsIn(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="allow",  # OpenAI clients may send fields of newer API versions; they change nothing here
        json_schema_extra={"examples": [{"input": ["The tide turns twice a day."], "model": "default"}]},
    )

    input: str | list[str] = Field(
        description=f"A text or up to {MAX_INPUTS} texts. A text longer than the model reads is embedded "
        "from its start (the model's token limit), as sentence-transformers does."
    )
    model: str = Field(
        DEFAULT_MODEL_NAME,
        description="`default` (the default collection's model) or the model id of any collection.",
    )
    encoding_format: Literal["float", "base64"] = Field(
        "float", description="`base64`: each vector as little-endian float32 bytes, base64-encoded."
    )
    dimensions: int | None = Field(
        None,
        ge=1,
        description="Must be the model's dimension if given (this model cannot shorten its vectors).",
    )
    input_type: Literal["document", "query"] = Field(
        "document",
        description="An extension: `query` embeds the texts as search queries (differs only for models with "
        "query prompts).",
    )
    user: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _not_token_ids(cls, data: Any) -> Any:
        """Token ids (OpenAI takes lists of them) are another model's: say so, and what sends them."""
        given = data.get("input") if isinstance(data, dict) else None
        if isinstance(given, list) and given and all(_is_token_ids(item) for item in given[:8]):
            raise ValueError(
                "input holds token ids, which are another model's tokens: send the texts themselves "
                "(LangChain's OpenAIEmbeddings sends token ids unless check_embedding_ctx_length=False)"
            )
        return data


def _is_token_ids(item: Any) -> bool:
    """An int, or a non-empty list of ints (bool is not one)."""
    if isinstance(item, list):
        return bool(item) and all(isinstance(i, int) and not isinstance(i, bool) for i in item[:8])
    return isinstance(item, int) and not isinstance(item, bool)


class EmbeddingOut(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class UsageOut(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingsOut(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingOut]
    model: str
    usage: UsageOut


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "semsearch"


class ModelsOut(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No collection uses this model."},
    422: {"model": InvalidOut, "description": "Invalid input (an empty text, too many texts...)."},
    **AUTH_RESPONSES,
}


@router.post("/embeddings", dependencies=[Depends(require_read)], responses=_RESPONSES)
def create_embeddings(body: EmbeddingsIn, state: StateDep) -> EmbeddingsOut:
    """Embed texts with the service's model, as OpenAI's `POST /v1/embeddings` does."""
    texts = [body.input] if isinstance(body.input, str) else body.input
    if not texts:
        raise InvalidInputError("input is empty: send a text or a list of texts")
    if len(texts) > MAX_INPUTS:
        raise InvalidInputError(f"input holds {len(texts)} texts; send at most {MAX_INPUTS} per request")
    for i, text in enumerate(texts):
        check_text(f"input[{i}]", text)
        if not text.strip():
            raise InvalidInputError(f"input[{i}] is empty")
    name, embedder = _embedder(state, body.model)
    if body.dimensions is not None and body.dimensions != embedder.dim:
        raise InvalidInputError(f"dimensions must be {embedder.dim}, the dimension of {name}")
    read, tokens = _readable(embedder, texts)
    embed = embedder.embed_queries if body.input_type == "query" else embedder.embed_documents
    vectors = np.ascontiguousarray(embed(read), dtype="<f4")
    data = [
        EmbeddingOut(
            index=i,
            embedding=base64.b64encode(row.tobytes()).decode("ascii")
            if body.encoding_format == "base64"
            else row.tolist(),
        )
        for i, row in enumerate(vectors)
    ]
    return EmbeddingsOut(data=data, model=name, usage=UsageOut(prompt_tokens=tokens, total_tokens=tokens))


@router.get("/models", dependencies=[Depends(require_read)], responses={**AUTH_RESPONSES})
def list_models(state: StateDep) -> ModelsOut:
    """The models `POST /v1/embeddings` takes: `default`, and each open collection's model id."""
    names = [DEFAULT_MODEL_NAME, *_models(state)]
    created = int(time.time())
    return ModelsOut(data=[ModelOut(id=name, created=created) for name in dict.fromkeys(names)])


def _models(state: AppState) -> dict[str, Embedder]:
    """Every open collection's embedder by model id, the default collection's first."""
    found: dict[str, Embedder] = {}
    if state.index is not None:
        found[state.index.embedder.model_id] = state.index.embedder
    if state.collections is not None:
        for index in state.collections.opened().values():
            found.setdefault(index.embedder.model_id, index.embedder)
    return found


def _embedder(state: AppState, model: str) -> tuple[str, Embedder]:
    if state.index is None:
        raise NotReadyError(f"the model is not loaded yet: {state.detail}")
    if model == DEFAULT_MODEL_NAME:
        return state.index.embedder.model_id, state.index.embedder
    wanted = named_model_id(model)
    models = _models(state)
    if wanted in models:
        return wanted, models[wanted]
    if state.collections is not None:
        # A collection not opened yet is opened only if its settings name that model: a name no collection
        # uses must not open every collection of the data directory to find out.
        default_id = state.index.embedder.model_id
        for name, settings in state.collections.catalog.state.collections.items():
            if (model_id(settings.model) if settings.model else default_id) != wanted:
                continue
            index = state.collections.index(name)
            if index.embedder.model_id == wanted:
                return wanted, index.embedder
    raise ModelNotFoundError(model, [DEFAULT_MODEL_NAME, *models])


def _readable(embedder: Embedder, texts: list[str]) -> tuple[list[str], int]:
    """Each text cut to what the model reads (its token limit), and the number of tokens read in all."""
    tokenizer = embedder.tokenizer
    limit = tokenizer.max_tokens
    capped = [text[: limit * MAX_CHARS_PER_TOKEN] for text in texts]  # tokenize a bounded prefix only
    counts = tokenizer.count_tokens(capped)
    read: list[str] = []
    for text, count in zip(capped, counts, strict=True):
        if count > limit:
            spans = tokenizer.token_spans(text)
            text = text[: spans[limit - 1][1]]
        read.append(text)
    return read, sum(min(count, limit) for count in counts)
