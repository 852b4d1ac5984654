"""A snapshot of the index: its segments' data, and the columns derived from them.

A snapshot is a list of segments. What is derived from one segment (its
term data file, its dates and categories, its open stored-fields column) is
read once per process and kept in a :class:`SegmentStore` by segment, so a
commit that adds one small segment only reads that segment: every other
segment's data is the same object in the old snapshot and the new one. What
is index-wide (the live-document mask, the date order, facet codes, document
and field-length totals) is assembled from the segments with a few NumPy
passes when a snapshot opens.
"""

from __future__ import annotations

import logging
import threading
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.searching import Searcher

from timkiem.analysis import folded_words
from timkiem.dates import VIETNAM, from_timestamp
from timkiem.engine import phrases, segdata, stored
from timkiem.engine.columns import NO_DATE, SegmentColumns
from timkiem.engine.phrases import PhraseData
from timkiem.engine.segdata import SegmentData, SegmentDataError, concat
from timkiem.engine.stored import StoredColumn

Mask = npt.NDArray[np.bool_]
Derived = tuple[SegmentData, SegmentColumns, StoredColumn | None]
Members = npt.NDArray[np.intp]  # document numbers, ascending

log = logging.getLogger("timkiem.engine")

_NO_DAY = -(10**9)
_offset = VIETNAM.utcoffset(None)
assert _offset is not None
VIETNAM_OFFSET = int(_offset.total_seconds())  # all year: Vietnam has no daylight saving


@dataclass
class SegmentView:
    """One segment as a snapshot sees it: its data, place and live documents."""

    segment_id: str
    data: SegmentData
    columns: SegmentColumns
    stored: StoredColumn | None  # None: read through Whoosh (a compound segment)
    offset: int
    size: int
    deleted: frozenset[int]
    field_lengths: dict[str, int]


class SegmentStore:
    """Each segment's derived data, opened once per process and shared by snapshots.

    ``fields`` are the text fields whose terms the data holds. A segment whose
    data file is missing or damaged has its data rebuilt from its Whoosh files
    (slowly), kept in memory, and logged. A damaged stored-fields column
    raises ``StoredDataError``: it is the segment's own data.
    """

    def __init__(self, fields: list[str]) -> None:
        self.fields = fields
        self._open: dict[tuple[str, str], Derived] = {}
        self._phrases: dict[tuple[str, str], PhraseData] = {}
        self._lock = threading.Lock()

    def get(self, folder: str, leaf: Any) -> Derived:
        segment_id = leaf.segment().segment_id()
        key = (folder, segment_id)
        with self._lock:
            found = self._open.get(key)
        if found is not None:
            return found
        count = leaf.doc_count_all()
        path = f"{folder}/{segdata.file_name(segment_id)}"
        try:
            data = segdata.open_file(path, segment_id, count)
        except SegmentDataError as exc:
            log.warning(
                "%s; rebuilding segment %s's term data from its index files "
                "('timkiem reindex' stores it again)",
                exc,
                segment_id,
            )
            data = segdata.from_reader(leaf, segment_id, self.fields)
        column_path = stored.column_path(folder, leaf.segment())
        column = None if column_path is None else StoredColumn(column_path, count)
        found = (data, SegmentColumns(leaf), column)
        with self._lock:
            self._open[key] = found
        return found

    def phrases(self, folder: str, leaf: Any) -> PhraseData:
        """A segment's title phrases; rebuilt from its stored titles (and logged)
        when its phrase file is missing or damaged."""
        segment_id = leaf.segment().segment_id()
        key = (folder, segment_id)
        with self._lock:
            found = self._phrases.get(key)
        if found is not None:
            return found
        path = f"{folder}/{phrases.file_name(segment_id)}"
        try:
            found = phrases.open_file(path, segment_id, leaf.doc_count_all())
        except SegmentDataError as exc:
            log.warning("%s; rebuilding segment %s's title phrases", exc, segment_id)
            found = phrases.from_reader(leaf)
        with self._lock:
            self._phrases[key] = found
        return found

    def keep_only(self, keys: Iterable[tuple[str, str]]) -> None:
        """Forget the segments not in ``keys`` (the snapshots still using them keep them)."""
        wanted = set(keys)
        with self._lock:
            for table in (self._open, self._phrases):
                for key in [k for k in table if k not in wanted]:
                    del table[key]


