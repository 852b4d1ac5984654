"""Searching the index: ranked and date-sorted queries, facets and snippets.

One :class:`SearchEngine` serves every request thread. It keeps one Whoosh
searcher per index generation (a snapshot) and swaps in a new one when an
ingest commits or a reindex switches generations. Totals and facets come from
sets of document numbers, built per term and cached per snapshot, so they are
exact without scoring every match.
"""

from __future__ import annotations

import bisect
import json
import logging
import pickle
import struct
import sys
import threading
import time
import zlib
from array import array
from collections import Counter, OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whoosh import columns as wcolumns
from whoosh.collectors import Collector, TimeLimitCollector
from whoosh.searching import Searcher, TimeLimit

from timkiem.analysis import nfc
from timkiem.config import Settings
from timkiem.dates import isoformat, parse_range_bound, year_of
from timkiem.errors import ArticleNotFound, IndexUnavailable, InvalidParameter
from timkiem.query import ParsedQuery, Word, parse_query
from timkiem.ranking import (
    RANKING,
    Ranking,
    bigram_terms,
    build_scoring_query,
    scored_words,
    weighting,
)
from timkiem.schema import BIGRAM, FOLDED
from timkiem.snippets import make_snippet
from timkiem.storage import IndexDirectory
from timkiem.topk import TermScorer

SORTS = ("relevance", "newest", "oldest")
MAX_PER_PAGE = 100
_NO_DATE = 10**12  # column value of an article without a date is above this
# What Whoosh raises reading damaged files (it also raises bare ``Exception``).
_DAMAGE = (
    OSError,
    EOFError,
    ValueError,
    struct.error,
    zlib.error,
    pickle.UnpicklingError,
)

log = logging.getLogger("timkiem.search")


@dataclass(frozen=True)
class SearchRequest:
    """One search, as the API and the CLI ask for it."""

    q: str = ""
    date_from: str | None = None
    date_to: str | None = None
    category: str | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 10


class Snapshot:
    """A searcher over one index state, and what is derived from it."""

    def __init__(self, searcher: Searcher, generation: str, token: object) -> None:
        self.searcher = searcher
        self.generation = generation
        self.token = token
        self.lock = threading.Lock()
        self.damage: str | None = None  # why reading it failed, if it did
        reader = searcher.reader()
        self.doc_count = reader.doc_count()
        self.deleted: frozenset[int] = (
            frozenset(n for n in range(reader.doc_count_all()) if reader.is_deleted(n))
            if reader.has_deletions()
            else frozenset()
        )
        stamps = _column(reader, "timestamp")
        self.timestamps: list[int | None] = [t if t < _NO_DATE else None for t in stamps]
        cats = _column(reader, "category")
        self.categories: list[str] = [
            c.decode("utf-8") if isinstance(c, bytes) else c for c in cats
        ]
        known: dict[int, int] = {n: t for n, t in enumerate(self.timestamps) if t is not None}
        dated = [n for n in known if n not in self.deleted] if self.deleted else list(known)
        dated.sort(key=known.__getitem__)  # stable: equal dates stay in document order
        self.by_date_doc: list[int] = dated
        self.by_date_ts: list[int] = list(map(known.__getitem__, dated))
        self.years = _years(self.timestamps)
        self._postings: OrderedDict[tuple[str, str], frozenset[int]] = OrderedDict()
        self.cache: OrderedDict[tuple[object, ...], dict[str, Any]] = OrderedDict()
        self._facet_codes: tuple[list[tuple[int | None, str]], list[int]] | None = None
        self.scorer = TermScorer(searcher)

    def docs(self, field: str, text: str) -> frozenset[int]:
        """Live documents holding ``text`` in ``field`` (cached, LRU)."""
        key = (field, text)
        found = self._postings.get(key)
        if found is not None:
            self._postings.move_to_end(key)
            return found
        if self.scorer.usable and self.searcher.schema[field].scorable:
            ids = frozenset(self.scorer.term(field, text).docs)  # read once for both
        else:
            try:
                ids = frozenset(self.searcher.postings(field, text).all_ids())
            except Exception:  # whoosh raises TermNotFound (and others) for absent terms
                ids = frozenset()
        if self.deleted and ids:
            ids = ids - self.deleted
        self._postings[key] = ids
        if len(self._postings) > 4096:
            self._postings.popitem(last=False)
        return ids

    def facet_codes(self) -> tuple[list[tuple[int | None, str]], list[int]]:
        """Each document's (year, category) pair as a number, and the pairs."""
        if self._facet_codes is None:
            numbers: dict[tuple[int | None, str], int] = {}
            codes = [numbers.setdefault(p, len(numbers)) for p in zip(self.years, self.categories)]
            self._facet_codes = (list(numbers), codes)
        return self._facet_codes

    def date_range(self, start: int | None, end: int | None) -> tuple[int, int]:
        """Slice bounds into the date order for an inclusive timestamp range."""
        lo = 0 if start is None else bisect.bisect_left(self.by_date_ts, start)
        hi = len(self.by_date_ts) if end is None else bisect.bisect_right(self.by_date_ts, end)
        return lo, max(lo, hi)


