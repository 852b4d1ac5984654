"""Did-you-mean: a query's unknown words read as Telex, VNI or a misspelling.

A word is unknown when no title or body of the index holds it (folded: no
accents). Each unknown word is read, in this order, as Telex ("coong" ->
"công"), as VNI ("co6ng" -> "công") (``timkiem.keyboard``), then as a
misspelling of a syllable of the index: the syllables within 1 edit
(2 for words of 5 letters or more; a swap of two letters is one edit) of it,
weighed by how many documents hold them, and by how many hold them next to
the query's neighbouring words (the index's syllable pair fields), the best
sequence for the whole query winning. A reading is only taken when the index
holds its words. A word the index holds in more than ``_RARE`` documents is
never changed ("chaos" stays "chaos" where English articles have it), and a
rarer one only when its reading is far likelier, so English words and names
typed on purpose are left alone.

The corrected query is given back with its accents restored from the
commonest spelling in the titles (``timkiem.engine.phrases``), except for
words the visitor typed with accents. Whether to search it instead of the
query or only to suggest it is for the caller (:class:`Proposal`).
"""

from __future__ import annotations

import math
import re
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import process
from rapidfuzz.distance import OSA

from timkiem.analysis import BIGRAM_SEPARATOR, TOKEN_PATTERN, canonical, fold, has_accents
from timkiem.engine import segdata
from timkiem.engine.phrases import MAX_WORDS, PhraseData
from timkiem.engine.segdata import SegmentData
from timkiem.engine.snapshot import Snapshot
from timkiem.keyboard import METHODS, decode
from timkiem.schema import TEXT_FIELDS, folded_field, pair_field

SPELLING = "spelling"
WORD_FIELDS = [folded_field(n) for n in TEXT_FIELDS]
"""The fields in which a word is known: the folded syllables of titles and bodies."""
_PAIR_FIELDS = [pair_field(n) for n in TEXT_FIELDS]
_SYLLABLE = re.compile(r"[a-z]{1,7}")  # what a folded Vietnamese syllable looks like
_CANDIDATES = 24  # nearest syllables considered per unknown word
_KEPT = 6  # of which the most likely go into the sequence search
_EDIT_COST = 3.0  # log-frequency points one edit costs
_PAIR_WEIGHT = 2.0  # log-frequency points per log of a pair's documents
_RARE = 3  # a word in this few documents may be a slip of a frequent one
_KEYBOARD_ODDS = 100  # how much more frequent a Telex/VNI reading of a rare word must be
_PAIR_ODDS = 10  # how much more often a rare word's correction must be seen beside its neighbours


@dataclass(frozen=True)
class Proposal:
    """A reading of the query to search or suggest instead.

    ``reason`` is "telex" or "vni" when every unknown word was typed with the
    Vietnamese keyboard off (searching it instead is then safe), else
    "spelling".
    """

    q: str
    reason: str


