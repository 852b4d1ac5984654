"""HTML snippets: an escaped excerpt of the original text with matches marked.

A term is a folded syllable, or several joined by single spaces ("uy ban nhan
dan"); it matches whole syllables of the text (runs of letters and digits) that
fold to its words, each syllable folded on its own as the index folds it (NFC,
lower case, no accents: any tone placement folds alike). Where two terms match
at one place the longest wins; a match starting inside an earlier one is not
taken.

Folding one character at a time gives the same letters for almost every text,
so the whole text is folded by one NumPy table look-up (lower case and accents
at once; every character keeps its place) and the terms are sought in it: with
str.find and a check of the characters around, or, for a term found often,
with a pattern (the term between syllable look-arounds, a literal the regex
engine finds quickly) compiled once and kept, as terms recur across queries
far more than whole queries do. A text holding a character that folds
otherwise inside its syllable ("İ", whose lower case is two characters, "Σ",
whose lower case depends on the next letter, and the few letters and digits
that NFC may change) is folded syllable by syllable instead.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import cache
from itertools import islice

import numpy as np

from timkiem.analysis import TOKEN_PATTERN, canonical, fold
from timkiem.cache import Memo

SNIPPET_CHARS = 200
LEAD_CHARS = 50  # context kept before the first match of the excerpt
ELLIPSIS = " … "
MAX_STARTS = 200  # matches a snippet may start at (the first ones)

# Matches of one term a snippet can show: the first MAX_STARTS and those within
# SNIPPET_CHARS after them (a match and the character after it take two or more).
_TERM_MATCHES = MAX_STARTS + SNIPPET_CHARS // 2 + 1
_TABLE_SIZE = 0x30000  # above this no character has a lower case or changes under NFC
_OTHERWISE = 0xFFFF  # the table's mark for a character folded syllable by syllable
Span = tuple[int, int, str]


def prepare() -> None:
    """Build the folding table now rather than on a server's first snippet."""
    _fold_tables()


@cache
def _fold_tables() -> tuple[np.ndarray, np.ndarray]:
    """What each character below ``_TABLE_SIZE`` folds to, as UTF-32 and as UTF-16
    code units (the Basic Multilingual Plane only), ``_OTHERWISE`` for those whose
    folding depends on their syllable. Built once, in a few hundredths of a second."""
    chars = np.arange(_TABLE_SIZE, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    lowered = chars.replace("\u0130", "\0").replace("\u03a3", "\0").lower()
    table = np.frombuffer(fold(lowered).encode("utf-32-le", "surrogatepass"), "<u4").copy()
    table[_nfc_may_change(chars)] = _OTHERWISE
    table[[0x130, 0x3A3, _OTHERWISE]] = _OTHERWISE
    return table, table[:0x10000].astype("<u2")


def _nfc_may_change(chars: str) -> list[int]:
    """The letters and digits among ``chars`` that NFC may change inside a syllable:
    those it changes alone, and those that may join the letter before them (the
    second of a decomposition, a Hangul vowel or final consonant)."""
    found = [*range(0x1161, 0x1176), *range(0x11A8, 0x11C3)]
    for first in range(0, len(chars), 256):
        block = chars[first : first + 256]
        if unicodedata.is_normalized("NFD", block):
            continue  # no character of it has a canonical decomposition
        for char, mapping in zip(block, map(unicodedata.decomposition, block)):
            if not mapping or mapping[0] == "<":  # none, or not a canonical one
                continue
            if char.isalnum() and unicodedata.normalize("NFC", char) != char:
                found.append(ord(char))
            parts = mapping.split()
            if len(parts) == 2 and chr(int(parts[1], 16)).isalnum():
                found.append(int(parts[1], 16))
    return found


def _folded(text: str) -> str | None:
    """``text`` folded character by character, or None when a character of it
    folds otherwise inside its syllable."""
    table32, table16 = _fold_tables()
    units = text.encode("utf-16-le", "surrogatepass")
    folded: str
    if len(units) == 2 * len(text):  # no character beyond the Basic Multilingual Plane
        codes16 = table16[np.frombuffer(units, "<u2")]
        folded = codes16.tobytes().decode("utf-16-le", "surrogatepass")
    else:
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), "<u4")
        inside = codes < _TABLE_SIZE
        codes32 = np.where(inside, table32[np.where(inside, codes, 0)], codes)
        folded = codes32.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")
    if chr(_OTHERWISE) in folded or len(folded) != len(text):  # or a split surrogate pair
        return None
    return folded


