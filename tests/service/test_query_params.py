"""The query-string check on a route of its own: a list parameter may repeat, a scalar may not, and an
unknown one is named."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from index.errors import InvalidInputError
from service.routes.params import refuse_unknown_query


def _app() -> FastAPI:
    app = FastAPI(dependencies=[Depends(refuse_unknown_query)])

    @app.exception_handler(InvalidInputError)
    async def invalid(_: Request, error: InvalidInputError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.get("/items")
    async def items(
        tag: Annotated[list[str] | None, Query()] = None, limit: int = 10, exact: list[int] = Query([])
    ) -> dict[str, object]:
        return {"tag": tag, "limit": limit, "exact": exact}

    return app


def test_a_list_parameter_repeats_and_a_scalar_does_not() -> None:
    client = TestClient(_app())
    listed = client.get("/items", params=[("tag", "a"), ("tag", "b"), ("exact", "1"), ("exact", "2")])
    assert listed.status_code == 200
    assert listed.json() == {"tag": ["a", "b"], "limit": 10, "exact": [1, 2]}
    twice = client.get("/items", params=[("limit", "3"), ("limit", "5")])
    assert twice.status_code == 422
    assert twice.json()["detail"] == "GET /items takes one value of the query parameter 'limit', got 2"
    unknown = client.get("/items", params={"limt": "3"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"].startswith("GET /items takes no query parameter 'limt' (did you mean")
