"""From a parsed query to the plan the engine runs: terms, weights and matching.

Matching: a document matches when it holds any scored word (folded, in the
title or the body), every adjacent pair of each quoted phrase (a one-word
phrase: the word), and no excluded phrase. With ``match="all"`` the
documents holding every required word (:func:`timkiem.ranking.required_words`)
are the ones counted and rank first; the engine drops the least telling of
those words while too few documents hold them all. Unasked, a question
(:func:`timkiem.query_shape.is_question`) matches "any", any other query
"all". Scoring: the terms of :func:`timkiem.ranking.scored_terms` (titles
weighted for a question or a headline), with the BM25F parameters of the
ranking.
"""

from __future__ import annotations

from collections.abc import Callable

from timkiem.engine.executor import Clause, Key, QueryPlan
from timkiem.query import ParsedQuery, Word
from timkiem.query_shape import is_question
from timkiem.ranking import (
    RANKING,
    Ranking,
    bigram_terms,
    bm25_params,
    required_words,
    scored_terms,
    scored_words,
)
from timkiem.schema import TEXT_FIELDS, folded_field, pair_field


def _anywhere(kind: Callable[[str], str], text: str) -> tuple[Key, ...]:
    """The term ``text`` in the ``kind`` field of every text (title, body)."""
    return tuple((kind(name), text) for name in TEXT_FIELDS)


def phrase_clause(words: list[Word]) -> Clause:
    """Documents with every adjacent pair of ``words`` (or the one word)."""
    if len(words) == 1:
        return (_anywhere(folded_field, words[0].folded),)
    return tuple(_anywhere(pair_field, pair) for pair in bigram_terms(words))


def matching(parsed: ParsedQuery, ranking: Ranking = RANKING, match: str | None = None) -> str:
    """``match`` ("all" or "any"), or unasked "any" for a question (its words
    are rarely all in its answer) and "all" for anything else."""
    if match is not None:
        return match
    return "any" if is_question(parsed, ranking.question_words) else "all"


def build_plan(
    parsed: ParsedQuery, ranking: Ranking = RANKING, match: str | None = None
) -> QueryPlan:
    """The engine's plan for ``parsed``; ``match`` as :func:`matching` takes it."""
    if parsed.is_empty:
        return QueryPlan(
            excluded=tuple(phrase_clause(w) for w in parsed.excluded),
            params=bm25_params(ranking),
        )
    words = scored_words(parsed, ranking)
    match_any = tuple(key for word in words for key in _anywhere(folded_field, word.folded))
    question = is_question(parsed, ranking.question_words)
    every = matching(parsed, ranking, match) == "all"
    wanted = required_words(parsed, ranking) if every else []
    return QueryPlan(
        scored=tuple(scored_terms(parsed, ranking, question)),
        match_any=match_any,
        required=tuple(phrase_clause(p) for p in parsed.phrases),
        excluded=tuple(phrase_clause(w) for w in parsed.excluded),
        params=bm25_params(ranking),
        all_of=tuple(_anywhere(folded_field, w.folded) for w in wanted),
        all_names=tuple(w.accented for w in wanted),
        min_all=ranking.min_all_matches,
    )
