"""The HTTP API (Falcon): search, article lookup, health and stats.

Resources are thin: they read parameters with Falcon's typed getters, call the
search engine and set ``resp.media``. Every error, ours or Falcon's, leaves
through one mapping with one JSON body::

    {"error": {"status": 400, "code": "invalid_parameter",
               "message": "per_page: must be between 1 and 100", "param": "per_page"}}
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import falcon
import falcon.media
import orjson

from timkiem import __version__
from timkiem.config import Settings
from timkiem.errors import (
    ArticleNotFound,
    ConfigError,
    IndexUnavailable,
    InvalidParameter,
    TimkiemError,
)
from timkiem.limits import (
    DEFAULT_PER_PAGE,
    DEFAULT_SORT,
    DEFAULT_SUGGESTIONS,
    FIRST_PAGE,
)
from timkiem.logs import AccessLog
from timkiem.metrics import UNMATCHED, Metrics
from timkiem.openapi import openapi_document
from timkiem.related import DEFAULT_LIMIT
from timkiem.search import RelatedRequest, SearchEngine, SearchRequest

log = logging.getLogger("timkiem.api")

GENERATION_HEADER = "X-Timkiem-Generation"
_PARAM_NAME = re.compile(r'"([^"]+)" parameter')
RELATED = "related"  # /articles/{id}/related

DEMO_FOLDER = Path(__file__).resolve().parents[2] / "examples" / "search-box"
"""The search box page that ``create_app(demo=True)`` serves at ``/demo/``."""


_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def dumps(obj: Any) -> bytes:
    """UTF-8 JSON with ``<``, ``>`` and ``&`` escaped, so no markup ever appears raw.

    orjson writes a page of results in a fifteenth of the standard library's time;
    like the standard library, it takes NumPy numbers and keys that are not strings.
    """
    data = orjson.dumps(obj, option=_JSON_OPTIONS)
    return data.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")


def whole_number(req: falcon.Request, name: str, default: int) -> int:
    """The integer parameter ``name``; ``InvalidParameter`` in the project's words if not."""
    try:
        return req.get_param_as_int(name, default=default)
    except falcon.HTTPInvalidParam:
        given = req.get_param(name) or ""
        shown = given if len(given) <= 40 else given[:40] + "..."
        raise InvalidParameter(name, f"must be a whole number, not {shown!r}") from None


