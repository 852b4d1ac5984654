"""Running a query plan on a snapshot: match, score, top k.

Every term the plan names is looked up once, in every segment at once (one
sorted-hash search per segment). Matching is boolean masks over documents;
scoring gathers the postings of all scored terms of a segment in one
operation, computes each term's few distinct BM25F scores
(:func:`timkiem.engine.scoring.score_tables`) and adds them per document
with one ``bincount``: the work grows with the postings read, hardly with the
number of terms. Each document's score is the sum of its terms' scores in the
plan's order, as Whoosh sums them, so scores and tie order are Whoosh's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from timkiem.engine.scoring import BM25Params, Scores, best_of, bm25_idf, tf_ratios
from timkiem.engine.segdata import Int64s, SegmentData, key_hashes, term_key
from timkiem.engine.snapshot import Mask, Members, Snapshot

Key = tuple[str, str]  # (field, term text)
Clause = tuple[tuple[Key, ...], ...]  # every group must match; a group matches by any key


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
    (else by date), and the ``all_of`` groups dropped."""

    members: Members
    ranked: list[tuple[int, float | None]]
    partial: bool = False
    by_score: bool = False
    dropped: list[int] = field(default_factory=list)


class Lookup:
    """Where each term of a query is, in every segment of a snapshot."""

    def __init__(self, snap: Snapshot, keys: list[Key]) -> None:
        self.snap = snap
        self.index = {key: n for n, key in enumerate(keys)}
        raw = [term_key(f, t) for f, t in keys]
        hashes = key_hashes(raw)
        # places[s][n]: term number of key n in segment s (-1: absent)
        self.places = [seg.data.find(hashes, raw) for seg in snap.segments]
        self.df = np.zeros(len(keys), dtype=np.int64)
        for seg, places in zip(snap.segments, self.places):
            present = places >= 0
            starts = seg.data.post_starts
            self.df[present] += starts[places[present] + 1] - starts[places[present]]

    def docs_mask(self, keys: tuple[Key, ...] | list[Key]) -> Mask:
        """The documents holding any of ``keys`` (deleted ones included)."""
        mask = self.snap.mask()
        numbers = [self.index[k] for k in keys]
        for seg, places in zip(self.snap.segments, self.places):
            found = places[numbers]
            found = found[found >= 0]
            if not len(found):
                continue
            postings = _ranges(seg.data.post_starts[found], seg.data.post_starts[found + 1])
            mask[seg.data.docs[postings].astype(np.int64) + seg.offset] = True
        return mask

    def group_masks(self, groups: tuple[tuple[Key, ...], ...]) -> list[Mask]:
        """For each group of keys, the documents holding any of them: one
        gather per segment for all groups (a group's postings are one slice)."""
        masks = [self.snap.mask() for _ in groups]
        numbers = [self.index[k] for group in groups for k in group]
        owners = np.repeat(np.arange(len(groups)), [len(group) for group in groups])
        for seg, places in zip(self.snap.segments, self.places):
            found = places[numbers]
            keep = found >= 0
            if not keep.any():
                continue
            found, owner = found[keep], owners[keep]
            sizes = seg.data.post_starts[found + 1] - seg.data.post_starts[found]
            docs = seg.data.docs[
                _ranges(seg.data.post_starts[found], seg.data.post_starts[found + 1])
            ]
            ends = np.cumsum(
                np.bincount(owner, weights=sizes, minlength=len(groups)).astype(np.int64)
            )
            start = 0
            for mask, end in zip(masks, ends.tolist()):
                if end > start:
                    mask[docs[start:end].astype(np.int64) + seg.offset] = True
                start = end
        return masks

    def clause_mask(self, clause: Clause) -> Mask:
        """The documents matching every group of ``clause``."""
        result: Mask | None = None
        for group in clause:
            docs = self.docs_mask(group)
            result = docs if result is None else result & docs
        return result if result is not None else self.snap.mask()

    def scores(
        self,
        terms: list[tuple[str, str, float]],
        params: BM25Params,
        deadline: float | None = None,
    ) -> tuple[Scores, bool]:
        """Each document's BM25F score over ``terms`` (field, text, boost), and
        whether time ran out (then only the terms scored by then count, at least one).

        With a deadline, terms are scored in chunks of growing size, the clock
        read between chunks. Every term's scores are added to the documents'
        running totals in the plan's order (``np.add.at`` adds in order), so the
        sums are Whoosh's whatever the chunks.
        """
        snap = self.snap
        total = np.zeros(snap.size)
        count = snap.size
        fields = sorted({f for f, _, _ in terms})
        avgfl = {f: (snap.field_length_totals.get(f, 0) / (count or 1)) or 1 for f in fields}
        numbers = np.array([self.index[(f, t)] for f, t, _ in terms], dtype=np.int64)
        idf = np.array([bm25_idf(int(self.df[n]), count) for n in numbers.tolist()])
        field_of = np.array([fields.index(f) for f, _, _ in terms], dtype=np.int64)
        boost = np.array([w for _, _, w in terms], dtype=np.float64)
        done, step, partial = 0, 1 if deadline is not None else len(terms), False
        while done < len(terms):
            if done and deadline is not None and time.monotonic() > deadline:
                partial = True
                break
            chunk = slice(done, done + step)
            for seg, places in zip(snap.segments, self.places):
                found = places[numbers[chunk]]
                keep = found >= 0
                if keep.any():
                    view = total[seg.offset : seg.offset + seg.size]
                    _add_scores(seg.data, view, found[keep], field_of[chunk][keep],
                                idf[chunk][keep], boost[chunk][keep], fields, params, avgfl)
            done += step
            step *= 4
        return total, partial


