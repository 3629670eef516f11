"""What finding words costs the keyword side (docs/retrieval.md, "Chinese and Japanese text"): the word
pattern against plain ``\\w+`` over real abstracts, the check for Chinese or Japanese text before a write,
and spacing such text out a run at a time against one substitution per character.

    .venv/bin/python bench/keyword_text.py --corpus path/to/scifact/corpus.jsonl

Best of ``--rounds`` per case; the Chinese text is a sentence repeated to a million characters and more.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

from index.storage import keyword


def best(work: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--documents", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with args.corpus.open(encoding="utf-8") as lines:
        texts = [
            json.loads(line)["text"].lower() for line, _ in zip(lines, range(args.documents), strict=False)
        ]
    plain = re.compile(r"\w+")
    per_text = 1e6 / len(texts)
    print(f"{len(texts)} abstracts, {sum(map(len, texts)) // len(texts)} characters on average")
    print("| case | time |")
    print("|---|---|")
    cases: tuple[tuple[str, Callable[[], object]], ...] = (
        ("words, `\\w+`", lambda: [plain.findall(t) for t in texts]),
        ("words, `keyword.WORD`", lambda: [keyword.WORD.findall(t) for t in texts]),
        ("keyword_text (nothing to fold: the checks only)", lambda: [keyword.keyword_text(t) for t in texts]),
        ("keyword_form (no such script: the checks only)", lambda: [keyword.keyword_form(t) for t in texts]),
        (
            "word_tokens (keyword_text, lower-casing, `keyword.WORD`)",
            lambda: [keyword.word_tokens(t) for t in texts],
        ),
    )
    for name, work in cases:
        print(f"| {name} | {best(work, args.rounds) * per_text:.1f} µs an abstract |")
    chinese = "東京は日本の首都です。" * 100_000
    one_by_one = re.compile(f"[{keyword._ONE_CHARACTER_WORDS}]")
    chinese_cases: tuple[tuple[str, Callable[[], object]], ...] = (
        ("keyword_form, a run at a time", lambda: keyword.keyword_form(chinese)),
        ("one substitution per character", lambda: one_by_one.sub(r" \g<0> ", chinese)),
    )
    for name, work in chinese_cases:
        seconds = best(work, args.rounds) / len(chinese) * 1e6
        print(f"| {name} | {seconds:.2f} s per million characters of Chinese |")


if __name__ == "__main__":
    main()
