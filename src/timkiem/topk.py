"""Exact top-k relevance for queries that are an Or of weighted terms.

Whoosh scores such a query by walking every matching document through a tree
of Python matcher objects. Here each term's postings are read once per index
snapshot into two flat arrays (document numbers, and the term's BM25F score in
each document, computed exactly as Whoosh's ``BM25FScorer`` does) and kept in
a bounded cache. A query then adds up scores term by term, most valuable term
first, and stops creating candidates as soon as the terms left cannot lift an
unseen document into the top k (max-score pruning): the result is Whoosh's
top k, with its scores and its tie order (higher score, then lower document
number). Queries of any other shape, or another weighting model, are left to
Whoosh (``TermScorer.plan`` returns None).
"""

from __future__ import annotations

import heapq
import threading
import time
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Collection
from itertools import accumulate
from typing import Any

from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.scoring import BM25F, BM25FScorer
from whoosh.util.numeric import byte_to_length

_BYTE_TO_LENGTH = [byte_to_length(b) for b in range(256)]


class TermScores:
    """One term's documents (ascending, index-wide numbers) and scores."""

    __slots__ = ("docs", "scores", "top")

    def __init__(self, docs: array[int], scores: array[float]) -> None:
        self.docs = docs
        self.scores = scores
        self.top = max(scores) if scores else 0.0

    def __len__(self) -> int:
        return len(self.docs)


def flatten(query: wq.Query) -> list[tuple[str, str, float]] | None:
    """``(field, text, boost)`` of each term of an Or of terms; None otherwise."""
    if type(query) is wq.Term:
        return [(query.fieldname, query.text, float(query.boost))]
    if type(query) is wq.Or and query.boost == 1.0 and not query.minmatch and not query.scale:
        terms: list[tuple[str, str, float]] = []
        for sub in query.subqueries:
            found = flatten(sub)
            if found is None:
                return None
            terms.extend(found)
        return terms
    return None


def _cost(scores: TermScores) -> int:
    """What a cached term holds, in postings: its own, plus its key and objects
    (about 500 bytes), so that many rare terms cannot outgrow the budget."""
    return len(scores) + 48


