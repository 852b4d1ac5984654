"""Exact accents: a quoted part typed with accents matches only those accents.

``"bạc"`` never counts "Bắc", and ``"bão số 3"`` only finds those three
syllables, adjacent, with exactly these accents, in the title or the body.
A quoted part typed without accents, and every unquoted word, stay
accent-insensitive. Old and new tone placement ("hoà"/"hòa") count as the
same accents, as everywhere else (:func:`timkiem.analysis.canonical`).

The index narrows the candidates: the folded pairs of the phrase (already
required of every quoted phrase) and each accented syllable in the title's
or the body's accented field; for one word that is the answer. The accented
fields keep no positions, so the candidates of a phrase of several words are
then checked against their stored title and body: exact, and cheap enough
(tens of microseconds a candidate), since few documents hold every pair and
every accented syllable. The check shares the query time limit: if time runs
out, the unchecked candidates are kept and the response says ``partial``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace

import numpy as np

from timkiem.analysis import canonical
from timkiem.engine.executor import Clause, QueryPlan
from timkiem.engine.snapshot import Mask, Snapshot
from timkiem.query import ParsedQuery, Word
from timkiem.schema import TEXT_FIELDS, accented_field

_BATCH = 64  # documents read between clock reads
_WORD = r"[^\W_]"


def exact_phrases(parsed: ParsedQuery) -> list[list[Word]]:
    """The quoted parts of ``parsed`` typed with accents (any word of one)."""
    found = []
    for start, end in parsed.quoted:
        words = parsed.words[start:end]
        if any(word.has_accents for word in words):
            found.append(words)
    return found


def accented_clause(words: list[Word]) -> Clause:
    """Documents holding each accented syllable of ``words`` (title or body)."""
    return tuple(
        tuple((accented_field(name), word.accented) for name in TEXT_FIELDS)
        for word in dict.fromkeys(words)
    )


def phrase_pattern(words: list[Word]) -> re.Pattern[str]:
    """The syllables of ``words`` as a whole, adjacent run in canonical text
    (anything that is not a letter or digit between them, as the analyzer splits)."""
    inner = r"[\W_]+".join(re.escape(word.accented) for word in words)
    return re.compile(rf"(?<!{_WORD}){inner}(?!{_WORD})")


@dataclass(frozen=True)
class ExactPhrases:
    """Keeps the documents whose title or body holds every phrase exactly."""

    patterns: tuple[re.Pattern[str], ...]

    def holds(self, record: dict[str, object]) -> bool:
        texts = [canonical(str(record.get(name) or "")) for name in TEXT_FIELDS]
        return all(any(p.search(text) for text in texts) for p in self.patterns)

    def __call__(self, snap: Snapshot, final: Mask, deadline: float | None) -> tuple[Mask, bool]:
        docs = np.flatnonzero(final).tolist()
        kept = final.copy()
        for start in range(0, len(docs), _BATCH):
            if deadline is not None and start and time.monotonic() > deadline:
                return kept, False  # the unchecked rest stays
            for doc in docs[start : start + _BATCH]:
                if not self.holds(snap.record(doc)):
                    kept[doc] = False
        return kept, True


def exact_plan(plan: QueryPlan, parsed: ParsedQuery) -> QueryPlan:
    """``plan`` with the exact-accent constraint of each accented quoted part."""
    phrases = exact_phrases(parsed)
    if not phrases:
        return plan
    # the accented field settles a one-word part: it holds exactly that syllable
    patterns = tuple(phrase_pattern(words) for words in phrases if len(words) > 1)
    return replace(
        plan,
        required=plan.required + tuple(accented_clause(words) for words in phrases),
        verify=ExactPhrases(patterns) if patterns else plan.verify,
    )
