"""How code files are best cut into chunks: functions found by what their docstrings say, with the docstrings
taken out of the code indexed (a question in words, answered by code that does not say it in those words).

    .venv/bin/python bench/code_chunks.py --min-tokens 16 48 96 --model-cache DIR

The corpus is this project's own Python (``index/``, ``service/``, ``bench/`` by default, ``--source`` for
others): each file indexed as a ``code`` document (as an upload of it would be) without its docstrings; each
function or method whose docstring's first line has at least five words is a query, its answer the file
(MRR@10 over files) and the chunk that holds its ``def`` line (hit@1 and hit@5 over chunks). Each
``--min-tokens`` value (``SEMSEARCH_CHUNK_MIN_TOKENS``: blocks shorter than this merge with their
neighbours) gets a data directory of its own, one after the other in one run, dense and hybrid searched.
"""

from __future__ import annotations

import argparse
import ast
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Question:
    text: str
    path: str
    definition: str  # "def name(" or "async def name("


def without_docstrings(source: str) -> tuple[str, list[tuple[str, str]]]:
    """``source`` with the docstrings of its module, classes and functions removed (their lines blanked
    out of the text), and each function's (first docstring line, "def name(")."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    found: list[tuple[str, str]] = []
    drop: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        body = node.body
        if not (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)):
            continue
        if not isinstance(body[0].value.value, str) or len(body) == 1:
            continue  # a function of only a docstring would lose its body
        doc = body[0]
        drop.update(range(doc.lineno - 1, (doc.end_lineno or doc.lineno)))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = body[0].value.value.strip().split("\n\n")[0].replace("\n", " ")
            first = " ".join(first.replace("``", "").split())
            if len(first.split()) >= 5:
                found.append((first, f"def {node.name}("))
    kept = "".join(line for number, line in enumerate(lines) if number not in drop)
    return kept, found


def corpus(folders: list[Path]) -> tuple[dict[str, str], list[Question]]:
    texts: dict[str, str] = {}
    questions: list[Question] = []
    seen: set[str] = set()
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            if not source.strip():
                continue
            code, found = without_docstrings(source)
            relative = path.resolve().relative_to(folder.resolve().parent).as_posix()
            texts[relative] = code
            for text, definition in found:
                if text not in seen:  # the same words for two functions answer neither
                    seen.add(text)
                    questions.append(Question(text, relative, definition))
    return texts, questions


def measure(
    data_dir: Path, min_tokens: int, texts: dict[str, str], questions: list[Question]
) -> dict[str, float]:
    from index import Document, SearchRequest
    from service import runtime
    from service.settings import Settings

    settings = Settings(data_dir=data_dir, seed_demo=False, chunk_min_tokens=min_tokens, query_cache_size=0)
    index = runtime.open_index(settings)
    try:
        started = time.perf_counter()
        documents = [
            Document(id=path, text=text, title=Path(path).name, metadata={"format": "code"})
            for path, text in texts.items()
        ]
        index.upsert(documents)
        index.wait_for_keyword_index()
        took = time.perf_counter() - started
        result: dict[str, float] = {"chunks": index.stats().chunks, "index_s": took}
        for mode in ("dense", "hybrid"):
            ranks: list[float] = []
            hit1 = hit5 = 0
            for question in questions:
                hits = index.search_batch([SearchRequest(question.text, 10, mode=mode)])[0].hits
                files = list(dict.fromkeys(hit.doc_id for hit in hits))
                ranks.append(1 / (files.index(question.path) + 1) if question.path in files else 0.0)
                holding = [
                    rank
                    for rank, hit in enumerate(hits)
                    if hit.doc_id == question.path and question.definition in hit.text
                ]
                hit1 += bool(holding and holding[0] == 0)
                hit5 += bool(holding and holding[0] < 5)
            result[f"{mode}_file_mrr"] = statistics.fmean(ranks)
            result[f"{mode}_hit1"] = hit1 / len(questions)
            result[f"{mode}_hit5"] = hit5 / len(questions)
        return result
    finally:
        index.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--source", type=Path, nargs="+", default=[ROOT / "index", ROOT / "service", ROOT / "bench"]
    )
    parser.add_argument("--min-tokens", type=int, nargs="+", default=[16, 48, 96])
    parser.add_argument("--model-cache", type=Path, default=None)
    args = parser.parse_args()
    if args.model_cache is not None:
        import os

        os.environ["SEMSEARCH_MODEL_CACHE_DIR"] = str(args.model_cache)
    texts, questions = corpus(args.source)
    print(f"{len(texts)} files, {len(questions)} questions", flush=True)
    rows = []
    for min_tokens in args.min_tokens:
        with tempfile.TemporaryDirectory(prefix="code-chunks-") as folder:
            rows.append((min_tokens, measure(Path(folder), min_tokens, texts, questions)))
            print(min_tokens, rows[-1][1], flush=True)
    print()
    print(
        "| min tokens | chunks | dense file MRR@10 | dense hit@1 | dense hit@5 | hybrid file MRR@10 "
        "| hybrid hit@1 | hybrid hit@5 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for min_tokens, r in rows:
        print(
            f"| {min_tokens} | {r['chunks']:.0f} | {r['dense_file_mrr']:.3f} | {r['dense_hit1']:.3f} | "
            f"{r['dense_hit5']:.3f} | {r['hybrid_file_mrr']:.3f} | {r['hybrid_hit1']:.3f} | "
            f"{r['hybrid_hit5']:.3f} |"
        )


if __name__ == "__main__":
    main()
