"""Relevance ranking: the BM25F parameters and the query that scores documents.

A query word typed without accents scores in the folded fields; one typed
with accents scores in the accented fields, and only a little in the folded
ones (so exact accents rank first). Adjacent query words also score as a
folded syllable pair. Weights and BM25 parameters are in :class:`Ranking`;
``scripts/evaluate.py`` measures what they do.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import log
from typing import Any

from whoosh import query as wq
from whoosh.scoring import BM25F

from timkiem.query import ParsedQuery, Word
from timkiem.schema import ACCENTED, BIGRAM, FOLDED, TEXT_FIELDS


@dataclass(frozen=True)
class Ranking:
    """Field weights and BM25F parameters of relevance ranking."""

    k1: float = 1.2
    b: float = 0.75
    title_b: float = 0.5
    title: float = 2.0
    body: float = 1.0
    # A word typed with accents scores in the accented fields, and only a
    # little in the folded ones: "bạc" ranks documents with "bạc" above those
    # with "Bắc" or "bác", which it still finds.
    accented: float = 1.0
    folded: float = 0.1
    bigram: float = 1.0


RANKING = Ranking()


class VietnameseBM25F(BM25F):
    """BM25F with BM25's own idf: a syllable in most documents weighs almost nothing.

    Whoosh's default idf, ``log(N / (df + 1)) + 1``, never drops below 1, so
    the function syllables of a question ("có", "là", "không") score about as
    much as a rare content word's share; on every relevance set this idf ranks
    better (see ``scripts/evaluate.py``).
    """

    def idf(self, searcher: Any, fieldname: str, text: str) -> float:
        parent = searcher.get_parent()
        df = parent.doc_frequency(fieldname, text)
        count = parent.doc_count_all()
        return log(1 + (count - df + 0.5) / (df + 0.5))


def weighting(ranking: Ranking = RANKING) -> BM25F:
    """The Whoosh weighting model of ``ranking``."""
    titles = {f"{p.format('title')}_B": ranking.title_b for p in (FOLDED, ACCENTED, BIGRAM)}
    return VietnameseBM25F(B=ranking.b, K1=ranking.k1, **titles)


def bigram_terms(words: list[Word]) -> list[str]:
    """The folded syllable pairs of adjacent ``words`` ("cong_doan")."""
    return [f"{a.folded}_{b.folded}" for a, b in zip(words, words[1:])]


def build_scoring_query(parsed: ParsedQuery, ranking: Ranking = RANKING) -> wq.Query:
    """The Whoosh query whose BM25F score orders relevance results."""
    subs: list[wq.Query] = []
    seen: set[tuple[str, str]] = set()

    def add(field: str, text: str, boost: float) -> None:
        if boost > 0 and (field, text) not in seen:
            seen.add((field, text))
            subs.append(wq.Term(field, text, boost=boost))

    weights = {"title": ranking.title, "body": ranking.body}
    for name in TEXT_FIELDS:
        weight = weights[name]
        for word in parsed.words:
            if word.has_accents:
                add(ACCENTED.format(name), word.accented, weight * ranking.accented)
                add(FOLDED.format(name), word.folded, weight * ranking.folded)
            else:
                add(FOLDED.format(name), word.folded, weight)
        for pair in bigram_terms(parsed.words):
            add(BIGRAM.format(name), pair, weight * ranking.bigram)
    return wq.Or(subs)
