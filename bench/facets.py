"""What a facet costs (``GET /facets``): a metadata field's values and counts over a whole corpus, with and
without a filter, and what facets asked for alongside do to an ordinary search; and the listing of the
metadata keys (``GET /fields``), which reads the same metadata.

The data directory (SciFact, say) is copied to a scratch folder and every document is given made-up metadata
(a year, an author of 500, one to three tags of 50), then a fresh read-only server on 127.0.0.1 answers:

    .venv/bin/python bench/facets.py --data-dir /var/tmp/scifact-eval \\
        --queries path/to/scifact/queries.jsonl --model-cache /var/tmp/semsearch-models

Each facet is asked ``--count`` times one after the other (medians and 90th percentiles), then k=10 searches
run one at a time while 0 and 2 clients ask for the author facet back to back.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from peer_comparison import read_only_server, serving  # noqa: E402

from service.runtime import open_index  # noqa: E402
from service.settings import Settings  # noqa: E402

WORDS = "ocean protein cell gene virus tumor immune brain heart lung liver kidney blood bone skin".split()
TAGS = [f"{a}-{b}" for a in WORDS[:10] for b in ("study", "trial")] + WORDS + [f"tag-{i}" for i in range(15)]
AUTHORS = [f"author-{i}" for i in range(500)]
AUTHOR_WEIGHTS = [1 / (rank + 1) ** 0.5 for rank in range(500)]  # a few prolific authors, a long tail
RECENT = json.dumps({"field": "year", "gte": 2015})
ROWS: list[tuple[str, str, dict[str, Any]]] = [
    ("year", "/facets", {"field": "year"}),
    ("author (500 values)", "/facets", {"field": "author"}),
    ("author, all 500", "/facets", {"field": "author", "limit": 1000}),
    ("tags (lists)", "/facets", {"field": "tags"}),
    ("tags, year >= 2015", "/facets", {"field": "tags", "filter": RECENT}),
    (
        "author, by value, values 41-60",
        "/facets",
        {"field": "author", "order": "value", "offset": 40, "limit": 20},
    ),
    ("author, holding '-4'", "/facets", {"field": "author", "order": "value", "contains": "-4"}),
    ("the metadata keys (GET /fields)", "/fields", {}),
    ("the metadata keys, year >= 2015", "/fields", {"filter": RECENT}),
]


def made_up(rng: random.Random) -> dict[str, Any]:
    return {
        "year": rng.randint(1990, 2024),
        "author": rng.choices(AUTHORS, weights=AUTHOR_WEIGHTS)[0],
        "tags": rng.sample(TAGS, rng.randint(1, 3)),
    }


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[int(0.9 * (len(ordered) - 1))]


def give_metadata(data_dir: Path, model_cache: Path) -> int:
    """Made-up metadata on every document of the data directory; how many there are."""
    rng = random.Random(7)
    settings = Settings(data_dir=data_dir, model_cache_dir=model_cache, seed_demo=False)
    with open_index(settings) as index:
        ids: list[str] = []
        while page := index.list_documents(after=ids[-1] if ids else None, limit=1000):
            ids += [d.id for d in page]
        for doc_id in ids:
            index.update_metadata(doc_id, made_up(rng))
    return len(ids)


def facet_rows(client: httpx.Client, count: int) -> None:
    print("| facet | values | distinct | p50 | p90 |")
    print("|---|---|---|---|---|")
    for _, path, params in ROWS:  # once each first: the database's pages into memory
        client.get(path, params=params).raise_for_status()
    for name, path, params in ROWS:
        times = []
        for _ in range(count):
            begun = time.perf_counter()
            answer = client.get(path, params=params)
            times.append((time.perf_counter() - begun) * 1000)
            answer.raise_for_status()
        body = answer.json()
        answered = body["values"] if "values" in body else body["fields"]
        distinct = body.get("distinct", len(answered))
        p50, p90 = percentiles(times)
        print(f"| {name} | {len(answered)} | {distinct} | {p50:.1f} ms | {p90:.1f} ms |")


def ask_facets(base: str, stop: threading.Event) -> None:
    with httpx.Client(base_url=base, timeout=120) as client:
        while not stop.is_set():
            client.get("/facets", params={"field": "author", "limit": 1000}).raise_for_status()


def searches_alongside(client: httpx.Client, base: str, queries: list[str]) -> None:
    for query in queries:  # their embeddings into the query cache
        client.get("/search", params={"q": query, "k": 10}).raise_for_status()
    print("\n| facet clients alongside | k=10 search p50 | p90 |")
    print("|---|---|---|")
    for clients in (0, 2):
        stop = threading.Event()
        threads = [threading.Thread(target=ask_facets, args=(base, stop)) for _ in range(clients)]
        for thread in threads:
            thread.start()
        times = []
        for query in queries:
            begun = time.perf_counter()
            client.get("/search", params={"q": query, "k": 10}).raise_for_status()
            times.append((time.perf_counter() - begun) * 1000)
        stop.set()
        for thread in threads:
            thread.join()
        p50, p90 = percentiles(times)
        print(f"| {clients} | {p50:.1f} ms | {p90:.1f} ms |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--model-cache", type=Path, default=Path("/var/tmp/semsearch-models"))
    parser.add_argument("--count", type=int, default=30, help="requests per row")
    args = parser.parse_args()
    queries = [json.loads(line)["text"] for line in args.queries.open() if line.strip()][:60]

    with tempfile.TemporaryDirectory() as scratch:
        data_dir = Path(scratch) / "data"
        shutil.copytree(args.data_dir, data_dir, ignore=shutil.ignore_patterns("writer.lock"))
        started = time.perf_counter()
        documents = give_metadata(data_dir, args.model_cache)
        print(f"{documents} documents given metadata in {time.perf_counter() - started:.1f} s\n")
        base, command, env = read_only_server(data_dir, args.model_cache)
        with serving(command, env, base + "/readyz"), httpx.Client(base_url=base, timeout=120) as client:
            facet_rows(client, args.count)
            searches_alongside(client, base, queries)


if __name__ == "__main__":
    main()
