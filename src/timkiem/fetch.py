"""Fetching a site's pages politely: one user agent, a shared request rate,
timeouts, retries with backoff, conditional requests.

The standard library's ``urllib`` does what a crawl of one small site needs
(redirects, timeouts, conditional headers), and a
few threads are enough for a handful of requests in flight, so no HTTP
library is added.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from timkiem import __version__

USER_AGENT = f"timkiem/{__version__} (site search indexer; obeys robots.txt)"
MAX_BODY_BYTES = 20 << 20
BACKOFF_SECONDS = 0.5


@dataclass
class Response:
    """What one request got: a status (0 when no response came) and its body."""

    url: str
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # why no usable response came, after every try
    tries: int = 1

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def is_html(self) -> bool:
        return self.content_type in ("text/html", "application/xhtml+xml")


class RateLimit:
    """At most one request start per ``delay`` seconds, across threads."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.delay
        if start > now:
            time.sleep(start - now)


class Fetcher:
    """GETs URLs with timeouts, retries on 5xx and lost connections, and a shared rate."""

    def __init__(
        self, timeout: float, retries: int, delay: float, backoff: float = BACKOFF_SECONDS
    ) -> None:
        self.timeout = timeout
        self.retries = retries
        self.rate = RateLimit(delay)
        self.backoff = backoff
        self.requests = 0
        self._count = threading.Lock()
        self._opener = urllib.request.build_opener()  # follows redirects

    def get(self, url: str, etag: str | None = None, last_modified: str | None = None) -> Response:
        """The response to GET ``url`` (conditional when ``etag``/``last_modified``)."""
        headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,*/*;q=0.5"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        tries = 0
        while True:
            tries += 1
            response = self._once(url, headers)
            response.tries = tries
            retry = response.status >= 500 or response.status == 0
            if not retry or tries > self.retries:
                if retry and response.error is None:
                    response.error = f"HTTP {response.status}"
                return response
            time.sleep(self.backoff * 2 ** (tries - 1))

    def _once(self, url: str, headers: dict[str, str]) -> Response:
        self.rate.wait()
        with self._count:
            self.requests += 1
        request = urllib.request.Request(url, headers=headers)
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                body = answer.read(MAX_BODY_BYTES + 1)
                return Response(answer.geturl(), answer.status, body, _headers(answer.headers))
        except urllib.error.HTTPError as exc:
            with exc:
                return Response(exc.geturl() or url, exc.code, b"", _headers(exc.headers))
        except TimeoutError:
            return Response(url, 0, error=f"no answer in {self.timeout:g} s")
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                return Response(url, 0, error=f"no answer in {self.timeout:g} s")
            return Response(url, 0, error=f"cannot connect ({reason})")


def _headers(message: object) -> dict[str, str]:
    items = getattr(message, "items", None)
    return {k.lower(): v for k, v in items()} if items is not None else {}
