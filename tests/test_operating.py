"""Operating the real ``timkiem serve``: signals, the metrics port, log formats and files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import EXAMPLES
from timkiem.config import Settings
from timkiem.indexer import Indexer
from timkiem.testing import free_port
from timkiem.testing import get_json as get


@pytest.fixture
def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TIMKIEM_")}
    return {**clean, "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def index(tmp_path: Path) -> Path:
    path = tmp_path / "index"
    Indexer(Settings.load({"index": str(path)}, environ={})).ingest([str(EXAMPLES)])
    return path


def _ignore_sigint() -> None:
    # What a shell does for a job started with '&': SIGINT ignored (SIG_IGN).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Served:
    """``timkiem serve ARGS...`` on a free port, its output in a file."""

    def __init__(self, index: Path, env: dict[str, str], out: Path, *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.out = out
        with open(out, "wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "timkiem", "serve", "--port", str(self.port)]
                + ["--index", str(index), *args],
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                preexec_fn=_ignore_sigint,
            )

    def wait_ready(self, base: str | None = None, path: str = "/health") -> None:
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, self.out.read_text()
            try:
                with urllib.request.urlopen((base or self.base) + path, timeout=5):
                    return
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, f"not answering: {self.out.read_text()}"
                time.sleep(0.1)

    def stop(self, signum: int = signal.SIGTERM) -> str:
        self.process.send_signal(signum)
        self.process.wait(timeout=30)
        return self.out.read_text()


@pytest.fixture
def serving(index: Path, env: dict[str, str], tmp_path: Path) -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


def serve(started: list[Served], index: Path, env: dict[str, str], tmp: Path, *args: str) -> Served:
    server = Served(index, env, tmp / f"serve-{len(started)}.out", *args)
    started.append(server)
    server.wait_ready()
    return server


def sigignored(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return int(line.split()[1], 16)
    raise AssertionError("no SigIgn in /proc status")


def test_sigint_stops_a_server_started_in_the_background(
    serving: list[Served], index: Path, env: dict[str, str], tmp_path: Path
) -> None:
    server = Served(index, env, tmp_path / "serve.out")
    serving.append(server)
    if Path("/proc/self/status").exists():  # the child really inherited SIGINT ignored...
        assert sigignored(server.process.pid) & (1 << (signal.SIGINT - 1))
    server.wait_ready()
    if Path("/proc/self/status").exists():  # ...and the server handles it all the same
        assert not sigignored(server.process.pid) & (1 << (signal.SIGINT - 1))
    output = server.stop(signal.SIGINT)
    assert server.process.returncode == 0, output
    assert output.rstrip().endswith("stopped")
    assert "Traceback" not in output and "KeyboardInterrupt" not in output


def test_sigterm_stops_it_too(
    serving: list[Served], index: Path, env: dict[str, str], tmp_path: Path
) -> None:
    server = serve(serving, index, env, tmp_path)
    output = server.stop(signal.SIGTERM)
    assert server.process.returncode == 0 and output.rstrip().endswith("stopped")


def test_metrics_port_is_apart_from_the_api(
    serving: list[Served], index: Path, env: dict[str, str], tmp_path: Path
) -> None:
    metrics_port = free_port()
    server = serve(serving, index, env, tmp_path, "--metrics-port", str(metrics_port))
    metrics_base = f"http://127.0.0.1:{metrics_port}"
    server.wait_ready(metrics_base, "/metrics")
    assert get(server.base, "/search", q="cong doan")[0] == 200
    status, body = get(server.base, "/metrics")
    assert status == 404 and body["error"]["code"] == "not_found"  # not public
    with urllib.request.urlopen(metrics_base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    assert 'timkiem_http_requests_total{endpoint="/search",method="GET",status="200"} 1.0' in text
    assert 'timkiem_index_info{commit="1",generation="gen-000001"} 1.0' in text
    assert "process_resident_memory_bytes" in text
    output = server.stop()
    assert server.process.returncode == 0, output
    assert f"metrics on http://127.0.0.1:{metrics_port}/metrics" in output


def serve_and_fail(
    index: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """``timkiem serve`` with ``args``, which must stop at once with exit status 1."""
    proc = subprocess.run(
        [sys.executable, "-m", "timkiem", "serve", "--port", str(free_port())]
        + ["--index", str(index), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    return proc


def test_a_taken_metrics_port_is_a_clean_error(
    index: Path, env: dict[str, str], tmp_path: Path
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = serve_and_fail(index, env, "--metrics-port", str(port))
    assert f"Error: --metrics-port {port}: cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_json_logs_and_the_log_file_reopened_on_sighup(
    serving: list[Served], index: Path, env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "timkiem.log"
    server = serve(serving, index, env, tmp_path, "--log-format", "json", "--log-file", str(log))
    assert get(server.base, "/search", q="cong doan")[0] == 200
    log.rename(tmp_path / "timkiem.log.1")  # logrotate moves the file away...
    server.process.send_signal(signal.SIGHUP)  # ...and tells the server
    deadline = time.monotonic() + 10
    while not log.exists():
        assert time.monotonic() < deadline, "the log file was not reopened"
        time.sleep(0.05)
    assert get(server.base, "/articles/bk-0001")[0] == 200
    assert server.stop() == ""  # nothing on standard error: all in the log file
    assert server.process.returncode == 0
    old = [json.loads(line) for line in (tmp_path / "timkiem.log.1").read_text().splitlines()]
    new = [json.loads(line) for line in log.read_text().splitlines()]
    assert old[0]["message"].startswith(f"serving {index} on http://127.0.0.1:")
    searches = [r for r in old if r["logger"] == "timkiem.access"]
    assert searches[-1]["q"] == "cong doan" and searches[-1]["results"] > 0
    assert new[0]["message"] == f"reopened the log file {log} (SIGHUP)"
    article = next(r for r in new if r.get("path") == "/articles/bk-0001")
    assert article["status"] == 200 and article["generation"] == "gen-000001"
    assert new[-1]["message"] == "stopped"
    assert all("client" not in r for r in old + new)


def test_writer_messages_in_json(index: Path, env: dict[str, str], tmp_path: Path) -> None:
    # A generation newer than the live one is a killed reindex's leftover: removed with a warning.
    (index / "gen-000007").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "timkiem", "reindex", str(EXAMPLES), "--index", str(index)]
        + ["--log-format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stderr.splitlines()]
    warning = next(r for r in records if r["level"] == "WARNING")
    assert warning["logger"] == "timkiem.storage"
    assert "gen-000007" in warning["message"] and "did not finish" in warning["message"]
    assert proc.stdout.startswith("47 added, 0 replaced, 0 rejected")


def test_no_access_log_on_request(
    serving: list[Served], index: Path, env: dict[str, str], tmp_path: Path
) -> None:
    server = serve(serving, index, env, tmp_path, "--no-access-log", "--log-format", "json")
    assert get(server.base, "/search", q="cong doan")[0] == 200
    output = server.stop()
    records = [json.loads(line) for line in output.splitlines()]
    assert records and not [r for r in records if r["logger"] == "timkiem.access"]
    assert records[-1]["message"] == "stopped"


def test_the_log_settings_come_from_the_environment(
    serving: list[Served], index: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """--no-access-log and --log-format are settings: TIMKIEM_* variables give them too."""
    settings = {**env, "TIMKIEM_ACCESS_LOG": "false", "TIMKIEM_LOG_FORMAT": "json"}
    server = serve(serving, index, settings, tmp_path)
    assert get(server.base, "/search", q="cong doan")[0] == 200
    output = server.stop()
    records = [json.loads(line) for line in output.splitlines()]
    assert records and not [r for r in records if r["logger"] == "timkiem.access"]
    assert records[-1]["message"] == "stopped"


def test_an_unwritable_log_file_is_a_clean_error(
    index: Path, env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-dir" / "timkiem.log"
    proc = serve_and_fail(index, env, "--log-file", str(missing))
    assert proc.stderr.strip() == (
        f"Error: --log-file {missing}: cannot open it (No such file or directory); "
        "choose a file in a directory the server's user can write"
    )
