"""The OpenAPI 3.1 description of the HTTP API, built from the declared limits.

Every number in it (query length, page sizes, the result window, the number
of categories) comes from ``timkiem.limits`` or the server's settings, so the
document served at ``/openapi.json`` states the limits that server enforces.
Response objects list every field the API sends; they do not forbid others.
"""

from __future__ import annotations

from typing import Any

from timkiem import __version__
from timkiem.config import Settings
from timkiem.dates import RANGE_PATTERN
from timkiem.limits import (
    DEFAULT_PER_PAGE,
    DEFAULT_SORT,
    FIRST_PAGE,
    MAX_CATEGORIES,
    MAX_PER_PAGE,
    SORTS,
)

JSON = "application/json"
Schema = dict[str, Any]

_NULLABLE_STRING: Schema = {"type": ["string", "null"]}
_COUNTS: Schema = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict[str, Schema], *optional: str) -> Schema:
    """An object with ``properties``, all required but the ``optional`` ones."""
    required = [name for name in properties if name not in optional]
    return {"type": "object", "properties": properties, "required": required}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "schema": schema, "description": description}


def _json(description: str, schema: Schema, *, cached: bool = False) -> Schema:
    response: Schema = {"description": description, "content": {JSON: {"schema": schema}}}
    if cached:
        response["headers"] = {
            "ETag": {
                "description": "Weak tag of the index state (generation and commit) and the "
                "server's settings; absent while the index cannot be read",
                "schema": {"type": "string"},
            },
            "Cache-Control": {
                "description": "The `cache_control` setting (`no-store` on partial results)",
                "schema": {"type": "string"},
            },
        }
    return response


def _error(description: str) -> Schema:
    return _json(description, _ref("Error"))


_NOT_MODIFIED: Schema = {"description": "Not modified: the `If-None-Match` tag is current"}
_UNAVAILABLE = _error("The index cannot be read (missing or damaged); the message says why")


