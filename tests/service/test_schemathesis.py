"""Schemathesis against the app's live OpenAPI schema: whatever it sends, no 5xx and every response (status,
content type, body) as the schema says. Up to 80 cases per operation, over 500 in all (checked)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, assume, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from index import Document, SearchIndex
from service.app import create_app
from service.settings import Settings
from tests.fakes import FakeEmbedder

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    data = tmp_path_factory.mktemp("schemathesis") / "data"
    index = SearchIndex.open(data, FakeEmbedder())
    index.upsert([Document("a", "Cats purr.", "Cats", {"lang": "en"}), Document("b", "Dogs bark.")])
    yield create_app(Settings(data_dir=data, seed_demo=False), index=index)
    index.close()


def test_the_api_honours_its_schema(app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert len(operations) >= 11
    calls: Counter[str] = Counter()
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def honours(case: schemathesis.Case[Any]) -> None:
            # A collection with a model of its own loads (or exports) that model: tens of seconds, tested
            # in test_collections_api with the fake one; here every collection shares the default model.
            body = case.body if isinstance(case.body, dict) else {}
            assume(
                not (
                    case.operation.label == "PUT /collections/{name}"
                    and ("model" in body or "embed_backend" in body)
                )
            )
            calls[case.operation.label] += 1
            case.call_and_validate(checks=CHECKS)

        honours()
    assert sum(calls.values()) >= 500, calls
