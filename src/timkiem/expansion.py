"""Query expansion: other forms of the query's words, searched at query time.

A run of query words that spells a form of a synonym group ("UBND", or
"Ủy ban nhân dân") also matches the group's other forms, and a word with a
spelling variant ("kỹ", "05CT") also matches the variant
(:mod:`timkiem.synonyms`, :mod:`timkiem.variants`). An other form of several
syllables matches as a phrase: every adjacent folded pair, never the
syllables scattered. It scores below the typed form: the ``synonym``,
``variant`` or ``code`` share of :class:`timkiem.ranking.Ranking` of what the typed
words and their pairs weigh, spread over its terms, so documents with what was typed rank
first; its pairs with the
query's neighbouring words score as the typed words' pairs do. Quoted parts
are searched as typed and never expanded. Nothing here needs a reindex.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from timkiem.analysis import BIGRAM_SEPARATOR, fold
from timkiem.engine.executor import Clause, QueryPlan
from timkiem.plan import phrase_clause
from timkiem.query import ParsedQuery, Word
from timkiem.ranking import RANKING, Ranking, bigram_terms, scored_words
from timkiem.schema import TEXT_FIELDS, accented_field, folded_field, pair_field
from timkiem.synonyms import Synonyms
from timkiem.variants import glued_code, iy_variant, split_code


@dataclass(frozen=True)
class Alternative:
    """Another way of writing ``words[start:end]`` of a query."""

    start: int
    end: int
    words: tuple[Word, ...]
    # of the alternative as a whole, against 1 for one typed word
    weight: float
    # matched in the accented fields (an i/y variant of a word typed with accents:
    # "lí" for "lý", not every "li", "lì", "lị")
    accented: bool = False


def _word(text: str) -> Word:
    return Word(text, fold(text))


def _span(length: int, ranking: Ranking) -> float:
    """What ``length`` adjacent typed words weigh: each word and each pair."""
    return length + ranking.bigram * (length - 1)


def alternatives(
    parsed: ParsedQuery, synonyms: Synonyms, ranking: Ranking = RANKING
) -> list[Alternative]:
    """The other forms of the unquoted words of ``parsed``: synonyms (the
    longest form at each place), then i/y and code variants of single words."""
    words = parsed.words
    quoted = {n for start, end in parsed.quoted for n in range(start, end)}
    found: list[Alternative] = []
    start = 0
    while start < len(words):
        if start in quoted:
            start += 1
            continue
        length, others = synonyms.forms_at(words, start)
        end = start + length
        if length and not quoted.intersection(range(start, end)):
            found.extend(
                Alternative(start, end, tuple(form.words), ranking.synonym * _span(length, ranking))
                for form in others
            )
            start = end
            continue
        start += 1
    scored: set[str] | None = None
    for n, word in enumerate(words):
        if n in quoted:
            continue
        variant = iy_variant(word.accented)
        split = split_code(word.accented)
        glued = glued_code(word, words[n + 1]) if n + 1 < len(words) else None
        if variant is None and split is None and glued is None:
            continue
        if scored is None:
            scored = {w.folded for w in scored_words(parsed, ranking)}
        if word.folded not in scored:  # a function word a question drops
            continue
        if variant is not None:
            alternative = Alternative(
                n, n + 1, (_word(variant),), ranking.variant, accented=word.has_accents
            )
            found.append(alternative)
        if split is not None:
            found.append(Alternative(n, n + 1, tuple(map(_word, split)), ranking.code))
        if glued is not None and n + 1 not in quoted:
            found.append(Alternative(n, n + 2, (_word(glued),), ranking.code * _span(2, ranking)))
    return found


def _clause(alt: Alternative) -> Clause:
    """The documents holding ``alt``: its pairs, or its one syllable."""
    if alt.accented and len(alt.words) == 1:
        return (tuple((accented_field(name), alt.words[0].accented) for name in TEXT_FIELDS),)
    return phrase_clause(list(alt.words))


def expand_plan(
    plan: QueryPlan, parsed: ParsedQuery, synonyms: Synonyms, ranking: Ranking = RANKING
) -> QueryPlan:
    """``plan`` that also matches and scores the alternatives of ``parsed``."""
    if plan.is_empty:
        return plan
    found = alternatives(parsed, synonyms, ranking)
    if not found:
        return plan
    weights = {"title": ranking.title, "body": ranking.body}
    seen = {(f, t) for f, t, _ in plan.scored}
    extra: list[tuple[str, str, float]] = []

    def add(field: str, text: str, boost: float) -> None:
        if boost > 0 and (field, text) not in seen:
            seen.add((field, text))
            extra.append((field, text, boost))

    words = parsed.words
    for alt in found:
        typed = words[alt.start : alt.end]
        exact = any(w.has_accents for w in typed)
        # the pairs the alternative makes with the query's words on either side
        context = list(alt.words)
        if alt.start > 0:
            context.insert(0, words[alt.start - 1])
        if alt.end < len(words):
            context.append(words[alt.end])
        inner = bigram_terms(list(alt.words))
        for name in TEXT_FIELDS:
            weight = weights[name] * alt.weight
            if inner:
                for pair in inner:
                    add(pair_field(name), pair, weight / len(inner))
            elif exact:
                add(accented_field(name), alt.words[0].accented, weight * ranking.accented)
                add(folded_field(name), alt.words[0].folded, weight * ranking.folded)
            else:
                add(folded_field(name), alt.words[0].folded, weight)
            for pair in bigram_terms(context):
                if pair not in inner:
                    add(pair_field(name), pair, weight * ranking.bigram)
    clauses = tuple(dict.fromkeys(_clause(alt) for alt in found))
    return replace(
        plan,
        scored=plan.scored + tuple(extra),
        match_also=plan.match_also + clauses,
        all_also=_all_also(plan, words, found),
    )


def _all_also(
    plan: QueryPlan, words: list[Word], found: list[Alternative]
) -> tuple[tuple[Clause, ...], ...]:
    """For each word a document must hold (``plan.all_of``), the clauses of its
    alternatives: a document with "Ủy ban nhân dân" holds the "UBND" typed."""
    also: list[list[Clause]] = [list(c) for c in plan.all_also] or [[] for _ in plan.all_of]
    group_of = {group: n for n, group in enumerate(plan.all_of)}
    for alt in found:
        clause = _clause(alt)
        for word in words[alt.start : alt.end]:
            n = group_of.get(tuple((folded_field(f), word.folded) for f in TEXT_FIELDS))
            if n is not None and clause not in also[n]:
                also[n].append(clause)
    return tuple(tuple(c) for c in also)


def expanded_words(plan: QueryPlan) -> set[str]:
    """The other forms ``plan`` also matches (its ``match_also``), folded, for
    snippets to mark: "uy ban nhan dan" for "UBND". A form of several syllables
    is one phrase, so its syllables are never marked apart ("cạn" of "Bắc
    Cạn", never "cán" of "cán bộ")."""
    forms: set[str] = set()
    for clause in plan.match_also:
        syllables: list[str] = []
        for group in clause:
            parts = [fold(part) for part in group[0][1].split(BIGRAM_SEPARATOR)]
            syllables.extend(parts if not syllables else parts[1:])
        if syllables:
            forms.add(" ".join(syllables))
    return forms
