"""The deployment files of ``deploy/``: checked by the tools that will read them.

``systemd-analyze verify`` reads the units and ``nginx -t`` the site (then a
real nginx proxies a real ``timkiem serve``); each test is skipped, saying
why, on a machine without the tool (``.ci/run`` installs nginx when it can).
"""

from __future__ import annotations

import configparser
import gzip
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT, nginx_or_skip
from timkiem.config import Settings
from timkiem.indexer import Indexer
from timkiem.testing import (
    NginxProcess,
    ServerProcess,
    free_port,
    nginx_config,
    nginx_site,
)

DEPLOY = ROOT / "deploy"
UNITS = ["timkiem.service", "timkiem-sync.service", "timkiem-sync.timer", "timkiem-pull.service"]
TIMKIEM = "/opt/timkiem/.venv/bin/timkiem"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / name).read_text())
    return parser


def test_the_units_are_hardened() -> None:
    for name in ("timkiem.service", "timkiem-sync.service", "timkiem-pull.service"):
        service = unit(name)["Service"]
        assert service["User"] == "timkiem" and service["Group"] == "timkiem"
        assert service["ProtectSystem"] == "strict"
        assert service["ReadWritePaths"] == "/var/lib/timkiem/index"
        assert service["NoNewPrivileges"] == "yes"
        assert service["KillSignal"] == "SIGTERM"
        assert service["ExecStart"].startswith(TIMKIEM + " ")
    server = unit("timkiem.service")["Service"]
    assert server["Restart"] == "on-failure"
    assert "--metrics-port" in server["ExecStart"] and "--log-file" in server["ExecStart"]
    assert server["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert unit("timkiem-sync.timer")["Timer"]["Unit"] == "timkiem-sync.service"
    follower = unit("timkiem-pull.service")["Service"]
    assert " pull https://" in follower["ExecStart"] and follower["Restart"] == "on-failure"
    assert "Environment=TIMKIEM_PULL_INTERVAL=30" in (DEPLOY / "timkiem-pull.service").read_text()


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (it comes with systemd)")
    for name in UNITS:  # ExecStart must exist for verify: timkiem is not installed there
        text = (DEPLOY / name).read_text().replace(TIMKIEM, "/bin/true")
        (tmp_path / name).write_text(text)
    proc = subprocess.run(
        [analyze, "verify", *(str(tmp_path / n) for n in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    # verify only warns about unknown keys and bad values ("..., ignoring"): none allowed
    ours = [line for line in output.splitlines() if any(n in line for n in UNITS)]
    assert ours == [], output


def test_systemd_analyze_verify_sees_a_mistake(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key is reported."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (it comes with systemd)")
    text = (DEPLOY / "timkiem.service").read_text().replace(TIMKIEM, "/bin/true")
    (tmp_path / "timkiem.service").write_text(text.replace("KillSignal=", "KillSignl="))
    proc = subprocess.run(
        [analyze, "verify", str(tmp_path / "timkiem.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Unknown key 'KillSignl'" in proc.stdout + proc.stderr


def test_logrotate_tells_the_server() -> None:
    text = (DEPLOY / "logrotate-timkiem").read_text()
    rules = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    assert rules.strip().startswith("/var/log/timkiem/*.log {") and rules.strip().endswith("}")
    assert "systemctl kill --signal=HUP --kill-whom=main timkiem.service" in rules
    assert "copytruncate" not in rules  # the server reopens its file instead
    server = unit("timkiem.service")["Service"]
    assert "/var/log/timkiem/" in server["ExecStart"] and server["LogsDirectory"] == "timkiem"


def test_the_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    nginx = nginx_or_skip()
    config = nginx_config(tmp_path, nginx_site(tmp_path, free_port(), [8000]))
    proc = subprocess.run(
        [nginx, "-t", "-c", str(config), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "test is successful" in proc.stderr
    broken = config.read_text().replace("include", "inclde", 1)
    config.write_text(broken)
    proc = subprocess.run([nginx, "-t", "-c", str(config)], capture_output=True, text=True)
    assert proc.returncode != 0  # the check can fail


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[str]:
    """nginx with the site, in front of a real ``timkiem serve``: nginx's base URL."""
    nginx = nginx_or_skip()
    index = tmp_path / "index"
    Indexer(Settings.load({"index": str(index)}, environ={})).ingest([str(EXAMPLES)])
    port = free_port()
    with ServerProcess(index, clean=True) as server:
        config = nginx_config(tmp_path, nginx_site(tmp_path, port, [server.port]))
        with NginxProcess(nginx, config, port) as proxy:
            yield proxy.base


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_nginx_in_front_of_timkiem(proxied: str) -> None:
    status, headers, body = fetch(proxied + "/search?q=cong+doan", **{"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"  # JSON is compressed
    assert b'"total"' in gzip.decompress(body)
    assert fetch(proxied + "/metrics")[0] == 404  # never public
    # the server says no-store: nginx must not serve it from its cache
    if "no-store" in headers.get("Cache-Control", ""):
        again = fetch(proxied + "/search?q=cong+doan")[1]
        assert again.get("X-Cache-Status") != "HIT"
    # a client asking too fast is turned away with 429
    codes = [fetch(proxied + "/health")[0] for _ in range(60)]
    assert 429 in codes and codes[0] == 200
    assert re.fullmatch(r"(200)+(429|200)*", "".join(map(str, codes)))


def etag(headers: dict[str, str]) -> str:
    """The ETag header, whatever the case of its name (waitress sends "Etag")."""
    return next(value for name, value in headers.items() if name.lower() == "etag")


@contextmanager
def nginx_in_front(tmp_path: Path, upstream: int) -> Iterator[str]:
    """nginx with the site, proxying to 127.0.0.1:``upstream``: its base URL."""
    nginx = nginx_or_skip()
    port = free_port()
    config = nginx_config(tmp_path, nginx_site(tmp_path, port, [upstream]))
    with NginxProcess(nginx, config, port) as proxy:
        yield proxy.base


def test_nginx_caches_as_timkiem_allows_and_revalidates(tmp_path: Path) -> None:
    nginx_or_skip()
    settings = Settings.load({"index": str(tmp_path / "index")}, environ={})
    Indexer(settings).ingest([str(EXAMPLES)])
    args = ["--cache-control", "public, max-age=2", "--no-access-log"]
    with (
        ServerProcess(settings.index, clean=True, args=args) as server,
        nginx_in_front(tmp_path, server.port) as base,
    ):
        url = base + "/search?q=cong+doan"
        status, headers, body = fetch(url)
        assert (status, headers["X-Cache-Status"]) == (200, "MISS")
        tag = etag(headers)
        again = fetch(url)
        assert (again[0], again[1]["X-Cache-Status"], again[2]) == (200, "HIT", body)
        # nginx answers a client's revalidation itself, from its cache
        status, headers, body = fetch(url, **{"If-None-Match": tag})
        assert (status, body) == (304, b"")
        time.sleep(3.2)  # past max-age (nginx counts whole seconds): it asks timkiem with the tag
        assert fetch(url)[1]["X-Cache-Status"] == "REVALIDATED"
        extra = tmp_path / "more.jsonl"
        extra.write_text('{"id": "new-1", "title": "Công đoàn mới"}\n', encoding="utf-8")
        Indexer(settings).ingest([str(extra)])
        time.sleep(3.2)  # a commit changed the tag: nginx fetches the new answer
        status, headers, body = fetch(url)
        assert headers["X-Cache-Status"] == "EXPIRED" and etag(headers) != tag
        assert b"new-1" in body


def test_nginx_stores_nothing_by_default(proxied: str) -> None:
    """timkiem's default ``no-cache``: nginx asks timkiem every time, so a commit shows
    at once; the tag passes through, compressed answers included."""
    url = proxied + "/articles/bk-0001"
    first, second = fetch(url), fetch(url, **{"Accept-Encoding": "gzip"})
    assert first[1]["Cache-Control"] == "no-cache"
    assert [first[1]["X-Cache-Status"], second[1]["X-Cache-Status"]] == ["MISS", "MISS"]
    assert second[1]["Content-Encoding"] == "gzip"
    assert etag(first[1]) == etag(second[1])
