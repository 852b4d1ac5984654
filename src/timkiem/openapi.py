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
from timkiem.keyboard import TELEX, VNI
from timkiem.limits import (
    DEFAULT_PER_PAGE,
    DEFAULT_SORT,
    DEFAULT_SUGGESTIONS,
    FIRST_PAGE,
    MATCHES,
    MAX_CATEGORIES,
    MAX_PER_PAGE,
    MAX_SUGGESTIONS,
    SORTS,
)
from timkiem.related import DEFAULT_LIMIT as RELATED_DEFAULT
from timkiem.related import MAX_LIMIT as RELATED_MAX
from timkiem.spelling import SPELLING

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
            "match": {"enum": list(MATCHES), "description": "The matching used"},
            "dropped": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Words left out of the count (match=all), least telling first",
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
            "suggestion": {
                **_obj({"q": {"type": "string"}, "total": {"type": "integer", "minimum": 1}}),
                "description": "Did you mean: a corrected query and what searching it finds",
            },
            "rewritten": {
                **_obj(
                    {
                        "from": {"type": "string"},
                        "to": {"type": "string"},
                        "reason": {"enum": [TELEX, VNI, SPELLING]},
                    }
                ),
                "description": "The results are those of `to`, searched instead of the query",
            },
        },
        "partial",
        "ignored_terms",
        "suggestion",
        "rewritten",
    )
    related_hit = {
        **hit,
        "properties": {k: v for k, v in hit["properties"].items() if k != "snippet"},
        "required": [k for k in hit["required"] if k != "snippet"],
    }
    related = _obj(
        {
            "id": {"type": "string"},
            "took_ms": {"type": "number", "minimum": 0},
            "hits": {"type": "array", "items": _ref("RelatedHit"), "maxItems": RELATED_MAX},
        }
    )
    suggestions = _obj(
        {
            "query": {"type": "string"},
            "suggestions": {
                "type": "array",
                "maxItems": MAX_SUGGESTIONS,
                "items": _obj(
                    {
                        "text": {"type": "string", "description": "In its accented spelling"},
                        "count": {"type": "integer", "minimum": 0},
                    }
                ),
            },
        }
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
        "RelatedHit": related_hit,
        "RelatedResponse": related,
        "SuggestResponse": suggestions,
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
            "match",
            {"enum": list(MATCHES)},
            "all: count (and rank first) the articles holding every word; any: every match."
            " Unset: all, but any for a question",
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


RANGE_AND_CATEGORY = ("from", "to", "category")


def _article_id() -> Schema:
    return {
        "name": "article_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
        "description": "The article's id (it may contain slashes)",
    }


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
        "/suggest": {
            "get": {
                "summary": "Completions of a partial query, from the titles",
                "operationId": "suggest",
                "parameters": [
                    _query(
                        "q",
                        {"type": "string", "maxLength": settings.max_query_length, "default": ""},
                        "What the reader has typed, with or without accents",
                    ),
                    _query(
                        "limit",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_SUGGESTIONS,
                            "default": DEFAULT_SUGGESTIONS,
                        },
                        "How many completions",
                    ),
                ],
                "responses": {
                    "200": _json("Completions, most useful first", _ref("SuggestResponse")),
                    "400": _error("A parameter is invalid; `param` names it"),
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/articles/{article_id}/related": {
            "get": {
                "summary": "The articles most related to one article",
                "operationId": "related",
                "parameters": [
                    _article_id(),
                    _query(
                        "limit",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": RELATED_MAX,
                            "default": RELATED_DEFAULT,
                        },
                        "How many articles",
                    ),
                    *[p for p in _search_parameters(settings) if p["name"] in RANGE_AND_CATEGORY],
                ],
                "responses": {
                    "200": _json("Related articles, best first", _ref("RelatedResponse")),
                    "400": _error("A parameter is invalid; `param` names it"),
                    "404": _error("No article with this id"),
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/articles/{article_id}": {
            "get": {
                "summary": "One stored article",
                "operationId": "article",
                "parameters": [_article_id()],
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
