"""The HTTP API (Falcon): search, article lookup, health and stats.

Resources are thin: they read parameters with Falcon's typed getters, call the
search engine and set ``resp.media``. Every error, ours or Falcon's, leaves
through one mapping with one JSON body::

    {"error": {"status": 400, "code": "invalid_parameter",
               "message": "per_page: must be between 1 and 100", "param": "per_page"}}
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

import falcon
import falcon.media

from timkiem.config import Settings
from timkiem.errors import (
    ArticleNotFound,
    IndexUnavailable,
    InvalidParameter,
    TimkiemError,
)
from timkiem.limits import DEFAULT_PER_PAGE, DEFAULT_SORT, FIRST_PAGE
from timkiem.logs import AccessLog
from timkiem.metrics import UNMATCHED, Metrics
from timkiem.search import SearchEngine, SearchRequest

log = logging.getLogger("timkiem.api")

_PARAM_NAME = re.compile(r'"([^"]+)" parameter')


def dumps(obj: Any) -> str:
    """JSON with ``<``, ``>`` and ``&`` escaped, so no markup ever appears raw."""
    # str.replace, not str.translate: translate looks every character of the
    # (mostly non-ASCII) body up in a dict, 0.5 ms for a page of results.
    text = json.dumps(obj, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class SearchResource:
    """``GET /search``: ranked, date-filtered and archive queries."""

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = SearchRequest(
            q=req.get_param("q", default="") or "",
            date_from=req.get_param("from"),
            date_to=req.get_param("to"),
            category=req.get_param("category"),
            sort=req.get_param("sort", default=DEFAULT_SORT) or DEFAULT_SORT,
            page=req.get_param_as_int("page", default=FIRST_PAGE),
            per_page=req.get_param_as_int("per_page", default=DEFAULT_PER_PAGE),
            match=req.get_param("match") or None,
        )
        resp.media = self.engine.search(request)


class ArticleResource:
    """``GET /articles/{id}``: one stored article."""

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine

    def on_get(self, req: falcon.Request, resp: falcon.Response, article_id: str) -> None:
        resp.media = self.engine.article(article_id)


class HealthResource:
    """``GET /health``: 200 when the index answers, 503 with the reason if not."""

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        health = self.engine.health()
        resp.media = health
        if health["status"] != "ok":
            resp.status = falcon.HTTP_503


class StatsResource:
    """``GET /stats``: size and shape of the index."""

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.engine.stats()


class MetricsResource:
    """``GET /metrics``: the server's metrics in Prometheus text format."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data, resp.content_type = self.metrics.exposition()


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
    """Headers every response carries."""

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Cache-Control", "no-store")


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
        message = f"no such path {req.path!r}; see /search, /articles/ID, /health, /stats"
    elif ex.status_code == 405 and not ex.description:
        message = f"method {req.method} is not allowed; the API answers GET"
    resp.content_type = falcon.MEDIA_JSON
    resp.text = dumps(_error_body(ex.status_code, code, message, param))


def create_app(
    engine: SearchEngine,
    settings: Settings,
    *,
    metrics: Metrics | None = None,
    metrics_route: bool = True,
    access_log: AccessLog | None = None,
) -> falcon.App[falcon.Request, falcon.Response]:
    """The WSGI application answering from ``engine``; its caller closes the engine.

    ``settings`` gives the CORS origins; the engine reads the index only when
    the first request comes. Requests are counted in ``metrics`` (by default a
    new registry of this app's own), served at ``/metrics`` unless
    ``metrics_route`` is false (the server then serves them on another port),
    and logged to ``access_log``.
    """
    metrics = metrics or Metrics(engine.health, settings.index)
    middleware: list[Any] = [SecurityHeaders()]
    origins = settings.allowed_origins
    if origins:
        middleware.append(falcon.CORSMiddleware(allow_origins="*" if origins == ["*"] else origins))
    app = falcon.App(middleware=middleware)
    handler = falcon.media.JSONHandler(dumps=dumps)
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = handler
    app.req_options.strip_url_path_trailing_slash = True

    app.add_route("/search", SearchResource(engine))
    app.add_route("/articles/{article_id:path}", ArticleResource(engine))
    app.add_route("/health", HealthResource(engine))
    app.add_route("/stats", StatsResource(engine))
    app.add_middleware(RequestObserver(metrics, access_log, engine))
    if metrics_route:
        app.add_route("/metrics", MetricsResource(metrics))

    app.add_error_handler(Exception, _handle_unexpected)
    app.add_error_handler(TimkiemError, _handle_timkiem_error)
    app.set_error_serializer(_serialize_http_error)
    return app
