"""The limits of one search request, stated once for the API, the CLI and the engine."""

from __future__ import annotations

SORTS = ("relevance", "newest", "oldest")
"""Orders of hits; an empty query is listed newest first even under ``relevance``."""
DEFAULT_SORT = "relevance"
FIRST_PAGE = 1
DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
MAX_CATEGORIES = 20
"""Most categories one search may filter by (a document matches any of them)."""
DEFAULT_SUGGESTIONS = 8  # /suggest's limit
MAX_SUGGESTIONS = 20
