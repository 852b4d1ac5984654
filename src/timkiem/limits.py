"""The limits of one search request, stated once for the API, the CLI and the engine."""

from __future__ import annotations

SORTS = ("relevance", "newest", "oldest")
"""Orders of hits; an empty query is listed newest first even under ``relevance``."""
DEFAULT_SORT = "relevance"
FIRST_PAGE = 1
DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
DEFAULT_SUGGESTIONS = 8  # /suggest's limit
MAX_SUGGESTIONS = 20