def _compiled(term: str) -> tuple[re.Pattern[str], bool]:
    """The whole-syllable matches of ``term`` in folded text, and whether two of them
    may overlap ("ha ha" in "ha ha ha"): then each start is found, through a look-ahead."""
    after = r"(?![^\W_])"
    overlapping = any(
        not term[shift - 1].isalnum() and term.startswith(term[shift:])
        for shift in range(1, len(term))
    )
    if overlapping:
        return re.compile(rf"(?=((?<![^\W_]){re.escape(term)}{after}))", re.DOTALL), True
    # the look-behind after the term keeps the term a prefix the engine searches for
    before = rf"(?<![^\W_]{'.' * len(term)})"
    return re.compile(re.escape(term) + before + after, re.DOTALL), False


_PATTERNS: Memo[str, tuple[re.Pattern[str], bool]] = Memo(4096)
_FEW = 8  # occurrences (whole or not) of a term found by str.find rather than a pattern


def _term_spans(folded: str, term: str, limit: int | None) -> list[tuple[int, int, str]]:
    """The whole-syllable matches of ``term`` in ``folded`` (the first ``limit``), as
    (start, -end, term). A pattern costs far more to compile than a few str.find calls:
    it is made for a term found often, and kept."""
    compiled = _PATTERNS.get(term)
    if compiled is None:
        if folded.count(term) <= _FEW:
            return _found(folded, term, limit)
        compiled = _compiled(term)
        _PATTERNS.put(term, compiled)
    pattern, overlapping = compiled
    found = pattern.finditer(folded) if limit is None else islice(pattern.finditer(folded), limit)
    if overlapping:
        return [(m.start(), -m.end(1), term) for m in found]
    return [(m.start(), -m.end(), term) for m in found]


def _found(folded: str, term: str, limit: int | None) -> list[tuple[int, int, str]]:
    """:func:`_term_spans` by str.find, every start tried (so overlapping ones too)."""
    spans: list[tuple[int, int, str]] = []
    size, find = len(term), folded.find
    start = find(term)
    while start != -1 and len(spans) != limit:
        end = start + size
        if not (start and folded[start - 1].isalnum()) and not (
            end < len(folded) and folded[end].isalnum()
        ):
            spans.append((start, -end, term))
        start = find(term, start + 1)
    return spans


def _merged(folded: str, terms: frozenset[str], limit: int | None) -> list[Span] | None:
    """The matches of ``terms`` in ``folded``, or None when some term had more than
    ``limit`` matches and those seen do not reach as far as a snippet may show."""
    if limit is not None and len(folded) < 2 * limit:
        limit = None  # a whole match and the character after it take two or more
    candidates: list[tuple[int, int, str]] = []
    known = len(folded)  # every match starting here or before has been seen
    for term in terms:
        spans = _term_spans(folded, term, limit)
        if limit is not None and len(spans) == limit:
            known = min(known, spans[-1][0])
        candidates += spans
    candidates.sort()  # by start, the longest first
    found: list[Span] = []
    cursor = 0
    for start, neg_end, term in candidates:
        if start > known:
            return None
        if start < cursor:
            continue
        if len(found) >= MAX_STARTS and start > found[MAX_STARTS - 1][0] + SNIPPET_CHARS:
            return found
        found.append((start, -neg_end, term))
        cursor = -neg_end
    return found if known == len(folded) else None