class FilteredTimeLimit(TimeLimitCollector):
    """A time-limited collector that keeps only the documents in ``allow``.

    Whoosh's ``TimeLimitCollector`` feeds its child every match directly, so
    the filter of a wrapped ``FilterCollector`` is silently skipped.
    """

    def __init__(self, child: Collector, allow: set[int], timelimit: float) -> None:
        super().__init__(child, timelimit=timelimit, use_alarm=False)
        self.allow = allow

    def collect_matches(self) -> None:
        child = self.child
        offset = child.offset
        allow = self.allow
        for sub_docnum in child.matches():
            if self.timedout:
                raise TimeLimit
            if offset + sub_docnum in allow:
                child.collect(sub_docnum)


def _column(reader: Any, name: str) -> list[Any]:
    """One value per document of a column, read segment by segment.

    A segment where no article has a value has no column file; Whoosh's reader
    of several segments then skips it (leaving the list short), while a
    segment's own reader gives the column's empty value for each document.
    """
    values: list[Any] = []
    for leaf, _offset in reader.leaf_readers():
        found = _raw_column(leaf, name)
        values.extend(leaf.column_reader(name) if found is None else found)
    return values


def _years(stamps: list[int | None]) -> list[int | None]:
    """``year_of`` each timestamp, computed once per day (Vietnam time has no DST)."""
    by_day: dict[int, int] = {}
    years: list[int | None] = []
    for stamp in stamps:
        if stamp is None:
            years.append(None)
            continue
        day = (stamp + 7 * 3600) // 86400
        year = by_day.get(day)
        if year is None:
            year = by_day[day] = year_of(stamp)
        years.append(year)
    return years


