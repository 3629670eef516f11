"""`semsearch serve --workers 2` on 127.0.0.1 with the real model: one port, a writer and a read replica.

Every request goes on a new connection, so the kernel spreads them over both processes: writes reach the
writer through the replica, an acknowledged write is found by the next search whichever process answers it,
both processes answer searches, metrics count every process's requests, MCP searches on either process find
what was just written, a killed process is started again, and SIGTERM stops them all."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.integration.test_server import free_port, server_env

pytestmark = pytest.mark.integration

START_TIMEOUT = 120


def workers(supervisor: int) -> list[int]:
    """The worker processes the supervisor started (its children but multiprocessing's resource tracker)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    found = []
    for child in children:
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"resource_tracker" not in command:
            found.append(int(child))
    return sorted(found)


# uvicorn's access log line of a request that came over the writer's Unix socket: no client address.
FORWARDED = re.compile(r'INFO: +- "(\w+) (\S+) HTTP')


def fresh(method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request on a connection of its own."""
    return httpx.request(method, url, timeout=60, **kwargs)


def wait_for(condition: Any, what: str, log: Path, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {timeout} s:\n{log.read_text()}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    tmp = tmp_path_factory.mktemp("workers")
    port, log = free_port(), tmp / "server.log"
    command = [sys.executable, "-m", "service", "serve", "--port", str(port), "--workers", "2"]
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            env=server_env(tmp / "data", SEMSEARCH_SEED_DEMO="false"),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert process.poll() is None, log.read_text()
        return len(workers(process.pid)) == 2 and log.read_text().count("in-memory keyword index of") >= 2

    try:
        wait_for(ready, "the writer and the replica", log)
        yield url, process, log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=20) == 0, log.read_text()
            assert log.read_text().count("Application shutdown complete") >= 2
        finally:
            if process.poll() is None:
                process.kill()


def test_writes_through_any_process_are_found_by_the_next_search_on_any(
    served: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    url, _, log = served
    start = len(log.read_text().splitlines())
    for n in range(40):
        doc = {"id": f"heron-{n}", "text": f"Grey heron number {n} waits motionless in the shallow reed bed."}
        written = fresh("POST", f"{url}/documents", json={"documents": [doc]})
        assert written.status_code == 200, written.text
        found = fresh("GET", f"{url}/search", params={"q": f"heron number {n}", "k": 3, "mode": "keyword"})
        assert found.status_code == 200, found.text
        assert found.json()["hits"][0]["doc_id"] == f"heron-{n}"
    dense = [fresh("GET", f"{url}/search", params={"q": "a bird standing still in water"}) for _ in range(40)]
    assert all(r.status_code == 200 and r.json()["hits"][0]["doc_id"].startswith("heron-") for r in dense)
    # The writer logs what the replica passed it with no client address (it came over the Unix socket):
    # writes, which the replica did get, and no search, which it answered itself.
    forwarded = [FORWARDED.match(line) for line in log.read_text().splitlines()[start:]]
    requests = [(match[1], match[2].split("?")[0]) for match in forwarded if match]
    assert ("POST", "/documents") in requests
    assert not [path for _, path in requests if path == "/search"], requests

    deleted = fresh("DELETE", f"{url}/documents/heron-0")
    assert deleted.status_code == 200, deleted.text
    for _ in range(6):
        assert fresh("GET", f"{url}/documents/heron-0").status_code == 404
    missing = fresh("GET", f"{url}/tasks/nope")  # tasks live in the writer: answered from there
    assert missing.status_code == 404
    assert "nope" in missing.json()["detail"]


def test_collections_made_deleted_and_made_again_through_any_process(
    served: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    url, _, _ = served
    for text in ("Penguins huddle against the antarctic wind.", "Penguins dive for krill under the ice."):
        assert fresh("PUT", f"{url}/collections/birds", json={}).status_code in (200, 201)
        doc = {"id": text.split()[2], "text": text}
        written = fresh("POST", f"{url}/collections/birds/documents", json={"documents": [doc]})
        assert written.status_code == 200, written.text
        for _ in range(6):  # on either process: this collection's document, never the deleted one's
            found = fresh(
                "GET", f"{url}/collections/birds/search", params={"q": "penguins", "mode": "keyword"}
            )
            assert [hit["doc_id"] for hit in found.json()["hits"]] == [doc["id"]], found.text
        assert fresh("DELETE", f"{url}/collections/birds").status_code == 200
        for _ in range(6):
            assert (
                fresh("GET", f"{url}/collections/birds/search", params={"q": "penguins"}).status_code == 404
            )


def test_metrics_count_the_requests_of_every_process(
    served: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    url, _, _ = served

    def searches() -> float:
        text = fresh("GET", f"{url}/metrics").text
        line = 'semsearch_http_requests_total{method="GET",route="/search",status="200"}'
        return sum(float(row.split()[-1]) for row in text.splitlines() if row.startswith(line))

    start = searches()
    for n in range(30):
        assert fresh("GET", f"{url}/search", params={"q": f"reeds {n}"}).status_code == 200
    assert searches() - start == 30


async def _mcp_search(url: str, query: str) -> tuple[list[str], Any]:
    # No connection is kept, so each of the client's requests lands on either process.
    limits = httpx2.Limits(max_keepalive_connections=0)
    async with (
        httpx2.AsyncClient(timeout=60, limits=limits) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = [tool.name for tool in (await session.list_tools()).tools]
        return tools, await session.call_tool("search", {"query": query, "k": 1, "mode": "keyword"})


def test_mcp_on_either_process_finds_what_was_just_written(
    served: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    url, _, _ = served
    for n in range(4):
        doc = {"id": f"otter-{n}", "text": f"River otter {n} slides down the muddy bank into the stream."}
        assert fresh("POST", f"{url}/documents", json={"documents": [doc]}).status_code == 200
        tools, result = asyncio.run(_mcp_search(url, f"otter {n}"))
        assert "search" in tools
        assert not result.is_error, result.content
        assert result.structured_content["hits"][0]["doc_id"] == f"otter-{n}"


def test_a_killed_process_is_started_again_and_nothing_acknowledged_is_lost(
    served: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    url, process, log = served
    for victim in reversed(workers(process.pid)):  # the replica, then the writer (started first)
        os.kill(victim, signal.SIGKILL)
        wait_for(
            lambda v=victim: v not in workers(process.pid) and len(workers(process.pid)) == 2,
            "a restart",
            log,
        )
        doc = {"id": f"after-{victim}", "text": "A kingfisher dives from the willow branch."}
        deadline = time.monotonic() + START_TIMEOUT
        while True:  # 503 (or a refused connection) until the new process is up
            try:
                written = fresh("POST", f"{url}/documents", json={"documents": [doc]})
                if written.status_code == 200:
                    break
                assert written.status_code == 503, written.text
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        for _ in range(6):
            found = fresh("GET", f"{url}/documents/{doc['id']}")
            assert found.status_code == 200, found.text
        assert fresh("GET", f"{url}/documents/heron-39").status_code == 200


def test_a_port_in_use_stops_the_start_with_the_reason(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "service", "serve", "--port", str(port), "--workers", "2"]
        done = subprocess.run(
            command,
            env=server_env(tmp_path / "data"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode != 0
    assert f"127.0.0.1:{port} is in use by another program" in done.stderr
    assert not (tmp_path / "data").exists()  # no process was started


def test_workers_stop_when_the_supervisor_is_killed_and_the_next_start_takes_over(tmp_path: Path) -> None:
    """A supervisor killed outright (the out-of-memory killer, `kill -9`) takes its workers with it: they
    finish what they hold and exit, freeing the port and the data directory for the next start."""
    port, log = free_port(), tmp_path / "server.log"
    command = [sys.executable, "-m", "service", "serve", "--port", str(port), "--workers", "2"]
    env = server_env(tmp_path / "data", SEMSEARCH_SEED_DEMO="false")
    url = f"http://127.0.0.1:{port}"
    children: list[int] = []
    with log.open("ab") as output:
        first = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: len(workers(first.pid)) == 2, "the writer and the replica", log)
        children += workers(first.pid)
        wait_for(lambda: log.read_text().count("in-memory keyword index of") >= 2, "both loaded", log)
        doc = {"id": "swift", "text": "A swift sleeps on the wing over the open sea."}
        assert fresh("POST", f"{url}/documents", json={"documents": [doc]}).status_code == 200
        first.kill()
        first.wait(timeout=10)

        wait_for(lambda: not any(map(_running, children)), "the workers' exit", log, timeout=30)
        assert log.read_text().count("the supervisor process ended; stopping") == 2
    finally:
        first.kill()
        for pid in filter(_running, children):
            os.kill(pid, signal.SIGKILL)
    with log.open("ab") as output:
        second = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for(
            lambda: fresh("GET", f"{url}/readyz").status_code == 200 if _listening(port) else False,
            "the next start",
            log,
        )
        assert fresh("GET", f"{url}/documents/swift").status_code == 200
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, log.read_text()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _running(pid: int) -> bool:
    """Whether the process is alive (an exited one nobody has reaped yet is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
