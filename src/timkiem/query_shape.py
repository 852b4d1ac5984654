"""What a query looks like: a question to answer, or a few words of a title.

A reader who types a few words of a headline wants the article with that
title; one who types a sentence, or asks "ai", "bao nhiêu", "ở đâu"..., wants
the article whose body holds the answer. :func:`is_question` tells them apart
from the text alone, so that :mod:`timkiem.ranking` can weigh titles and
bodies for each (titles count double for a headline, as much as the body for
a question).
"""

from __future__ import annotations

from timkiem.analysis import fold
from timkiem.query import ParsedQuery, Word

# Question words and phrases (one or two words), as typed with accents. A query typed without
# accents is compared with their folded forms, but for the few single words
# whose folded form is mostly another word ("nao" is also "não", "dau"
# "đầu", "may" "máy").
QUESTION_PHRASES: frozenset[tuple[str, ...]] = frozenset(
    tuple(phrase.split())
    for phrase in (
        "ai",
        "gì",
        "nào",
        "đâu",
        "mấy",
        "khi nào",
        "ở đâu",
        "bao nhiêu",
        "bao lâu",
        "bao giờ",
        "mấy",
        "tại sao",
        "vì sao",
        "làm sao",
        "thế nào",
        "có phải",
        "hay không",
        "được không",
        "phải không",
    )
)
_AMBIGUOUS_FOLDED = frozenset({("nào",), ("đâu",), ("mấy",)})
_FOLDED_PHRASES = frozenset(
    tuple(fold(w) for w in phrase) for phrase in QUESTION_PHRASES if phrase not in _AMBIGUOUS_FOLDED
)


def has_question_words(words: list[Word]) -> bool:
    """Whether ``words`` hold a question word or phrase ("bao nhiêu", "ai"...)."""
    exact = any(w.has_accents for w in words)
    forms = [w.accented if exact else w.folded for w in words]
    phrases = QUESTION_PHRASES if exact else _FOLDED_PHRASES
    return bool(phrases & {*((f,) for f in forms), *zip(forms, forms[1:])})


def is_question(parsed: ParsedQuery, min_words: int) -> bool:
    """Whether ``parsed`` reads as a question: it ends with "?", holds a
    question word, or runs to ``min_words`` words or more (a sentence, not a
    headline fragment)."""
    if parsed.is_empty:
        return False
    return parsed.asks or len(parsed.words) >= min_words or has_question_words(parsed.words)