def _syllable_matches(text: str, terms: frozenset[str]) -> Iterator[Span]:
    """The matches of ``terms`` in ``text``, folding each syllable on its own."""
    words = [(m.start(), m.end(), fold(canonical(m.group()))) for m in TOKEN_PATTERN.finditer(text)]
    by_first: dict[str, list[list[str]]] = {}
    for term in sorted(terms, key=len, reverse=True):
        parts = term.split(" ")
        by_first.setdefault(parts[0], []).append(parts)
    cursor = 0
    for i, (start, _, word) in enumerate(words):
        if start < cursor:
            continue
        for parts in by_first.get(word, ()):
            last = i + len(parts) - 1
            if last < len(words) and all(
                words[j][2] == part and text[words[j - 1][1] : words[j][0]] == " "
                for j, part in enumerate(parts[1:], i + 1)
            ):
                cursor = words[last][1]
                yield start, cursor, " ".join(parts)
                break


def find_matches(text: str, terms: frozenset[str]) -> list[Span]:
    """Offsets in ``text`` (NFC) of the matches of ``terms`` (folded), each with the
    term it matches: every match a snippet can show.

    A snippet starts at one of the first ``MAX_STARTS`` matches and spans
    ``SNIPPET_CHARS``: matches further on are never shown, and are not sought
    (a long text may hold thousands of "của" and "và").
    """
    folded = _folded(text)
    if folded is not None:
        found = _merged(folded, terms, _TERM_MATCHES)
        if found is None:  # many matches of several terms: see them all
            found = _merged(folded, terms, None)
        assert found is not None
        return found
    found = []
    for match in _syllable_matches(text, terms):
        if len(found) >= MAX_STARTS and match[0] > found[MAX_STARTS - 1][0] + SNIPPET_CHARS:
            break
        found.append(match)
    return found


def _best_window(spans: list[Span]) -> int:
    """Index of the match (among the first ``MAX_STARTS``) that starts the window holding
    the most distinct words; one pass, the window's end only moves forward, and it stops
    at the first window holding every word."""
    width = SNIPPET_CHARS - LEAD_CHARS
    if spans[-1][1] <= spans[0][0] + width:
        return 0  # the first window holds them all
    every = len({word for _, _, word in spans})
    counts: dict[str, int] = {}
    best, best_count = 0, 0
    size, end = len(spans), 0  # spans[i:end] are in the window of span i
    for i in range(min(size, MAX_STARTS)):
        if end < i:
            end = i
        limit = spans[i][0] + width
        while end < size and spans[end][1] <= limit:
            word = spans[end][2]
            counts[word] = counts.get(word, 0) + 1
            end += 1
        if len(counts) > best_count:
            best, best_count = i, len(counts)
            if best_count == every:
                break
        if end > i:  # span i leaves the window
            word = spans[i][2]
            if counts[word] == 1:
                del counts[word]
            else:
                counts[word] -= 1
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


def excerpt(text: str, spans: list[Span]) -> str:
    """The snippet of ``text`` marking ``spans`` (as :func:`find_matches` gives them)."""
    if not spans:
        return _plain(text)
    start, end = _bounds(text, spans[_best_window(spans)][0])
    # the marks go in as two control characters, to escape the excerpt in one go
    parts: list[str] = []
    cursor = start
    for s, e, _word in spans:
        if s < start:
            continue
        if e > end:
            break
        parts += (text[cursor:s], "\0", text[s:e], "\1")
        cursor = e
    parts.append(text[cursor:end])
    marked = "".join(parts)
    if marked.count("\0") + marked.count("\1") == len(parts) // 2:
        body = html.escape(marked).replace("\0", "<mark>").replace("\1", "</mark>")
    else:  # the text holds them itself
        body = "".join(
            html.escape(p) if n % 2 == 0 else "<mark>" + html.escape(p) + "</mark>"
            for n, p in enumerate(parts[::2])
        )
    lead = ELLIPSIS.lstrip() if start > 0 else ""
    return lead + body + (ELLIPSIS.rstrip() if end < len(text) else "")


def make_snippet(text: str, folded_terms: Iterable[str]) -> str:
    """Excerpt ``text`` (NFC, as stored) around the terms, which are folded.

    Matching is on the folded form, so a visitor typing "cong doan" sees
    "<mark>Công</mark> <mark>đoàn</mark>" in the original spelling.
    """
    if not text:
        return ""
    terms = frozenset(t for t in folded_terms if t)
    return excerpt(text, find_matches(text, terms) if terms else [])