def _raw_column(leaf: Any, name: str) -> list[Any] | None:
    """A segment's column read in one piece (numbers, or references to values).

    Whoosh's column readers unpack one document at a time; at 150,000 articles
    that is most of a server's start-up. Checked against them on a sample;
    None means "use Whoosh's reader".
    """
    try:
        raw = leaf.column_reader(name, translate=False)
        field = leaf.schema[name]
        count = leaf.doc_count_all()
        if isinstance(raw, wcolumns.NumericColumn.Reader):
            size = raw._fixedlen
            items = array(raw._typecode, bytes(raw._dbfile.get(raw._basepos, raw._count * size)))
            if sys.byteorder == "little" and size > 1:
                items.byteswap()
            numbers: list[Any] = items.tolist() + [raw._default] * (count - raw._count)
            shift = field.from_column_value(0)
            if all(field.from_column_value(x) == x + shift for x in (1, 2**20, 2**40)):
                values = [x + shift for x in numbers]
            else:
                values = list(map(field.from_column_value, numbers))
        elif isinstance(raw, wcolumns.RefBytesColumn.Reader):
            size = raw._itemsize
            refs = array(raw._typecode, bytes(raw._dbfile.get(raw._basepos, count * size)))
            if sys.byteorder == "little" and size > 1:
                refs.byteswap()
            uniques = [field.from_column_value(u) for u in raw._uniques]
            values = list(map(uniques.__getitem__, refs))
        elif isinstance(raw, wcolumns.VarBytesColumn.Reader):
            data = bytes(raw._dbfile.get(raw._basepos, raw._length))
            decoded: dict[bytes, Any] = {}
            values = []
            for start, size in zip(raw._offsets, raw._lengths):
                piece = data[start : start + size] if size else b""
                value = decoded.get(piece)
                if value is None:
                    value = decoded[piece] = field.from_column_value(piece)
                values.append(value)
        else:
            return None
        slow = leaf.column_reader(name)
        step = max(1, count // 97)
        if len(values) != count or any(values[n] != slow[n] for n in range(0, count, step)):
            return None
        return values
    except Exception:  # anything unexpected: Whoosh's own reader decides
        return None


class SearchEngine:
    """Answers searches and article lookups from the live index generation."""

    def __init__(self, settings: Settings, ranking: Ranking = RANKING) -> None:
        self.settings = settings
        self.ranking = ranking
        self.directory = IndexDirectory(settings.index)
        self._snapshot: Snapshot | None = None
        self._swap = threading.Lock()

    # -- index state -----------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The current snapshot, refreshed if the index changed since."""
        current = self._snapshot
        token = self.directory.current_token()
        if current is not None and current.token == token:
            with current.lock:
                fresh = current.searcher.up_to_date()
            if fresh:
                return current
        with self._swap:
            current = self._snapshot
            if current is not None and current.token == token:
                with current.lock:
                    if current.searcher.up_to_date():
                        return current
            index = self.directory.open_current()
            generation = self.directory.current_name() or ""
            try:
                searcher = index.searcher(weighting=weighting(self.ranking))
                snap = Snapshot(searcher, generation, token)
            except Exception as exc:
                raise IndexUnavailable(
                    f"the index in {self.directory.path / generation} cannot be read "
                    f"({type(exc).__name__}: {exc}); rebuild it with 'timkiem reindex FILE'"
                ) from None
            self._snapshot = snap
            return snap

    @contextmanager
    def _reading(self, snap: Snapshot) -> Iterator[None]:
        """Report a live index whose files fail to read as unavailable (503)."""
        try:
            yield
        except Exception as exc:
            if not (isinstance(exc, _DAMAGE) or type(exc) is Exception):
                raise
            log.exception("reading the index generation %s failed", snap.generation)
            reason = (
                f"the index in {self.directory.path / snap.generation} cannot be read "
                f"({type(exc).__name__}: {exc}); it is damaged: rebuild it with "
                "'timkiem reindex FILE'"
            )
            snap.damage = reason
            raise IndexUnavailable(reason) from None

    def close(self) -> None:
        if self._snapshot is not None:
            self._snapshot.searcher.close()
            self._snapshot = None

    # -- requests ------------------------------------------------------------

    def validate(self, request: SearchRequest) -> tuple[ParsedQuery, int | None, int | None]:
        """Check every parameter; ``InvalidParameter`` names the bad one."""
        limit = self.settings.max_query_length
        length = len(request.q)
        if limit < length <= 4 * limit:
            length = len(nfc(request.q))  # decomposed (NFD) accents do not count
        if length > limit:
            raise InvalidParameter("q", f"is {length} characters long; the limit is {limit}")
        if request.sort not in SORTS:
            raise InvalidParameter(
                "sort", f"must be one of {', '.join(SORTS)}, not {request.sort!r}"
            )
        if not 1 <= request.per_page <= MAX_PER_PAGE:
            raise InvalidParameter("per_page", f"must be between 1 and {MAX_PER_PAGE}")
        if request.page < 1:
            raise InvalidParameter("page", "must be 1 or more")
        window = self.settings.max_result_window
        if request.page * request.per_page > window:
            raise InvalidParameter(
                "page", f"page x per_page must be at most {window}; refine the query instead"
            )
        start = end = None
        for param, value, is_end in (
            ("from", request.date_from, False),
            ("to", request.date_to, True),
        ):
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
        return parse_query(request.q, self.settings.max_query_terms), start, end

    def search(self, request: SearchRequest) -> dict[str, Any]:
        """Run one search and return the API's response body."""
        began = time.perf_counter()
        parsed, start, end = self.validate(request)
        snap = self.snapshot()
        key = (
            parsed.key(),
            start,
            end,
            request.category,
            request.sort,
            request.page,
            request.per_page,
        )
        with snap.lock:
            cached = snap.cache.get(key)
            if cached is not None:
                snap.cache.move_to_end(key)
            else:
                with self._reading(snap):
                    cached = self._run(snap, parsed, start, end, request)
                if self.settings.cache_size and not cached.get("partial"):
                    snap.cache[key] = cached
                    if len(snap.cache) > self.settings.cache_size:
                        snap.cache.popitem(last=False)
        result = dict(cached)
        result["query"] = request.q
        result["took_ms"] = round((time.perf_counter() - began) * 1000, 2)
        return result

    def _matches(self, snap: Snapshot, parsed: ParsedQuery) -> set[int] | None:
        """Every live document the query matches (None: every document)."""
        if parsed.is_empty:
            return None
        matched: set[int] = set()
        for word in scored_words(parsed, self.ranking):
            matched |= snap.docs(FOLDED.format("title"), word.folded)
            matched |= snap.docs(FOLDED.format("body"), word.folded)
        for phrase in parsed.phrases:
            matched &= self._phrase_docs(snap, phrase)
        return matched

    def _phrase_docs(self, snap: Snapshot, words: list[Word]) -> set[int]:
        if len(words) == 1:
            return set(snap.docs(FOLDED.format("title"), words[0].folded)) | snap.docs(
                FOLDED.format("body"), words[0].folded
            )
        result: set[int] | None = None
        for pair in bigram_terms(words):
            docs = set(snap.docs(BIGRAM.format("title"), pair)) | snap.docs(
                BIGRAM.format("body"), pair
            )
            result = docs if result is None else result & docs
        return result or set()

    def _run(
        self,
        snap: Snapshot,
        parsed: ParsedQuery,
        start: int | None,
        end: int | None,
        request: SearchRequest,
    ) -> dict[str, Any]:
        matched = self._matches(snap, parsed)
        excluded: set[int] = set()
        for words in parsed.excluded:
            excluded |= self._phrase_docs(snap, words)

        allowed: set[int] | None = None
        if start is not None or end is not None:
            lo, hi = snap.date_range(start, end)
            allowed = set(snap.by_date_doc[lo:hi])
        if request.category:
            in_category = set(snap.docs("category", request.category))
            allowed = in_category if allowed is None else allowed & in_category

        if matched is None:
            final = (
                set(allowed)
                if allowed is not None
                else (set(range(len(snap.timestamps))) - snap.deleted)
            )
        else:
            final = matched if allowed is None else matched & allowed
        final -= excluded

        window = request.page * request.per_page
        partial = False
        if request.sort == "relevance" and not parsed.is_empty:
            ranked, partial = self._ranked(snap, parsed, final, window)
        else:
            ranked = self._by_date(snap, final, window, newest=request.sort != "oldest")
        page_docs = ranked[(request.page - 1) * request.per_page : window]
        terms = {w.folded for w in parsed.words}
        hits = [self._hit(snap, docnum, score, terms) for docnum, score in page_docs]
        response: dict[str, Any] = {
            "total": len(final),
            "page": request.page,
            "per_page": request.per_page,
            "hits": hits,
            "facets": self._facets(snap, final),
        }
        if partial:
            response["partial"] = True
        if parsed.dropped:
            response["ignored_terms"] = parsed.dropped
        return response

    def _ranked(
        self, snap: Snapshot, parsed: ParsedQuery, final: set[int], window: int
    ) -> tuple[list[tuple[int, float | None]], bool]:
        if not final:
            return [], False
        scoring = build_scoring_query(parsed, self.ranking)
        terms = snap.scorer.plan(scoring)
        limit = self.settings.query_time_limit
        ranked: list[tuple[int, float | None]]
        if terms is not None:
            deadline = time.monotonic() + limit if limit > 0 else None
            best, partial = snap.scorer.top_within(terms, final, window, deadline)
            ranked = [(docnum, round(score, 4)) for docnum, score in best]
        else:
            timed = (
                FilteredTimeLimit(snap.searcher.collector(limit=window), final, limit)
                if limit > 0
                else snap.searcher.collector(limit=window, filter=final)
            )
            partial = False
            try:
                snap.searcher.search_with_collector(scoring, timed)
            except TimeLimit:
                partial = True
            ranked = [
                (hit.docnum, round(hit.score, 4) if hit.score is not None else None)
                for hit in timed.results()
            ]
        if partial and len(ranked) < window:
            # Time ran out with part of the window ranked (Whoosh even scores a
            # whole block of documents before it collects the first): fill it
            # with the other matches, unranked (newest first), never a blank page.
            have = {docnum for docnum, _ in ranked}
            rest = {docnum for docnum in final if docnum not in have}
            ranked.extend(self._by_date(snap, rest, window - len(ranked), newest=True))
        return ranked, partial

    def _by_date(
        self, snap: Snapshot, final: set[int], window: int, newest: bool
    ) -> list[tuple[int, float | None]]:
        order = snap.by_date_doc
        picked: list[int] = []
        if len(final) * 8 < len(order):
            stamps = snap.timestamps
            dated = sorted(
                (d for d in final if stamps[d] is not None),
                key=lambda d: (stamps[d], d),
                reverse=newest,
            )
            picked = dated[:window]
        else:
            walk = reversed(order) if newest else iter(order)
            for docnum in walk:
                if docnum in final:
                    picked.append(docnum)
                    if len(picked) >= window:
                        break
        if len(picked) < window:
            undated = sorted(d for d in final if snap.timestamps[d] is None)
            picked.extend(undated[: window - len(picked)])
        return [(d, None) for d in picked]

    def _facets(self, snap: Snapshot, final: set[int]) -> dict[str, dict[str, int]]:
        # One pass over the matches, counting (year, category) pairs by number.
        pairs, codes = snap.facet_codes()
        years: Counter[int | None] = Counter()
        cats: Counter[str] = Counter()
        for code, count in Counter(map(codes.__getitem__, final)).items():
            year, category = pairs[code]
            years[year] += count
            cats[category] += count
        return {
            "year": {str(y): n for y, n in sorted(years.items(), key=lambda i: -(i[0] or 0)) if y},
            "category": {c: n for c, n in cats.most_common() if c},
        }

    def _record(self, snap: Snapshot, docnum: int) -> dict[str, Any]:
        stored = snap.searcher.stored_fields(docnum)
        record: dict[str, Any] = json.loads(stored["record"])
        return record

    def _hit(
        self, snap: Snapshot, docnum: int, score: float | None, terms: set[str]
    ) -> dict[str, Any]:
        record = self._record(snap, docnum)
        return {
            "id": record["id"],
            "title": record.get("title") or "",
            "url": record.get("url"),
            "date": record.get("date"),
            "category": record.get("category"),
            "author": record.get("author"),
            "score": score,
            "snippet": make_snippet(record.get("body") or record.get("title") or "", terms),
        }

    def article(self, article_id: str) -> dict[str, Any]:
        """The full stored record of one article."""
        snap = self.snapshot()
        with snap.lock, self._reading(snap):
            docnum = snap.searcher.document_number(id=article_id)
            if docnum is None:
                raise ArticleNotFound(article_id)
            return self._record(snap, docnum)

    def stats(self) -> dict[str, Any]:
        """Size and shape of the live index."""
        snap = self.snapshot()
        stamps = snap.by_date_ts
        with snap.lock:
            cats = Counter(
                snap.categories[n]
                for n in range(len(snap.categories))
                if n not in snap.deleted and snap.categories[n]
            )
            segments = (
                len(snap.searcher.reader().leaf_readers())
                if hasattr(snap.searcher.reader(), "leaf_readers")
                else 1
            )
        size = _folder_size(self.directory.path / snap.generation)
        return {
            "articles": snap.doc_count,
            "first_date": isoformat(stamps[0]) if stamps else None,
            "last_date": isoformat(stamps[-1]) if stamps else None,
            "categories": dict(cats.most_common()),
            "size_bytes": size,
            "segments": segments,
            "generation": snap.generation,
            "index": str(self.directory.path),
        }

    def health(self) -> dict[str, Any]:
        """Whether the index can answer; never raises for a broken index."""
        try:
            snap = self.snapshot()
        except IndexUnavailable as exc:
            return {"status": "unavailable", "reason": str(exc)}
        if snap.damage is not None:
            return {"status": "unavailable", "reason": snap.damage}
        return {"status": "ok", "articles": snap.doc_count, "generation": snap.generation}


def _folder_size(folder: Path) -> int:
    """Bytes in a generation's files; files a writer removes meanwhile count 0."""
    total = 0
    for path in folder.iterdir():
        try:
            total += path.stat().st_size
        except FileNotFoundError:
            continue
    return total
