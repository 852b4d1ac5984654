"""HTML snippets: an escaped excerpt of the original text with matches marked.

The text is folded the way the index folds it (NFC, lower case, one tone
placement, no accents), which keeps every character where it was, so one
regular expression over the folded text finds the matches and their offsets
in the original. A query's pattern is compiled once and cached; it holds
only the terms (a look-around per term would double the compile time, the
larger part of a short text's snippet), and whole-syllable matches are checked
on the folded text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from timkiem.analysis import TOKEN_PATTERN, canonical, fold

SNIPPET_CHARS = 200
LEAD_CHARS = 50  # context kept before the first match of the excerpt
ELLIPSIS = " … "
MAX_STARTS = 200  # matches a snippet may start at (the first ones)


@lru_cache(maxsize=512)
def _pattern(terms: frozenset[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)))


def _whole(folded: str, pattern: re.Pattern[str]) -> Iterator[tuple[int, int, str]]:
    """Matches of ``pattern`` in ``folded`` that neither start nor end inside a syllable."""
    pos, size = 0, len(folded)
    search = pattern.search
    while (found := search(folded, pos)) is not None:
        start, end = found.span()
        if (start and folded[start - 1].isalnum()) or (end < size and folded[end].isalnum()):
            pos = start + 1
            continue
        yield start, end, found.group()
        pos = end


def find_matches(text: str, terms: frozenset[str]) -> list[tuple[int, int, str]]:
    """Offsets in ``text`` (NFC) of the syllables whose folded form is in ``terms``,
    each with that folded form: every match a snippet can show.

    A snippet starts at one of the first ``MAX_STARTS`` matches and spans
    ``SNIPPET_CHARS``: matches further on are never shown, and are not sought
    (a long text may hold thousands of "của" and "và").
    """
    folded = fold(canonical(text))
    if len(folded) == len(text):
        matches: Iterable[tuple[int, int, str]] = _whole(folded, _pattern(terms))
    else:  # lower() changed the length of some rare character: fold syllable by syllable
        words = ((m, fold(canonical(m.group()))) for m in TOKEN_PATTERN.finditer(text))
        matches = ((m.start(), m.end(), word) for m, word in words if word in terms)
    found: list[tuple[int, int, str]] = []
    for match in matches:
        if len(found) >= MAX_STARTS and match[0] > found[MAX_STARTS - 1][0] + SNIPPET_CHARS:
            break
        found.append(match)
    return found


def _best_window(spans: list[tuple[int, int, str]]) -> int:
    """Index of the match (among the first ``MAX_STARTS``) that starts the window holding
    the most distinct words; one pass, the window's end only moves forward."""
    best, best_count = 0, 0
    counts: dict[str, int] = {}
    end = 0  # spans[i:end] are in the window of span i
    for i, (start, _, word) in enumerate(spans[:MAX_STARTS]):
        end = max(end, i)
        limit = start + SNIPPET_CHARS - LEAD_CHARS
        while end < len(spans) and spans[end][1] <= limit:
            counts[spans[end][2]] = counts.get(spans[end][2], 0) + 1
            end += 1
        if len(counts) > best_count:
            best, best_count = i, len(counts)
        if end > i:  # span i leaves the window
            counts[word] -= 1
            if not counts[word]:
                del counts[word]
    return best


def _bounds(text: str, first: int) -> tuple[int, int]:
    start = max(0, first - LEAD_CHARS)
    if start > 0:
        space = text.find(" ", start, first)
        start = space + 1 if space != -1 else start
    end = min(len(text), start + SNIPPET_CHARS)
    if end < len(text):
        space = text.rfind(" ", first, end)
        end = space if space != -1 else end
    return start, end


def _plain(text: str) -> str:
    start, end = _bounds(text, 0)
    return html.escape(text[start:end]) + (ELLIPSIS.rstrip() if end < len(text) else "")


def make_snippet(text: str, folded_terms: Iterable[str]) -> str:
    """Excerpt ``text`` (NFC, as stored) around the terms, which are folded.

    Matching is on the folded form, so a visitor typing "cong doan" sees
    "<mark>Công</mark> <mark>đoàn</mark>" in the original spelling.
    """
    if not text:
        return ""
    terms = frozenset(t for t in folded_terms if t)
    spans = find_matches(text, terms) if terms else []
    if not spans:
        return _plain(text)
    start, end = _bounds(text, spans[_best_window(spans)][0])
    parts = [ELLIPSIS.lstrip()] if start > 0 else []
    cursor = start
    for s, e, _word in spans:
        if s < start:
            continue
        if e > end:
            break
        parts.append(html.escape(text[cursor:s]))
        parts.append("<mark>" + html.escape(text[s:e]) + "</mark>")
        cursor = e
    parts.append(html.escape(text[cursor:end]))
    if end < len(text):
        parts.append(ELLIPSIS.rstrip())
    return "".join(parts)
