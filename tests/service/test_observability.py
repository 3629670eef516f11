"""GET /metrics, request ids in headers and logs, JSON logs."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from service.observability import configure_logging, request_id


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
    assert 'semsearch_build_info{backend="onnx"' in text


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
