"""A harness for the tests and the scripts, in the spirit of ``falcon.testing``.

- :class:`ServerProcess` runs a real ``timkiem serve`` on 127.0.0.1 and talks to it;
- :func:`free_port`, :func:`request` (one request on a kept-alive connection);
- :class:`SiteServer` serves a website on 127.0.0.1 for crawls, counting requests;
- :func:`percentile`, the one definition used for every latency figure;
- :func:`rss_bytes`, :func:`peak_rss_bytes`, :func:`tree_rss_bytes`: memory from ``/proc``;
- nginx in front of servers: :func:`nginx_binary`, :func:`nginx_site` (the
  project's site, ``deploy/nginx-timkiem.conf``, moved to a test folder),
  :func:`nginx_config` and :class:`NginxProcess`;
- the shared corpus: :data:`CORPUS_DIR`, :func:`corpus_dir`, :func:`corpus_missing`,
  :func:`read_lines`, :func:`read_jsonl_gz`.

The corpus is not part of the repository: it lies beside the project root, in
``../shared/corpus/``; ``TIMKIEM_CORPUS`` names another folder.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from timkiem.config import ENV_PREFIX

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CORPUS_ENV = ENV_PREFIX + "CORPUS"
DEFAULT_CORPUS_DIR = PROJECT_ROOT.parent / "shared" / "corpus"
LOOPBACK = "127.0.0.1"


# -- the shared corpus -----------------------------------------------------------


def corpus_dir() -> Path:
    """The shared corpus folder: ``$TIMKIEM_CORPUS``, else ``<project root>/../shared/corpus``."""
    chosen = os.environ.get(CORPUS_ENV)
    return Path(chosen) if chosen else DEFAULT_CORPUS_DIR


CORPUS_DIR = corpus_dir()
"""The shared corpus folder, as found when this module was imported."""


def corpus_missing(name: str, folder: Path | None = None) -> str | None:
    """Why the corpus file ``name`` cannot be used (where it is expected, how to get it),
    or None when it is there."""
    path = (folder or corpus_dir()) / name
    if path.exists():
        return None
    return (
        f"shared corpus file {path} is not present: the corpus is not part of the "
        f"repository; it lies beside the project root, in {DEFAULT_CORPUS_DIR} "
        f"(../shared/corpus/); copy it there or set {CORPUS_ENV} to the folder holding it"
    )


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_lines(path: Path, limit: int | None = None) -> Iterator[str]:
    """The non-blank lines of a JSON Lines file, gzipped (``.gz``) or not, up to ``limit``."""
    with _open_text(path) as handle:
        count = 0
        for line in handle:
            if limit is not None and count >= limit:
                return
            if line.strip():
                count += 1
                yield line


def read_jsonl_gz(path: Path, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """The records of a JSON Lines file (``.gz`` or plain), up to ``limit``."""
    for line in read_lines(path, limit):
        record: dict[str, Any] = json.loads(line)
        yield record


# -- figures -------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile: the smallest value with at least ``p`` percent
    of the values at or below it (on 1..100, p99 is 99 and p100 is 100); NaN if empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = math.ceil(p * len(ordered) / 100 - 1e-9)
    return ordered[min(len(ordered), max(rank, 1)) - 1]


_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid`` now, in bytes (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def peak_rss_bytes(pid: int) -> int:
    """The peak resident memory (VmHWM) of the live process ``pid``, in bytes (0 if gone)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss_bytes(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants, now."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss_bytes(pid)
        stack.extend(children.get(pid, []))
    return total


# -- HTTP ------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def request(
    conn: http.client.HTTPConnection, path: str, method: str = "GET"
) -> tuple[int, bytes, dict[str, str]]:
    """One request on a kept-alive connection: status, body, headers (lower-case names)."""
    conn.request(method, path)
    resp = conn.getresponse()
    body = resp.read()
    return resp.status, body, {k.lower(): v for k, v in resp.getheaders()}


def get_json(base: str, path: str, timeout: float = 10.0, **params: Any) -> tuple[int, Any]:
    """``GET base + path?params``: the status and the decoded JSON body (also for errors)."""
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.load(exc)


