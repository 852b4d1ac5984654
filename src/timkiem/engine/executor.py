"""Running a query plan on a snapshot: match, score, top k.

The plan's terms are looked up once in every segment (:mod:`.lookup`).
Matching is boolean masks over documents: the matches, and those holding
every word, which are counted and rank first. Ranking by relevance takes the
first ``window`` of them by score (:mod:`.topk`: scores and tie order are
Whoosh's); ranking by date walks the snapshot's date order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from timkiem.engine.lookup import Clause, Key, Lookup
from timkiem.engine.scoring import BM25Params
from timkiem.engine.snapshot import Mask, Members, Snapshot
from timkiem.engine.topk import Ranking

__all__ = [
    "Clause",
    "Filters",
    "Key",
    "Lookup",
    "Outcome",
    "QueryPlan",
    "Verifier",
    "by_date",
    "execute",
    "holding_all",
]


class Verifier(Protocol):
    """A last check of the matching documents that the index alone cannot make."""

    def __call__(self, snap: Snapshot, final: Mask, deadline: float | None) -> tuple[Mask, bool]:
        """The documents of ``final`` that pass, and whether every one was checked
        before ``deadline`` (those left unchecked are kept)."""
        ...


@dataclass(frozen=True)
class QueryPlan:
    """What to run: scored terms (in order), and which documents match.

    A document matches when it holds any of ``match_any`` or matches any clause
    of ``match_also`` (every document when both are empty), every clause of
    ``required``, no clause of ``excluded``, and passes ``verify``. Of the
    matches, those holding a key of every group of ``all_of`` are counted and
    rank first, the others follow; while fewer than ``min_all`` matches hold
    them all, a group no match holds, else the group most matches hold (the
    least telling word; the later one of a tie), is dropped. ``all_names``
    name the groups, to report the dropped ones; a document matching a clause
    of ``all_also[n]`` (another form of the word: a synonym, a variant) holds
    group ``n`` too.
    """

    scored: tuple[tuple[str, str, float], ...] = ()
    match_any: tuple[Key, ...] = ()
    required: tuple[Clause, ...] = ()
    excluded: tuple[Clause, ...] = ()
    params: BM25Params = field(default_factory=lambda: BM25Params(1.2, 0.75))
    all_of: tuple[tuple[Key, ...], ...] = ()
    all_also: tuple[tuple[Clause, ...], ...] = ()
    all_names: tuple[str, ...] = ()
    min_all: int = 1
    # other ways to match than ``match_any`` (a word's synonyms and variants)
    match_also: tuple[Clause, ...] = ()
    verify: Verifier | None = None

    @property
    def is_empty(self) -> bool:
        return not self.match_any

    def keys(self) -> list[Key]:
        found: dict[Key, None] = {}
        for f, t, _ in self.scored:
            found[(f, t)] = None
        for key in self.match_any:
            found[key] = None
        for group in self.all_of:
            for key in group:
                found[key] = None
        for clause in self.required + self.excluded + self.match_also:
            for group in clause:
                for key in group:
                    found[key] = None
        return list(found)


@dataclass
class Filters:
    """Date range (inclusive timestamps) and categories (any of them, matched by
    :meth:`Snapshot.categories`: in any case, accents and punctuation)."""

    start: int | None = None
    end: int | None = None
    category: tuple[str, ...] = ()


@dataclass
class Outcome:
    """The counted documents (those holding all words, or every match), the
    first ``window`` of all matches in order, whether that order is by score
    (else by date), the ``all_of`` groups dropped, and where the plan's terms
    were found."""

    members: Members
    ranked: list[tuple[int, float | None]]
    lookup: Lookup
    partial: bool = False
    by_score: bool = False
    dropped: list[int] = field(default_factory=list)


def execute(
    snap: Snapshot,
    plan: QueryPlan,
    filters: Filters,
    relevance: bool,
    newest: bool,
    window: int,
    time_limit: float,
    lookup: Lookup | None = None,
) -> Outcome:
    """Match ``plan`` under ``filters``; rank the first ``window`` by relevance
    (when asked and the plan scores anything) or by date. ``lookup``, if given,
    has every key of the plan already looked up (in ``snap``)."""
    began = time.monotonic()
    if lookup is None:
        lookup = Lookup(snap, plan.keys())
    groups = lookup.group_masks(plan.all_of)
    for n, clauses in enumerate(plan.all_also):
        for clause in clauses:
            groups[n] |= lookup.clause_mask(clause)
    if plan.is_empty:
        final = snap.live.copy()
    else:
        # the words of every all_of group are matched words: their postings are read once
        grouped = {key for group in plan.all_of for key in group}
        final = lookup.docs_mask([k for k in plan.match_any if k not in grouped])
        for mask in groups:
            final |= mask
        for clause in plan.match_also:
            final |= lookup.clause_mask(clause)
        final &= snap.live
    for clause in plan.required:
        final &= lookup.clause_mask(clause)
    if filters.start is not None or filters.end is not None:
        lo, hi = snap.date_range(filters.start, filters.end)
        final &= snap.mask(snap.by_date_doc[lo:hi])
    if filters.category:
        final &= snap.categories(filters.category)
    for clause in plan.excluded:
        final &= ~lookup.clause_mask(clause)
    # the time limit covers the verification and the ranking
    deadline = began + time_limit if time_limit > 0 else None
    checked = True
    if plan.verify is not None:
        final, checked = plan.verify(snap, final, deadline)
    counted, dropped = holding_all(groups, plan.min_all, final)
    members = np.flatnonzero(counted)
    ranked: list[tuple[int, float | None]]
    if not relevance or plan.is_empty or not plan.scored:
        ranked = by_date(snap, counted, window, newest)
        if len(ranked) < window and dropped is not None:
            ranked += by_date(snap, final & ~counted, window - len(ranked), newest)
        return Outcome(members, ranked, lookup, not checked, dropped=dropped or [])
    if not final.any():
        return Outcome(members, [], lookup, not checked, by_score=True, dropped=dropped or [])
    scoring = Ranking(lookup, list(plan.scored), plan.params, deadline)
    # the matches lacking a word rank after the counted ones, when these do not fill the window
    short = dropped is not None and len(members) < window
    ranked = list(scoring.best(members, window, then=final & ~counted if short else None))
    partial = scoring.partial
    if partial and len(ranked) < window:
        # Time ran out with part of the window ranked: fill it with the other
        # matches, unranked (newest first), never a blank page.
        rest = final.copy()
        rest[[doc for doc, _ in ranked]] = False
        ranked.extend(by_date(snap, rest, window - len(ranked), newest=True))
    return Outcome(
        members, ranked, lookup, partial or not checked, by_score=True, dropped=dropped or []
    )


def holding_all(groups: list[Mask], min_all: int, final: Mask) -> tuple[Mask, list[int] | None]:
    """The matches holding every group left (each the documents holding any
    key of an ``all_of`` group), and the groups dropped while fewer than
    ``min_all`` matches hold them all (None: no group, every match counts)."""
    if not groups:
        return final, None
    kept = list(range(len(groups)))
    dropped: list[int] = []
    counts: list[int] = []
    while True:
        counted = final.copy()
        for n in kept:
            counted &= groups[n]
        if len(kept) <= 1 or np.count_nonzero(counted) >= min_all:
            return counted, dropped
        if not counts:  # only a query whose words no match holds all of gets here
            counts = [int(np.count_nonzero(group & final)) for group in groups]
        # a word no match holds goes first (a typo), then the commonest
        least = max(kept, key=lambda n: (counts[n] == 0, counts[n], n))
        kept.remove(least)
        dropped.append(least)


def by_date(
    snap: Snapshot, final: Mask, window: int, newest: bool
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