class Speller:
    """Proposes corrected queries; keeps each snapshot's syllable list while it lives."""

    def __init__(self) -> None:
        self._choices: weakref.WeakKeyDictionary[Snapshot, list[str]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def propose(
        self, snap: Snapshot, q: str, known: Mapping[str, int] | None = None
    ) -> Proposal | None:
        """A reading of ``q`` whose words the index holds, if ``q`` has unknown words.

        ``known`` may give how many documents hold some folded words in a
        title or body (:data:`WORD_FIELDS`), as a search of ``q`` found them.
        """
        tokens = list(TOKEN_PATTERN.finditer(canonical(q)))
        if not tokens:
            return None
        words = [m.group(0) for m in tokens]
        folded = [fold(w) for w in words]
        counts = dict(known or {})
        unknown = list(dict.fromkeys(w for w in folded if w not in counts))
        if unknown:
            held = frequencies(snap, unknown, WORD_FIELDS, enough=_RARE + 1).tolist()
            counts.update(zip(unknown, held))
        # Unknown words, and words so rare they may be slips of a frequent one.
        suspects = [n for n, f in enumerate(folded) if counts[f] <= _RARE]
        if not suspects:
            return None
        chosen: dict[int, str] = {}
        misspelt: set[int] = set()
        reasons: set[str] = set()
        for n in suspects:
            for method in METHODS:
                decoded = decode(words[n], method)
                if decoded is None:
                    continue
                found = int(frequencies(snap, [fold(decoded)], WORD_FIELDS)[0])
                literal = counts[folded[n]]
                if found and (not literal or found >= _KEYBOARD_ODDS * (literal + 1)):
                    chosen[n] = decoded.lower()
                    reasons.add(method)
                    break
        rest = {n: counts[folded[n]] for n in suspects if n not in chosen}
        if rest:
            current = [fold(chosen.get(n, w)) for n, w in enumerate(words)]
            corrected = self._corrected(snap, current, rest)
            for n in rest:
                if corrected[n] != folded[n]:
                    chosen[n] = corrected[n]
                    misspelt.add(n)
                    reasons.add(SPELLING)
        if not chosen:
            return None
        restored = _restored(snap, [chosen.get(n, w) for n, w in enumerate(words)], misspelt)
        text = canonical(q)
        pieces: list[str] = []
        last = 0
        for n, match in enumerate(tokens):
            pieces.append(text[last : match.start()])
            pieces.append(restored[n])
            last = match.end()
        pieces.append(text[last:])
        reason = SPELLING if SPELLING in reasons or len(reasons) > 1 else reasons.pop()
        return Proposal("".join(pieces).strip(), reason)

    def _corrected(self, snap: Snapshot, folded: list[str], suspects: dict[int, int]) -> list[str]:
        """The likeliest folded words: each of ``suspects`` (position: documents
        holding it) kept or replaced by a near syllable of the index."""
        choices = self._syllables(snap)
        options: list[list[tuple[str, float]]] = [[(w, 0.0)] for w in folded]
        for n, count in suspects.items():
            word = folded[n]
            if not _SYLLABLE.fullmatch(word) or len(word) < 2:
                continue
            limit = 1 if len(word) < 5 else 2
            near = process.extract(
                word, choices, scorer=OSA.distance, score_cutoff=limit, limit=_CANDIDATES
            )
            near = [item for item in near if item[0] != word]
            if not near:
                continue
            names = [name for name, _, _ in near]
            df = frequencies(snap, names, WORD_FIELDS)
            scored = sorted(
                (
                    (name, math.log(1 + int(d)) - _EDIT_COST * dist)
                    for (name, dist, _), d in zip(near, df)
                    if int(d) > count
                ),
                key=lambda item: -item[1],
            )
            options[n] = [(word, math.log(1 + count)), *scored[: _KEPT - 1]]
        best = _best_sequence(snap, options)
        for n, count in suspects.items():
            if count and best[n] != folded[n] and not _far_likelier(snap, best, folded[n], n):
                best[n] = folded[n]
        return best

    def _syllables(self, snap: Snapshot) -> list[str]:
        """Every syllable-like word of the index's titles and bodies (folded)."""
        with self._lock:
            found = self._choices.get(snap)
        if found is None:
            words: set[str] = set()
            for segment in snap.segments:
                words.update(_segment_syllables(segment.data))
            found = sorted(words)
            with self._lock:
                self._choices[snap] = found
        return found


def frequencies(
    snap: Snapshot, texts: list[str], fields: list[str], enough: int | None = None
) -> npt.NDArray[np.int64]:
    """How many documents hold each of ``texts`` in any of ``fields`` (summed per field).

    With ``enough``, counting may stop (largest segments first) once every
    count has reached it.
    """
    keys = [segdata.term_key(field, text) for text in texts for field in fields]
    hashes = segdata.key_hashes(keys)
    total = np.zeros(len(keys), dtype=np.int64)
    for segment in sorted(snap.segments, key=lambda s: -s.size):
        data = segment.data
        terms = data.find(hashes, keys)
        known = terms >= 0
        found = terms[known]
        total[known] += data.post_starts[found + 1] - data.post_starts[found]
        if enough is not None and (total.reshape(len(texts), -1).sum(axis=1) >= enough).all():
            break
    counts: npt.NDArray[np.int64] = total.reshape(len(texts), len(fields)).sum(axis=1)
    return counts


def _segment_syllables(data: SegmentData) -> list[str]:
    """A segment's syllable-like folded words (computed once per segment)."""
    found = data.memo.get(("syllables",))
    if found is None:
        words: set[str] = set()
        for field in WORD_FIELDS:
            if field not in data.fields:
                continue
            number = data.fields.index(field)
            lo, hi = data.field_starts[number], data.field_starts[number + 1]
            starts = data.key_starts[lo : hi + 1].tolist()
            if len(starts) < 2:
                continue
            blob = bytes(data.keys[starts[0] : starts[-1]])
            base = starts[0]
            for start, end in zip(starts, starts[1:]):
                if end - start <= 7:
                    word = blob[start - base : end - base].decode("utf-8", "replace")
                    if _SYLLABLE.fullmatch(word):
                        words.add(word)
        found = data.memo[("syllables",)] = sorted(words)
    return list(found)


def _best_sequence(snap: Snapshot, options: list[list[tuple[str, float]]]) -> list[str]:
    """The sequence of options with the best score, neighbours' pairs counting."""
    pairs = sorted(
        {
            f"{a}{BIGRAM_SEPARATOR}{b}"
            for left, right in zip(options, options[1:])
            if len(left) > 1 or len(right) > 1
            for a, _ in left
            for b, _ in right
        }
    )
    together = dict(zip(pairs, frequencies(snap, pairs, _PAIR_FIELDS).tolist())) if pairs else {}
    options = _supported(options, together)
    # Viterbi over the words: best[i][option] = (score, previous option)
    best: list[list[tuple[float, int]]] = [[(score, -1) for _, score in options[0]]]
    for position in range(1, len(options)):
        row = []
        for word, score in options[position]:
            links = [
                best[-1][k][0] + score + _PAIR_WEIGHT * math.log1p(
                    together.get(f"{prev}{BIGRAM_SEPARATOR}{word}", 0)
                )
                for k, (prev, _) in enumerate(options[position - 1])
            ]
            k = int(np.argmax(links))
            row.append((links[k], k))
        best.append(row)
    choice = int(np.argmax([score for score, _ in best[-1]]))
    words: list[str] = []
    for position in range(len(options) - 1, -1, -1):
        words.append(options[position][choice][0])
        choice = best[position][choice][1]
    return words[::-1]


def _far_likelier(snap: Snapshot, words: list[str], typed: str, n: int) -> bool:
    """Whether ``words[n]`` is found next to its neighbours far more often than
    ``typed`` is (a word the index holds is only changed on such evidence)."""
    sep = BIGRAM_SEPARATOR
    pairs = []
    for word in (words[n], typed):
        if n:
            pairs.append(f"{words[n - 1]}{sep}{word}")
        if n + 1 < len(words):
            pairs.append(f"{word}{sep}{words[n + 1]}")
    if not pairs:
        return False
    found = frequencies(snap, pairs, _PAIR_FIELDS).tolist()
    half = len(found) // 2
    return bool(sum(found[:half]) >= _PAIR_ODDS * (sum(found[half:]) + 1))


def _supported(
    options: list[list[tuple[str, float]]], together: dict[str, int]
) -> list[list[tuple[str, float]]]:
    """At each word with choices, only those found next to a neighbour's choice,
    when any is (the word as typed first, if it is)."""
    kept = []
    for n, here in enumerate(options):
        if len(here) < 2:
            kept.append(here)
            continue
        sep = BIGRAM_SEPARATOR
        before = options[n - 1] if n else []
        after = options[n + 1] if n + 1 < len(options) else []
        fits = [
            (word, score)
            for word, score in here
            if any(together.get(f"{a}{sep}{word}", 0) for a, _ in before)
            or any(together.get(f"{word}{sep}{b}", 0) for b, _ in after)
        ]
        kept.append(fits or here)
    return kept


def _restored(snap: Snapshot, words: list[str], changed: set[int]) -> list[str]:
    """``words`` with accents restored from the titles' commonest spelling.

    Words typed with accents keep them unless ``changed``; the longest phrases
    of the titles that match are taken first.
    """
    folded = [fold(w) for w in words]
    shown = list(words)
    phrases = snap.phrases()
    start = 0
    while start < len(words):
        for length in range(min(MAX_WORDS, len(words) - start), 0, -1):
            spelling = _spelling(phrases, tuple(folded[start : start + length]))
            if spelling is not None:
                parts = spelling.lower().split()
                for offset, part in enumerate(parts):
                    n = start + offset
                    if n in changed or not has_accents(words[n]):
                        shown[n] = canonical(part)
                start += length
                break
        else:
            start += 1
    return shown


def _spelling(phrases: list[PhraseData], key: tuple[str, ...]) -> str | None:
    """The spelling of a phrase in the segment holding it most often."""
    best: tuple[int, str] | None = None
    for data in phrases:
        place = int(data.find([key])[0])
        if place >= 0:
            count = int(data.counts[place])
            if best is None or count > best[0]:
                best = (count, data.spelling(place))
    if best is None or len(TOKEN_PATTERN.findall(best[1])) != len(key):
        return None
    return best[1]
