"""``GET /metrics``: Prometheus figures of requests and of the index."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from falcon.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from conftest import EXAMPLES, Engines, write_jsonl
from timkiem.api import create_app
from timkiem.config import Settings
from timkiem.indexer import Indexer
from timkiem.metrics import LATENCY_BUCKETS, Metrics, last_commit
from timkiem.search import SearchEngine


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics``: (name, sorted labels) -> value."""
    result = client.simulate_get("/metrics")
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("text/plain; version=")
    found = {}
    for family in text_string_to_metric_families(result.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def requests_of(found: dict[Any, float], endpoint: str, status: str) -> float:
    labels = (("endpoint", endpoint), ("method", "GET"), ("status", status))
    return found.get(("timkiem_http_requests_total", labels), 0.0)


@pytest.fixture
def engine(settings: Settings) -> Any:
    Indexer(settings).ingest([str(EXAMPLES)])
    engine = SearchEngine(settings)
    yield engine
    engine.close()


def test_requests_are_counted_by_route_template_and_status(
    settings: Settings, engine: SearchEngine
) -> None:
    client = TestClient(create_app(engine, settings))
    client.simulate_get("/search", params={"q": "công đoàn"})
    client.simulate_get("/search", params={"per_page": "500"})
    client.simulate_get("/articles/bk-0001")
    client.simulate_get("/articles/bk-0002")
    client.simulate_get("/articles/nope")
    client.simulate_get("/no/such/path")
    client.simulate_get("/other/path")
    found = samples(client)
    assert requests_of(found, "/search", "200") == 1
    assert requests_of(found, "/search", "400") == 1
    # the route, not the raw path: ids never become labels
    assert requests_of(found, "/articles/{article_id:path}", "200") == 2
    assert requests_of(found, "/articles/{article_id:path}", "404") == 1
    assert requests_of(found, "unmatched", "404") == 2
    assert not any("bk-0001" in str(labels) or "/no/such" in str(labels) for _, labels in found)
    count = found[("timkiem_http_request_duration_seconds_count", (("endpoint", "/search"),))]
    assert count == 2


def test_latency_buckets_suit_a_1_to_60_ms_service() -> None:
    assert LATENCY_BUCKETS[0] == 0.001
    inside = [b for b in LATENCY_BUCKETS if 0.001 <= b <= 0.06]
    assert len(inside) >= 8 and 0.06 in inside
    assert list(LATENCY_BUCKETS) == sorted(LATENCY_BUCKETS)


def test_searches_without_results_and_partial_results(
    settings: Settings, engine: SearchEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = TestClient(create_app(engine, settings))
    client.simulate_get("/search", params={"q": "zzzqqxx"})
    client.simulate_get("/search", params={"q": "công đoàn"})
    found = samples(client)
    assert found[("timkiem_search_no_results_total", ())] == 1
    assert found[("timkiem_search_partial_total", ())] == 0
    real = engine.search

    def partial(request: Any) -> dict[str, Any]:
        return {**real(request), "partial": True}

    monkeypatch.setattr(engine, "search", partial)
    client.simulate_get("/search", params={"q": "công đoàn"})
    assert samples(client)[("timkiem_search_partial_total", ())] == 1


def test_index_figures(settings: Settings, engine: SearchEngine, tmp_path: Path) -> None:
    client = TestClient(create_app(engine, settings))
    found = samples(client)
    assert found[("timkiem_index_up", ())] == 1
    info = (("commit", "1"), ("generation", "gen-000001"))
    assert found[("timkiem_index_info", info)] == 1
    assert found[("timkiem_index_articles", ())] == 47
    assert found[("timkiem_index_warm", ())] == 1  # no background reading: always warm
    toc = Path(settings.index) / "gen-000001" / "_MAIN_1.toc"
    stamp = found[("timkiem_index_last_commit_timestamp_seconds", ())]
    assert stamp == pytest.approx(os.stat(toc).st_mtime)
    assert found[("process_resident_memory_bytes", ())] > 10_000_000

    new = write_jsonl(tmp_path / "new.jsonl", [{"id": "x1", "title": "Bài mới"}])
    Indexer(settings).ingest([str(new)])
    found = samples(client)
    assert found[("timkiem_index_info", (("commit", "2"), ("generation", "gen-000001")))] == 1
    assert found[("timkiem_index_articles", ())] == 48
    Indexer(settings).reindex([str(new)])
    found = samples(client)
    assert found[("timkiem_index_info", (("commit", "1"), ("generation", "gen-000002")))] == 1


def test_without_an_index_the_index_is_down(tmp_path: Path, engines: Engines) -> None:
    settings = Settings.load({"index": str(tmp_path / "none")}, environ={})
    found = samples(TestClient(create_app(engines.open(settings), settings)))
    assert found[("timkiem_index_up", ())] == 0
    assert ("timkiem_index_articles", ()) not in found


def test_each_app_has_its_own_registry(settings: Settings, engine: SearchEngine) -> None:
    first = TestClient(create_app(engine, settings))
    second = TestClient(create_app(engine, settings))
    for _ in range(3):
        first.simulate_get("/health")
    assert requests_of(samples(first), "/health", "200") == 3
    assert requests_of(samples(second), "/health", "200") == 0


def test_metrics_can_be_kept_off_the_public_app(settings: Settings, engine: SearchEngine) -> None:
    metrics = Metrics(engine.health, settings.index)
    client = TestClient(create_app(engine, settings, metrics=metrics, metrics_route=False))
    assert client.simulate_get("/metrics").status_code == 404
    client.simulate_get("/health")
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    assert b'timkiem_http_requests_total{endpoint="/health",method="GET",status="200"} 1.0' in body


def test_last_commit_of_an_empty_folder(tmp_path: Path) -> None:
    assert last_commit(tmp_path) is None
    assert last_commit(tmp_path / "missing") is None
    (tmp_path / "_MAIN_3.toc").write_bytes(b"")
    (tmp_path / "_MAIN_12.toc").write_bytes(b"")
    (tmp_path / "_MAIN_12.toc.tmp").write_bytes(b"")
    found = last_commit(tmp_path)
    assert found is not None and found[0] == 12
