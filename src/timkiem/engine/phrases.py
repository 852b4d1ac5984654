"""Each segment's title phrases: what suggestions complete a typed prefix from.

For the titles of a segment's documents, every run of 1 to ``MAX_WORDS``
syllables that no punctuation interrupts is a phrase. A phrase is kept under
its folded key ("cong doan co so": lower case, no accents, đ→d) with the
number of titles holding it, the day of the newest of them and its most
common spelling as written ("Công đoàn cơ sở"; a title's first word counts in
lower case when the next word is in lower case, so that a capital only there
does not win). The keys are one sorted fixed-width byte array: a prefix is a
slice of it, found with two binary searches.

The file, ``<segment id>.tkphr``, is written beside the segment when the
segment is written (``timkiem.engine.segwriter``) in the layout of
``timkiem.engine.segdata`` and read through ``mmap``; a segment without it
(written by a merge, or by an older version) has it rebuilt from its stored
titles when first needed (:func:`from_reader`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from timkiem.analysis import TOKEN_PATTERN, canonical, fold, nfc
from timkiem.engine import segdata
from timkiem.engine.columns import NO_DATE, column
from timkiem.schema import accented_field

TITLE_FIELD = accented_field("title")  # a field given each document's title as written
MAGIC = b"TKPHR\x00\x01\n"
FORMAT = 1
SUFFIX = "tkphr"
MAX_WORDS = 4
NO_DAY = -(2**31)
_ARRAYS = ("words", "grams", "counts", "days", "shown", "spelling_starts", "spellings")
# Punctuation ends a phrase: "Hà Giang: Công đoàn" holds no "giang cong".
_CLAUSE = re.compile(r"[^\w\s]+|_")


def file_name(segment_id: str) -> str:
    """The phrase file of a segment (matches Whoosh's segment file pattern)."""
    return f"{segment_id}.{SUFFIX}"


def key_of(text: str) -> str:
    """The folded key of a phrase or a typed prefix: syllables joined by one space."""
    return " ".join(TOKEN_PATTERN.findall(fold(canonical(text))))


_BITS = 16
# A segment's distinct spellings of syllables beyond these (the rarest) are left out.
_MAX_WORDS_KEPT = (1 << _BITS) - 2
_MAX_WORD_BYTES = 32
_WIDE = 4096  # a prefix slice this long is searched among the popular phrases first
_POPULAR = 64  # the popular phrases: this fraction of a segment's phrases


def _pack(columns: list[npt.NDArray[np.int64]]) -> npt.NDArray[np.uint64]:
    """Up to four word numbers (1-based; 0: none) in one number, the first highest."""
    packed = np.zeros(len(columns[0]), dtype=np.uint64)
    for position, values in enumerate(columns):
        packed |= values.astype(np.uint64) << np.uint64(_BITS * (MAX_WORDS - 1 - position))
    return packed


def _unpack(packed: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """The word numbers (1-based; 0: none) of packed phrases, one row each."""
    shifts = np.array([_BITS * (MAX_WORDS - 1 - p) for p in range(MAX_WORDS)], dtype=np.uint64)
    found: npt.NDArray[np.int64] = (
        (packed[:, None] >> shifts[None, :]) & np.uint64((1 << _BITS) - 1)
    ).astype(np.int64)
    return found


class PhraseData:
    """One segment's phrases: sorted keys, title counts, newest day, spelling.

    A phrase is up to ``MAX_WORDS`` numbers of its folded syllables in
    ``words`` (sorted, so that the numbers sort as the text does), packed into
    one 64-bit number; ``grams`` are sorted, and the phrases starting with a
    prefix are one slice of them. ``shown`` holds each phrase's commonest
    spelling the same way, as numbers into ``spellings``.
    """

    def __init__(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.words: npt.NDArray[np.bytes_] = arrays["words"]
        self.grams: npt.NDArray[np.uint64] = arrays["grams"]
        self.counts: npt.NDArray[np.int32] = arrays["counts"]
        self.days: npt.NDArray[np.int32] = arrays["days"]
        self.shown: npt.NDArray[np.uint64] = arrays["shown"]
        self.spelling_starts: list[int] = arrays["spelling_starts"].tolist()
        blob = arrays["spellings"]
        self._spellings = bytes(blob.data) if len(blob) else b""
        self._words = [w.decode("utf-8") for w in self.words.tolist()]
        self._popular_places: npt.NDArray[np.intp] | None = None

    def __len__(self) -> int:
        return len(self.grams)

    def _word_range(self, prefix: str) -> tuple[int, int]:
        encoded = prefix.encode("utf-8")
        lo = int(np.searchsorted(self.words, encoded, side="left"))
        hi = int(np.searchsorted(self.words, encoded + b"\xff", side="left"))
        return lo, hi

    def _numbers(self, words: list[str]) -> list[int] | None:
        """The 1-based numbers of whole words (None if one is not here)."""
        found = []
        for word in words:
            place = int(np.searchsorted(self.words, word.encode("utf-8")))
            if place >= len(self._words) or self._words[place] != word:
                return None
            found.append(place + 1)
        return found

    def prefixed(self, words: list[str], partial: str) -> tuple[int, int]:
        """The slice of phrases starting with ``words`` then a word starting with
        ``partial`` (with ``partial`` empty: a phrase longer than ``words``)."""
        numbers = self._numbers(words)
        if numbers is None or len(words) >= MAX_WORDS or (not words and not partial):
            return 0, 0
        if partial:
            lo, hi = self._word_range(partial)
            if lo == hi:
                return 0, 0
            low, high = [*numbers, lo + 1], [*numbers, hi + 1]
        else:
            low, high = [*numbers, 1], [*numbers[:-1], numbers[-1] + 1]
        low += [0] * (MAX_WORDS - len(low))
        high += [0] * (MAX_WORDS - len(high))
        bounds = _pack([np.array(pair, dtype=np.int64) for pair in zip(low, high)])
        lo_at, hi_at = np.searchsorted(self.grams, bounds, side="left").tolist()
        return int(lo_at), int(hi_at)

    def top(self, words: list[str], partial: str, count: int) -> npt.NDArray[np.intp]:
        """The (at most) ``count`` most frequent phrases of a prefix (see ``prefixed``).

        A wide slice (a prefix of a letter or two) is searched among the
        segment's most frequent phrases first: if enough of them fall in the
        slice, the answer is among them.
        """
        lo, hi = self.prefixed(words, partial)
        if hi - lo <= count:
            return np.arange(lo, hi)
        places = np.arange(lo, hi)
        if hi - lo > _WIDE:
            popular = self._popular()
            among = popular[np.searchsorted(popular, lo) : np.searchsorted(popular, hi)]
            if len(among) >= count:
                places = among
        best = np.argpartition(self.counts[places], len(places) - count)[len(places) - count :]
        found: npt.NDArray[np.intp] = places[best]
        return found

    def _popular(self) -> npt.NDArray[np.intp]:
        """The places of the most frequent phrases (every phrase at least as
        frequent as the ``1/_POPULAR``-th most frequent), ascending; computed once."""
        if self._popular_places is None:
            k = max(1, len(self.counts) // _POPULAR)
            floor = np.partition(self.counts, len(self.counts) - k)[len(self.counts) - k]
            self._popular_places = np.flatnonzero(self.counts >= floor)
        return self._popular_places

    def find(self, phrases: list[tuple[str, ...]]) -> npt.NDArray[np.intp]:
        """The place of each phrase, given as its folded words (-1: not here)."""
        found = np.full(len(phrases), -1, dtype=np.intp)
        if not len(self.grams) or not phrases:
            return found
        distinct = sorted({w for p in phrases for w in p})
        wanted = np.array([w.encode("utf-8") for w in distinct])
        places = np.searchsorted(self.words, wanted)
        inside = np.minimum(places, len(self.words) - 1)
        known = (places < len(self.words)) & (self.words[inside] == wanted)
        number = dict(zip(distinct, np.where(known, inside + 1, 0).tolist()))
        pad = [0] * MAX_WORDS
        rows = np.array(
            [([number[w] for w in p] + pad)[:MAX_WORDS] for p in phrases], dtype=np.int64
        )
        sizes = np.fromiter(map(len, phrases), dtype=np.int64, count=len(phrases))
        usable = (sizes > 0) & (sizes <= MAX_WORDS) & ((rows > 0).sum(axis=1) == sizes)
        packed = _pack(list(rows.T))
        at = np.searchsorted(self.grams, packed)
        inside = np.minimum(at, len(self.grams) - 1)
        hit = usable & (at < len(self.grams)) & (self.grams[inside] == packed)
        found[hit] = inside[hit]
        return found

    def keys(self, places: npt.NDArray[np.intp]) -> list[tuple[str, ...]]:
        """The folded words of the phrases at ``places``."""
        words = self._words
        rows = _unpack(self.grams[places]).tolist()
        return [tuple(words[n - 1] for n in row if n) for row in rows]

    def spelling(self, place: int) -> str:
        """The most common spelling of the phrase at ``place``."""
        starts, blob = self.spelling_starts, self._spellings
        words = [
            blob[starts[n - 1] : starts[n]].decode("utf-8")
            for n in _unpack(self.shown[place : place + 1])[0].tolist()
            if n
        ]
        return " ".join(words)


def _sorted_numbers(
    names: list[str], counts: npt.NDArray[np.int64], keep: int
) -> tuple[list[str], npt.NDArray[np.int64]]:
    """The ``keep`` most frequent of ``names`` (distinct) sorted, and each name's
    1-based number among them (0: left out)."""
    kept = sorted(np.argsort(-counts, kind="stable")[:keep].tolist(), key=names.__getitem__)
    renumber = np.zeros(len(names), dtype=np.int64)
    renumber[kept] = np.arange(1, len(kept) + 1)
    return [names[i] for i in kept], renumber


def build(titles: Iterable[tuple[str, int | None]]) -> dict[str, npt.NDArray[Any]]:
    """The arrays of the phrases of ``titles`` (each a title and its timestamp or None)."""
    number: dict[str, int] = {"": 0}  # the empty token ends a phrase
    found_numbers: list[int] = []
    days: list[int] = []
    for title, stamp in titles:
        if not title:
            continue
        day = NO_DAY if stamp is None or stamp >= NO_DATE else stamp // 86400
        for clause in _CLAUSE.split(nfc(title)):
            found = TOKEN_PATTERN.findall(clause)
            if not found:
                continue
            if len(found) > 1 and found[1].islower() and found[0][:1].isupper():
                found[0] = found[0].lower()
            found.append("")
            found_numbers.extend([number.setdefault(t, len(number)) for t in found])
            days.extend([day] * len(found))
    if not found_numbers:
        return _empty()
    raw = np.array(found_numbers, dtype=np.int64)
    names = list(number)
    usable = [0 < len(t.encode("utf-8")) <= _MAX_WORD_BYTES for t in names]
    counts = np.bincount(raw, minlength=len(names)) * np.array(usable, dtype=np.int64)
    spellings, spelling_of = _sorted_numbers(names, counts, min(_MAX_WORDS_KEPT, sum(usable)))
    keys = [key_of(t) for t in spellings]
    key_names = sorted(set(keys))
    key_number = {k: n + 1 for n, k in enumerate(key_names)}
    key_of_spelling = np.array([0] + [key_number[k] for k in keys], dtype=np.int64)
    shown_numbers = spelling_of[raw]
    key_numbers = key_of_spelling[shown_numbers]
    day_array = np.array(days, dtype=np.int64)
    size = len(raw)
    shown_rows: list[npt.NDArray[np.uint64]] = []
    day_rows: list[npt.NDArray[np.int64]] = []
    for length in range(1, MAX_WORDS + 1):
        span = size - length + 1
        if span <= 0:
            break
        ok = np.ones(span, dtype=np.bool_)
        for j in range(length):
            ok &= key_numbers[j : j + span] > 0
        starts = np.flatnonzero(ok)
        shown_rows.append(_pack([shown_numbers[starts + j] for j in range(length)]))
        day_rows.append(day_array[starts])
    return _grouped(
        key_names,
        spellings,
        key_of_spelling,
        np.concatenate(shown_rows),
        np.concatenate(day_rows),
    )


def _grouped(
    words: list[str],
    spellings: list[str],
    key_of_spelling: npt.NDArray[np.int64],
    shown: npt.NDArray[np.uint64],
    days: npt.NDArray[np.int64],
) -> dict[str, npt.NDArray[Any]]:
    """Count the phrases per key; each key keeps its commonest spelling and newest day."""
    order = np.argsort(shown)
    shown, days = shown[order], days[order]
    first = np.flatnonzero(np.r_[True, shown[1:] != shown[:-1]])
    votes = np.diff(np.append(first, len(shown)))
    newest = np.maximum.reduceat(days, first) if len(first) else days[:0]
    shown = shown[first]
    keys = _pack(list(key_of_spelling[_unpack(shown)].T))
    # By key, then the most votes first: the first of each key is its spelling.
    order = np.lexsort((-votes, keys))
    keys, shown, votes, newest = keys[order], shown[order], votes[order], newest[order]
    heads = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    encoded = [s.encode("utf-8") for s in spellings]
    starts = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in encoded], out=starts[1:])
    width = max((len(w.encode("utf-8")) for w in words), default=1)
    return {
        "words": np.array([w.encode("utf-8") for w in words], dtype=f"S{width}"),
        "grams": keys[heads],
        "counts": np.add.reduceat(votes, heads).astype(np.int32),
        "days": np.maximum.reduceat(newest, heads).astype(np.int32),
        "shown": shown[heads],
        "spelling_starts": starts,
        "spellings": np.frombuffer(b"".join(encoded), dtype=np.uint8),
    }


def _empty() -> dict[str, npt.NDArray[Any]]:
    return {
        "words": np.zeros(0, dtype="S1"),
        "grams": np.zeros(0, dtype=np.uint64),
        "counts": np.zeros(0, dtype=np.int32),
        "days": np.zeros(0, dtype=np.int32),
        "shown": np.zeros(0, dtype=np.uint64),
        "spelling_starts": np.zeros(1, dtype=np.int64),
        "spellings": np.zeros(0, dtype=np.uint8),
    }


def write(path: str, segment_id: str, doc_count: int, arrays: dict[str, npt.NDArray[Any]]) -> None:
    """Write a segment's phrase file durably."""
    header = {"format": FORMAT, "segment": segment_id, "doc_count": doc_count}
    segdata.write(path, header, arrays, magic=MAGIC)


def open_file(path: str, segment_id: str, doc_count: int) -> PhraseData:
    """Open and check a segment's phrase file (``SegmentDataError`` if unusable)."""
    _, arrays = segdata.open_arrays(path, segment_id, doc_count, MAGIC, FORMAT, _ARRAYS)
    return PhraseData(arrays)


def stored_titles(reader: Any) -> list[tuple[str, int | None]]:
    """The title and timestamp of each live document of a segment, from its stored records."""
    stamps = column(reader, "timestamp")
    found: list[tuple[str, int | None]] = []
    for docnum in range(reader.doc_count_all()):
        if reader.has_deletions() and reader.is_deleted(docnum):
            continue
        record = json.loads(reader.stored_fields(docnum).get("record") or "{}")
        found.append((record.get("title") or "", stamps[docnum]))
    return found


def from_reader(reader: Any) -> PhraseData:
    """A segment's phrases rebuilt from its stored records (every record is read)."""
    return PhraseData(build(stored_titles(reader)))
