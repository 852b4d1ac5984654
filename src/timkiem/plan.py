"""From a parsed query to the plan the engine runs: terms, weights and matching.

Matching: a document matches when it holds any scored word (folded, in the
title or the body), every adjacent pair of each quoted phrase (a one-word
phrase: the word), and no excluded phrase. Scoring: the terms of
:func:`timkiem.ranking.scored_terms`, with the BM25F parameters of the ranking.
"""

from __future__ import annotations

from timkiem.engine.executor import Clause, Key, QueryPlan
from timkiem.query import ParsedQuery, Word
from timkiem.ranking import RANKING, Ranking, bigram_terms, bm25_params, scored_terms, scored_words
from timkiem.schema import BIGRAM, FOLDED, TEXT_FIELDS


def _anywhere(pattern: str, text: str) -> tuple[Key, ...]:
    """The term ``text`` of the ``pattern`` field of every text (title, body)."""
    return tuple((pattern.format(name), text) for name in TEXT_FIELDS)


def phrase_clause(words: list[Word]) -> Clause:
    """Documents with every adjacent pair of ``words`` (or the one word)."""
    if len(words) == 1:
        return (_anywhere(FOLDED, words[0].folded),)
    return tuple(_anywhere(BIGRAM, pair) for pair in bigram_terms(words))


def build_plan(parsed: ParsedQuery, ranking: Ranking = RANKING) -> QueryPlan:
    """The engine's plan for ``parsed``."""
    if parsed.is_empty:
        return QueryPlan(
            excluded=tuple(phrase_clause(w) for w in parsed.excluded),
            params=bm25_params(ranking),
        )
    match_any = tuple(
        key for word in scored_words(parsed, ranking) for key in _anywhere(FOLDED, word.folded)
    )
    return QueryPlan(
        scored=tuple(scored_terms(parsed, ranking)),
        match_any=match_any,
        required=tuple(phrase_clause(p) for p in parsed.phrases),
        excluded=tuple(phrase_clause(w) for w in parsed.excluded),
        params=bm25_params(ranking),
    )
