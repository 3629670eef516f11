"""``semsearch serve --workers N``: one port served by N processes, one writer and N - 1 read replicas.

One process serves searches from many threads, but Python runs one of them at a time: under 8 clients on two
cores about a sixth of the CPU stays idle while the event loop and the search threads wait for each other
(docs/benchmarks.md). Processes do not wait for each other. What they must not do is all write: a data
directory has one writer (docs/operations.md). So:

* This process, the supervisor, binds the port and a Unix socket in a private directory, and starts the
  **writer**: the service as ``semsearch serve`` runs it, on both.
* Once the writer is ready (its ``/readyz``), it starts the **replicas**: read-only processes on the same
  data directory, on the same port. The kernel gives each new connection to one of the processes.
* A replica answers searches and reads itself, after catching up with the writer's commits (the check
  before every search that any read replica makes, so an acknowledged write is visible to the next search
  on every process). Writes and the rest go to the writer over the Unix socket (service.forwarding).
* Metrics are summed over the processes (prometheus_client's multiprocess mode, in the private directory).
* A process that dies is started again. SIGTERM or SIGINT stops them all, each finishing what it holds.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import os
import signal
import socket
import sys
import tempfile
import threading
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Literal

import httpx
import uvicorn

from service.in_flight import InFlight, shared_counters
from service.settings import Settings

log = logging.getLogger("semsearch.workers")

Role = Literal["writer", "replica"]

# A process that dies is started again after this long, so one that fails at once does not spin.
RESTART_DELAY_SECONDS = 1.0


def serve(settings: Settings, graceful_seconds: int) -> None:
    """Serve ``settings.worker_count()`` processes on ``settings.host:settings.port`` until SIGTERM or
    SIGINT."""
    # The workers' shared metrics files and the writer's socket, removed however the supervisor ends.
    with tempfile.TemporaryDirectory(prefix="semsearch-", ignore_cleanup_errors=True) as private:
        _supervise(settings, graceful_seconds, Path(private))


def _supervise(settings: Settings, graceful_seconds: int, private: Path) -> None:
    count = settings.worker_count()
    metrics = private / "metrics"
    metrics.mkdir()
    # Before prometheus_client is imported: it picks its shared-file values by this variable then.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    context = _preloaded()
    from service.observability import configure_logging

    configure_logging(settings.log_level, settings.log_json)
    _quiet_http_client()
    writer_path = str(private / "writer.sock")
    sockets: list[socket.socket] = []
    stopping = threading.Event()

    def stop(signum: int, _: FrameType | None) -> None:
        log.info("stopping %d worker processes (%s)", count, signal.Signals(signum).name)
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    processes: dict[int, BaseProcess] = {}
    in_flight = shared_counters(count)  # each worker's requests in flight, by slot (service.in_flight)

    # Every worker's model call that runs alone gets every core, as one process's does; overlapping calls
    # get one thread each. Against one thread a replica answered more requests and a lone query sooner on
    # an AVX2 machine (3.88x txtai's requests/s against 3.34x, p50 0.56x against 0.65x by the medians), for
    # about 100 MB more each: a second ONNX Runtime session (docs/benchmarks.md, "Threads per worker").
    # A lone query's call gets them only while no worker answers another request.
    def start(slot: int) -> None:
        role: Role = "writer" if slot == 0 else "replica"
        in_flight[slot] = 0  # a worker that ended mid-request left its count
        process = context.Process(
            target=_run,
            args=(
                settings,
                role,
                sockets if role == "writer" else sockets[:1],
                writer_path,
                graceful_seconds,
                InFlight(in_flight, slot),
            ),
            name=f"semsearch-{role}-{slot}",
        )
        process.start()
        processes[slot] = process

    try:
        # The port first: the writer serves it and the Unix socket, the replicas the port alone.
        sockets.append(
            _bind(uvicorn.Config("service.app:create_app", host=settings.host, port=settings.port))
        )
        sockets.append(_bind(uvicorn.Config("service.app:create_app", uds=writer_path)))
        start(0)
        if not _wait_ready(writer_path, processes[0], stopping):
            if not stopping.is_set():
                log.error(
                    "the writer process ended before it was ready (exit code %s)", processes[0].exitcode
                )
                raise SystemExit(1)
            return
        for slot in range(1, count):
            start(slot)
        log.info("serving with %d processes: one writer, %d read replicas", count, count - 1)
        while not stopping.wait(0.5):
            for slot, process in list(processes.items()):
                if not process.is_alive() and not stopping.is_set():
                    log.warning("%s ended (exit code %s); starting it again", process.name, process.exitcode)
                    if not stopping.wait(RESTART_DELAY_SECONDS):
                        start(slot)
    finally:
        for process in processes.values():
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in processes.values():
            process.join(graceful_seconds + 5)
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sock in sockets:
            sock.close()


def _preloaded() -> multiprocessing.context.ForkContext | multiprocessing.context.SpawnContext:
    """How the workers are started. On Linux they are forked from this process once it has imported the
    app: a spawned worker imported it all again (0.9 s more), and the writer's start is the service's
    (`bench/container_ready.py`: 3.9 s to ready on a new volume spawned, 2.5 s in one process). Forking
    is safe here: this process has loaded no model and started no thread. Elsewhere, spawned."""
    if sys.platform != "linux":
        return multiprocessing.get_context("spawn")
    import service.app  # noqa: F401  (the workers' imports, made once)

    return multiprocessing.get_context("fork")


def _quiet_http_client() -> None:
    """httpx logs every request at INFO: the supervisor's readiness polls and each forwarded request."""
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _bind(config: uvicorn.Config) -> socket.socket:
    sock = config.bind_socket()
    sock.set_inheritable(True)
    return sock


def _wait_ready(writer_path: str, writer: BaseProcess, stopping: threading.Event) -> bool:
    """Wait for the writer to answer ``/readyz`` with 200; False if it ended first or we are stopping."""
    with httpx.Client(transport=httpx.HTTPTransport(uds=writer_path), base_url="http://writer") as client:
        while not stopping.is_set() and writer.is_alive():
            try:
                if client.get("/readyz", timeout=5).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            stopping.wait(0.2)
    return False


def _run(
    settings: Settings,
    role: Role,
    sockets: list[socket.socket],
    writer_path: str,
    graceful: int,
    in_flight: InFlight,
) -> None:
    """One worker process: the app as ``role``, served on ``sockets`` until SIGTERM."""
    from service.app import create_app
    from service.observability import configure_logging

    # A forked worker has the supervisor's handlers until uvicorn sets its own: the defaults meanwhile.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    configure_logging(settings.log_level, settings.log_json)
    _quiet_http_client()
    _stop_with_parent()
    if role == "writer":
        app = create_app(settings, in_flight=in_flight)
    else:
        replica = settings.model_copy(update={"read_only": True, "seed_demo": False})
        app = create_app(replica, writer_socket=writer_path, in_flight=in_flight)
    config = uvicorn.Config(app, log_level=settings.log_level, timeout_graceful_shutdown=graceful)
    uvicorn.Server(config).run(sockets=sockets)


def _stop_with_parent() -> None:
    """SIGTERM this worker when the supervisor ends, however it ends. A supervisor killed outright (the
    kernel's out-of-memory killer, ``kill -9``) would otherwise leave its workers serving the port and the
    writer holding the data directory, so the next ``semsearch serve`` could not start on it."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        log.warning("the supervisor process ended; stopping")
        signal.raise_signal(signal.SIGTERM)  # uvicorn's handler: stop, finishing what is in flight

    threading.Thread(target=watch, name="semsearch-parent-watch", daemon=True).start()
