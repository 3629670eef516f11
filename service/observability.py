"""Metrics (Prometheus), request ids and structured logs.

Every request gets an id: the client's ``X-Request-ID`` if it sent a sane one, else a new one. It is
returned in the ``X-Request-ID`` response header and put on every log record written while the request is
handled (``request_id``), so a client's report can be found in the logs. ``GET /metrics`` serves the
Prometheus text format from a registry of the app's own (several apps in one process never mix). Under
``semsearch serve --workers N`` (service.workers) the counters and histograms are those of all the processes
summed (prometheus_client's multiprocess mode, which the supervisor turns on for its workers), whichever
process answers the scrape.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import time
import uuid
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, Info, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from index.protocol import ServedIndex
    from index.types import SearchResult

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The app's metrics, in a registry of its own."""

    def __init__(self, version: str, model: str, backend: str) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "semsearch_http_requests", "HTTP requests answered.", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "semsearch_http_request_duration_seconds",
            "Time from request to response, per route.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.search_phase = Histogram(
            "semsearch_search_phase_seconds",
            "Time a search spends per phase: encode (the query), search (FAISS + FTS5), rank.",
            ["phase"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "semsearch_query_batch_size",
            "Queries per model call of the query encoder.",
            buckets=(1, 2, 3, 4, 6, 8, 16, 32, 64),
            registry=r,
        )
        self.cached_searches = Counter(
            "semsearch_search_results_cached",
            "Searches answered from the result cache (SEMSEARCH_RESULT_CACHE_MB), without the phases above.",
            registry=r,
        )
        self.errors = Counter("semsearch_errors", "Error responses, by kind.", ["type"], registry=r)
        self.unhandled = Counter(
            "semsearch_unhandled_errors",
            "Requests that raised an unexpected exception (answered 500 by the last-resort handler): a bug.",
            registry=r,
        )
        build = Info("semsearch_build", "Version, model and encoder.", registry=r)
        build.info({"version": version, "model": model, "backend": backend, "python": sys.version.split()[0]})
        self._indexes: Callable[[], Mapping[str, ServedIndex]] = dict
        sizes = _IndexCollector(lambda: self._indexes())
        r.register(sizes)
        # process_open_fds against process_max_fds (each open collection holds files: service.open_files),
        # resident memory, CPU: the answering process's.
        process = ProcessCollector(registry=r)
        self._own = (build, sizes, process)  # not summed across processes: the answering process's own

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format: this app's, or with several worker processes (the
        environment names a multiprocess directory) their counters and histograms summed, beside this
        process's build info and index sizes."""
        shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not shared:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=shared)  # type: ignore[no-untyped-call]
        for collector in self._own:
            registry.register(collector)
        return generate_latest(registry)

    def watch(self, indexes: Callable[[], Mapping[str, ServedIndex]]) -> None:
        """Report the size of each collection's index ``indexes`` returns at scrape time."""
        self._indexes = indexes

    def observe_searches(self, results: Sequence[SearchResult]) -> None:
        """The phases of one call's searches (a batch's are the same for all, so observed once); those
        answered from the result cache had none, and are counted instead."""
        searched = [result for result in results if not result.cached]
        if len(searched) < len(results):
            self.cached_searches.inc(len(results) - len(searched))
        if not searched:
            return
        timings = searched[0].timings
        self.search_phase.labels("encode").observe(timings.encode_ms / 1000)
        self.search_phase.labels("search").observe(timings.search_ms / 1000)
        self.search_phase.labels("rank").observe(timings.rank_ms / 1000)


class _IndexCollector(Collector):
    """Documents and chunks of each open collection, and the bytes its result cache holds, labelled
    ``collection``."""

    def __init__(self, indexes: Callable[[], Mapping[str, ServedIndex]]) -> None:
        self._indexes = indexes

    def collect(self) -> Iterator[GaugeMetricFamily]:
        documents = GaugeMetricFamily(
            "semsearch_index_documents", "Documents in the index.", labels=["collection"]
        )
        chunks = GaugeMetricFamily("semsearch_index_chunks", "Chunks in the index.", labels=["collection"])
        cached = GaugeMetricFamily(
            "semsearch_result_cache_bytes",
            "Estimated bytes of search results the collection keeps (SEMSEARCH_RESULT_CACHE_MB).",
            labels=["collection"],
        )
        for name, index in sorted(self._indexes().items()):
            cache = getattr(index, "result_cache", None)  # a sharded index keeps none
            if cache is not None:
                cached.add_metric([name], cache.bytes)
            try:
                stats = index.stats()
            except Exception:  # closed under a scrape: leave it out rather than fail the scrape
                continue
            documents.add_metric([name], stats.documents)
            chunks.add_metric([name], stats.chunks)
        yield documents
        yield chunks
        yield cached


class ObservabilityMiddleware:
    """Request ids, and request counts and latencies per route template (never per raw path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode(), b"").decode("latin-1")
        rid = sent if _SANE_ID.match(sent) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = int(message["status"])
                headers = [*message.get("headers", []), (REQUEST_ID_HEADER.encode(), rid.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # The last resort: a bug. Logged with its traceback and counted; the client gets JSON with the
            # request id to report, never a plain-text 500 or a dropped connection.
            self.metrics.unhandled.inc()
            log.exception("unhandled error answering %s %s", scope.get("method"), scope.get("path"))
            if started_response:
                raise
            body = json.dumps(
                {"detail": "internal error: please report it with the request id", "request_id": rid}
            )
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send_with_id({"type": "http.response.body", "body": body.encode()})
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)
            if status >= 400:
                named = scope.get("state", {}).get("error_type")  # set by service.errors' handlers
                self.metrics.errors.labels(named or f"http_{status}").inc()
            request_id.reset(token)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure_logging(level: str, json_logs: bool) -> None:
    """Root logging: plain lines or one JSON object per line, each with the request id."""
    handler = logging.StreamHandler()
    handler.addFilter(_RequestIdFilter())
    if json_logs:
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"levelname": "level", "asctime": "time"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