class Snapshot:
    """A searcher over one index state, and the columns derived from it.

    Whoosh's reader is not safe for concurrent file reads: ``lock`` guards
    them (:meth:`record` needs none); the arrays here are read-only and shared
    by request threads.
    """

    def __init__(
        self,
        searcher: Searcher,
        generation: str,
        token: object,
        store: SegmentStore,
        folder: str,
    ) -> None:
        self.searcher = searcher
        self.generation = generation
        # The number of the commit (table of contents) read; -1 for an index with no segment.
        commit = searcher.reader().generation()
        self.commit: int = -1 if commit is None else int(commit)
        self.token = token
        self.folder = folder
        self.lock = threading.Lock()
        self.damage: str | None = None  # why reading it failed, if it did
        reader = searcher.reader()
        leaves = list(reader.leaf_readers()) if hasattr(reader, "leaf_readers") else []
        if not leaves and reader.doc_count_all():
            leaves = [(reader, 0)]
        self.segments: list[SegmentView] = []
        self._store = store
        self._leaves = [leaf for leaf, _ in leaves]
        self._phrases: list[PhraseData] | None = None
        for leaf, offset in leaves:
            data, columns, column = store.get(folder, leaf)
            segment = leaf.segment()
            self.segments.append(
                SegmentView(
                    segment.segment_id(),
                    data,
                    columns,
                    column,
                    offset,
                    leaf.doc_count_all(),
                    frozenset(segment.deleted_docs()),
                    {name: leaf.field_length(name) for name in store.fields},
                )
            )
        self.size = sum(s.size for s in self.segments)
        self._offsets = [s.offset for s in self.segments]
        self.doc_count = reader.doc_count()
        self.field_length_totals = {
            name: sum(s.field_lengths[name] for s in self.segments) for name in store.fields
        }
        self.live: Mask = np.ones(self.size, dtype=np.bool_)
        for seg in self.segments:
            if seg.deleted:
                self.live[np.fromiter(seg.deleted, dtype=np.int64) + seg.offset] = False
        stamps = concat([s.columns.stamps for s in self.segments], np.int64)
        self.dated: Mask = stamps < NO_DATE
        names = sorted({n for s in self.segments for n in s.columns.category_names})
        self.category_names: list[str] = names
        self.category_keys = [folded_words(n) for n in names]
        number = {name: n for n, name in enumerate(names)}
        codes = [
            np.array([number[n] for n in s.columns.category_names], dtype=np.int64)[
                s.columns.category_codes
            ]
            for s in self.segments
            if s.size
        ]
        self.category_codes = concat(codes, np.int32)
        self.month_names, month_codes = _months(stamps, self.dated)
        # One number per document for its (month or none, category) pair: facets
        # are then one count over the matches.
        self.facet_codes = (month_codes + 1) * len(names) + self.category_codes
        dated = np.flatnonzero(self.dated & self.live)
        self.by_date_doc = dated[np.argsort(stamps[dated], kind="stable")]
        self.by_date_ts = stamps[self.by_date_doc]

    def close(self) -> None:
        self.searcher.close()

    def phrases(self) -> list[PhraseData]:
        """Each segment's title phrases (``timkiem.engine.phrases``), opened on first use."""
        found = self._phrases
        if found is None:
            with self.lock:  # a segment without its file reads its stored records
                found = [self._store.phrases(self.folder, leaf) for leaf in self._leaves]
            self._phrases = found
        return found

    def record(self, docnum: int) -> dict[str, Any]:
        """The stored record of a document (the JSON object it was ingested as).

        Read from the segment's column file without ``lock``; a damaged
        column raises ``StoredDataError``.
        """
        if not 0 <= docnum < self.size:
            raise IndexError(f"document {docnum} of {self.size}")
        number = bisect_right(self._offsets, docnum) - 1
        segment = self.segments[number]
        local = docnum - segment.offset
        if segment.stored is None:
            with self.lock:
                fields = self._leaves[number].stored_fields(local)
        else:
            fields = segment.stored.fields(local)
        return stored.record_of(fields, f"document {local} of segment {segment.segment_id}")

    def mask(self, docs: npt.NDArray[Any] | None = None) -> Mask:
        """A mask of the documents ``docs`` (none if None)."""
        found = np.zeros(self.size, dtype=np.bool_)
        if docs is not None:
            found[docs] = True
        return found

    def date_range(self, start: int | None, end: int | None) -> tuple[int, int]:
        """Slice bounds into the date order for an inclusive timestamp range."""
        stamps = self.by_date_ts
        lo = 0 if start is None else int(np.searchsorted(stamps, start, side="left"))
        hi = len(stamps) if end is None else int(np.searchsorted(stamps, end, side="right"))
        return lo, max(lo, hi)

    def category(self, name: str) -> Mask:
        """The documents of category ``name`` (in any case, accents and punctuation)."""
        return self.categories([name])

    def categories(self, requested: Iterable[str]) -> Mask:
        """The documents of any of the ``requested`` categories (see :meth:`matching`)."""
        codes = self._matching_codes(requested)
        if not codes:
            return self.mask()
        found: Mask = np.isin(self.category_codes, codes)
        return found

    def matching(self, requested: Iterable[str]) -> list[str]:
        """The category names ``requested`` stands for: those with the same words as a
        requested name, whatever their case, accents and punctuation (a name without
        words matches only itself)."""
        return [self.category_names[c] for c in self._matching_codes(requested)]

    def _matching_codes(self, requested: Iterable[str]) -> list[int]:
        found: set[int] = set()
        for name in requested:
            key = folded_words(name)
            for code, (known, known_key) in enumerate(zip(self.category_names, self.category_keys)):
                if known and (known_key == key if key else known == name):
                    found.add(code)
        return sorted(found)

    def segment_keys(self) -> list[tuple[str, str]]:
        return [(self.folder, s.segment_id) for s in self.segments]


def _months(stamps: npt.NDArray[np.int64], dated: Mask) -> tuple[list[str], npt.NDArray[np.int32]]:
    """The months present ("2020-04", ascending), and each document's index into
    them (-1: no date).

    The calendar is read once per distinct day (Vietnam time has no DST).
    """
    days = np.where(dated, (stamps + VIETNAM_OFFSET) // 86400, _NO_DAY)
    unique, inverse = np.unique(days, return_inverse=True)
    months_of_day = np.array(
        [_month_number(int(d)) if d != _NO_DAY else -1 for d in unique], dtype=np.int64
    )
    numbers, codes = np.unique(months_of_day, return_inverse=True)
    per_doc = codes.reshape(-1)[inverse.reshape(len(stamps))].astype(np.int32)
    present = [int(m) for m in numbers]
    if present and present[0] == -1:
        present = present[1:]
        per_doc -= 1
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in present], per_doc


def _month_number(day: int) -> int:
    """year x 12 + month - 1 of a day (days since the epoch, Vietnam time)."""
    moment = from_timestamp(day * 86400 - VIETNAM_OFFSET)
    return moment.year * 12 + moment.month - 1
