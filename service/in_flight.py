"""Requests in flight across the server's processes: whether a search has the machine to itself.

A query's model call runs on every core, its threads spinning between the model's steps, only when nothing
else wants the cores (index.encoders.onnx_encoder): a lone query is answered sooner, and under load the
calls run on one thread each, leaving the other core to the requests beside them. The encoder knows its
own process's calls; `semsearch serve` runs one process per core on the same cores, so each process counts
its requests in its own slot of an array in shared memory that the supervisor makes before it starts them
(service.workers), and reads the others' slots. A slot has one writer, its process's event loop, so no
lock is taken; the supervisor zeroes the slot of a process it starts again (one killed mid-request would
have left its count up).
"""

from __future__ import annotations

import ctypes
import multiprocessing.sharedctypes
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    Counters = ctypes.Array[ctypes.c_int]


def shared_counters(processes: int) -> Counters:
    """One counter per process, in memory the processes forked or spawned with it share (pass it to them
    as an argument)."""
    counters: Counters = multiprocessing.sharedctypes.RawArray(ctypes.c_int, processes)
    return counters


class InFlight:
    """How many HTTP requests the processes sharing ``counters`` are answering; this one counts in
    ``counters[slot]``."""

    def __init__(self, counters: Counters | None = None, slot: int = 0) -> None:
        self._counters = counters if counters is not None else shared_counters(1)
        self._slot = slot

    @property
    def count(self) -> int:
        return sum(self._counters)

    def alone(self) -> bool:
        """Whether the request asking is the only one in flight (or none is: work outside a request)."""
        return self.count <= 1

    def add(self, delta: int) -> None:
        """Count ``delta`` more requests in this process (from its event loop only)."""
        self._counters[self._slot] += delta


class CountInFlight:
    """ASGI middleware: each HTTP request counts in ``in_flight`` from its start until its answer is sent
    or it fails."""

    def __init__(self, app: ASGIApp, in_flight: InFlight) -> None:
        self.app = app
        self.in_flight = in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.in_flight.add(1)
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight.add(-1)
