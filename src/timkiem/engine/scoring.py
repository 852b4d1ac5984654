"""BM25F scores as Whoosh computes them, for many terms and documents at once.

``VietnameseBM25F`` is the Whoosh weighting model of timkiem's ranking (BM25's
own idf); :func:`tf_ratios` computes BM25F's frequency part for each of a
field's distinct ``(frequency, field length byte)`` pairs operation for
operation as ``whoosh.scoring.bm25`` does, so scores are bitwise Whoosh's;
:func:`best_of` picks the top k with Whoosh's tie order.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import log
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length

Scores = npt.NDArray[np.float64]

# doc_field_length() as Whoosh's scorer reads it: a stored byte, 0 read as 1.
LENGTHS = np.array([byte_to_length(b) if b else 1 for b in range(256)], dtype=np.float64)


def bm25_idf(doc_frequency: int, doc_count: int) -> float:
    """BM25's idf: a syllable in most documents weighs almost nothing."""
    return log(1 + (doc_count - doc_frequency + 0.5) / (doc_frequency + 0.5))


class VietnameseBM25F(BM25F):
    """BM25F with BM25's own idf (:func:`bm25_idf`).

    Whoosh's default idf, ``log(N / (df + 1)) + 1``, stays near 1 for a
    syllable in every document, so "có", "là" or "không" still weigh a good
    share of a rare word; on every relevance set BM25's idf ranks better (see
    ``scripts/evaluate.py``).
    """

    def idf(self, searcher: Any, fieldname: str, text: str) -> float:
        parent = searcher.get_parent()
        return bm25_idf(parent.doc_frequency(fieldname, text), parent.doc_count_all())


@dataclass(frozen=True)
class BM25Params:
    """k1, and b per field (``field_b`` overrides ``b``)."""

    k1: float
    b: float
    field_b: tuple[tuple[str, float], ...] = ()

    def b_of(self, field: str) -> float:
        return dict(self.field_b).get(field, self.b)

    def weighting(self) -> BM25F:
        """The same model as a Whoosh weighting (for Whoosh's own searcher)."""
        return VietnameseBM25F(B=self.b, K1=self.k1, **{f"{f}_B": b for f, b in self.field_b})


def tf_ratios(
    tf: Scores, length_byte: npt.NDArray[np.uint8], b: float, avgfl: float, k1: float
) -> Scores:
    """BM25F's frequency part for each ``(tf, length byte)`` pair: a term's score
    is its idf times this. ``whoosh.scoring.bm25`` is ``idf * (this)``, operation
    for operation, so ``idf * tf_ratios(...)`` gives Whoosh's floats exactly."""
    fl = LENGTHS[length_byte]
    ratios: Scores = (tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * fl / avgfl))
    return ratios


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
