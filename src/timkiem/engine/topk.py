"""The first k matches by score, reading as few postings as the answer needs.

Scoring every document reads every posting of every scored term: tens of
thousands for a few common words, while a query's counted matches (those
holding all its words) are often a few dozen. The scores of a few documents
are computed by searching each term's postings for them instead
(:meth:`Lookup.scores_of`). Which way is cheaper is estimated from the
postings and documents involved; the answer is the same either way, scores
and tie order included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from timkiem.engine.lookup import Lookup
from timkiem.engine.scoring import BM25Params, Scores, best_of
from timkiem.engine.snapshot import Mask, Members

Terms = list[tuple[str, str, float]]
Ranked = list[tuple[int, float]]

# Cost of searching one term's postings for one document, and of one search
# call, in postings read by scoring every document (measured on news items).
_PER_DOCUMENT = 3
_PER_CALL = 250


@dataclass
class Ranking:
    """The best documents of one query, scored one of two ways."""

    lookup: Lookup
    terms: Terms
    params: BM25Params
    deadline: float | None
    partial: bool = False
    _every: Scores | None = None

    @property
    def postings(self) -> int:
        return self.lookup.postings(self.terms)

    def _sparse_cost(self, docs: Members) -> int:
        """The cost of :meth:`Lookup.scores_of` for ``docs`` (ascending), in postings."""
        if not len(docs):
            return 0
        offsets = [seg.offset for seg in self.lookup.snap.segments]
        first, last = np.searchsorted(offsets, [docs[0], docs[-1]], side="right")
        calls = len(self.terms) * int(last - first + 1)
        return len(docs) * len(self.terms) * _PER_DOCUMENT + calls * _PER_CALL

    def every(self) -> Scores:
        """Every document's score (all postings read once, then kept)."""
        if self._every is None:
            self._every, partial = self.lookup.scores(self.terms, self.params, self.deadline)
            self.partial |= partial
        return self._every

    def of(self, docs: Members) -> Scores:
        """The scores of ``docs`` (ascending), the cheaper way."""
        if self._every is None and self._sparse_cost(docs) < self.postings:
            found, partial = self.lookup.scores_of(docs, self.terms, self.params, self.deadline)
            self.partial |= partial
            return found
        return self.every()[docs]

    def best(self, docs: Members, k: int, then: Mask | None = None) -> Ranked:
        """The ``k`` best of ``docs`` (ascending): highest score, then lowest
        number; fewer than ``k``: followed by the best of ``then`` (a mask of
        documents not in ``docs``), all scored at once."""
        if then is None or len(docs) >= k:
            return best_of(docs, self.of(docs), k)
        every = then.copy()
        every[docs] = True
        both = np.flatnonzero(every)
        scores = self.of(both)
        first = ~then[both]
        ranked = best_of(both[first], scores[first], k)
        return ranked + best_of(both[~first], scores[~first], k - len(ranked))