class Readable:
    """A resource answering HEAD as GET: Falcon sends the headers (with the length)
    and drops the body."""

    on_get: Callable[..., None]

    def on_head(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        self.on_get(req, resp, **params)


class SearchResource(Readable):
    """``GET /search``: ranked, date-filtered and archive queries."""

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = SearchRequest(
            q=req.get_param("q", default="") or "",
            date_from=req.get_param("from"),
            date_to=req.get_param("to"),
            category=tuple(req.get_param_as_list("category") or ()),
            sort=req.get_param("sort", default=DEFAULT_SORT) or DEFAULT_SORT,
            page=whole_number(req, "page", FIRST_PAGE),
            per_page=whole_number(req, "per_page", DEFAULT_PER_PAGE),
            match=req.get_param("match") or None,
        )
        resp.media = self.engine.search(request)


class SuggestResource(Readable):
    """``GET /suggest``: completions of a partial query, from the titles."""

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        q = req.get_param("q", default="") or ""
        limit = whole_number(req, "limit", DEFAULT_SUGGESTIONS)
        resp.media = self.engine.suggest(q, limit)


class ArticleResource(Readable):
    """``GET /articles/{id}``: one stored article; ``GET /articles/{id}/related``:
    the articles most like it (ids may hold slashes, so the suffix is read here)."""

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine

    def on_get(self, req: falcon.Request, resp: falcon.Response, article_id: str) -> None:
        head, slash, tail = article_id.rpartition("/")
        if slash and tail == RELATED:
            try:
                resp.media = self.engine.related(
                    RelatedRequest(
                        head,
                        limit=whole_number(req, "limit", DEFAULT_LIMIT),
                        date_from=req.get_param("from"),
                        date_to=req.get_param("to"),
                        category=tuple(req.get_param_as_list("category") or ()),
                    )
                )
            except ArticleNotFound as missing:
                # No article "head": the whole path may still be an id of its own.
                try:
                    resp.media = self.engine.article(article_id)
                except ArticleNotFound:
                    raise missing from None
            return
        resp.media = self.engine.article(article_id)


class HealthResource(Readable):
    """``GET /health``: 200 when the index answers, 503 with the reason if not."""

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        health = self.engine.health()
        resp.media = health
        if health["status"] != "ok":
            resp.status = falcon.HTTP_503


class StatsResource(Readable):
    """``GET /stats``: size and shape of the index."""

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.engine.stats()


class MetricsResource(Readable):
    """``GET /metrics``: the server's metrics in Prometheus text format."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data, resp.content_type = self.metrics.exposition()


class OpenApiResource(Readable):
    """``GET /openapi.json``: the API's OpenAPI 3.1 description."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.document


class DemoPage(Readable):
    """``GET /demo/``: the search box page; its other files are a static route beside it."""

    def __init__(self, folder: Path) -> None:
        self.page = folder / "index.html"

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        # The router strips a trailing slash, but the page's links are relative
        # to /demo/: without the slash they would miss.
        if not req.env.get("PATH_INFO", "").endswith("/"):
            raise falcon.HTTPMovedPermanently("demo/")
        resp.content_type = falcon.MEDIA_HTML
        resp.data = self.page.read_bytes()


class RequestObserver:
    """Counts each request in the metrics (by route template) and writes the access log."""

    def __init__(
        self, metrics: Metrics, access_log: AccessLog | None, engine: SearchEngine
    ) -> None:
        self.metrics = metrics
        self.access_log = access_log
        self.generation = engine.directory.generation_probe()

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        started: float | None = req.context.get("started")
        seconds = time.perf_counter() - started if started is not None else 0.0
        endpoint = req.uri_template or UNMATCHED
        media = resp.media if endpoint == "/search" else None
        total = media.get("total") if isinstance(media, dict) else None
        partial = bool(media.get("partial")) if isinstance(media, dict) else False
        self.metrics.observe_request(endpoint, req.method, resp.status_code, seconds)
        if isinstance(total, int):
            self.metrics.observe_search(total, partial)
        if self.access_log is not None:
            self.access_log.record(
                method=req.method,
                path=req.path,
                status=resp.status_code,
                took_ms=seconds * 1000,
                query=req.get_param("q") if endpoint == "/search" else None,
                results=total if isinstance(total, int) else None,
                partial=partial,
                generation=self.generation(),
                client=req.remote_addr,
            )


class SecurityHeaders:
    """Headers every response carries; ``no-store`` unless :class:`HttpCaching` allowed more."""

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        resp.set_header("X-Content-Type-Options", "nosniff")
        if resp.get_header("Cache-Control") is None:
            resp.set_header("Cache-Control", "no-store")


UNCACHED = frozenset({"/health", "/metrics", "/stats"})
"""Routes that always answer ``no-store``: they report the live process or files."""

# Settings that never change an answer (so replicas on other ports share tags).
_LOCAL_SETTINGS = ("index", "host", "port", "threads")


class HttpCaching:
    """ETag and Cache-Control for the answers of GET and HEAD, and 304 Not Modified.

    An answer depends only on its URL, the index state and the server's settings,
    so its tag is the index's version (generation and commit: any commit changes
    it) and a digest of the settings and timkiem's version. It is weak:
    ``took_ms`` differs between two equal answers. The tag is read before the
    answer is made, so a commit meanwhile can only make a tag older than its
    body (the next revalidation fetches it again), never newer. Routes in
    :data:`UNCACHED`, errors and partial results stay ``no-store``.
    """

    def __init__(self, engine: SearchEngine, settings: Settings) -> None:
        self.engine = engine
        self.cache_control = settings.cache_control
        self.vary_origin = bool(settings.allowed_origins)
        shaping = {k: v for k, v in asdict(settings).items() if k not in _LOCAL_SETTINGS}
        text = json.dumps([__version__, shaping], sort_keys=True)
        self.config = hashlib.sha256(text.encode()).hexdigest()[:10]

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: object, params: Any
    ) -> None:
        if req.method not in ("GET", "HEAD") or resource is None:
            return
        if req.uri_template in UNCACHED:
            return
        try:
            tag = f"{self.engine.version()}.{self.config}"
        except TimkiemError:
            return  # no index to tag: the resource says why, or answers without one
        req.context.etag = tag
        # Only a tag this URL was answered with matches: a client holding it got a 200
        # for this URL in this state. "*" is not honoured: the URL may be an error.
        if any(t == tag for t in req.if_none_match or ()):
            resp.status = falcon.HTTP_304
            resp.complete = True

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        tag: str | None = req.context.get("etag")
        if tag is None or resp.status_code not in (200, 304):
            return
        if isinstance(resp.media, dict) and resp.media.get("partial"):
            return  # cut short by the clock: another try may rank it in full
        resp.set_header("ETag", f'W/"{tag}"')
        resp.set_header("Cache-Control", self.cache_control)
        if self.vary_origin:  # CORS headers depend on the request's Origin
            resp.append_header("Vary", "Origin")


class GenerationHeader:
    """``X-Timkiem-Generation``: the index generation that answered the request.

    Behind a load balancer it tells which replica state each response came
    from; it names the snapshot the request read, not a later one.
    """

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.engine.take_served_generation()  # this thread's previous request

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        generation = self.engine.take_served_generation()
        if generation:
            resp.set_header(GENERATION_HEADER, generation)


