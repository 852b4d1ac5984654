"""Relevance ranking: the BM25F parameters and the query that scores documents.

The words of a query typed without accents score in the folded fields; those
of a query typed with accents score in the accented fields, and only a little
in the folded ones (so exact accents rank first). Adjacent query words also
score as a folded syllable pair; the function words of a question do not
score. A query that reads as a question (:mod:`timkiem.query_shape`) weighs
titles less than a few words of a headline do. Weights and BM25 parameters
are in :class:`Ranking`; ``scripts/evaluate.py`` measures what they do.
"""

from __future__ import annotations

from dataclasses import dataclass

from whoosh.scoring import BM25F

from timkiem.analysis import BIGRAM_SEPARATOR
from timkiem.engine.scoring import BM25Params
from timkiem.query import ParsedQuery, Word
from timkiem.schema import FIELD_KINDS, TEXT_FIELDS, accented_field, folded_field, pair_field


@dataclass(frozen=True)
class Ranking:
    """Field weights and BM25F parameters of relevance ranking."""

    k1: float = 1.2
    b: float = 0.75
    title_b: float = 0.5
    title: float = 2.0
    body: float = 1.0
    # In a query typed with accents every word scores in the accented fields,
    # and only a little in the folded ones: "bạc" ranks documents with "bạc"
    # above those with "Bắc" or "bác", which it still finds.
    accented: float = 1.0
    folded: float = 0.1
    bigram: float = 0.5
    # Function words (FUNCTION_WORDS) of a query with at least ``min_content``
    # other words are weighted by ``function_words`` (0: not scored).
    function_words: float = 0.0
    min_content: int = 2
    # A query of ``question_words`` words or more, or with a question word or
    # "?", is a question: its answer is in an article's body, which its title
    # may not name, so the title weighs ``question_title`` (not ``title``).
    question_words: int = 7
    question_title: float = 1.0
    # Matching "all": documents holding every content word rank first and are
    # counted; the least telling words are dropped while fewer than
    # ``min_all_matches`` documents hold all the others.
    min_all_matches: int = 1
    # Another form of typed words (timkiem.expansion) scores this share of
    # the typed form: a synonym ("Ủy ban nhân dân" for "UBND"), an i/y
    # spelling ("kĩ" for "kỹ"), a document code glued or apart ("05CT" for
    # "05 CT"). An i/y spelling weighs little: it is also the same syllable
    # as other words' ("lí" of "lí do", "li" of "cách li" and "li" of "li ti").
    synonym: float = 0.5
    variant: float = 0.25
    code: float = 0.6


RANKING = Ranking()

# Grammatical syllables of questions and prose, as typed with accents: in a
# query of several other words they say little about what is sought. Only a
# query with accents drops them: folded, most are ambiguous ("la" is "là" or
# "lá", "co" "có" or "cờ"). Pairs ("không khí", "có thai") still score as
# bigrams.
FUNCTION_WORDS = frozenset(
    """
    gì nào đâu sao bao nhiêu mấy thế vậy không chưa hả à ư nhỉ chăng
    là của có được như trong khi về với thì ở những các cho theo để này và từ
    tại hoặc hay mà một đã đang sẽ bị do vì nếu rằng cũng đó ấy đây
    """.split()
)
# Folded forms that are nearly always a function word ("cua" could be "cua",
# a crab, but hardly ever is in news); "co", "la", "bao"... are not here.
FOLDED_FUNCTION_WORDS = frozenset(
    "cua duoc nhung cac nay va voi hoac mot rang khong gi nhieu".split()
)


def bm25_params(ranking: Ranking = RANKING) -> BM25Params:
    """The BM25F parameters of ``ranking``: titles have their own ``b``."""
    titles = tuple((kind("title"), ranking.title_b) for kind in FIELD_KINDS)
    return BM25Params(k1=ranking.k1, b=ranking.b, field_b=titles)


def weighting(ranking: Ranking = RANKING) -> BM25F:
    """The Whoosh weighting model of ``ranking`` (for Whoosh's own searcher)."""
    return bm25_params(ranking).weighting()


def bigram_terms(words: list[Word]) -> list[str]:
    """The folded syllable pairs of adjacent ``words`` ("cong_doan")."""
    return [BIGRAM_SEPARATOR.join((a.folded, b.folded)) for a, b in zip(words, words[1:])]


def _word_weights(parsed: ParsedQuery, ranking: Ranking) -> list[tuple[Word, float]]:
    exact = any(w.has_accents for w in parsed.words)
    function_words = FUNCTION_WORDS if exact else frozenset()
    content = sum(w.accented not in function_words for w in parsed.words)
    minor = ranking.function_words if content >= ranking.min_content else 1.0
    return [(w, minor if w.accented in function_words else 1.0) for w in parsed.words]


def scored_words(parsed: ParsedQuery, ranking: Ranking = RANKING) -> list[Word]:
    """The query words that score, and so match: all but the function words
    that a question of enough other words drops."""
    return [word for word, weight in _word_weights(parsed, ranking) if weight > 0]


def required_words(parsed: ParsedQuery, ranking: Ranking = RANKING) -> list[Word]:
    """The words a document must hold to match "all": the scored words but
    function words (folded: only those whose folded form is rarely anything
    else), once each; all scored words when that leaves none."""
    exact = any(w.has_accents for w in parsed.words)
    words = scored_words(parsed, ranking)
    found: dict[str, Word] = {}
    for word in words:
        minor = word.accented in FUNCTION_WORDS if exact else word.folded in FOLDED_FUNCTION_WORDS
        if not minor:
            found.setdefault(word.folded, word)
    if not found:
        for word in words:
            found.setdefault(word.folded, word)
    return list(found.values())


def scored_terms(
    parsed: ParsedQuery, ranking: Ranking = RANKING, question: bool = False
) -> list[tuple[str, str, float]]:
    """``(field, text, boost)`` of each term whose BM25F score orders relevance
    results, in the order their scores add up; titles weigh less in a question."""
    terms: list[tuple[str, str, float]] = []
    seen: set[tuple[str, str]] = set()

    def add(field: str, text: str, boost: float) -> None:
        if boost > 0 and (field, text) not in seen:
            seen.add((field, text))
            terms.append((field, text, boost))

    title = ranking.question_title if question else ranking.title
    weights = {"title": title, "body": ranking.body}
    exact = any(w.has_accents for w in parsed.words)
    words = _word_weights(parsed, ranking)
    for name in TEXT_FIELDS:
        field_weight = weights[name]
        for word, weight in words:
            if exact:
                add(accented_field(name), word.accented, field_weight * weight * ranking.accented)
                add(folded_field(name), word.folded, field_weight * weight * ranking.folded)
            else:
                add(folded_field(name), word.folded, field_weight * weight)
        for pair in bigram_terms(parsed.words):
            add(pair_field(name), pair, field_weight * ranking.bigram)
    return terms
