"""The fusion rules of bench/fusion_lab.py on natural questions: the integration tests' ten paraphrased
questions over a news article (tests/data/news_article.txt), alone and with the demo corpus beside it.
Counts the questions whose answer paragraph is in the top 3 (chunks, as the service ranks by default).

    .venv/bin/python bench/fusion_questions.py --model-cache /var/tmp/semsearch-models
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import fusion_lab  # noqa: E402

from index import Document, SearchIndex, SearchRequest, load_embedder  # noqa: E402
from index.ingest.sources import discover, read_documents  # noqa: E402
from index.retrieval.fusion import top  # noqa: E402
from index.retrieval.query import embed_queries  # noqa: E402
from index.storage.keyword import query_terms  # noqa: E402
from service.runtime import DEMO_CORPUS  # noqa: E402
from tests.integration.conftest import ARTICLE_PATH, QUESTIONS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-models"))
    args = parser.parse_args()
    article = ARTICLE_PATH.read_text(encoding="utf-8")
    embedder = load_embedder(cache_dir=args.model_cache)
    counts: dict[str, list[int]] = {}
    for with_demo in (False, True):
        with tempfile.TemporaryDirectory() as scratch, SearchIndex.open(scratch, embedder) as index:
            documents = [Document("article", article, "Harbour town switches on tidal lagoon")]
            if with_demo:
                documents += [doc for file in discover([DEMO_CORPUS]) for doc in read_documents(file)]
            index.upsert(documents)
            requests = [SearchRequest(question, k=3) for question, _ in QUESTIONS]
            vectors, _ = embed_queries(embedder, requests, "first")
            found = index.candidates(requests, vectors)
            rows = index.rows(sorted({c for f in found for side in f.sides for c in side}))
            for name, rule in fusion_lab.RULES:
                if name.startswith(("dense (mean", "dense (max", "blend w=0.5, ")):
                    continue  # long-query strategies: these questions are short
                right = 0
                for (question, answer), candidates in zip(QUESTIONS, found, strict=True):
                    # Collected holds document ids; here the keys are chunk ids, as strings.
                    dense = {str(chunk): score for chunk, score in candidates.sides[0].items()}
                    keyword = {str(chunk): score for chunk, score in candidates.sides[1].items()}
                    collected = fusion_lab.Collected(
                        dict.fromkeys(("first", "mean", "max"), dense), keyword, 1, len(query_terms(question))
                    )
                    at = article.index(answer)
                    best = [rows[int(k)] for k, _ in top(rule(collected), 3) if int(k) in rows]
                    right += any(r.doc_id == "article" and r.start <= at < r.end for r in best)
                counts.setdefault(name, []).append(right)
    print("| rule | article alone | with the demo corpus |\n|---|---|---|")
    for name, (alone, beside) in counts.items():
        print(f"| {name} | {alone}/10 | {beside}/10 |")


if __name__ == "__main__":
    main()