def _budget(searcher: Any) -> int:
    schema = searcher.schema
    words: int = sum(searcher.field_length(n) for n, field in schema.items() if field.scorable)
    return min(3_000_000, max(100_000, words // 20))


class TermScorer:
    """Per-snapshot cache of term scores, and the top-k search over them."""

    def __init__(self, searcher: Any, budget: int | None = None) -> None:
        self.searcher = searcher
        # Postings kept in memory (12 bytes each, plus the document sets the
        # engine derives from them): a twentieth of the index's words, so the
        # server's memory follows its index, within bounds.
        self.budget = budget if budget is not None else _budget(searcher)
        self.held = 0
        self.cache: OrderedDict[tuple[str, str], TermScores] = OrderedDict()
        self.lengths: dict[tuple[int, str], bytes] = {}
        self.lock = threading.Lock()
        weighting = searcher.weighting
        self.usable = (
            isinstance(weighting, BM25F)
            and type(weighting).scorer is BM25F.scorer
            and BM25FScorer._score is _BM25_SCORE
        )

    # -- term postings and scores ------------------------------------------------

    def _length_bytes(self, leaf: Any, number: int, field: str) -> bytes:
        """The one-byte encoded length of ``field`` in every document of a leaf."""
        key = (number, field)
        found = self.lengths.get(key)
        if found is None:
            reader = leaf.reader()
            count = reader.doc_count_all()
            column = None
            perdoc = getattr(reader, "_perdoc", None)
            if perdoc is not None and hasattr(perdoc, "_cached_reader"):
                column = perdoc._cached_reader(f"_{field}_len", LENGTHS_COLUMN)
            if column is None:
                found = bytes(count)
            else:
                raw = column._dbfile.get(column._basepos, min(column._count, count))
                found = bytes(raw) + bytes(count - len(raw))
            self.lengths[key] = found
        return found

    def _load(self, field: str, text: str) -> TermScores:
        searcher = self.searcher
        fieldobj = searcher.schema[field]
        btext = fieldobj.to_bytes(text)
        weighting = searcher.weighting
        b = weighting._field_B.get(field, weighting.B)
        k1 = weighting.K1
        docs: array[int] = array("I")
        scores: array[float] = array("d")
        if fieldobj.scorable and (field, btext) in searcher.reader():
            idf = searcher.idf(field, btext)
            avgfl = searcher.avg_field_length(field) or 1
            memo = _Bm25Memo(idf, k1, b, avgfl)
            for number, (leaf, offset) in enumerate(searcher.leaf_searchers()):
                reader = leaf.reader()
                if (field, btext) not in reader:
                    continue
                lbytes = self._length_bytes(leaf, number, field)
                matcher = reader.postings(field, btext)
                while matcher.is_active():
                    ids, weights = _block(matcher)
                    docs.extend(ids if offset == 0 else map(offset.__add__, ids))
                    lengths = map(lbytes.__getitem__, ids)
                    scores.extend(map(memo.__getitem__, zip(weights, lengths)))
        return TermScores(docs, scores)

    def term(self, field: str, text: str) -> TermScores:
        """The scores of one term (cached, least recently used dropped first)."""
        key = (field, text)
        with self.lock:
            found = self.cache.get(key)
            if found is not None:
                self.cache.move_to_end(key)
                return found
        found = self._load(field, text)
        if not len(found):
            return found  # an absent term is cheap to look up again: not worth memory
        with self.lock:
            if key not in self.cache:
                self.cache[key] = found
                self.held += _cost(found)
                while self.held > self.budget and len(self.cache) > 1:
                    _, dropped = self.cache.popitem(last=False)
                    self.held -= _cost(dropped)
        return found

    # -- top k -----------------------------------------------------------------

    def plan(self, query: wq.Query) -> list[tuple[str, str, float]] | None:
        """The terms to score ``query`` with here, or None to leave it to Whoosh."""
        if not self.usable:
            return None
        terms = flatten(query)
        if not terms or len({(f, t) for f, t, _ in terms}) != len(terms):
            return None
        for field, _, boost in terms:
            if field not in self.searcher.schema or boost <= 0:
                return None
        return terms

    def top(
        self,
        terms: list[tuple[str, str, float]],
        allowed: Collection[int] | None,
        k: int,
    ) -> list[tuple[int, float]]:
        """The ``k`` best ``(docnum, score)`` among ``allowed`` (None: any match)."""
        return self.top_within(terms, allowed, k, None)[0]

    def top_within(
        self,
        terms: list[tuple[str, str, float]],
        allowed: Collection[int] | None,
        k: int,
        deadline: float | None,
    ) -> tuple[list[tuple[int, float]], bool]:
        """``top``, stopping between terms once ``time.monotonic()`` passes ``deadline``.

        Returns the best found and whether time ran out: then only the terms
        read and added by then count (at least one), most valuable first.
        """
        partial = False
        lists: list[tuple[float, TermScores]] = []
        for field, text, boost in terms:
            if lists and deadline is not None and time.monotonic() > deadline:
                partial = True
                break
            lists.append((boost, self.term(field, text)))
        lists = [(boost, ts) for boost, ts in lists if len(ts)]
        lists.sort(key=lambda item: -item[0] * item[1].top)
        bounds = [boost * ts.top for boost, ts in lists]
        rest = [0.0] * (len(lists) + 1)
        for i in range(len(lists) - 1, -1, -1):
            rest[i] = rest[i + 1] + bounds[i]
        acc: dict[int, float] = {}
        growing = True
        for i, (boost, ts) in enumerate(lists):
            if i and deadline is not None and time.monotonic() > deadline:
                partial = True
                break
            if growing and len(acc) >= k and rest[i] < rest[0] - rest[i]:
                threshold = heapq.nlargest(k, acc.values())[-1]
                if rest[i] < threshold:
                    # No unseen document can reach the top k: only finish these.
                    growing = False
                    acc = {d: s for d, s in acc.items() if s + rest[i] >= threshold}
            docs, scores = ts.docs, ts.scores
            get = acc.get
            if growing:
                if allowed is None:
                    for docnum, score in zip(docs, scores):
                        acc[docnum] = get(docnum, 0.0) + score * boost
                else:
                    for docnum, score in zip(docs, scores):
                        if docnum in allowed:
                            acc[docnum] = get(docnum, 0.0) + score * boost
            elif len(acc) * 8 < len(docs):
                size = len(docs)
                for docnum in acc:
                    j = bisect_left(docs, docnum)
                    if j < size and docs[j] == docnum:
                        acc[docnum] += scores[j] * boost
            else:
                for docnum, score in zip(docs, scores):
                    if docnum in acc:
                        acc[docnum] += score * boost
        best = heapq.nlargest(k, acc.items(), key=lambda item: (item[1], -item[0]))
        return best, partial


class _Bm25Memo(dict[tuple[float, int], float]):
    """``whoosh.scoring.bm25`` of one term by (weight, length byte), computed once."""

    def __init__(self, idf: float, k1: float, b: float, avgfl: float) -> None:
        super().__init__()
        self.params = (idf, k1, b, avgfl)

    def __missing__(self, key: tuple[float, int]) -> float:
        idf, k1, b, avgfl = self.params
        tf, lbyte = key
        # doc_field_length() as the scorer reads it, then bm25() term by term
        fl = _BYTE_TO_LENGTH[lbyte] if lbyte else 1
        score = self[key] = idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * fl / avgfl)))
        return score


def _block(matcher: Any) -> tuple[Any, Any]:
    """The ids and weights of the matcher's current block; moves to the next."""
    if isinstance(matcher, W3LeafMatcher):
        if matcher._data is None:
            matcher._read_data()
        deltas, weights, _ = matcher._data
        count = matcher._blocklength
        ids = tuple(accumulate(deltas))  # whoosh's delta_decode, in C
        if weights is None:
            weights = (1.0,) * count
        elif isinstance(weights, float):
            weights = (weights,) * count
        matcher._next_block()
        return ids, weights
    all_ids: list[int] = []
    all_weights: list[float] = []
    while matcher.is_active():
        all_ids.append(matcher.id())
        all_weights.append(matcher.weight())
        matcher.next()
    return all_ids, all_weights


_BM25_SCORE = BM25FScorer._score
