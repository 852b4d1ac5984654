"""Searching the index: the service the API and the CLI call.

A request runs one way: validated (``timkiem.request``), looked up in the
result cache, planned (``timkiem.plan``: the words, pairs, phrases and
weights to run), run by the engine on the live snapshot
(``timkiem.engine.executor``: match, score, top k) and presented
(``timkiem.results``: hits, snippets, facets). One :class:`SearchEngine`
serves every request thread; it swaps in a new snapshot when an ingest
commits or a reindex switches generations, reusing every segment the two
share.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from timkiem.cache import LRUCache
from timkiem.config import Settings
from timkiem.dates import day_of, isoformat
from timkiem.engine.damage import is_damage
from timkiem.engine.executor import Filters, QueryPlan, execute
from timkiem.engine.snapshot import SegmentStore, Snapshot
from timkiem.errors import ArticleNotFound, IndexUnavailable, TimkiemError
from timkiem.exact import exact_plan
from timkiem.expansion import expand_plan, expanded_words
from timkiem.plan import build_plan, matching
from timkiem.query import ParsedQuery
from timkiem.ranking import RANKING, Ranking, scored_words, weighting
from timkiem.related import RelatedRequest, related, validate_related
from timkiem.request import SORTS, SearchRequest, ValidRequest, validate
from timkiem.results import applied_categories, by_count, facets, hit
from timkiem.schema import SCORED_FIELDS
from timkiem.snippets import prepare as prepare_snippets
from timkiem.spelling import SPELLING, WORD_FIELDS, Speller
from timkiem.storage import IndexDirectory
from timkiem.suggest import complete
from timkiem.synonyms import ABBREVIATIONS, Synonyms, load_synonyms
from timkiem.variants import NAME_VARIANTS

__all__ = ["SORTS", "RelatedRequest", "SearchEngine", "SearchRequest"]

log = logging.getLogger("timkiem.search")

# A folder modified this recently may change again within the same clock tick
# of its modification time: check it in full.
_SETTLED_NS = 100_000_000

ResultCache = LRUCache[tuple[object, ...], dict[str, Any]]


class SearchEngine:
    """Answers searches and article lookups from the live index generation."""

    def __init__(self, settings: Settings, ranking: Ranking = RANKING) -> None:
        self.settings = settings
        self.ranking = ranking
        self.directory = IndexDirectory(settings.index)
        self.store = SegmentStore(list(SCORED_FIELDS))
        self._snapshot: Snapshot | None = None
        # The result cache with the snapshot it belongs to, swapped as one.
        self._cache: tuple[Snapshot | None, ResultCache] = (None, LRUCache(0))
        self._swap = threading.Lock()
        self._checked: tuple[int | None, Snapshot | None] = (None, None)
        self._served = threading.local()  # the generation each request thread answered from
        self.speller = Speller()
        self.synonyms = self._load_synonyms()  # a bad file stops the start (ConfigError)

    def _load_synonyms(self) -> Synonyms:
        """The built-in groups and those of the ``synonyms_file`` setting."""
        return load_synonyms(self.settings.synonyms_file, (ABBREVIATIONS, NAME_VARIANTS))

    # -- index state -----------------------------------------------------------

    @property
    def _results(self) -> ResultCache:
        return self._cache[1]

    def snapshot(self) -> Snapshot:
        """The current snapshot, refreshed if the index changed since."""
        snap = self._refreshed()
        self._served.generation = snap.generation
        return snap

    def take_served_generation(self) -> str | None:
        """The generation this thread last answered from, forgotten once read."""
        served: str | None = getattr(self._served, "generation", None)
        self._served.generation = None
        return served

    def _refreshed(self) -> Snapshot:
        current = self._snapshot
        token = self.directory.current_token()
        if current is not None and current.token == token and self._unchanged(current):
            return current
        with self._swap:
            current = self._snapshot
            if current is not None and current.token == token and self._unchanged(current):
                return current
            index = self.directory.open_current()
            generation = self.directory.current_name() or ""
            folder = self.directory.path / generation
            try:
                searcher = index.searcher(weighting=weighting(self.ranking))
                snap = Snapshot(searcher, generation, token, self.store, str(folder))
            except Exception as exc:
                raise IndexUnavailable(
                    f"the index in {folder} cannot be read "
                    f"({type(exc).__name__}: {exc}); rebuild it with 'timkiem reindex FILE'"
                ) from None
            self.store.keep_only(snap.segment_keys())
            if self._snapshot is not None and self._snapshot.generation != generation:
                self._reload_synonyms()
            self._cache = (snap, LRUCache(self.settings.cache_size))
            self._snapshot = snap
            return snap

    def _reload_synonyms(self) -> None:
        """Read the synonyms file again (a reindex switched generations); a file
        that has become bad is logged and the groups read before are kept."""
        if not self.settings.synonyms_file:
            return
        try:
            self.synonyms = self._load_synonyms()
        except TimkiemError as exc:
            log.error("the synonyms file was not reloaded: %s", exc)

    def _unchanged(self, snap: Snapshot) -> bool:
        """Whether ``snap`` is still the generation's latest commit.

        A commit adds a file to the generation's folder, which changes the
        folder's modification time: while that time is the one last checked
        (and old enough that a change within the same clock tick would show),
        there is no need to list the folder.
        """
        try:
            stamp = os.stat(snap.folder).st_mtime_ns
        except OSError:
            stamp = None
        if stamp is not None and stamp == self._checked[0] and self._checked[1] is snap:
            return True
        with snap.lock:
            fresh = bool(snap.searcher.up_to_date())
        if fresh and stamp is not None and time.time_ns() - stamp > _SETTLED_NS:
            self._checked = (stamp, snap)
        return fresh

    @contextmanager
    def _reading(self, snap: Snapshot) -> Iterator[None]:
        """Report a live index whose files fail to read as unavailable (503)."""
        try:
            yield
        except Exception as exc:
            if not is_damage(exc):
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

    def search(self, request: SearchRequest) -> dict[str, Any]:
        """Run one search and return the API's response body."""
        began = time.perf_counter()
        valid = validate(request, self.settings)
        snap = self.snapshot()
        owner, results = self._cache
        if owner is not snap:  # the index switched meanwhile: cache nothing of the old one
            results = LRUCache(0)
        key = valid.key()
        cached = results.get(key)
        if cached is None:
            with self._reading(snap):
                cached = self._read_again(snap, valid, *self._run(snap, valid))
            if not cached.get("partial"):
                results.put(key, cached)
        result = dict(cached)
        result["query"] = request.q
        result["took_ms"] = round((time.perf_counter() - began) * 1000, 2)
        return result

    def plan(self, parsed: ParsedQuery, match: str | None = None) -> QueryPlan:
        """The engine's plan for ``parsed``: its words (all of them counted first
        with ``match`` "all", unasked for anything but a question), their
        synonyms and variants (``timkiem.expansion``), and exact accents
        (``timkiem.exact``)."""
        plan = build_plan(parsed, self.ranking, match)
        return exact_plan(expand_plan(plan, parsed, self.synonyms, self.ranking), parsed)

    def _run(self, snap: Snapshot, valid: ValidRequest) -> tuple[dict[str, Any], dict[str, int]]:
        """The response to ``valid``, and how many documents hold each of its words
        (those the plan looked up, for did-you-mean)."""
        request, parsed = valid.request, valid.parsed
        window = request.page * request.per_page
        plan = self.plan(parsed, request.match)
        outcome = execute(
            snap,
            plan,
            Filters(valid.start, valid.end, valid.categories),
            relevance=request.sort == "relevance",
            newest=request.sort != "oldest",
            window=window,
            time_limit=self.settings.query_time_limit,
        )
        # the words that match (a question's function words do not) are marked
        terms = {w.folded for w in scored_words(parsed, self.ranking)} | expanded_words(plan)
        page = outcome.ranked[(request.page - 1) * request.per_page : window]
        total = len(outcome.members)
        # Only the pages within the result window can be asked for.
        reachable = self.settings.max_result_window // request.per_page
        pages = min(math.ceil(total / request.per_page), reachable)
        dated = valid.start is not None or valid.end is not None
        ordered_by = "oldest" if request.sort == "oldest" else "newest"
        response: dict[str, Any] = {
            "total": total,
            "page": request.page,
            "per_page": request.per_page,
            "total_pages": pages,
            "has_more": request.page < pages,
            "hits": [hit(snap, docnum, score, terms) for docnum, score in page],
            "facets": facets(snap, outcome.members, every_month=dated),
            "applied": {
                "sort": request.sort if outcome.by_score else ordered_by,
                "from": None if valid.start is None else day_of(valid.start),
                "to": None if valid.end is None else day_of(valid.end),
                "category": applied_categories(snap, valid.categories),
                "match": matching(parsed, self.ranking, request.match),
                "dropped": [plan.all_names[n] for n in outcome.dropped],
            },
        }
        if outcome.partial:
            response["partial"] = True
        if parsed.dropped:
            response["ignored_terms"] = parsed.dropped
        held = outcome.lookup.frequencies([w.folded for w in parsed.words], WORD_FIELDS)
        return response, held

    def version(self) -> str:
        """The live index state, e.g. ``gen-000003.12`` (generation and commit number):
        every commit and every switch of generation changes it."""
        snap = self.snapshot()
        return f"{snap.generation}.{snap.commit}"

    def _read_again(
        self, snap: Snapshot, valid: ValidRequest, response: dict[str, Any], held: dict[str, int]
    ) -> dict[str, Any]:
        """``response``, or that of the query read as meant (``timkiem.spelling``).

        Only what the index holds is proposed; keyboard slips, and misspellings
        that find nothing as typed, are searched in place of the query; other
        misspellings are suggested.
        """
        proposal = self.speller.propose(snap, valid.request.q, held)
        if proposal is None:
            return response
        answer, _ = self._run(snap, validate(replace(valid.request, q=proposal.q), self.settings))
        if not answer["total"]:
            return response
        if proposal.reason != SPELLING or not response["total"]:
            rewritten = {"from": valid.request.q, "to": proposal.q, "reason": proposal.reason}
            return {**answer, "rewritten": rewritten}
        return {**response, "suggestion": {"q": proposal.q, "total": answer["total"]}}

    def suggest(self, q: str, limit: int) -> dict[str, Any]:
        """Completions of a partial query from the titles (``timkiem.suggest``)."""
        snap = self.snapshot()
        with self._reading(snap):
            return complete(snap, q, limit, self.settings.max_query_length)

    def article(self, article_id: str) -> dict[str, Any]:
        """The full stored record of one article."""
        snap = self.snapshot()
        with self._reading(snap):
            with snap.lock:
                docnum = snap.searcher.document_number(id=article_id)
            if docnum is None:
                raise ArticleNotFound(article_id)
            return snap.record(docnum)

    def related(self, request: RelatedRequest) -> dict[str, Any]:
        """The articles most like one article (``timkiem.related``)."""
        began = time.perf_counter()
        valid = validate_related(request, self.settings)
        snap = self.snapshot()
        results = self._results
        key = valid.key()
        cached = results.get(key)
        if cached is None:
            with self._reading(snap):
                cached = related(snap, valid, self.ranking, self.settings.query_time_limit)
            if not cached.get("partial"):
                results.put(key, cached)
        result = dict(cached)
        result["took_ms"] = round((time.perf_counter() - began) * 1000, 2)
        return result

    def stats(self) -> dict[str, Any]:
        """Size and shape of the live index."""
        snap = self.snapshot()
        stamps = snap.by_date_ts
        counts = np.bincount(
            snap.category_codes[snap.live], minlength=len(snap.category_names)
        ).tolist()
        size = _folder_size(self.directory.path / snap.generation)
        return {
            "articles": snap.doc_count,
            "first_date": isoformat(int(stamps[0])) if len(stamps) else None,
            "last_date": isoformat(int(stamps[-1])) if len(stamps) else None,
            "categories": by_count(snap.category_names, counts),
            "size_bytes": size,
            "segments": len(snap.segments),
            "generation": snap.generation,
            "index": str(self.directory.path),
        }

    def prepare(self) -> dict[str, Any]:
        """Open the index and build what the first requests would otherwise wait
        for, before a server starts answering; the index's :meth:`health`."""
        prepare_snippets()
        return self.health()

    def health(self) -> dict[str, Any]:
        """Whether the index can answer; never raises for a broken index."""
        try:
            snap = self.snapshot()
        except IndexUnavailable as exc:
            return {"status": "unavailable", "reason": str(exc)}
        if snap.damage is not None:
            return {"status": "unavailable", "reason": snap.damage}
        # Nothing is read into memory at start: the snapshot answers at full
        # speed once open (its segment data is paged in by the system).
        return {
            "status": "ok",
            "articles": snap.doc_count,
            "generation": snap.generation,
            "warm": True,
        }


def _folder_size(folder: Path) -> int:
    """Bytes in a generation's files; files a writer removes meanwhile count 0."""
    total = 0
    for path in folder.iterdir():
        try:
            total += path.stat().st_size
        except FileNotFoundError:
            continue
    return total
