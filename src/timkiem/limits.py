"""The limits of one search request, stated once for the API, the CLI and the engine."""

from __future__ import annotations

SORTS = ("relevance", "newest", "oldest")
"""Orders of hits; an empty query is listed newest first even under ``relevance``."""
DEFAULT_SORT = "relevance"
MATCHES = ("all", "any")
"""Which words a counted hit holds: all of them (the least telling dropped when
too few documents hold them all), or any one. Unasked, ``all`` for a few
words and ``any`` for a question (:mod:`timkiem.query_shape`)."""
FIRST_PAGE = 1
DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
MAX_CATEGORIES = 20
"""Most categories one search may filter by (a document matches any of them)."""
DEFAULT_SUGGESTIONS = 8  # /suggest's limit
MAX_SUGGESTIONS = 20
