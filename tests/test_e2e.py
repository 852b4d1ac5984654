"""End to end: the real ``timkiem serve`` on a loopback port, fed through the CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES, write_jsonl


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def timkiem(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "timkiem", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def get(base: str, path: str, **params: Any) -> tuple[int, Any]:
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


class Server:
    """A running ``timkiem serve``."""

    def __init__(self, index: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "timkiem", "serve", "--port", str(self.port)]
            + ["--index", str(index), "--threads", "2"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_healthy(self, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.communicate()[0]
            try:
                status, body = get(self.base, "/health")
                if status == 200:
                    result: dict[str, Any] = body
                    return result
                last = body
            except (urllib.error.URLError, ConnectionError) as exc:
                last = exc
            time.sleep(0.1)
        raise AssertionError(f"no healthy answer from {self.base} in {timeout} s: {last}")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        output, _ = self.process.communicate(timeout=30)
        return output


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TIMKIEM_")}
    return {**clean, "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def server(tmp_path: Path, env: dict[str, str]) -> Iterator[Server]:
    running = Server(tmp_path / "index", env)
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def hit_ids(body: dict[str, Any]) -> list[str]:
    return [h["id"] for h in body["hits"]]


def test_serve_ingest_and_search_over_http(
    server: Server, tmp_path: Path, env: dict[str, str]
) -> None:
    index = str(tmp_path / "index")
    # The server starts before there is an index, and says so.
    deadline = time.monotonic() + 30
    while True:
        try:
            status, body = get(server.base, "/health")
            break
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline and server.process.poll() is None
            time.sleep(0.1)
    assert status == 503 and body["status"] == "unavailable"

    ingested = timkiem("ingest", str(EXAMPLES), "--index", index, env=env)
    assert ingested.returncode == 0, ingested.stderr
    assert ingested.stdout.startswith("47 added, 0 replaced, 0 rejected in ")
    assert server.wait_healthy()["articles"] == 47
    deadline = time.monotonic() + 30
    while not get(server.base, "/health")[1]["warm"]:  # frequent terms read in the background
        assert time.monotonic() < deadline, "the server never finished reading its terms"
        time.sleep(0.1)

    for q in ("công đoàn bắc kạn", "cong doan bac kan"):
        status, body = get(server.base, "/search", q=q)
        assert status == 200
        assert "bk-0001" in hit_ids(body), (q, hit_ids(body))
        first = next(h for h in body["hits"] if h["id"] == "bk-0001")
        assert first["title"].startswith("Thực hiện chỉ thị 05-CT/TW")
        assert "<mark>" in first["snippet"]

    status, body = get(server.base, "/search", q="05-CT/TW")
    assert hit_ids(body)[0] == "bk-0001"
    status, body = get(server.base, "/search", **{"from": "2020", "to": "2020", "sort": "oldest"})
    assert status == 200 and body["hits"][0]["id"] == "bk-0001"
    status, body = get(server.base, "/articles/bk-0001")
    assert status == 200 and body["date"] == "2020-04-13T00:00:00+07:00"
    status, body = get(server.base, "/search", per_page="500")
    assert status == 400 and body["error"]["param"] == "per_page"

    # A reindex switches the running server to the new index, no restart.
    small = write_jsonl(tmp_path / "small.jsonl", [{"id": "new-1", "title": "Đại hội công đoàn"}])
    assert timkiem("reindex", str(small), "--index", index, env=env).returncode == 0
    status, body = get(server.base, "/search", q="dai hoi")
    assert hit_ids(body) == ["new-1"]
    assert get(server.base, "/stats")[1]["articles"] == 1

    output = server.stop()
    assert server.process.returncode == 0, output
    assert output.rstrip().endswith("stopped")
    assert "Traceback" not in output
