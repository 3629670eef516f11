from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service import runtime
from service.cli import app
from tests.fakes import FakeEmbedder


@pytest.fixture(autouse=True)
def _fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "load_embedder", lambda *_, **__: FakeEmbedder())


def tiny_beir(folder: Path) -> Path:
    corpus = [
        {"_id": "d1", "title": "", "text": "alpha"},
        {"_id": "d2", "title": "", "text": "beta"},
        {"_id": "d3", "title": "", "text": "gamma"},
        {"_id": "d4", "title": "", "text": "alpha beta words"},
    ]
    queries = [{"_id": "q1", "text": "alpha"}, {"_id": "q2", "text": "beta"}, {"_id": "q3", "text": "delta"}]
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in corpus))
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    (folder / "qrels" / "dev.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td4\t1\nq3\td3\t1\n")
    return folder


def test_eval_metrics_match_a_hand_computation(tmp_path: Path) -> None:
    dataset = tiny_beir(tmp_path / "tiny")
    runs = tmp_path / "runs"
    result = CliRunner().invoke(
        app,
        [
            "eval",
            str(dataset),
            "--split",
            "dev",
            "--modes",
            "keyword,dense",
            "--run-dir",
            str(runs),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    keyword, dense = (json.loads(line) for line in result.stdout.splitlines())
    # BM25 ranks: q1 "alpha" -> d1 (shorter) then d4: relevant d1 at rank 1.
    #             q2 "beta"  -> d2 then d4: relevant d4 at rank 2.
    #             q3 "delta" -> nothing.
    assert keyword["mode"] == "keyword"
    assert keyword["queries"] == 3
    assert keyword["ndcg_at_10"] == pytest.approx((1 + 1 / math.log2(3) + 0) / 3)
    assert keyword["mrr_at_10"] == pytest.approx((1 + 1 / 2 + 0) / 3)
    assert keyword["recall_at_100"] == pytest.approx(2 / 3)
    assert keyword["queries_per_second"] > 0
    lines = (runs / "tiny-dev-keyword.trec").read_text().splitlines()
    assert [line.split()[:4] for line in lines] == [
        ["q1", "Q0", "d1", "1"],
        ["q1", "Q0", "d4", "2"],
        ["q2", "Q0", "d2", "1"],
        ["q2", "Q0", "d4", "2"],
    ]
    assert dense["mode"] == "dense"
    assert (runs / "tiny-dev-dense.trec").exists()


def test_eval_rejects_a_folder_that_is_not_beir(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", str(tmp_path), "--split", "dev"])
    assert result.exit_code == 2
    assert "corpus.jsonl is missing" in result.stderr
    result = CliRunner().invoke(
        app, ["eval", str(tiny_beir(tmp_path / "t")), "--split", "dev", "--modes", "magic"]
    )
    assert result.exit_code == 2
    assert "--modes" in result.stderr
