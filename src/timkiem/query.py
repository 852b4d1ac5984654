"""What a visitor types, parsed: words, "quoted phrases" and -excluded terms.

No query syntax of Whoosh is exposed: operators, wildcards, field names and
stray punctuation are plain text here, so no input can fail to parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from timkiem.analysis import TOKEN_PATTERN, canonical, fold

_PART = re.compile(r'(-?)"([^"]*)(?:"|$)|(-?)([^\s"]+)')


@dataclass(frozen=True)
class Word:
    """One query syllable in canonical (accented) and folded form."""

    accented: str
    folded: str

    @property
    def has_accents(self) -> bool:
        return self.accented != self.folded


def _words(text: str) -> list[Word]:
    return [Word(s, fold(s)) for s in TOKEN_PATTERN.findall(canonical(text))]


@dataclass
class ParsedQuery:
    """The parts of a query, each a list of syllables."""

    words: list[Word] = field(default_factory=list)
    phrases: list[list[Word]] = field(default_factory=list)
    excluded: list[list[Word]] = field(default_factory=list)
    dropped: int = 0
    asks: bool = False  # the text ends with a question mark
    # (start, end) of each quoted part in ``words``, one-word parts included:
    # searched as typed (``timkiem.exact``, ``timkiem.expansion``)
    quoted: list[tuple[int, int]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.words

    def key(self) -> tuple[object, ...]:
        """A hashable form: equal for queries that search the same thing."""
        return (
            tuple(w.accented for w in self.words),
            tuple(tuple(w.accented for w in p) for p in self.phrases),
            tuple(tuple(w.accented for w in p) for p in self.excluded),
            self.asks,
            tuple(self.quoted),
        )


def parse_query(text: str, max_terms: int = 32) -> ParsedQuery:
    """Parse ``text``; words beyond ``max_terms`` are dropped and counted.

    Every word of a phrase is also a word of the query (phrases add a
    constraint and adjacency; their words still score). A part that is only
    excluded terms matches nothing by itself.
    """
    parsed = ParsedQuery(asks=text.rstrip().endswith(("?", "？")))
    budget = max_terms
    for match in _PART.finditer(text):
        quoted = match.group(2) is not None
        negative = bool(match.group(1) if quoted else match.group(3))
        body = match.group(2) if quoted else match.group(4)
        words = _words(body)
        if not words:
            continue
        if len(words) > budget:
            parsed.dropped += len(words) - budget
            words = words[:budget]
        if not words:
            continue
        budget -= len(words)
        if negative:
            parsed.excluded.append(words)
            continue
        if quoted:
            parsed.quoted.append((len(parsed.words), len(parsed.words) + len(words)))
        parsed.words.extend(words)
        if quoted and len(words) > 1:
            parsed.phrases.append(words)
    return parsed
