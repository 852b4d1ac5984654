"""Logging: the access log, the JSON format and log files that can be reopened."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from falcon.testing import TestClient

from conftest import EXAMPLES, Engines
from timkiem.api import create_app
from timkiem.config import Settings
from timkiem.indexer import Indexer
from timkiem.logs import (
    MAX_QUERY_CHARS,
    AccessLog,
    JsonFormatter,
    ReopenableFileHandler,
    TextFormatter,
    configure_logging,
    reopen_log_files,
)


@pytest.fixture
def access(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO, logger="timkiem.access"):
        yield caplog


def access_fields(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [r.fields for r in caplog.records if r.name == "timkiem.access"]  # type: ignore[attr-defined]


def client_of(settings: Settings, engines: Engines, client_address: bool = False) -> TestClient:
    Indexer(settings).ingest([str(EXAMPLES)])
    app = create_app(engines.open(settings), settings, access_log=AccessLog(client_address))
    return TestClient(app)


def test_one_access_line_per_request(
    settings: Settings, access: pytest.LogCaptureFixture, engines: Engines
) -> None:
    client = client_of(settings, engines)
    client.simulate_get("/search", params={"q": "cong doan", "per_page": "3"})
    client.simulate_get("/search", params={"q": "x", "per_page": "500"})
    client.simulate_get("/articles/bk-0001")
    lines = access_fields(access)
    assert len(lines) == 3
    search, bad, article = lines
    assert search["method"] == "GET" and search["path"] == "/search"
    assert search["status"] == 200 and search["q"] == "cong doan"
    assert isinstance(search["results"], int) and search["results"] > 3  # the total, not the page
    assert search["generation"] == "gen-000001"
    assert isinstance(search["took_ms"], float) and search["took_ms"] > 0
    assert bad["status"] == 400 and "results" not in bad
    assert article == {
        "method": "GET",
        "path": "/articles/bk-0001",
        "status": 200,
        "took_ms": article["took_ms"],
        "generation": "gen-000001",
    }
    assert all("client" not in line for line in lines)  # not unless asked for


def test_long_queries_are_cut_and_the_client_only_on_request(
    settings: Settings, access: pytest.LogCaptureFixture, engines: Engines
) -> None:
    client = client_of(settings, engines, client_address=True)
    client.simulate_get("/search", params={"q": "dài " * 100})
    (line,) = access_fields(access)
    assert len(str(line["q"])) == MAX_QUERY_CHARS + 1 and str(line["q"]).endswith("\u2026")
    assert line["client"] == "127.0.0.1"  # falcon.testing's client address


def record(message: str, **fields: object) -> logging.LogRecord:
    made = logging.LogRecord("timkiem.access", logging.INFO, __file__, 1, message, None, None)
    if fields:
        made.fields = fields
    return made


def test_json_format_is_one_object_per_line() -> None:
    line = JsonFormatter().format(record("GET /search 200", status=200, q='a "b"\nc'))
    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "INFO" and data["logger"] == "timkiem.access"
    assert data["message"] == "GET /search 200"
    assert data["status"] == 200 and data["q"] == 'a "b"\nc'
    assert data["time"].endswith("Z") and data["time"][10] == "T"
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord("timkiem", logging.ERROR, __file__, 1, "failed", None, None)
        failed.exc_info = sys.exc_info()
    data = json.loads(JsonFormatter().format(failed))
    assert "ValueError: boom" in data["exception"]


def test_text_format_shows_the_fields_as_json() -> None:
    line = TextFormatter().format(record("GET /health 200", status=200, path="/health"))
    assert line.endswith(' INFO timkiem.access: {"status": 200, "path": "/health"}')
    assert TextFormatter().format(record("plain")).endswith(" INFO timkiem.access: plain")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        root.removeHandler(handler)
        handler.close()
    for handler in saved:
        root.addHandler(handler)
    root.setLevel(level)


def test_a_log_file_is_reopened_after_rotation(tmp_path: Path, restore_logging: None) -> None:
    path = tmp_path / "timkiem.log"
    handler = configure_logging("json", str(path))
    assert isinstance(handler, ReopenableFileHandler)
    log = logging.getLogger("timkiem.test")
    log.info("before rotation")
    path.rename(tmp_path / "timkiem.log.1")  # what logrotate does
    log.info("still the old file")
    assert reopen_log_files() == [str(path)]
    log.info("after rotation")
    old = [json.loads(x)["message"] for x in (tmp_path / "timkiem.log.1").read_text().splitlines()]
    new = [json.loads(x)["message"] for x in path.read_text().splitlines()]
    assert old == ["before rotation", "still the old file"]
    assert new == ["after rotation"]


def test_unknown_format_is_refused(restore_logging: None) -> None:
    with pytest.raises(ValueError, match="log format must be one of text, json"):
        configure_logging("xml")