_BIG_TERM = 512  # postings of a term added on its own (contiguous slices), not batched


def _add_scores(
    data: SegmentData,
    totals: Scores,
    terms: Int64s,
    field_of: Int64s,
    idf: Scores,
    boost: Scores,
    fields: list[str],
    params: BM25Params,
    avgfl: dict[str, float],
) -> None:
    """Add the scores of a segment's ``terms`` (in order) to ``totals``.

    Each term's score for each of its field's (tf, length) pairs is
    ``(idf * ratio) * boost``, as Whoosh computes it; its postings read the
    scores through their codes. Large terms go one by one over contiguous
    slices; runs of small ones go together through one index array.
    """
    ratios, bases, widths = _ratios(data, fields, params, avgfl)
    t_lo = bases[field_of]
    t_sizes = widths[field_of]
    entries = _ranges(t_lo, t_lo + t_sizes)
    tables = (np.repeat(idf, t_sizes) * ratios[entries]) * np.repeat(boost, t_sizes)
    t_base = np.cumsum(t_sizes) - t_sizes
    p_lo, p_hi = data.post_starts[terms], data.post_starts[terms + 1]
    sizes = p_hi - p_lo
    big = (sizes >= _BIG_TERM).tolist()
    n, i = len(big), 0
    while i < n:
        if big[i]:
            lo, hi, tb = int(p_lo[i]), int(p_hi[i]), int(t_base[i])
            table = tables[tb : tb + int(t_sizes[i])]
            np.add.at(totals, data.docs[lo:hi], table[data.codes[lo:hi]])
            i += 1
            continue
        j = i + 1
        while j < n and not big[j]:
            j += 1
        postings = _ranges(p_lo[i:j], p_hi[i:j])
        codes = data.codes[postings].astype(np.int64) + np.repeat(t_base[i:j], sizes[i:j])
        np.add.at(totals, data.docs[postings], tables[codes])
        i = j


def _ratios(
    data: SegmentData, fields: list[str], params: BM25Params, avgfl: dict[str, float]
) -> tuple[Scores, Int64s, Int64s]:
    """``tf_ratios`` of each of a segment's ``fields`` one after another, where
    each field's start and how many: kept with the segment for these parameters."""
    key = (tuple(fields), params, tuple(avgfl[f] for f in fields))
    found = data.memo.get(key)
    if found is None:
        parts = []
        for name in fields:
            if name in data.fields:
                tf, lengths = data.table(name)
                parts.append(tf_ratios(tf, lengths, params.b_of(name), avgfl[name], params.k1))
            else:
                parts.append(np.zeros(0))
        widths = np.array([len(p) for p in parts], dtype=np.int64)
        bases = np.cumsum(widths) - widths
        found = (np.concatenate(parts) if parts else np.zeros(0), bases, widths)
        if len(data.memo) > 256:  # the average lengths change with every commit
            data.memo.clear()
        data.memo[key] = found
    return found


def _ranges(starts: npt.NDArray[Any], ends: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """The concatenation of ``range(s, e)`` for each pair, as one array."""
    sizes = (ends - starts).astype(np.int64)
    firsts = np.cumsum(sizes) - sizes
    found: npt.NDArray[np.int64] = np.arange(int(sizes.sum()), dtype=np.int64)
    found += np.repeat(starts - firsts, sizes)
    return found


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
        return Outcome(members, ranked, not checked, dropped=dropped or [])
    if not final.any():
        return Outcome(members, [], not checked, by_score=True, dropped=dropped or [])
    total, partial = lookup.scores(list(plan.scored), plan.params, deadline)
    ranked = [(doc, score) for doc, score in best_of(members, total[members], window)]
    if len(ranked) < window and dropped is not None:
        others = np.flatnonzero(final & ~counted)
        ranked += best_of(others, total[others], window - len(ranked))
    if partial and len(ranked) < window:
        # Time ran out with part of the window ranked: fill it with the other
        # matches, unranked (newest first), never a blank page.
        rest = final.copy()
        rest[[doc for doc, _ in ranked]] = False
        ranked.extend(by_date(snap, rest, window - len(ranked), newest=True))
    return Outcome(members, ranked, partial or not checked, by_score=True, dropped=dropped or [])


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
