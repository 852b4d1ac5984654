"""Suggestions as a reader types: completions of a partial query from titles.

The phrases (1 to 4 syllables) of the index's titles are kept per segment
(``timkiem.engine.phrases``). A typed prefix is folded ("cong do": no
accents, lower case); its last word, unless followed by a space, is the
partial word. Each segment gives its most frequent phrases that start with
the whole words and continue with a word starting with the partial one; the
candidates' counts are summed over every segment, and they are ranked by
usefulness: the number of titles holding them, up to twice that for phrases
seen in the last weeks of the index. A phrase that is nearly always followed
by the same word ("công đoàn cơ", within "công đoàn cơ sở") and a phrase
ending on a function word ("Hà Nội và") are left out. Each suggestion is
shown in its commonest spelling in the titles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from timkiem.analysis import TOKEN_PATTERN, canonical, fold, nfc
from timkiem.engine.phrases import MAX_WORDS, PhraseData
from timkiem.engine.snapshot import Snapshot
from timkiem.errors import InvalidParameter
from timkiem.limits import MAX_SUGGESTIONS

_PER_SEGMENT = 24  # candidates taken from each segment before ranking (at least)
_FRAGMENT = 0.8  # a phrase followed by one word this often is a fragment
_RECENT_DAYS = 30.0  # a phrase's recency weight halves every this many days
# Function words a suggestion does not end on.
_DANGLING = frozenset(
    "và của có là cho với trong được bị sẽ đã đang các những một tại từ khi để về theo "
    "như này thì mà ra vào lên không sau trước trên dưới hay hoặc cũng còn nên".split()
)


@dataclass(frozen=True)
class Candidate:
    """A phrase and what ranks it."""

    words: tuple[str, ...]
    count: int
    day: int
    text: str


def complete(snap: Snapshot, q: str, limit: int, max_length: int) -> dict[str, Any]:
    """The ``/suggest`` response: up to ``limit`` completions of ``q``."""
    if not 1 <= limit <= MAX_SUGGESTIONS:
        raise InvalidParameter("limit", f"must be between 1 and {MAX_SUGGESTIONS}")
    if len(q) > max_length:
        raise InvalidParameter("q", f"is {len(q)} characters long; the limit is {max_length}")
    found = [{"text": c.text, "count": c.count} for c in candidates(snap, q, limit)]
    return {"query": q, "suggestions": found}


def candidates(snap: Snapshot, q: str, limit: int) -> list[Candidate]:
    """The best ``limit`` completions of ``q``, best first."""
    typed = TOKEN_PATTERN.findall(nfc(q))
    folded = TOKEN_PATTERN.findall(fold(canonical(q)))
    if not folded or len(typed) != len(folded):
        return []
    partial = folded[-1] if q.rstrip() == q else ""
    whole = folded[:-1] if partial else folded
    keep = MAX_WORDS - 1  # the words a completion starts with: the last typed ones
    head = typed[: max(0, len(whole) - keep)]
    whole = whole[len(head) :]
    segments = snap.phrases()
    found = _gathered(segments, whole, partial, max(_PER_SEGMENT, 3 * limit))
    newest = max((c.day for c in found), default=0)
    ranked = sorted(
        _whole_phrases(found),
        key=lambda c: (-c.count * (1 + 0.5 ** ((newest - c.day) / _RECENT_DAYS)), c.words),
    )
    typed_count = len(whole) + bool(partial)
    shown: list[Candidate] = []
    seen: set[str] = set()
    for candidate in ranked:
        place, data = candidate.place
        spelling = segments[data].spelling(place)
        last = canonical(spelling.rsplit(" ", 1)[-1])
        if len(candidate.words) > max(1, typed_count) and last in _DANGLING:
            continue
        text = " ".join([*head, spelling])
        if text.lower() not in seen:
            seen.add(text.lower())
            shown.append(Candidate(candidate.words, candidate.count, candidate.day, text))
        if len(shown) == limit:
            break
    return shown


@dataclass(frozen=True)
class _Found:
    """A phrase of the prefix: its count over every segment and where it is most frequent."""

    words: tuple[str, ...]
    count: int
    day: int
    place: tuple[int, int]  # (place, segment number) of its spelling


def _gathered(
    segments: list[PhraseData], whole: list[str], partial: str, each: int
) -> list[_Found]:
    """Each segment's ``each`` most frequent phrases of the prefix, counted over every segment."""
    keys: set[tuple[str, ...]] = set()
    for data in segments:
        keys.update(data.keys(data.top(whole, partial, each)))
    if not keys:
        return []
    wanted = sorted(keys)
    counts = np.zeros(len(wanted), dtype=np.int64)
    days = np.full(len(wanted), np.iinfo(np.int64).min, dtype=np.int64)
    best = np.zeros(len(wanted), dtype=np.int64)
    places = np.zeros(len(wanted), dtype=np.int64)
    owners = np.zeros(len(wanted), dtype=np.int64)
    for number, data in enumerate(segments):
        at = data.find(wanted)
        hit = np.flatnonzero(at >= 0)
        here = data.counts[at[hit]].astype(np.int64)
        counts[hit] += here
        days[hit] = np.maximum(days[hit], data.days[at[hit]])
        better = here > best[hit]
        rows = hit[better]
        best[rows] = here[better]
        places[rows] = at[rows]
        owners[rows] = number
    return [
        _Found(key, int(counts[n]), int(days[n]), (int(places[n]), int(owners[n])))
        for n, key in enumerate(wanted)
        if best[n]
    ]


def _whole_phrases(found: list[_Found]) -> list[_Found]:
    """Leave out fragments: phrases nearly always followed by the same word."""
    longest_after: dict[tuple[str, ...], int] = {}
    for c in found:
        if len(c.words) > 1:
            head = c.words[:-1]
            longest_after[head] = max(longest_after.get(head, 0), c.count)
    return [c for c in found if longest_after.get(c.words, 0) < _FRAGMENT * c.count]
