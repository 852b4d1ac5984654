"""Prometheus metrics of the HTTP server, with the standard ``prometheus_client``.

Each :class:`Metrics` has its own ``CollectorRegistry`` (no global state: a
process can build several apps, as the tests do). Request figures are counted
as requests are answered; the index figures (generation, commit, articles,
time of the last commit, warm state) are read from the engine's ``health()``
and the index directory when Prometheus scrapes. Nothing here knows about the
web framework: the HTTP layer calls :meth:`Metrics.observe_request` and
:meth:`Metrics.observe_search`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric

from timkiem.storage import TOC_NAME

# Searches take 1-60 ms when warm; the upper buckets catch the slow tail and
# the query time limit (2 s by default).
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.045,
    0.06,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
UNMATCHED = "unmatched"  # the endpoint label of a path no route matches

Health = Callable[[], Mapping[str, Any]]


def last_commit(generation_dir: Path) -> tuple[int, float] | None:
    """The commit number and time (mtime of its table of contents) of a generation.

    Each commit of a generation writes a new ``_MAIN_<n>.toc``; the highest
    ``n`` is the live one. None when the directory holds no commit.
    """
    best: tuple[int, float] | None = None
    try:
        names = os.listdir(generation_dir)
    except OSError:
        return None
    for name in names:
        match = TOC_NAME.match(name)
        if match is None:
            continue
        number = int(match[1])
        if best is not None and number <= best[0]:
            continue
        try:
            best = (number, os.stat(generation_dir / name).st_mtime)
        except FileNotFoundError:  # replaced by a newer commit meanwhile
            continue
    return best


class IndexCollector:
    """Index figures read at scrape time from ``health()`` and the index directory."""

    def __init__(self, health: Health, index: Path) -> None:
        self.health = health
        self.index = index

    def collect(self) -> Iterable[Metric]:
        health = self.health()
        up = health.get("status") == "ok"
        yield GaugeMetricFamily(
            "timkiem_index_up", "1 when the index can answer searches, else 0", value=int(up)
        )
        if not up:
            return
        generation = str(health.get("generation") or "")
        commit = last_commit(self.index / generation) if generation else None
        info = InfoMetricFamily(
            "timkiem_index", "The live index generation and its commit (table of contents)"
        )
        info.add_metric([], {"generation": generation, "commit": str(commit[0] if commit else "")})
        yield info
        yield GaugeMetricFamily(
            "timkiem_index_articles", "Articles in the live index", value=health.get("articles", 0)
        )
        if commit is not None:
            yield GaugeMetricFamily(
                "timkiem_index_last_commit_timestamp_seconds",
                "Unix time of the live index's last commit (mtime of its table of contents)",
                value=commit[1],
            )
        yield GaugeMetricFamily(
            "timkiem_index_warm",
            "1 once the server answers at full speed (the index is open), else 0",
            value=int(bool(health.get("warm"))),
        )


class Metrics:
    """The server's metrics in their own registry."""

    def __init__(self, health: Health, index: str | Path) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "timkiem_http_requests",
            "HTTP requests answered, by endpoint (route template), method and status",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "timkiem_http_request_duration_seconds",
            "Time taken to answer an HTTP request, by endpoint (route template)",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.no_results = Counter(
            "timkiem_search_no_results",
            "Searches answered with no result (total 0)",
            registry=self.registry,
        )
        self.partial = Counter(
            "timkiem_search_partial",
            "Searches cut short by the query time limit (partial results)",
            registry=self.registry,
        )
        ProcessCollector(namespace="", registry=self.registry)
        self.registry.register(IndexCollector(health, Path(index)))

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its time."""
        self.requests.labels(endpoint, method, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def observe_search(self, total: int, partial: bool) -> None:
        """Count a search without results or with partial results."""
        if total == 0:
            self.no_results.inc()
        if partial:
            self.partial.inc()

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in Prometheus text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def serve(self, host: str, port: int) -> MetricsServer:
        """Serve the metrics on their own address in a background thread."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        return MetricsServer(server, thread)


class MetricsServer:
    """The background HTTP server of ``--metrics-port``."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self.server = server
        self.thread = thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
