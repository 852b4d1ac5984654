"""Searching the index: ranked and date-sorted queries, facets and snippets.

One :class:`SearchEngine` serves every request thread. It keeps one Whoosh
searcher per index generation (a snapshot) and swaps in a new one when an
ingest commits or a reindex switches generations. Totals and facets come from
sets of document numbers, built per term and cached per snapshot, so they are
exact without scoring every match.
"""

from __future__ import annotations

import json
import logging
import pickle
import struct
import sys
import threading
import time
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
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
from timkiem.schema import ACCENTED, BIGRAM, FOLDED, TEXT_FIELDS
from timkiem.snippets import make_snippet
from timkiem.storage import IndexDirectory
from timkiem.topk import MIN_CACHED, Local, Mask, Members, TermScorer

SORTS = ("relevance", "newest", "oldest")
MAX_PER_PAGE = 100
_NO_DATE = 10**12  # column value of an article without a date is above this
_FIRST_DATE, _LAST_DATE = -62135510400, 253402128000  # 0001-01-02 and 9999-12-30
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
    """A searcher over one index state, and the columns derived from it.

    Whoosh's reader is not safe for concurrent file reads: ``lock`` guards
    them; the arrays here are read-only and shared by request threads.
    """

    def __init__(self, searcher: Searcher, generation: str, token: object, budget: int) -> None:
        self.searcher = searcher
        self.generation = generation
        self.token = token
        self.lock = threading.Lock()
        self.damage: str | None = None  # why reading it failed, if it did
        reader = searcher.reader()
        self.doc_count = reader.doc_count()
        size = reader.doc_count_all()
        self.live: Mask = np.ones(size, dtype=np.bool_)
        if reader.has_deletions():
            for leaf, offset in _leaves(reader):
                if leaf.has_deletions():
                    count = leaf.doc_count_all()
                    gone = [n for n in range(count) if leaf.is_deleted(n)]
                    self.live[np.array(gone, dtype=np.int64) + offset] = False
        stamps = np.array(_column(reader, "timestamp"), dtype=np.int64)
        self.dated: Mask = stamps < _NO_DATE
        if self.dated.any():
            low, high = int(stamps[self.dated].min()), int(stamps[self.dated].max())
            if low < _FIRST_DATE or high > _LAST_DATE:
                raise ValueError(f"dates out of range in the timestamp column ({low}, {high})")
        names, codes = np.unique(
            np.array(
                [
                    c.decode("utf-8") if isinstance(c, bytes) else c
                    for c in _column(reader, "category")
                ],
                dtype=object,
            ),
            return_inverse=True,
        )
        self.category_names: list[str] = [str(n) for n in names]
        self.category_codes = codes.astype(np.int32).reshape(size)
        self.year_names, year_codes = _years(stamps, self.dated)
        # One number per document for its (year or none, category) pair: facets
        # are then one count over the matches.
        self.facet_codes = (year_codes + 1) * len(self.category_names) + self.category_codes
        dated = np.flatnonzero(self.dated & self.live)
        self.by_date_doc = dated[np.argsort(stamps[dated], kind="stable")]
        self.by_date_ts = stamps[self.by_date_doc]
        self.cache: OrderedDict[tuple[object, ...], dict[str, Any]] = OrderedDict()
        self.cache_lock = threading.Lock()
        self.scorer = TermScorer(searcher, budget, io_lock=self.lock)
        self.stop = threading.Event()
        self.warm = threading.Event()  # set once frequent terms are read (if asked)
        self.prefetcher: threading.Thread | None = None

    def start_prefetch(self, index: Any) -> None:
        """Fill the term cache with the most frequent terms, in the background."""

        def run() -> None:
            try:
                began = time.perf_counter()
                # Words first (few terms, long postings), then syllable pairs:
                # every term the cache would keep, while the budget lasts.
                words = [p.format(n) for p in (FOLDED, ACCENTED) for n in TEXT_FIELDS]
                pairs = [BIGRAM.format(n) for n in TEXT_FIELDS]
                groups = [(words, MIN_CACHED), (pairs, MIN_CACHED)]
                with index.reader() as lexicon:
                    loaded = self.scorer.prefetch(lexicon, groups, self.stop)
                log.info(
                    "read %d frequent terms of %s in %.1f s",
                    loaded,
                    self.generation,
                    time.perf_counter() - began,
                )
            except Exception as exc:  # a damaged index shows when a query reads it
                log.warning("reading frequent terms of %s failed: %r", self.generation, exc)
            finally:
                self.warm.set()

        self.prefetcher = threading.Thread(target=run, name="timkiem-prefetch", daemon=True)
        self.prefetcher.start()

    def close(self) -> None:
        """Stop the background reading (waiting for it) and close the searcher."""
        self.stop.set()
        if self.prefetcher is not None:
            self.prefetcher.join(timeout=10)
        self.searcher.close()

    @property
    def size(self) -> int:
        return len(self.live)

    def mask(self, docs: npt.NDArray[Any] | None = None) -> Mask:
        """A mask of the documents ``docs`` (none if None)."""
        found = np.zeros(self.size, dtype=np.bool_)
        if docs is not None:
            found[docs] = True
        return found

    def date_range(self, start: int | None, end: int | None) -> tuple[int, int]:
        """Slice bounds into the date order for an inclusive timestamp range."""
        stamps = self.by_date_ts
        lo = 0 if start is None else int(np.searchsorted(stamps, start, side="left"))
        hi = len(stamps) if end is None else int(np.searchsorted(stamps, end, side="right"))
        return lo, max(lo, hi)

    def category(self, name: str) -> Mask:
        """The documents of category ``name``."""
        if name not in self.category_names:
            return self.mask()
        found: Mask = self.category_codes == self.category_names.index(name)
        return found


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


