"""Requests in flight: each process counts its own in shared memory, and the model's lone calls ask them."""

from __future__ import annotations

import asyncio
import multiprocessing
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from service import runtime
from service.app import create_app
from service.in_flight import CountInFlight, InFlight, shared_counters
from service.settings import Settings
from tests.fakes import FakeEmbedder
from tests.service.test_app_lifecycle import wait_ready


def test_a_request_counts_while_it_is_answered_and_not_after() -> None:
    in_flight = InFlight()
    seen: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(in_flight.count)
        if scope["type"] == "http" and scope["path"] == "/fails":
            raise RuntimeError("the route failed")
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_: Message) -> None:
        seen.append(in_flight.count)

    counted = CountInFlight(app, in_flight)
    asyncio.run(counted({"type": "http", "path": "/search"}, receive, send))
    assert seen == [1, 1, 1]
    assert in_flight.count == 0
    assert in_flight.alone()
    with pytest.raises(RuntimeError):
        asyncio.run(counted({"type": "http", "path": "/fails"}, receive, send))
    assert in_flight.count == 0
    asyncio.run(counted({"type": "lifespan"}, receive, send))  # not a request
    assert seen[-1] == 0


def _answer_one(in_flight: InFlight, answering: Event, done: Event) -> None:
    in_flight.add(1)
    answering.set()
    done.wait(30)
    in_flight.add(-1)


def test_processes_sharing_the_counters_count_each_others_requests() -> None:
    counters = shared_counters(2)
    here = InFlight(counters, slot=0)
    context = multiprocessing.get_context("spawn")
    answering, done = context.Event(), context.Event()
    other = context.Process(target=_answer_one, args=(InFlight(counters, slot=1), answering, done))
    other.start()
    try:
        assert answering.wait(60)
        assert here.count == 1  # the other process's request
        assert here.alone()
        here.add(1)  # and one here
        assert here.count == 2
        assert not here.alone()
        done.set()
        other.join(30)
        assert other.exitcode == 0
        assert here.count == 1  # this process's own is left
        assert here.alone()
    finally:
        done.set()
        other.join(30)


def test_the_app_counts_its_requests_and_its_model_asks_the_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every request the app answers counts in the count it is given, and the app hands the count's
    ``alone`` to the model it loads: a query's call takes every core only while no other request is in
    flight in any of the server's processes."""
    given: dict[str, Any] = {}

    def load_embedder(*_: object, **options: Any) -> FakeEmbedder:
        given.update(options)
        return FakeEmbedder()

    monkeypatch.setattr(runtime, "load_embedder", load_embedder)
    counters = shared_counters(2)
    in_flight = InFlight(counters, slot=1)
    settings = Settings(data_dir=tmp_path / "data", seed_demo=False, model="fake/bag-of-words")
    with TestClient(create_app(settings, in_flight=in_flight)) as client:
        assert wait_ready(client)["status"] == "ready"
        counted: list[int] = []
        add = in_flight.add

        def counting(delta: int) -> None:
            counted.append(delta)
            add(delta)

        monkeypatch.setattr(in_flight, "add", counting)
        assert client.get("/healthz").status_code == 200
        assert counted == [1, -1]
        alone = given["alone"]
        assert alone()
        in_flight.add(1)  # a request of this process
        assert alone()
        InFlight(counters, slot=0).add(1)  # and one of another process
        assert not alone()
