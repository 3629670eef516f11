"""The query-string check on a route of its own: a list parameter may repeat, a scalar may not, and an
unknown one is named."""

from __future__ import annotations

import urllib.parse
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from index.errors import InvalidInputError
from service.routes.params import refuse_unknown_query


def _app() -> FastAPI:
    app = FastAPI(dependencies=[Depends(refuse_unknown_query)])

    @app.exception_handler(InvalidInputError)
    async def invalid(_: Request, error: InvalidInputError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.get("/items")
    async def items(
        tag: Annotated[list[str] | None, Query()] = None,
        limit: int = 10,
        exact: list[int] = Query([]),
        q: str = "",
    ) -> dict[str, object]:
        return {"tag": tag, "limit": limit, "exact": exact, "q": q}

    return app


def test_a_list_parameter_repeats_and_a_scalar_does_not() -> None:
    client = TestClient(_app())
    listed = client.get("/items", params=[("tag", "a"), ("tag", "b"), ("exact", "1"), ("exact", "2")])
    assert listed.status_code == 200
    assert listed.json() == {"tag": ["a", "b"], "limit": 10, "exact": [1, 2], "q": ""}
    twice = client.get("/items", params=[("limit", "3"), ("limit", "5")])
    assert twice.status_code == 422
    assert twice.json()["detail"] == "GET /items takes one value of the query parameter 'limit', got 2"
    unknown = client.get("/items", params={"limt": "3"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"].startswith("GET /items takes no query parameter 'limt' (did you mean")


CLIENT = TestClient(_app())


@settings(max_examples=300, deadline=None)
@given(value=st.binary(max_size=12) | st.text(max_size=6).map(str.encode), plus=st.booleans())
def test_a_query_value_is_read_if_and_only_if_its_bytes_are_utf8(value: bytes, plus: bool) -> None:
    """Percent-escapes that are not UTF-8 (Latin-1's %E9) were read as U+FFFD and searched for; they are a 422
    naming the parameter, and any UTF-8 (U+FFFD itself included) is read as sent."""
    escaped = urllib.parse.quote_from_bytes(value, safe="").replace("%20", "+" if plus else "%20")
    answer = CLIENT.get(f"/items?q={escaped}")
    try:
        sent = value.decode()
    except UnicodeDecodeError:
        assert answer.status_code == 422
        assert answer.json()["detail"].startswith("the query parameter 'q' is not UTF-8 (byte 0x")
    else:
        assert answer.status_code == 200, answer.text
        assert answer.json()["q"] == sent