class ServerProcess:
    """A real ``timkiem serve`` (or ``command``) on 127.0.0.1, as a context manager.

    ``env`` is added to this process's environment (``clean`` first drops its
    ``TIMKIEM_*`` variables); ``args`` are more options of ``serve``. Its output
    goes to ``log`` (a temporary file by default), readable as :attr:`output`.
    With ``group`` it runs in a new session and :meth:`stop` signals the whole
    process group (for a ``command`` that starts the server as its child).
    """

    def __init__(
        self,
        index: Path | str | None = None,
        *,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        clean: bool = False,
        port: int | None = None,
        log: Path | None = None,
        command: Sequence[str] | None = None,
        cwd: Path | None = None,
        group: bool = False,
    ) -> None:
        self.port = port or free_port()
        self.base = f"http://{LOOPBACK}:{self.port}"
        if command is None:
            command = [sys.executable, "-m", "timkiem", "serve", "--host", LOOPBACK]
            command += ["--port", str(self.port)]
            command += ["--index", str(index)] if index is not None else []
            command += list(args)
        self.command = list(command)
        inherited = {
            k: v for k, v in os.environ.items() if not (clean and k.startswith(ENV_PREFIX))
        }
        self.env = {**inherited, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.cwd = cwd
        self.group = group
        self._own_log = log is None
        self.log = log or Path(tempfile.mkstemp(prefix="timkiem-serve-", suffix=".log")[1])
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.ready_seconds = math.nan
        self._output: str | None = None

    # -- life --------------------------------------------------------------------

    def start(self) -> ServerProcess:
        """Start the process (not waiting for it to answer)."""
        with open(self.log, "wb") as out:
            self.started = time.perf_counter()
            self.proc = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=self.group,
            )
        return self

    def wait_ready(
        self,
        path: str = "/health",
        timeout: float = 60.0,
        status: int | None = None,
        interval: float = 0.02,
    ) -> float:
        """Wait until ``path`` answers (with ``status`` if given), asking every ``interval``
        seconds; the seconds from the start to that answer."""
        deadline = time.monotonic() + timeout
        while True:
            if self.poll() is not None:
                raise RuntimeError(f"{self.command[:4]} exited: {self.output[-2000:]}")
            try:
                answered, _ = self.get(path)
                if status is None or answered == status:
                    self.ready_seconds = time.perf_counter() - self.started
                    return self.ready_seconds
            except (OSError, http.client.HTTPException, ValueError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer from {self.base}{path} within {timeout:g} s")
            time.sleep(interval)

    def wait_warm(self, timeout: float = 300.0) -> float | None:
        """Seconds from the start until ``/health`` says ``"warm": true`` (or ``timeout``
        runs out); None if its answers never say whether it is warm."""
        while True:
            try:
                status, body = self.get("/health")
            except (OSError, http.client.HTTPException, ValueError):
                status, body = 0, {}
            if status != 200 or not isinstance(body, dict) or "warm" not in body:
                return None
            elapsed = time.perf_counter() - self.started
            if body["warm"] or elapsed > timeout:
                return elapsed
            time.sleep(0.1)

    def poll(self) -> int | None:
        """The exit status, or None while it runs."""
        return self.proc.poll() if self.proc is not None else None

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; the exit status."""
        assert self.proc is not None, "the server was never started"
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait()
        if self._output is None:
            self._output = self.log.read_text(errors="replace")
            if self._own_log:
                self.log.unlink(missing_ok=True)
        return self.proc.returncode

    def _signal(self, signum: int) -> None:
        assert self.proc is not None
        try:
            if self.group:
                os.killpg(self.proc.pid, signum)
            else:
                self.proc.send_signal(signum)
        except ProcessLookupError:
            pass

    def __enter__(self) -> ServerProcess:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- looking at it ------------------------------------------------------------

    @property
    def pid(self) -> int:
        assert self.proc is not None, "the server was never started"
        return self.proc.pid

    @property
    def output(self) -> str:
        """What the process printed so far (all of it once stopped)."""
        if self._output is not None:
            return self._output
        return self.log.read_text(errors="replace")

    def rss_bytes(self) -> int:
        """Its resident memory now."""
        return rss_bytes(self.pid)

    def peak_rss_bytes(self) -> int:
        """Its peak resident memory so far."""
        return peak_rss_bytes(self.pid)

    def connection(self, timeout: float = 30.0) -> http.client.HTTPConnection:
        """A new keep-alive connection to it."""
        return http.client.HTTPConnection(LOOPBACK, self.port, timeout=timeout)

    def get(self, path: str, timeout: float = 10.0, **params: Any) -> tuple[int, Any]:
        """``GET path?params``: the status and the decoded JSON body (also for errors)."""
        return get_json(self.base, path, timeout, **params)


# -- a website to crawl ------------------------------------------------------------


@dataclass
class SitePage:
    """One resource of a :class:`SiteServer`: its bytes, type and modification time."""

    body: bytes
    content_type: str = "text/html; charset=utf-8"
    modified: float = 0.0  # seconds since the epoch: Last-Modified, and the ETag's source
    slow_first: float = 0.0  # seconds the first request waits before it is answered
    status: int = 200  # another status: the page always answers it (a 503...)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


class SiteServer:
    """A website on 127.0.0.1 for crawls: serves ``pages`` (path with query -> page) with
    ``ETag`` and ``Last-Modified``, answers conditional requests with 304, 404 for
    anything else, and counts every request by path (``requests``) and user agent."""

    def __init__(self, delay: float = 0.0) -> None:
        self.pages: dict[str, SitePage] = {}
        self.requests: Counter[str] = Counter()
        self.agents: set[str] = set()
        self.delay = delay  # seconds every answer waits (a slower site)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def start(self) -> SiteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    def _answer(self, path: str, headers: Message) -> tuple[int, SitePage | None]:
        with self._lock:
            self.requests[path] += 1
            self.agents.add(headers.get("User-Agent", ""))
            first = self.requests[path] == 1
            page = self.pages.get(path)
        if self.delay:
            time.sleep(self.delay)
        if page is None:
            return 404, None
        if first and page.slow_first:
            time.sleep(page.slow_first)
        if page.status != 200:
            return page.status, None
        if headers.get("If-None-Match") == page.etag:
            return 304, page
        since = headers.get("If-Modified-Since")
        if since and "If-None-Match" not in headers:
            parsed = email.utils.parsedate_to_datetime(since)
            if parsed is not None and page.modified <= parsed.timestamp():
                return 304, page
        return 200, page

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                status, page = site._answer(self.path, self.headers)
                try:
                    self.send_response(status)
                    if page is not None:
                        self.send_header("ETag", page.etag)
                        modified = email.utils.formatdate(page.modified, usegmt=True)
                        self.send_header("Last-Modified", modified)
                    body = page.body if page is not None and status == 200 else b""
                    if status == 404:
                        body = b"<html><body><h1>404</h1></body></html>"
                    if status != 304:
                        kind = page.content_type if page and status == 200 else "text/html"
                        self.send_header("Content-Type", kind)
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the crawler gave up waiting (a slow page): nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


# -- nginx -----------------------------------------------------------------------

NGINX_SITE = PROJECT_ROOT / "deploy" / "nginx-timkiem.conf"
_NGINX_PLACES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")


def nginx_binary() -> str | None:
    """The nginx program (``$PATH``, ``/usr/sbin``, ``/usr/local/sbin``), or None."""
    return shutil.which("nginx") or next((p for p in _NGINX_PLACES if Path(p).exists()), None)


def nginx_site(
    folder: Path, listen: int, upstreams: Sequence[int], *, rate_limit: bool = True
) -> str:
    """The project's nginx site (``deploy/nginx-timkiem.conf``) for a test: listening on
    127.0.0.1:``listen``, proxying to ``timkiem serve`` on 127.0.0.1 at each port of
    ``upstreams``, its cache and logs in ``folder``; without its per-client rate limit
    unless ``rate_limit`` (a test's clients all share one address)."""
    site = NGINX_SITE.read_text()
    site = site.replace("/var/cache/nginx/timkiem", str(folder / "cache"))
    site = site.replace("/var/log/nginx/", f"{folder}/")
    site = site.replace("listen 80;", f"listen {LOOPBACK}:{listen};")
    site = site.replace("listen [::]:80;", "")
    servers = "".join(f"    server {LOOPBACK}:{port};\n" for port in upstreams)
    site = site.replace(f"    server {LOOPBACK}:8000;\n", servers)
    if not rate_limit:
        site = re.sub(r"(?m)^\s*limit_req\s.*;$", "", site)
    return site


def nginx_config(folder: Path, site: str) -> Path:
    """A whole ``nginx.conf`` in ``folder`` around ``site``, every path inside ``folder``."""
    (folder / "site.conf").write_text(site)
    temp = "\n".join(
        f"    {kind}_temp_path {folder}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = folder / "nginx.conf"
    config.write_text(
        f"pid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log;\n"
        "daemon off;\nmaster_process off;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        "    default_type application/octet-stream;\n"
        "    access_log off;\n"
        f"{temp}\n"
        f"    include {folder}/site.conf;\n"
        "}\n"
    )
    return config


class NginxProcess:
    """nginx running ``config`` in the foreground, listening on 127.0.0.1:``port``;
    as a context manager it waits until ``path`` answers and stops nginx on exit."""

    def __init__(self, nginx: str, config: Path, port: int, path: str = "/health") -> None:
        self.command = [nginx, "-c", str(config), "-p", str(config.parent)]
        self.port = port
        self.base = f"http://{LOOPBACK}:{port}"
        self.path = path
        self.error_log = config.parent / "error.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> NginxProcess:
        self.proc = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                errors = self.proc.communicate()[1].decode(errors="replace")
                raise RuntimeError(f"nginx exited: {errors}")
            try:
                with urllib.request.urlopen(self.base + self.path, timeout=5):
                    return self
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"nginx at {self.base} never answered {self.path}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM (a fast shutdown), then SIGKILL after 20 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
