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


def test_ignore_identical_ids_drops_the_query_document(tmp_path: Path) -> None:
    """BEIR's convention for datasets whose queries are documents too: the query's own document is no hit."""
    dataset = tiny_beir(tmp_path / "tiny")
    (dataset / "queries.jsonl").write_text(json.dumps({"_id": "d1", "text": "alpha"}))
    (dataset / "qrels" / "dev.tsv").write_text("query-id\tcorpus-id\tscore\nd1\td4\t1\n")
    runs = tmp_path / "runs"
    base = ["eval", str(dataset), "--split", "dev", "--modes", "keyword", "--run-dir", str(runs), "--json"]
    plain = json.loads(CliRunner().invoke(app, base).stdout)
    assert plain["mrr_at_10"] == pytest.approx(1 / 2)  # d1 itself first, then d4
    ignoring = CliRunner().invoke(app, [*base, "--ignore-identical-ids"])
    assert ignoring.exit_code == 0, ignoring.output
    assert json.loads(ignoring.stdout)["mrr_at_10"] == pytest.approx(1.0)
    assert "d1 Q0 d1" not in (runs / "tiny-dev-keyword.trec").read_text()


def write_run(path: Path, ranking: dict[str, list[str]]) -> Path:
    lines = [f"{q} Q0 {d} {r} {10 - r} x" for q, docs in ranking.items() for r, d in enumerate(docs, start=1)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_compare_counts_wins_and_losses_and_tests_significance(tmp_path: Path) -> None:
    """40 queries, one relevant document each: run B finds it first everywhere, run A second. B wins all
    40 (p near 0); B against itself ties all 40 (p = 1)."""
    folder = tmp_path / "judged"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(json.dumps({"_id": "x", "text": "x"}))
    queries = [f"q{i}" for i in range(40)]
    (folder / "queries.jsonl").write_text("\n".join(json.dumps({"_id": q, "text": q}) for q in queries))
    qrels = "".join(f"{q}\tgood{q}\t1\n" for q in queries)
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + qrels)
    run_a = write_run(tmp_path / "a.trec", {q: [f"bad{q}", f"good{q}"] for q in queries})
    run_b = write_run(tmp_path / "b.trec", {q: [f"good{q}", f"bad{q}"] for q in queries})
    result = CliRunner().invoke(app, ["compare", str(folder), str(run_a), str(run_b), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["wins"], body["losses"], body["ties"], body["queries"]) == (40, 0, 0, 40)
    assert body["ndcg_at_10_b"] == pytest.approx(1.0)
    assert body["ndcg_at_10_a"] == pytest.approx(1 / math.log2(3))
    assert body["p_value"] < 0.001
    same = json.loads(
        CliRunner().invoke(app, ["compare", str(folder), str(run_b), str(run_b), "--json"]).stdout
    )
    assert (same["ties"], same["p_value"]) == (40, 1.0)
    table = CliRunner().invoke(app, ["compare", str(folder), str(run_a), str(run_b)])
    assert "yes" in table.stdout
    assert "+0.3691" in table.stdout


def test_eval_answers_queries_longer_than_the_model_reads(tmp_path: Path) -> None:
    """A paragraph-long query is scored like any other: the run is not aborted, the query not dropped."""
    dataset = tiny_beir(tmp_path / "tiny")
    long_query = {"_id": "q4", "text": "gamma " + "alpha beta gamma words " * 60}  # 241 words: 2 pieces
    with (dataset / "queries.jsonl").open("a") as queries:
        queries.write("\n" + json.dumps(long_query))
    with (dataset / "qrels" / "dev.tsv").open("a") as qrels:
        qrels.write("q4\td4\t1\n")
    result = CliRunner().invoke(
        app, ["eval", str(dataset), "--split", "dev", "--run-dir", str(tmp_path / "runs"), "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["queries"] for row in rows] == [4, 4, 4]
    run = (tmp_path / "runs" / "tiny-dev-dense.trec").read_text()
    assert any(line.startswith("q4 ") for line in run.splitlines())


def test_eval_into_a_collection_measures_its_settings(tmp_path: Path) -> None:
    dataset = tiny_beir(tmp_path / "tiny")
    data = str(tmp_path / "data")
    settings = '{"chunking": {"max_tokens": 16, "overlap_tokens": 0}}'
    assert (
        CliRunner()
        .invoke(app, ["collections", "create", "small", "--settings", settings, "--data-dir", data])
        .exit_code
        == 0
    )
    args = ["eval", str(dataset), "--split", "dev", "--modes", "keyword", "--run-dir", str(tmp_path / "runs")]
    result = CliRunner().invoke(app, [*args, "--data-dir", data, "--collection", "small", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[0])["queries"] == 3
    assert (tmp_path / "data" / "collections" / "small" / "semsearch.db").exists()
    alone = CliRunner().invoke(app, [*args, "--collection", "small"])
    assert alone.exit_code != 0
    assert "give both" in alone.output


BLANK = "(or only spaces and invisible characters): send the text to index in 'text'"


def test_eval_reads_the_records_real_corpora_hold_and_says_what_it_left_out(tmp_path: Path) -> None:
    """What BEIR's own loader takes: ids as numbers, an id twice (the later wins), no text, NUL characters,
    escaped lone surrogates, a title longer than a title may be, an id no URL can reach, a blank query."""
    folder = tmp_path / "odd"
    (folder / "qrels").mkdir(parents=True)
    corpus = [
        '{"_id": 1, "title": "Cats", "text": "cats sleep all day"}',
        '{"_id": "2", "title": "", "text": ""}',
        '{"_id": "3", "title": null, "text": "markets fell"}',
        '{"_id": "3", "title": "", "text": "markets rose"}',
        '{"_id": "4", "title": "", "text": "rivers carry\\u0000 sediment \\ud800 south"}',
        json.dumps({"_id": "5", "title": "birds " * 300, "text": "they fly"}),
        '{"_id": "a/../b", "text": "unreachable"}',
        '{"_id": "6", "text": " \\u200b "}',
    ]
    (folder / "corpus.jsonl").write_text("\n".join(corpus))
    queries = [
        {"_id": 10, "text": "cats"},
        {"_id": "11", "text": "markets rose"},
        {"_id": "12", "text": "sediment"},
        {"_id": "13", "text": "birds"},
        {"_id": "14", "text": "  "},
    ]
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    qrels = "query-id\tcorpus-id\tscore\n10\t1\t1\n11\t3\t1\n12\t4\t1\n13\t5\t1\n14\t1\t1\n"
    (folder / "qrels" / "test.tsv").write_text(qrels)
    args = ["eval", str(folder), "--modes", "keyword", "--run-dir", str(tmp_path / "runs")]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert [line for line in result.stderr.splitlines() if line.startswith("skipped")] == [
        f"skipped: corpus.jsonl:2: document '2' has no text {BLANK}; left out",
        "skipped: corpus.jsonl:7: document 'a/../b': the id has a '.' or '..' segment, which "
        "clients that normalise URLs cannot reach; left out",
        f"skipped: corpus.jsonl:8: document '6' has no text {BLANK}; left out",
    ]
    (keyword,) = (json.loads(line) for line in result.stdout.splitlines())
    assert keyword["skipped_documents"] == 3
    assert keyword["queries"] == 5
    # Each of the four queries with text finds its document first; the blank one finds nothing.
    assert keyword["mrr_at_10"] == pytest.approx(4 / 5)
    run = (tmp_path / "runs" / "odd-test-keyword.trec").read_text().splitlines()
    assert {line.split()[0]: line.split()[2] for line in run if line.split()[3] == "1"} == {
        "10": "1",
        "11": "3",
        "12": "4",
        "13": "5",
    }


def test_eval_stops_at_a_damaged_line_with_its_number(tmp_path: Path) -> None:
    folder = tiny_beir(tmp_path / "cut")
    with (folder / "corpus.jsonl").open("a") as corpus:
        corpus.write('\n{"_id": "d5", "text": "trunc')
    result = CliRunner().invoke(app, ["eval", str(folder), "--split", "dev", "--run-dir", str(tmp_path)])
    assert result.exit_code == 2
    damaged = (
        "corpus.jsonl:5 is not valid JSON (Unterminated string starting at: character 22): a truncated or "
        "damaged file?"
    )
    assert damaged in result.stderr
