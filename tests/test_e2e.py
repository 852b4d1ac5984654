"""End to end: the real ``timkiem serve`` on a loopback port, fed through the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES, write_jsonl
from timkiem.testing import ServerProcess


def timkiem(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "timkiem", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TIMKIEM_")}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """``timkiem serve`` started on an index that does not exist yet."""
    running = ServerProcess(tmp_path / "index", args=["--threads", "2"], clean=True).start()
    yield running
    running.stop()


def hit_ids(body: dict[str, Any]) -> list[str]:
    return [h["id"] for h in body["hits"]]


def test_serve_ingest_and_search_over_http(
    server: ServerProcess, tmp_path: Path, env: dict[str, str]
) -> None:
    index = str(tmp_path / "index")
    # The server starts before there is an index, and says so.
    server.wait_ready(timeout=30)
    status, body = server.get("/health")
    assert status == 503 and body["status"] == "unavailable"

    ingested = timkiem("ingest", str(EXAMPLES), "--index", index, env=env)
    assert ingested.returncode == 0, ingested.stderr
    assert ingested.stdout.startswith("47 added, 0 replaced, 0 rejected in ")
    server.wait_ready(status=200, timeout=30)
    assert server.get("/health")[1]["articles"] == 47
    server.wait_warm(timeout=30)  # frequent terms are read in the background
    assert server.get("/health")[1]["warm"], "the server never finished reading its terms"

    for q in ("công đoàn bắc kạn", "cong doan bac kan"):
        status, body = server.get("/search", q=q)
        assert status == 200
        assert "bk-0001" in hit_ids(body), (q, hit_ids(body))
        first = next(h for h in body["hits"] if h["id"] == "bk-0001")
        assert first["title"].startswith("Thực hiện chỉ thị 05-CT/TW")
        assert "<mark>" in first["snippet"]

    status, body = server.get("/search", q="05-CT/TW")
    assert hit_ids(body)[0] == "bk-0001"
    status, body = server.get("/search", **{"from": "2020", "to": "2020", "sort": "oldest"})
    assert status == 200 and body["hits"][0]["id"] == "bk-0001"
    status, body = server.get("/articles/bk-0001")
    assert status == 200 and body["date"] == "2020-04-13T00:00:00+07:00"
    status, body = server.get("/search", per_page="500")
    assert status == 400 and body["error"]["param"] == "per_page"

    # A reindex switches the running server to the new index, no restart.
    small = write_jsonl(tmp_path / "small.jsonl", [{"id": "new-1", "title": "Đại hội công đoàn"}])
    assert timkiem("reindex", str(small), "--index", index, env=env).returncode == 0
    status, body = server.get("/search", q="dai hoi")
    assert hit_ids(body) == ["new-1"]
    assert server.get("/stats")[1]["articles"] == 1

    assert server.stop() == 0, server.output
    output = server.output
    assert output.rstrip().endswith("stopped")
    assert "Traceback" not in output
