from __future__ import annotations

from pathlib import Path

import pytest

from index import Embedder
from index.encoders.base import DEFAULT_MODEL
from index.encoders.openvino_encoder import OpenVinoEmbedder

ARTICLE_PATH = Path(__file__).resolve().parents[1] / "data" / "news_article.txt"

# Paraphrased questions about the article, sharing few words with the answer, and a phrase of the paragraph
# that answers each.
QUESTIONS = [
    ("How expensive did the whole thing turn out to be?", "2.4 billion euros"),
    ("How many households can it supply with power?", "155,000 homes"),
    ("Why did environmental campaigners go to the judges?", "silt up the mudflats"),
    ("Which equipment failure forced staff to leave the building?", "sluice gate jammed"),
    ("For how long is the structure supposed to survive?", "designed to last for 120 years"),
    ("Will people pay less to insure their houses?", "premiums for homes"),
    ("Who manufactured the generators?", "companies from Scotland and Norway"),
    ("When will it be working at maximum capacity?", "full output by the end of next summer"),
    ("How many jobs did the building work create?", "1,800 people"),
    ("Who objected to the plan and what were they worried about?", "fishermen and bird protection groups"),
]


@pytest.fixture(scope="session")
def article() -> str:
    return ARTICLE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def openvino_embedder(model_cache: Path, real_embedder: Embedder) -> OpenVinoEmbedder:
    """The default model on OpenVINO, loaded once; real_embedder first, as it makes the export both read."""
    return OpenVinoEmbedder(DEFAULT_MODEL, model_cache)
