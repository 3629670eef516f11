"""The image, for real: the Dockerfile built unmodified and run with Docker or podman (`make container-check`,
part of `make test`).

What it checks, in order, on one image and one new volume: the container becomes ready; it runs as a user
other than root, without torch or sentence-transformers installed; documents go in and are found by meaning
(tests/container/smoke.py), a paragraph-long query and a query by example are answered; SIGTERM stops it
within 10 s with exit code 0; a new container on the same volume serves everything that was acknowledged
before, and sizes itself for the one core a CPU quota (``--cpus=1``) leaves it.

The engine is ``$CONTAINER_ENGINE`` if set, else the first of ``docker`` and ``podman`` that answers
``info``. ``$CONTAINER_BUILD_ARGS`` adds arguments to the build (a shell-quoted string: a local base image, a
build argument for the torch wheel...). With no engine the test fails and says so: it never skips silently.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.container import smoke

pytestmark = pytest.mark.container

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 180.0
STOP_BUDGET = 10.0
# The image serves with ONNX Runtime: the build stage's torch and sentence-transformers stay behind.
TORCH_FREE = (
    "import importlib.util\n"
    "for name in ('torch', 'sentence_transformers', 'transformers'):\n"
    "    if importlib.util.find_spec(name) is not None:\n"
    "        print(name)\n"
)
INSTALL = "Install Docker or podman to run the container test, or run `make check` for everything else."


def find_engine() -> str:
    """The engine to use: ``$CONTAINER_ENGINE``, or the first installed one that answers."""
    chosen = os.environ.get("CONTAINER_ENGINE", "").strip()
    candidates = [chosen] if chosen else ["docker", "podman"]
    for engine in candidates:
        if shutil.which(engine) is None:
            continue
        answer = subprocess.run([engine, "info"], capture_output=True, timeout=60, check=False)
        if answer.returncode == 0:
            return engine
    if chosen:
        pytest.fail(f"CONTAINER_ENGINE={chosen} is not installed or does not answer `info`. {INSTALL}")
    pytest.fail(f"no container engine: neither docker nor podman answers `info`. {INSTALL}")


@dataclass
class Engine:
    command: str

    def run(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [self.command, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{self.command} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def inspect(self, container: str, template: str) -> str:
        return self.run("inspect", "-f", template, container).stdout.strip()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(find_engine())


@pytest.fixture(scope="module")
def image(engine: Engine) -> Iterator[str]:
    name = f"localhost/semsearch-test:{uuid.uuid4().hex[:8]}"
    extra = shlex.split(os.environ.get("CONTAINER_BUILD_ARGS", ""))
    started = time.monotonic()
    engine.run("build", *extra, "-t", name, str(ROOT), timeout=1800)
    size = int(engine.run("image", "inspect", "-f", "{{.Size}}", name).stdout.strip())
    print(f"built {name} in {time.monotonic() - started:.0f} s: {size / 1e6:.0f} MB")
    yield name
    engine.run("rmi", "-f", name, check=False)


@pytest.fixture
def volume(engine: Engine) -> Iterator[str]:
    name = f"semsearch-test-{uuid.uuid4().hex[:8]}"
    engine.run("volume", "create", name)
    yield name
    engine.run("volume", "rm", "-f", name, check=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Container:
    """One container of the image on the volume, published on a loopback port; removed on exit."""

    def __init__(self, engine: Engine, image: str, volume: str, *options: str) -> None:
        self.engine = engine
        self.name = f"semsearch-test-{uuid.uuid4().hex[:8]}"
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        published, mounted = f"127.0.0.1:{port}:8000", f"{volume}:/data"
        engine.run("run", "-d", "--name", self.name, "-p", published, "-v", mounted, *options, image)

    def wait_ready(self) -> float:
        started = time.monotonic()
        while time.monotonic() - started < READY_TIMEOUT:
            if self.engine.inspect(self.name, "{{.State.Running}}") != "true":
                break
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        logs = self.engine.run("logs", self.name, check=False)
        waited = time.monotonic() - started
        raise AssertionError(f"not ready after {waited:.0f} s:\n{logs.stdout}{logs.stderr}")

    def stop(self) -> tuple[float, int]:
        """SIGTERM, then how long it took to exit and its exit code."""
        started = time.monotonic()
        self.engine.run("stop", "-t", str(int(STOP_BUDGET)), self.name, timeout=60)
        return time.monotonic() - started, int(self.engine.inspect(self.name, "{{.State.ExitCode}}"))

    def remove(self) -> None:
        self.engine.run("rm", "-f", self.name, check=False)


def test_the_image_serves_stops_cleanly_and_keeps_its_data(engine: Engine, image: str, volume: str) -> None:
    first = Container(engine, image, volume)
    try:
        print(f"ready after {first.wait_ready():.1f} s on a new volume")
        uid = engine.run("exec", first.name, "id", "-u").stdout.strip()
        assert uid.isdigit()
        assert int(uid) != 0, "the container runs as root"
        installed = engine.run("exec", first.name, "python", "-c", TORCH_FREE).stdout.split()
        assert installed == [], f"the runtime image has {installed}"
        smoke.smoke(first.url)
        took, code = first.stop()
        print(f"stopped by SIGTERM in {took:.1f} s, exit code {code}")
        assert took < STOP_BUDGET, f"SIGTERM took {took:.1f} s"
        assert code == 0, f"exit code {code} after SIGTERM"
    finally:
        first.remove()
    # A new container on the same volume, allowed one core of the host's: it sizes itself for that one.
    second = Container(engine, image, volume, "--cpus=1")
    try:
        second.wait_ready()
        smoke.after_restart(second.url)
        logs = engine.run("logs", second.name)
        if (os.cpu_count() or 1) > 1:
            assert "using 1 of the machine's" in logs.stdout + logs.stderr, logs.stderr
    finally:
        second.remove()
