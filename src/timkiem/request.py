"""A search request as the API and the CLI ask for it, and its validation."""

from __future__ import annotations

from dataclasses import dataclass

from timkiem.analysis import nfc
from timkiem.config import Settings
from timkiem.dates import parse_range_bound
from timkiem.errors import InvalidParameter
from timkiem.limits import (
    DEFAULT_PER_PAGE,
    DEFAULT_SORT,
    FIRST_PAGE,
    MATCHES,
    MAX_CATEGORIES,
    MAX_PER_PAGE,
    SORTS,
)
from timkiem.query import ParsedQuery, parse_query

__all__ = ["MAX_PER_PAGE", "SORTS", "SearchRequest", "ValidRequest", "validate"]


@dataclass(frozen=True)
class SearchRequest:
    """One search, as the API and the CLI ask for it.

    ``category`` is one name or several (a document matches any of them), in any
    case, accents and punctuation; blank names are ignored.
    """

    q: str = ""
    date_from: str | None = None
    date_to: str | None = None
    category: str | tuple[str, ...] | None = None
    sort: str = DEFAULT_SORT
    page: int = FIRST_PAGE
    per_page: int = DEFAULT_PER_PAGE
    match: str | None = None  # "all" or "any"; None: by the query's shape


@dataclass(frozen=True)
class ValidRequest:
    """A checked request: the parsed query, the date range as timestamps and the
    categories asked for (NFC, trimmed, each once)."""

    request: SearchRequest
    parsed: ParsedQuery
    start: int | None
    end: int | None
    categories: tuple[str, ...] = ()

    def key(self) -> tuple[object, ...]:
        """Equal for requests that give the same results."""
        r = self.request
        parts = (self.start, self.end, self.categories, r.sort, r.page, r.per_page, r.match)
        return (self.parsed.key(), *parts)


def validate(request: SearchRequest, settings: Settings) -> ValidRequest:
    """Check every parameter; ``InvalidParameter`` names the bad one."""
    limit = settings.max_query_length
    length = len(request.q)
    if limit < length <= 4 * limit:
        length = len(nfc(request.q))  # decomposed (NFD) accents do not count
    if length > limit:
        raise InvalidParameter("q", f"is {length} characters long; the limit is {limit}")
    if request.sort not in SORTS:
        raise InvalidParameter("sort", f"must be one of {', '.join(SORTS)}, not {request.sort!r}")
    if request.match is not None and request.match not in MATCHES:
        raise InvalidParameter(
            "match", f"must be one of {', '.join(MATCHES)}, not {request.match!r}"
        )
    if not 1 <= request.per_page <= MAX_PER_PAGE:
        raise InvalidParameter("per_page", f"must be between 1 and {MAX_PER_PAGE}")
    if request.page < 1:
        raise InvalidParameter("page", "must be 1 or more")
    window = settings.max_result_window
    if request.page * request.per_page > window:
        raise InvalidParameter(
            "page", f"page x per_page must be at most {window}; refine the query instead"
        )
    start = end = None
    for param, value, is_end in (("from", request.date_from, False), ("to", request.date_to, True)):
        if value:
            try:
                bound = parse_range_bound(value, end=is_end)
            except ValueError as exc:
                raise InvalidParameter(param, str(exc)) from None
            if is_end:
                end = bound
            else:
                start = bound
    if start is not None and end is not None and start > end:
        raise InvalidParameter("from", "is after 'to'")
    categories = _categories(request.category)
    parsed = parse_query(request.q, settings.max_query_terms)
    return ValidRequest(request, parsed, start, end, categories)


def _categories(category: str | tuple[str, ...] | None) -> tuple[str, ...]:
    """The categories asked for: NFC, trimmed, blank ones left out, each once."""
    given = (category,) if isinstance(category, str) else category or ()
    names = tuple(dict.fromkeys(n for n in (nfc(c).strip() for c in given) if n))
    if len(names) > MAX_CATEGORIES:
        raise InvalidParameter(
            "category", f"is given {len(names)} times; at most {MAX_CATEGORIES} categories"
        )
    return names
