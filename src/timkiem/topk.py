"""Exact top-k relevance for queries that are an Or of weighted terms.

Whoosh scores such a query by walking every matching document through a tree
of Python matcher objects. Here each term's postings are read once per index
snapshot into two arrays (document numbers, and the term's BM25F score in
each document, computed exactly as Whoosh's ``BM25FScorer`` does) and kept in
a cache bounded in bytes. A query adds the arrays of its terms into one score
per document, with NumPy, and picks the best k: the result is Whoosh's top k,
with its scores and its tie order (higher score, then lower document number).
Queries of any other shape, or another weighting model, are left to Whoosh
(``TermScorer.plan`` returns None).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.scoring import BM25F, BM25FScorer
from whoosh.util.numeric import byte_to_length

from timkiem.postlists import read_postings

Mask = npt.NDArray[np.bool_]
Members = npt.NDArray[np.intp]  # document numbers, ascending
Docs = npt.NDArray[np.int32]
Scores = npt.NDArray[np.float64]
Codes = npt.NDArray[np.uint16]

# doc_field_length() as Whoosh's scorer reads it: a stored byte, 0 read as 1.
_LENGTHS = np.array([byte_to_length(b) if b else 1 for b in range(256)], dtype=np.float64)
_ENTRY_BYTES = 600  # the key, the entry and two arrays' headers
MIN_CACHED = 32  # documents: rarer terms are read from the index each time
_POSTING_BYTES = 6  # a document number and a score code


class TermScores:
    """One term's documents (ascending, index-wide numbers) and scores.

    A term's BM25F score depends only on its frequency and the field's length
    in a document, so a term has few distinct scores: each document holds a
    code into ``table``, the distinct scores (6 bytes a posting instead of 12).
    Without ``codes``, ``table`` holds one score per document.
    """

    __slots__ = ("docs", "codes", "table")

    def __init__(self, docs: Docs, table: Scores, codes: Codes | None = None) -> None:
        self.docs = docs
        self.table = table
        self.codes = codes

    def __len__(self) -> int:
        return len(self.docs)

    def weighted(self, boost: float) -> Scores:
        """The score in each document times ``boost`` (as ``scores * boost``)."""
        scaled = self.table * boost
        return scaled if self.codes is None else scaled[self.codes]

    @property
    def nbytes(self) -> int:
        codes = 0 if self.codes is None else self.codes.nbytes
        return int(self.docs.nbytes + self.table.nbytes + codes) + _ENTRY_BYTES


Local = dict[tuple[str, str], TermScores]


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


class TermScorer:
    """Per-snapshot cache of term scores, and the top-k search over them.

    ``budget`` bounds the bytes of cached arrays; least recently used terms
    go first. Whoosh's file reads are serialized by ``io_lock``.
    """

    def __init__(self, searcher: Any, budget: int, io_lock: threading.Lock | None = None) -> None:
        self.searcher = searcher
        self.budget = budget
        self.held = 0
        self.cache: OrderedDict[tuple[str, str], TermScores] = OrderedDict()
        self.size = searcher.reader().doc_count_all()
        self.lock = threading.Lock()
        self.io_lock = io_lock or threading.Lock()
        self._lengths: dict[str, npt.NDArray[np.uint8]] = {}
        weighting = searcher.weighting
        self.usable = (
            isinstance(weighting, BM25F)
            and type(weighting).scorer is BM25F.scorer
            and BM25FScorer._score is _BM25_SCORE
        )

    # -- term postings and scores ------------------------------------------------

    def _field_lengths(self, field: str) -> npt.NDArray[np.uint8]:
        """The length byte of ``field`` in every document (0: none stored)."""
        found = self._lengths.get(field)
        if found is None:
            parts = []
            for leaf, _offset in self.searcher.leaf_searchers():
                reader = leaf.reader()
                count = reader.doc_count_all()
                raw = b""
                perdoc = getattr(reader, "_perdoc", None)
                if perdoc is not None and hasattr(perdoc, "_cached_reader"):
                    column = perdoc._cached_reader(f"_{field}_len", LENGTHS_COLUMN)
                    if column is not None:
                        raw = bytes(column._dbfile.get(column._basepos, min(column._count, count)))
                parts.append(np.frombuffer(raw + bytes(count - len(raw)), dtype=np.uint8))
            found = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
            self._lengths[field] = found
        return found

    def _load(self, field: str, text: str) -> TermScores:
        searcher = self.searcher
        fieldobj = searcher.schema[field]
        btext = fieldobj.to_bytes(text)
        parts: list[tuple[Any, Any]] = []
        with self.io_lock:
            for leaf, offset in searcher.leaf_searchers():
                ids, weights = read_postings(leaf.reader(), field, btext)
                if len(ids):
                    parts.append((ids + offset if offset else ids, weights))
            if not parts:
                return TermScores(np.zeros(0, np.int32), np.zeros(0))
            # The weighting's own idf: the searcher's cache of it never shrinks.
            idf = searcher.weighting.idf(searcher, field, btext)
            avgfl = searcher.avg_field_length(field) or 1
            lengths = self._field_lengths(field)
        docs = np.concatenate([ids for ids, _ in parts])
        tf = np.concatenate([w for _, w in parts])
        if not self.usable:
            return TermScores(docs.astype(np.int32), tf)
        weighting = searcher.weighting
        b = weighting._field_B.get(field, weighting.B)
        k1 = weighting.K1
        codes, tf_of, byte_of = _score_codes(tf, lengths[docs])
        fl = _LENGTHS[byte_of]
        # whoosh.scoring.bm25, operation for operation (the same float results)
        table = idf * ((tf_of * (k1 + 1)) / (tf_of + k1 * ((1 - b) + b * fl / avgfl)))
        return TermScores(docs.astype(np.int32), table, codes)

    def term(self, field: str, text: str, local: Local | None = None) -> TermScores:
        """The scores of one term (cached, least recently used dropped first).

        ``local`` keeps every term one query reads, rare ones included, so the
        query reads each only once.
        """
        key = (field, text)
        if local is not None:
            found = local.get(key)
            if found is None:
                found = local[key] = self.term(field, text)
            return found
        with self.lock:
            found = self.cache.get(key)
            if found is not None:
                self.cache.move_to_end(key)
                return found
        found = self._load(field, text)
        if len(found) < MIN_CACHED:
            return found  # a rare term is cheap to read again: not worth memory
        with self.lock:
            if key not in self.cache:
                self.cache[key] = found
                self.held += found.nbytes
                while self.held > self.budget and len(self.cache) > 1:
                    _, dropped = self.cache.popitem(last=False)
                    self.held -= dropped.nbytes
        return found

    def prefetch(
        self, lexicon: Any, groups: list[tuple[list[str], int]], stop: threading.Event
    ) -> int:
        """Load the most frequent terms of each group of fields in turn, while
        the budget lasts: ``groups`` are (fields, least document frequency).

        ``lexicon`` is a reader of the same index used only to list terms (a
        second reader, so that listing needs no lock). Frequent terms are the
        slowest to read and the most asked for; read in advance (a server does
        it in the background when it opens an index generation) they cost no
        query its time, and the cache is full before traffic, so memory stays
        flat under it. Returns the number of terms loaded.
        """
        loaded = 0
        for fields, least in groups:
            found: list[tuple[int, str, str]] = []
            for name in fields:
                field = self.searcher.schema[name]
                for number, (text, info) in enumerate(lexicon.iter_field(name)):
                    if info.doc_frequency() >= max(least, MIN_CACHED):
                        if isinstance(text, bytes):  # some readers list terms undecoded
                            text = field.from_bytes(text)
                        found.append((info.doc_frequency(), name, text))
                    if not number % 2000:
                        time.sleep(0.001)  # let request threads have the interpreter
                        if stop.is_set():
                            return loaded
            found.sort(key=lambda item: -item[0])
            for df, field, text in found:
                if stop.is_set() or self.held + df * _POSTING_BYTES + _ENTRY_BYTES > self.budget:
                    return loaded
                self.term(field, text)
                loaded += 1
        return loaded

    def docs(self, field: str, text: str, local: Local | None = None) -> Docs:
        """The documents holding ``text`` in ``field``, deleted ones included."""
        return self.term(field, text, local).docs

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
        self, terms: list[tuple[str, str, float]], candidates: Members | None, k: int
    ) -> list[tuple[int, float]]:
        """The ``k`` best ``(docnum, score)`` among ``candidates`` (ascending
        document numbers; None: any match)."""
        return self.top_within(terms, candidates, k, None)[0]

    def top_within(
        self,
        terms: list[tuple[str, str, float]],
        candidates: Members | None,
        k: int,
        deadline: float | None,
        local: Local | None = None,
    ) -> tuple[list[tuple[int, float]], bool]:
        """``top``, stopping between terms once ``time.monotonic()`` passes ``deadline``.

        Returns the best found and whether time ran out: then only the terms
        read and added by then count (at least one).
        """
        partial = False
        total = np.zeros(self.size)
        touched = np.zeros(self.size, dtype=np.bool_) if candidates is None else None
        for number, (field, text, boost) in enumerate(terms):
            if number and deadline is not None and time.monotonic() > deadline:
                partial = True
                break
            found = self.term(field, text, local)
            if not len(found):
                continue
            total[found.docs] += found.weighted(boost)
            if touched is not None:
                touched[found.docs] = True
        if candidates is None:
            assert touched is not None
            candidates = np.flatnonzero(touched)
        return best_of(candidates, total[candidates], k), partial


def _score_codes(
    tf: Scores, lengths: npt.NDArray[np.uint8]
) -> tuple[Codes | None, Scores, npt.NDArray[np.uint8]]:
    """Each posting's code for its (frequency, length byte) pair, and the pairs.

    Codes are None, and the pairs each posting's own, when frequencies are not
    whole numbers below 2**20 or there are too many pairs for 16 bits.
    """
    if not len(tf) or tf.max() >= 2**20 or not np.array_equal(tf, np.floor(tf)):
        return None, tf, lengths
    keys = tf.astype(np.int64) * 256 + lengths
    if keys.max() < 1 << 22:  # a table over every possible key: no sort needed
        present = np.zeros(int(keys.max()) + 1, dtype=np.bool_)
        present[keys] = True
        unique = np.flatnonzero(present)
        rank = np.cumsum(present) - 1
        codes = rank[keys]
    else:
        unique, codes = np.unique(keys, return_inverse=True)
    if len(unique) > 1 << 16:
        return None, tf, lengths
    return (
        codes.astype(np.uint16),
        (unique // 256).astype(np.float64),
        (unique % 256).astype(np.uint8),
    )


def best_of(docs: npt.NDArray[np.intp], scores: Scores, k: int) -> list[tuple[int, float]]:
    """The ``k`` highest scores, ties broken by the lower document number."""
    if k <= 0 or not len(docs):
        return []
    if len(docs) > k:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        keep = scores >= kth  # every tie of the k-th score, to order them by number
        docs, scores = docs[keep], scores[keep]
    order = np.lexsort((docs, -scores))[:k]
    return list(zip(docs[order].tolist(), scores[order].tolist()))


_BM25_SCORE = BM25FScorer._score