def _mark_texts(snap: Snapshot, kind: str, text: str, local: Local, into: Mask) -> Mask:
    """Mark in ``into`` the documents with ``text`` in the ``kind`` field of any text."""
    for name in TEXT_FIELDS:
        into[snap.scorer.docs(kind.format(name), text, local)] = True
    return into


def _leaves(reader: Any) -> list[tuple[Any, int]]:
    if hasattr(reader, "leaf_readers"):
        return list(reader.leaf_readers())
    return [(reader, 0)]


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


_NO_DAY = -(10**9)


def _years(stamps: npt.NDArray[np.int64], dated: Mask) -> tuple[list[int], npt.NDArray[np.int32]]:
    """The years present, and each document's index into them (-1: no date).

    ``year_of`` runs once per distinct day (Vietnam time has no DST).
    """
    days = np.where(dated, (stamps + 7 * 3600) // 86400, _NO_DAY)
    unique, inverse = np.unique(days, return_inverse=True)
    years_of_day = np.array(
        [year_of(int(d) * 86400) if d != _NO_DAY else -1 for d in unique], dtype=np.int64
    )
    names, codes = np.unique(years_of_day, return_inverse=True)
    per_doc = codes[inverse.reshape(len(stamps))].astype(np.int32)
    present = [int(y) for y in names]
    if present and present[0] == -1:
        present = present[1:]
        per_doc -= 1
    return present, per_doc


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

    def __init__(
        self, settings: Settings, ranking: Ranking = RANKING, *, prefetch: bool = False
    ) -> None:
        self.settings = settings
        self.ranking = ranking
        self.prefetch = prefetch
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
                budget = int(self.settings.term_cache_mb * 1_000_000)
                snap = Snapshot(searcher, generation, token, budget)
            except Exception as exc:
                raise IndexUnavailable(
                    f"the index in {self.directory.path / generation} cannot be read "
                    f"({type(exc).__name__}: {exc}); rebuild it with 'timkiem reindex FILE'"
                ) from None
            if current is not None:
                current.stop.set()
            self._snapshot = snap
            if self.prefetch:
                snap.start_prefetch(index)
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
            self._snapshot.close()
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
        with snap.cache_lock:
            cached = snap.cache.get(key)
            if cached is not None:
                snap.cache.move_to_end(key)
        if cached is None:
            with self._reading(snap):
                cached = self._run(snap, parsed, start, end, request)
            if self.settings.cache_size and not cached.get("partial"):
                with snap.cache_lock:
                    snap.cache[key] = cached
                    while len(snap.cache) > self.settings.cache_size:
                        snap.cache.popitem(last=False)
        result = dict(cached)
        result["query"] = request.q
        result["took_ms"] = round((time.perf_counter() - began) * 1000, 2)
        return result

    def _matches(self, snap: Snapshot, parsed: ParsedQuery, local: Local) -> Mask | None:
        """Every document the query matches (None: every document)."""
        if parsed.is_empty:
            return None
        matched = snap.mask()
        for word in scored_words(parsed, self.ranking):
            _mark_texts(snap, FOLDED, word.folded, local, matched)
        for phrase in parsed.phrases:
            matched &= self._phrase_docs(snap, phrase, local)
        return matched

    def _phrase_docs(self, snap: Snapshot, words: list[Word], local: Local) -> Mask:
        """Documents with every adjacent pair of ``words`` (or the one word)."""
        if len(words) == 1:
            return _mark_texts(snap, FOLDED, words[0].folded, local, snap.mask())
        result: Mask | None = None
        for pair in bigram_terms(words):
            docs = _mark_texts(snap, BIGRAM, pair, local, snap.mask())
            result = docs if result is None else result & docs
        return result if result is not None else snap.mask()

    def _run(
        self,
        snap: Snapshot,
        parsed: ParsedQuery,
        start: int | None,
        end: int | None,
        request: SearchRequest,
    ) -> dict[str, Any]:
        local: Local = {}
        final = self._matches(snap, parsed, local)
        final = snap.live.copy() if final is None else final & snap.live
        if start is not None or end is not None:
            lo, hi = snap.date_range(start, end)
            final &= snap.mask(snap.by_date_doc[lo:hi])
        if request.category:
            final &= snap.category(request.category)
        for words in parsed.excluded:
            final &= ~self._phrase_docs(snap, words, local)

        members = np.flatnonzero(final)
        window = request.page * request.per_page
        partial = False
        if request.sort == "relevance" and not parsed.is_empty:
            ranked, partial = self._ranked(snap, parsed, final, members, window, local)
        else:
            ranked = self._by_date(snap, final, window, newest=request.sort != "oldest")
        page_docs = ranked[(request.page - 1) * request.per_page : window]
        terms = {w.folded for w in parsed.words}
        hits = [self._hit(snap, docnum, score, terms) for docnum, score in page_docs]
        response: dict[str, Any] = {
            "total": len(members),
            "page": request.page,
            "per_page": request.per_page,
            "hits": hits,
            "facets": self._facets(snap, members),
        }
        if partial:
            response["partial"] = True
        if parsed.dropped:
            response["ignored_terms"] = parsed.dropped
        return response

    def _ranked(
        self,
        snap: Snapshot,
        parsed: ParsedQuery,
        final: Mask,
        members: Members,
        window: int,
        local: Local,
    ) -> tuple[list[tuple[int, float | None]], bool]:
        if not len(members):
            return [], False
        scoring = build_scoring_query(parsed, self.ranking)
        terms = snap.scorer.plan(scoring)
        limit = self.settings.query_time_limit
        ranked: list[tuple[int, float | None]]
        if terms is not None:
            deadline = time.monotonic() + limit if limit > 0 else None
            best, partial = snap.scorer.top_within(terms, members, window, deadline, local)
            ranked = [(docnum, round(score, 4)) for docnum, score in best]
        else:
            allow = set(members.tolist())
            with snap.lock:
                timed = (
                    FilteredTimeLimit(snap.searcher.collector(limit=window), allow, limit)
                    if limit > 0
                    else snap.searcher.collector(limit=window, filter=allow)
                )
                partial = False
                try:
                    snap.searcher.search_with_collector(scoring, timed)
                except TimeLimit:
                    partial = True
                found = timed.results()
            ranked = [
                (hit.docnum, round(hit.score, 4) if hit.score is not None else None)
                for hit in found
            ]
        if partial and len(ranked) < window:
            # Time ran out with part of the window ranked (Whoosh even scores a
            # whole block of documents before it collects the first): fill it
            # with the other matches, unranked (newest first), never a blank page.
            rest = final.copy()
            rest[[docnum for docnum, _ in ranked]] = False
            ranked.extend(self._by_date(snap, rest, window - len(ranked), newest=True))
        return ranked, partial

    def _by_date(
        self, snap: Snapshot, final: Mask, window: int, newest: bool
    ) -> list[tuple[int, float | None]]:
        """Dated matches by date (equal dates by document number), then undated ones.

        The date order is walked from the wanted end in growing chunks, so a
        page of common matches looks at a few thousand documents, not all.
        """
        order = snap.by_date_doc
        picked: list[int] = []
        done, step = 0, 1024
        while len(picked) < window and done < len(order):
            if newest:
                chunk = order[max(0, len(order) - done - step) : len(order) - done][::-1]
            else:
                chunk = order[done : done + step]
            picked.extend(chunk[final[chunk]][: window - len(picked)].tolist())
            done, step = done + step, step * 4
        if len(picked) < window:
            undated = np.flatnonzero(final & ~snap.dated)
            picked.extend(undated[: window - len(picked)].tolist())
        return [(d, None) for d in picked]

    def _facets(self, snap: Snapshot, members: Members) -> dict[str, dict[str, int]]:
        names = snap.category_names
        if not names:  # an empty index
            return {"year": {}, "category": {}}
        pairs = np.bincount(
            snap.facet_codes[members], minlength=(len(snap.year_names) + 1) * len(names)
        ).reshape(-1, len(names))
        years = pairs[1:].sum(axis=1).tolist()
        cats = pairs.sum(axis=0).tolist()
        by_year = sorted(((y, n) for y, n in zip(snap.year_names, years) if n), key=lambda i: -i[0])
        return {"year": {str(y): n for y, n in by_year}, "category": _by_count(names, cats)}

    def _record(self, snap: Snapshot, docnum: int) -> dict[str, Any]:
        with snap.lock:
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
        with self._reading(snap):
            with snap.lock:
                docnum = snap.searcher.document_number(id=article_id)
            if docnum is None:
                raise ArticleNotFound(article_id)
            return self._record(snap, docnum)

    def stats(self) -> dict[str, Any]:
        """Size and shape of the live index."""
        snap = self.snapshot()
        stamps = snap.by_date_ts
        counts = np.bincount(
            snap.category_codes[snap.live], minlength=len(snap.category_names)
        ).tolist()
        with snap.lock:
            segments = len(_leaves(snap.searcher.reader()))
        size = _folder_size(self.directory.path / snap.generation)
        return {
            "articles": snap.doc_count,
            "first_date": isoformat(int(stamps[0])) if len(stamps) else None,
            "last_date": isoformat(int(stamps[-1])) if len(stamps) else None,
            "categories": _by_count(snap.category_names, counts),
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
        return {
            "status": "ok",
            "articles": snap.doc_count,
            "generation": snap.generation,
            "warm": snap.warm.is_set() or not self.prefetch,
        }


def _by_count(names: list[str], counts: list[int]) -> dict[str, int]:
    """Named counts, most first (then by name), leaving out zeros and the unnamed."""
    found = sorted(((c, n) for c, n in zip(names, counts) if n and c), key=lambda i: (-i[1], i[0]))
    return dict(found)


def _folder_size(folder: Path) -> int:
    """Bytes in a generation's files; files a writer removes meanwhile count 0."""
    total = 0
    for path in folder.iterdir():
        try:
            total += path.stat().st_size
        except FileNotFoundError:
            continue
    return total
