"""SIGTERM during traffic: in-flight requests finish or fail, the process exits within 10 s, every
acknowledged write is there after a restart, and the vector index was saved (no repair on start)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.crash_harness import wait_ready
from tests.integration.test_server import free_port, server_env

pytestmark = pytest.mark.integration


def test_sigterm_during_traffic_exits_in_time_and_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    port, data, log = free_port(), tmp_path / "data", tmp_path / "server.log"
    command = [sys.executable, "-m", "service", "serve", "--port", str(port), "--no-demo"]
    env = server_env(data)
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    acknowledged: list[str] = []
    lock = threading.Lock()

    def writer(worker: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for n in range(1000):
                doc_id = f"w{worker}-{n}"
                body = {"documents": [{"id": doc_id, "text": f"Paragraph {n} by writer {worker} on tides."}]}
                try:
                    response = client.post("/documents", json=body)
                except httpx.TransportError:
                    return
                if response.status_code != 200:
                    return  # 503 while shutting down: not acknowledged
                with lock:
                    acknowledged.append(doc_id)

    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            wait_ready(client, process)
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(2.0)
        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
        stopped_in = time.monotonic() - stopping
        for thread in threads:
            thread.join(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert code in (0, -signal.SIGTERM), log.read_text()
    assert stopped_in < 10, f"stopped in {stopped_in:.1f} s"
    assert len(acknowledged) > 10

    port = free_port()
    command[-2] = str(port)
    before_restart = len(log.read_text())  # a replica of the first start caught up with the writer's commits
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            wait_ready(client, process)
            for doc_id in acknowledged:
                assert client.get(f"/documents/{doc_id}").status_code == 200, doc_id
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    restarted = log.read_text()[before_restart:]
    assert "behind the store" not in restarted  # the first start saved its vectors on the way out