_STATUS_OF: list[tuple[type[TimkiemError], str, str]] = [
    (InvalidParameter, falcon.HTTP_400, "invalid_parameter"),
    (ArticleNotFound, falcon.HTTP_404, "not_found"),
    (IndexUnavailable, falcon.HTTP_503, "index_unavailable"),
]


def _error_body(status: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if param is not None:
        error["param"] = param
    return {"error": error}


def _handle_timkiem_error(
    req: falcon.Request, resp: falcon.Response, ex: TimkiemError, params: dict[str, Any]
) -> None:
    status, code = falcon.HTTP_500, "internal_error"
    for kind, kind_status, kind_code in _STATUS_OF:
        if isinstance(ex, kind):
            status, code = kind_status, kind_code
            break
    else:
        log.error("unexpected error: %s", ex)
    resp.status = status
    message = ex.message if isinstance(ex, InvalidParameter) else str(ex)
    param = ex.param if isinstance(ex, InvalidParameter) else None
    resp.media = _error_body(int(status[:3]), code, message, param)


def _handle_unexpected(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict[str, Any]
) -> None:
    if isinstance(ex, falcon.HTTPError):
        raise ex
    log.exception("unexpected error answering %s %s", req.method, req.relative_uri)
    resp.status = falcon.HTTP_500
    resp.media = _error_body(500, "internal_error", "the server failed to answer; this is logged")


def _serialize_http_error(req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError) -> None:
    # Falcon's titles read "404 Not Found": the code is "not_found".
    code = re.sub(r"^\d+\s*", "", ex.title or "error").lower().replace(" ", "_") or "error"
    param = None
    if isinstance(ex, falcon.HTTPInvalidParam | falcon.HTTPMissingParam):
        code = "invalid_parameter"
        named = _PARAM_NAME.search(ex.description or "")
        param = named.group(1) if named else None
    message = ex.description or ex.title or "error"
    if ex.status_code == 404 and not ex.description:
        message = (
            f"no such path {req.path!r}; see /search, /suggest, /articles/ID, "
            "/articles/ID/related, /health, /stats, /openapi.json"
        )
    elif ex.status_code == 405 and not ex.description:
        message = f"method {req.method} is not allowed; the API answers GET and HEAD"
    resp.content_type = falcon.MEDIA_JSON
    resp.data = dumps(_error_body(ex.status_code, code, message, param))


def create_app(
    engine: SearchEngine,
    settings: Settings,
    *,
    metrics: Metrics | None = None,
    metrics_route: bool = True,
    access_log: AccessLog | None = None,
    demo: bool = False,
) -> falcon.App[falcon.Request, falcon.Response]:
    """The WSGI application answering from ``engine``; its caller closes the engine.

    ``settings`` gives the CORS origins; the engine reads the index only when
    the first request comes. Requests are counted in ``metrics`` (by default a
    new registry of this app's own), served at ``/metrics`` unless
    ``metrics_route`` is false (the server then serves them on another port),
    and logged to ``access_log``. With ``demo`` it also serves the search box
    page of ``examples/search-box/`` at ``/demo/``, calling this same API.
    """
    metrics = metrics or Metrics(engine.health, settings.index)
    middleware: list[Any] = [SecurityHeaders(), GenerationHeader(engine)]
    origins = settings.allowed_origins
    if origins:
        middleware.append(falcon.CORSMiddleware(allow_origins="*" if origins == ["*"] else origins))
    middleware.append(HttpCaching(engine, settings))
    app = falcon.App(middleware=middleware)
    handler = falcon.media.JSONHandler(dumps=dumps)
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = handler
    app.req_options.strip_url_path_trailing_slash = True

    app.add_route("/search", SearchResource(engine))
    app.add_route("/suggest", SuggestResource(engine))
    app.add_route("/articles/{article_id:path}", ArticleResource(engine))
    app.add_route("/health", HealthResource(engine))
    app.add_route("/stats", StatsResource(engine))
    app.add_middleware(RequestObserver(metrics, access_log, engine))
    if metrics_route:
        app.add_route("/metrics", MetricsResource(metrics))
    document = openapi_document(settings, metrics=metrics_route)
    app.add_route("/openapi.json", OpenApiResource(document))
    if demo:
        if not (DEMO_FOLDER / "index.html").is_file():
            raise ConfigError(
                f"cannot serve the search box: its page is not in {DEMO_FOLDER}; it "
                "comes with timkiem's source tree (examples/search-box/): serve it from "
                "a checkout installed with 'pip install -e .'"
            )
        app.add_route("/demo", DemoPage(DEMO_FOLDER))
        app.add_static_route("/demo", str(DEMO_FOLDER))

    app.add_error_handler(Exception, _handle_unexpected)
    app.add_error_handler(TimkiemError, _handle_timkiem_error)
    app.set_error_serializer(_serialize_http_error)
    return app