def _schemas() -> dict[str, Schema]:
    hit = _obj(
        {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "url": _NULLABLE_STRING,
            "date": {
                "type": ["string", "null"],
                "description": "ISO 8601 in Vietnam time (+07:00)",
            },
            "category": _NULLABLE_STRING,
            "author": _NULLABLE_STRING,
            "score": {"type": ["number", "null"], "description": "null when not ranked by score"},
            "snippet": {
                "type": "string",
                "description": "HTML: an escaped excerpt, matched words in <mark>",
            },
        }
    )
    facets = _obj(
        {
            "year": {**_COUNTS, "propertyNames": {"pattern": r"^\d{4}$"}},
            "month": {
                **_COUNTS,
                "propertyNames": {"pattern": r"^\d{4}-\d{2}$"},
                "description": "Months of the matches with `from` or `to`; without either, "
                "the months of the newest year with a match",
            },
            "category": _COUNTS,
        }
    )
    day = {"type": ["string", "null"], "pattern": r"^\d{4}-\d{2}-\d{2}$"}
    applied = _obj(
        {
            "sort": {"enum": list(SORTS), "description": "The order the hits are in"},
            "from": {**day, "description": "First day of the range, or null"},
            "to": {**day, "description": "Last day of the range (inclusive), or null"},
            "category": {
                "type": "array",
                "items": {"type": "string"},
                "description": "The categories filtered by, as the index spells them "
                "(a requested name matching none is kept as given)",
            },
        }
    )
    search = _obj(
        {
            "query": {"type": "string"},
            "total": {"type": "integer", "minimum": 0, "description": "Exact"},
            "page": {"type": "integer", "minimum": FIRST_PAGE},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "total_pages": {
                "type": "integer",
                "minimum": 0,
                "description": "Pages that can be asked for (within the result window)",
            },
            "has_more": {"type": "boolean", "description": "Whether page + 1 has hits"},
            "took_ms": {"type": "number", "minimum": 0},
            "hits": {"type": "array", "items": _ref("Hit"), "maxItems": MAX_PER_PAGE},
            "facets": _ref("Facets"),
            "applied": _ref("Applied"),
            "partial": {"const": True, "description": "Ranking was cut short by the time limit"},
            "ignored_terms": {
                "type": "integer",
                "minimum": 1,
                "description": "Words left out beyond the query's term limit",
            },
        },
        "partial",
        "ignored_terms",
    )
    error = _obj(
        {
            "error": _obj(
                {
                    "status": {"type": "integer"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "param": {"type": "string", "description": "The parameter at fault"},
                },
                "param",
            )
        }
    )
    article = {
        **_obj({"id": {"type": "string"}}),
        "description": "The stored record as ingested: id, title, body, date, category, url, "
        "author, tags, and any other field",
    }
    health = _obj(
        {
            "status": {"enum": ["ok", "unavailable"]},
            "articles": {"type": "integer", "minimum": 0},
            "generation": {"type": "string"},
            "warm": {"type": "boolean"},
            "reason": {"type": "string"},
        },
        "articles",
        "generation",
        "warm",
        "reason",
    )
    stats = _obj(
        {
            "articles": {"type": "integer", "minimum": 0},
            "first_date": _NULLABLE_STRING,
            "last_date": _NULLABLE_STRING,
            "categories": _COUNTS,
            "size_bytes": {"type": "integer", "minimum": 0},
            "segments": {"type": "integer", "minimum": 0},
            "generation": {"type": "string"},
            "index": {"type": "string"},
        }
    )
    return {
        "Hit": hit,
        "Facets": facets,
        "Applied": applied,
        "SearchResponse": search,
        "Error": error,
        "Article": article,
        "Health": health,
        "Stats": stats,
    }


def _search_parameters(settings: Settings) -> list[Schema]:
    return [
        _query(
            "q",
            {"type": "string", "maxLength": settings.max_query_length, "default": ""},
            'Words, "quoted phrases" and -excluded words, with or without accents',
        ),
        _query(
            "from",
            {"type": "string", "pattern": RANGE_PATTERN},
            "First day, Vietnam time: YYYY-MM-DD, YYYY-MM or YYYY",
        ),
        _query("to", {"type": "string", "pattern": RANGE_PATTERN}, "Last day, inclusive"),
        {
            **_query(
                "category",
                {"type": "array", "items": {"type": "string"}, "maxItems": MAX_CATEGORIES},
                "A category, in any case and accents; repeat it for several (any of them)",
            ),
            "style": "form",
            "explode": True,
        },
        _query(
            "sort",
            {"enum": list(SORTS), "default": DEFAULT_SORT},
            "Without a query, relevance lists the newest first",
        ),
        _query(
            "page",
            {
                "type": "integer",
                "minimum": FIRST_PAGE,
                "maximum": settings.max_result_window,
                "default": FIRST_PAGE,
            },
            f"page x per_page at most {settings.max_result_window}",
        ),
        _query(
            "per_page",
            {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
            "Hits per page",
        ),
    ]


def openapi_document(settings: Settings, *, metrics: bool = True) -> dict[str, Any]:
    """The API's description for a server with ``settings`` (``metrics``: whether it
    serves ``/metrics`` on its own port)."""
    paths: dict[str, Any] = {
        "/search": {
            "get": {
                "summary": "Search, filter by date and category, list an archive",
                "operationId": "search",
                "parameters": _search_parameters(settings),
                "responses": {
                    "200": _json("Results", _ref("SearchResponse"), cached=True),
                    "304": _NOT_MODIFIED,
                    "400": _error("A parameter is invalid; `param` names it"),
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/articles/{article_id}": {
            "get": {
                "summary": "One stored article",
                "operationId": "article",
                "parameters": [
                    {
                        "name": "article_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1},
                        "description": "The article's id (it may contain slashes)",
                    }
                ],
                "responses": {
                    "200": _json("The article", _ref("Article"), cached=True),
                    "304": _NOT_MODIFIED,
                    "400": _error("The path cannot be read"),
                    "404": _error("No article with this id"),
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/health": {
            "get": {
                "summary": "Whether the index can answer",
                "operationId": "health",
                "responses": {
                    "200": _json("The index answers", _ref("Health")),
                    "503": _json("The index cannot answer; `reason` says why", _ref("Health")),
                },
            }
        },
        "/stats": {
            "get": {
                "summary": "Size and shape of the index",
                "operationId": "stats",
                "responses": {"200": _json("Figures", _ref("Stats")), "503": _UNAVAILABLE},
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "responses": {
                    "200": _json("OpenAPI 3.1", {"type": "object"}, cached=True),
                    "304": _NOT_MODIFIED,
                },
            }
        },
    }
    if metrics:
        paths["/metrics"] = {
            "get": {
                "summary": "Metrics in Prometheus text format",
                "operationId": "metrics",
                "responses": {
                    "200": {
                        "description": "Prometheus exposition",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "timkiem",
            "version": __version__,
            "description": "Search for Vietnamese news and article websites. Every GET also "
            "answers HEAD; every error has the `Error` body.",
        },
        "paths": paths,
        "components": {"schemas": _schemas()},
    }
