"""GET /metrics, request ids in headers and logs, JSON logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index import SearchIndex
from index.encoders.factory import resolve_backend
from index.retrieval.result_cache import ResultCache
from service import runtime
from service.app import create_app
from service.observability import configure_logging, request_id
from service.settings import Settings
from tests.fakes import FakeEmbedder


def metric(text: str, name: str) -> float:
    """The sum of a metric's samples whose line starts with ``name`` (labels included in ``name``)."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_metrics_count_requests_phases_batches_sizes_errors_and_build(client: TestClient) -> None:
    client.post("/documents", json={"documents": [{"id": "a", "text": "Owls hunt at night."}]})
    for _ in range(3):
        assert client.get("/search", params={"q": "owls"}).status_code == 200
    assert client.get("/search", params={"q": "x", "k": 0}).status_code == 422
    assert client.get("/documents/missing").status_code == 404
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert metric(text, 'semsearch_http_requests_total{method="GET",route="/search",status="200"}') == 3
    assert metric(text, 'semsearch_http_requests_total{method="GET",route="/documents/{doc_id:path}"') == 1
    assert 'route="/documents/missing"' not in text  # route templates, never raw paths
    assert metric(text, 'semsearch_http_request_duration_seconds_count{method="GET",route="/search"}') == 4
    assert metric(text, 'semsearch_search_phase_seconds_count{phase="encode"}') == 3
    assert metric(text, 'semsearch_search_phase_seconds_count{phase="rank"}') == 3
    assert metric(text, "semsearch_index_documents") == 1
    assert metric(text, "semsearch_index_chunks") == 1
    assert metric(text, 'semsearch_errors_total{type="DocumentNotFoundError"}') == 1
    assert metric(text, 'semsearch_errors_total{type="RequestValidationError"}') == 1
    assert f'semsearch_build_info{{backend="{resolve_backend("auto")}"' in text  # the one the model runs on
    assert 0 < metric(text, "process_open_fds") < metric(text, "process_max_fds")  # files held, of the limit


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    mine = client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert mine.headers["x-request-id"] == "trace-42"
    made = client.get("/healthz", headers={"X-Request-ID": "not sane\n" * 20})
    assert made.headers["x-request-id"] != "trace-42"
    assert len(made.headers["x-request-id"]) == 32
    assert client.get("/nowhere").headers["x-request-id"]


def test_json_logs_carry_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", json_logs=True)
    token = request_id.set("req-7")
    try:
        logging.getLogger("semsearch.test").info("indexed %d documents", 3)
    finally:
        request_id.reset(token)
        logging.getLogger().handlers.clear()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "indexed 3 documents"
    assert line["request_id"] == "req-7"
    assert line["level"] == "INFO"


def test_searches_answered_from_the_result_cache_are_counted_not_timed(
    open_index: Callable[..., SearchIndex], settings: Settings
) -> None:
    index = open_index()
    index.result_cache = ResultCache(1 << 20)
    with TestClient(create_app(settings, index=index)) as client:
        client.post("/documents", json={"documents": [{"id": "a", "text": "Owls hunt at night."}]})
        answers = [client.get("/search", params={"q": "owls"}).json() for _ in range(3)]
        assert [a["cached"] for a in answers] == [False, True, True]
        assert answers[2]["timings"] == {"encode_ms": 0.0, "search_ms": 0.0, "rank_ms": 0.0}
        client.post("/documents", json={"documents": [{"id": "b", "text": "Owls nest in barns."}]})
        after = client.get("/search", params={"q": "owls"}).json()
        assert not after["cached"]
        assert {h["doc_id"] for h in after["hits"]} == {"a", "b"}
        text = client.get("/metrics").text
    assert metric(text, "semsearch_search_results_cached_total") == 2
    assert metric(text, "semsearch_result_cache_bytes") > 0  # the last search's result, kept
    assert metric(text, 'semsearch_search_phase_seconds_count{phase="encode"}') == 2


def test_the_result_cache_setting_reaches_every_opened_index(tmp_path: Path) -> None:
    for megabytes, expected in ((0, None), (1.5, int(1.5 * 2**20))):
        settings = Settings(data_dir=tmp_path / "d", seed_demo=False, result_cache_mb=megabytes)
        (index,) = runtime.open_all(settings, [tmp_path / f"data-{megabytes}"], FakeEmbedder())
        try:
            cache = index.result_cache
            assert (None if cache is None else cache.max_bytes) == expected
        finally:
            index.close()
