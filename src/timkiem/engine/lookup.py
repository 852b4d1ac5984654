"""Where a query's terms are in a snapshot, and what they score.

Every term a plan names is looked up once in each segment
(:meth:`SegmentData.find <timkiem.engine.segdata.SegmentData.find>`, which
remembers the keys it was asked for). Matching is boolean masks over documents.
Scoring every document gathers the postings of all scored terms of a segment
in one operation, computes each term's few distinct BM25F scores
(:func:`timkiem.engine.scoring.tf_ratios`) and adds them per document: the
work grows with the postings read, hardly with the number of terms. Scoring a
few documents searches each term's postings for them instead
(:meth:`Lookup.scores_of`). Either way each document's score is the sum of
its terms' scores in the plan's order, as Whoosh sums them, so scores and tie
order are Whoosh's.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt

from timkiem.engine.scoring import BM25Params, Scores, bm25_idf, tf_ratios
from timkiem.engine.segdata import Int64s, SegmentData, key_hashes, term_key
from timkiem.engine.snapshot import Mask, Snapshot

Key = tuple[str, str]  # (field, term text)
Clause = tuple[tuple[Key, ...], ...]  # every group must match; a group matches by any key


class Lookup:
    """Where each term of a query is, in every segment of a snapshot."""

    def __init__(self, snap: Snapshot, keys: list[Key]) -> None:
        self.snap = snap
        self.index = {key: n for n, key in enumerate(keys)}
        raw = [term_key(f, t) for f, t in keys]
        hashes = key_hashes(raw)
        # places[s][n]: term number of key n in segment s (-1: absent)
        self.places = [seg.data.find(hashes, raw) for seg in snap.segments]
        # spans[s]: where each key's postings start and end in segment s (equal: absent)
        self.spans: list[tuple[list[int], list[int]]] = []
        df = [0] * len(keys)
        for seg, places in zip(snap.segments, self.places):
            starts = seg.data.post_starts
            firsts, lasts = [0] * len(keys), [0] * len(keys)
            # a query's few tens of keys: plain Python reads beat NumPy calls
            for n, term in enumerate(places.tolist()):
                if term >= 0:
                    firsts[n], lasts[n] = int(starts[term]), int(starts[term + 1])
                    df[n] += lasts[n] - firsts[n]
            self.spans.append((firsts, lasts))
        self.df = np.array(df, dtype=np.int64)

    def docs_mask(self, keys: tuple[Key, ...] | list[Key]) -> Mask:
        """The documents holding any of ``keys`` (deleted ones included)."""
        mask = self.snap.mask()
        numbers = [self.index[k] for k in keys]
        for seg, (firsts, lasts) in zip(self.snap.segments, self.spans):
            # a segment's part of the mask, marked from each term's postings as they lie
            part = mask[seg.offset : seg.offset + seg.size]
            docs = seg.data.docs
            for n in numbers:
                if lasts[n] > firsts[n]:
                    part[docs[firsts[n] : lasts[n]]] = True
        return mask

    def group_masks(self, groups: tuple[tuple[Key, ...], ...]) -> list[Mask]:
        """For each group of keys, the documents holding any of them."""
        return [self.docs_mask(group) for group in groups]

    def clause_mask(self, clause: Clause) -> Mask:
        """The documents matching every group of ``clause``."""
        result: Mask | None = None
        for group in clause:
            docs = self.docs_mask(group)
            result = docs if result is None else result & docs
        return result if result is not None else self.snap.mask()

    def frequencies(self, texts: list[str], fields: list[str]) -> dict[str, int]:
        """How many documents hold each of ``texts`` in any of ``fields`` (summed
        per field, deleted ones included), for the texts whose keys were looked up."""
        found: dict[str, int] = {}
        for text in texts:
            numbers = [self.index.get((f, text)) for f in fields]
            if None not in numbers:
                found[text] = sum(int(self.df[n]) for n in numbers if n is not None)
        return found

    def postings(self, terms: list[tuple[str, str, float]]) -> int:
        """How many postings ``terms`` have in the snapshot (deleted documents included)."""
        return int(sum(int(self.df[self.index[(f, t)]]) for f, t, _ in terms))

    def scores_of(
        self,
        docs: npt.NDArray[np.int64],
        terms: list[tuple[str, str, float]],
        params: BM25Params,
        deadline: float | None = None,
    ) -> tuple[Scores, bool]:
        """The scores of ``docs`` (ascending) over ``terms``, as :meth:`scores`
        computes them for every document, and whether time ran out.

        Each term's postings are searched for the documents (``searchsorted``)
        instead of all being read: for a few documents and common terms, a
        fraction of the work. Terms are added in the plan's order, so each
        document's sum is the one :meth:`scores` makes.
        """
        snap = self.snap
        out = np.zeros(len(docs))
        setup = _TermSetup(self, terms, params)
        starts = np.searchsorted(docs, [seg.offset for seg in snap.segments] + [snap.size])
        parts = []  # per segment holding some of docs: what each term needs
        for n, (seg, places) in enumerate(zip(snap.segments, self.places)):
            lo, hi = int(starts[n]), int(starts[n + 1])
            if hi == lo:
                continue
            data = seg.data
            found = places[setup.numbers]
            ratios, bases, _ = _ratios(data, setup.fields, params, setup.avgfl)
            parts.append(
                (
                    data.docs,
                    data.codes,
                    found.tolist(),
                    data.post_starts[found].tolist(),
                    data.post_starts[found + 1].tolist(),
                    ratios,
                    bases[setup.field_of].tolist(),
                    (docs[lo:hi] - seg.offset).astype(data.docs.dtype),
                    out[lo:hi],
                )
            )
        idf, boost = setup.idf.tolist(), setup.boost.tolist()
        partial = False
        for i in range(len(terms)):
            if i and deadline is not None and time.monotonic() > deadline:
                partial = True
                break
            for held, codes, found, firsts, lasts, ratios, base, local, view in parts:
                if found[i] < 0:
                    continue
                lo, hi = firsts[i], lasts[i]
                at = held[lo:hi].searchsorted(local)
                np.minimum(at, hi - lo - 1, out=at)
                at += lo
                hit = held[at] == local
                at = at[hit]
                if len(at):
                    # (idf * ratio) * boost, the operations of scoring every document
                    view[hit] += (idf[i] * ratios[codes[at].astype(np.int64) + base[i]]) * boost[i]
        return out, partial

    def scores(
        self,
        terms: list[tuple[str, str, float]],
        params: BM25Params,
        deadline: float | None = None,
    ) -> tuple[Scores, bool]:
        """Each document's BM25F score over ``terms`` (field, text, boost), and
        whether time ran out (then only the terms scored by then count, at least one).

        With a deadline, terms are scored in chunks of growing numbers of
        postings, the clock read between chunks: most queries are one chunk.
        Every term's scores are added to the documents' running totals in the
        plan's order (``np.add.at`` adds in order), so the sums are Whoosh's
        whatever the chunks.
        """
        snap = self.snap
        total = np.zeros(snap.size)
        setup = _TermSetup(self, terms, params)
        numbers, idf, field_of, boost = setup.numbers, setup.idf, setup.field_of, setup.boost
        ends = _chunks(self.df[numbers].tolist()) if deadline is not None else [len(terms)]
        done, partial = 0, False
        for end in ends:
            if done and deadline is not None and time.monotonic() > deadline:
                partial = True
                break
            chunk = slice(done, end)
            for seg, places in zip(snap.segments, self.places):
                found = places[numbers[chunk]]
                keep = found >= 0
                if keep.all():
                    chosen: slice | npt.NDArray[np.bool_] = slice(None)
                elif keep.any():
                    chosen = keep
                else:
                    continue
                view = total[seg.offset : seg.offset + seg.size]
                _add_scores(seg.data, view, found[chosen], field_of[chunk][chosen],
                            idf[chunk][chosen], boost[chunk][chosen], setup.fields, params,
                            setup.avgfl)
            done = end
        return total, partial


_FIRST_CHUNK = 1 << 17  # postings scored before the clock is first read


def _chunks(postings: list[int]) -> list[int]:
    """Where each chunk of terms ends, the terms having ``postings`` each: every
    chunk holds at least one term, and up to four times the postings of the one
    before (the first, up to ``_FIRST_CHUNK``)."""
    ends: list[int] = []
    done, budget, total = 0, _FIRST_CHUNK, 0
    while done < len(postings):
        total += postings[done]
        end = done + 1
        limit = total - postings[done] + budget
        while end < len(postings) and total + postings[end] <= limit:
            total += postings[end]
            end += 1
        ends.append(end)
        done, budget = end, budget * 4
    return ends


class _TermSetup:
    """What scoring ``terms`` needs besides postings: fields, average lengths,
    each term's number in the lookup, idf, field and boost."""

    def __init__(
        self, lookup: Lookup, terms: list[tuple[str, str, float]], params: BM25Params
    ) -> None:
        snap = lookup.snap
        count = snap.size
        self.fields = sorted({f for f, _, _ in terms})
        self.avgfl = {
            f: (snap.field_length_totals.get(f, 0) / (count or 1)) or 1 for f in self.fields
        }
        self.numbers = np.array([lookup.index[(f, t)] for f, t, _ in terms], dtype=np.int64)
        self.idf = np.array([bm25_idf(int(lookup.df[n]), count) for n in self.numbers.tolist()])
        self.field_of = np.array([self.fields.index(f) for f, _, _ in terms], dtype=np.int64)
        self.boost = np.array([w for _, _, w in terms], dtype=np.float64)


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

    A term's score in a document is ``(idf * ratio) * boost``, as Whoosh
    computes it, the ratio read through the posting's code. A large term goes
    on its own over a contiguous slice of postings, through a table of its
    scores for each of its field's (tf, length) pairs when that table is
    smaller than its postings; runs of small terms go together through one
    index array, scored posting by posting (a field may have thousands of
    pairs and a small term a few postings). Either way the floats are the same.
    """
    ratios, bases, widths = _ratios(data, fields, params, avgfl)
    starts, docs, codes = data.post_starts, data.docs, data.codes
    # per-term numbers as Python lists: a query has tens of terms, each read a few times
    p_lo, p_hi = starts[terms].tolist(), starts[terms + 1].tolist()
    base, width = bases[field_of].tolist(), widths[field_of].tolist()
    idfs, boosts = idf.tolist(), boost.tolist()
    n, i = len(p_lo), 0
    while i < n:
        lo, hi = p_lo[i], p_hi[i]
        j = i + 1
        if hi - lo < _BIG_TERM:
            while j < n and p_hi[j] - p_lo[j] < _BIG_TERM:
                j += 1
        if j > i + 1:  # a run of small terms
            firsts, lasts = np.array(p_lo[i:j]), np.array(p_hi[i:j])
            postings = _ranges(firsts, lasts)
            counts = lasts - firsts
            keys = codes[postings].astype(np.int64) + np.repeat(base[i:j], counts)
            found = (np.repeat(idf[i:j], counts) * ratios[keys]) * np.repeat(boost[i:j], counts)
            np.add.at(totals, docs[postings], found)
        elif width[i] < hi - lo:  # a large term: through a table of its scores
            b = base[i]
            table = (idfs[i] * ratios[b : b + width[i]]) * boosts[i]
            np.add.at(totals, docs[lo:hi], table[codes[lo:hi]])
        else:
            found = ratios[codes[lo:hi].astype(np.int64) + base[i]]
            np.add.at(totals, docs[lo:hi], (idfs[i] * found) * boosts[i])
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
