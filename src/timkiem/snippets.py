"""HTML snippets: an escaped excerpt of the original text with matches marked.

The text is folded the way the index folds it (NFC, lower case, one tone
placement, no accents), which keeps every character where it was, so one
regular expression over the folded text finds the matches and their offsets
in the original. A query's pattern is compiled once and cached.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from functools import lru_cache

from timkiem.analysis import TOKEN_PATTERN, canonical, fold

SNIPPET_CHARS = 200
LEAD_CHARS = 50  # context kept before the first match of the excerpt
ELLIPSIS = " … "


@lru_cache(maxsize=512)
def _pattern(terms: frozenset[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])")


def find_matches(text: str, terms: frozenset[str]) -> list[tuple[int, int, str]]:
    """Offsets in ``text`` (NFC) of the syllables whose folded form is in ``terms``,
    each with that folded form."""
    folded = fold(canonical(text))
    if len(folded) == len(text):
        return [(m.start(), m.end(), m.group()) for m in _pattern(terms).finditer(folded)]
    # lower() changed the length of some rare character: fold syllable by syllable
    found = []
    for m in TOKEN_PATTERN.finditer(text):
        word = fold(canonical(m.group()))
        if word in terms:
            found.append((m.start(), m.end(), word))
    return found


def _best_window(spans: list[tuple[int, int, str]]) -> int:
    """Index of the match (among the first 200) that starts the window holding
    the most distinct words; one pass, the window's end only moves forward."""
    best, best_count = 0, 0
    counts: dict[str, int] = {}
    end = 0  # spans[i:end] are in the window of span i
    for i, (start, _, word) in enumerate(spans[:200]):
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
