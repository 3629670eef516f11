"""What cosine an unrelated chunk scores with this model: quantiles of the cosine between random pairs of a
data directory's stored chunk embeddings (the scale behind DENSE_CONFIDENT_SPREAD, docs/retrieval.md).

    .venv/bin/python bench/cosine_floor.py /var/tmp/semsearch-lab/scifact-train
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

import numpy as np

from index.storage.layout import DB_FILE


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--pairs", type=int, default=20_000)
    args = parser.parse_args()
    connection = sqlite3.connect(f"file:{args.data_dir / DB_FILE}?mode=ro", uri=True)
    rows = connection.execute("SELECT embedding FROM chunks").fetchall()
    vectors = np.frombuffer(b"".join(row[0] for row in rows), dtype=np.float32).reshape(len(rows), -1)
    rng = np.random.default_rng(0)
    first, second = rng.integers(0, len(vectors), args.pairs), rng.integers(0, len(vectors), args.pairs)
    cosines = (vectors[first] * vectors[second]).sum(axis=1)
    quantiles = (0.5, 0.9, 0.95, 0.99)
    print(f"{len(vectors)} chunks, {args.pairs} random pairs")
    print("| " + " | ".join(f"p{int(q * 100)}" for q in quantiles) + " |")
    print("|" + "---|" * len(quantiles))
    print("| " + " | ".join(f"{np.quantile(cosines, q):.3f}" for q in quantiles) + " |")


if __name__ == "__main__":
    main()
