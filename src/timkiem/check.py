"""Checking an index against itself: every segment readable, stored articles and
indexed terms in agreement, ids unique, dates and categories as stored.

Per segment of the live generation: its Whoosh files are read (every stored
record, as search reads it: :mod:`timkiem.engine.stored`; the date and
category columns), its term data file
(:mod:`timkiem.engine.segdata`) is opened and its CRC-32 verified, and the
stored records are analysed again: each term a record's title and body give
must be in the segment's term data with that document among its postings.
Each record must be a valid article whose id is the indexed id, unique among
live documents, and whose date and category are the ones in the columns
search filters on. Nothing is written; damage is reported, never raised.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from timkiem.config import Settings
from timkiem.engine import segdata, stored
from timkiem.engine.blocks import read_postings
from timkiem.engine.columns import NO_DATE, SegmentColumns
from timkiem.engine.segdata import SegmentData, SegmentDataError
from timkiem.engine.stored import StoredColumn
from timkiem.errors import RecordError, TimkiemError
from timkiem.records import parse_article
from timkiem.schema import SCORED_FIELDS
from timkiem.storage import IndexDirectory

DEFAULT_SAMPLE = 500  # documents per segment whose terms are checked, unless all are
MAX_POSTINGS_COMPARED = 5000  # terms per segment whose Whoosh postings are read and compared


@dataclass
class CheckReport:
    """What a check found: the problems (one line each) and what was checked."""

    index: str
    generation: str | None = None
    problems: list[str] = field(default_factory=list)
    segments: int = 0
    articles: int = 0
    terms_checked: int = 0
    documents_analysed: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if not self.ok:
            return f"{len(self.problems)} problem(s) in {self.index}"
        return (
            f"ok: {self.articles} articles in {self.segments} segment(s) of "
            f"{self.index}/{self.generation}; {self.documents_analysed} analysed again, "
            f"{self.terms_checked} terms found in their postings"
        )


def check_index(settings: Settings, *, full: bool = False) -> CheckReport:
    """Check the live generation of ``settings.index``; ``full`` analyses every
    document again, not a sample of each segment."""
    directory = IndexDirectory(settings.index)
    report = CheckReport(str(directory.path))
    try:
        report.generation = directory.current_name()
        index = directory.open_current()
        reader = index.reader()
    except TimkiemError as exc:
        report.problems.append(str(exc))
        return report
    except Exception as exc:  # noqa: BLE001 - damage of any kind is reported
        report.problems.append(f"{directory.path}: cannot open the index ({_what(exc)})")
        return report
    folder = index.storage.folder
    seen: dict[str, str] = {}
    try:
        for leaf, _ in reader.leaf_readers():
            report.segments += 1
            try:
                _check_segment(leaf, folder, full, seen, report)
            except Exception as exc:  # noqa: BLE001
                where = f"{folder}/{_segment_id(leaf)}"
                report.problems.append(f"{where}: cannot read the segment ({_what(exc)})")
    except Exception as exc:  # noqa: BLE001
        report.problems.append(f"{folder}: cannot list the segments ({_what(exc)})")
    finally:
        reader.close()
    return report


def _what(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _segment_id(leaf: Any) -> str:
    try:
        return str(leaf.segment().segment_id())
    except Exception:  # noqa: BLE001
        return "?"


def _live_docs(leaf: Any) -> Iterator[int]:
    for number in range(leaf.doc_count_all()):
        if not leaf.is_deleted(number):
            yield number


def _check_segment(
    leaf: Any, folder: str, full: bool, seen: dict[str, str], report: CheckReport
) -> None:
    segment_id = _segment_id(leaf)
    where = f"{folder}/{segment_id}"
    count = leaf.doc_count_all()
    path = f"{folder}/{segdata.file_name(segment_id)}"
    data: SegmentData | None
    try:
        data = segdata.open_file(path, segment_id, count)
    except SegmentDataError as exc:
        report.problems.append(
            f"{exc} (search rebuilds it from the segment at each start; "
            "'timkiem reindex' writes it again)"
        )
        data = None
    columns = SegmentColumns(leaf)
    column_path = stored.column_path(folder, leaf.segment())
    column = None if column_path is None else StoredColumn(column_path, count)
    live = list(_live_docs(leaf))
    terms: set[tuple[bytes, int]] = set()
    step = 1 if full or len(live) <= DEFAULT_SAMPLE else len(live) / DEFAULT_SAMPLE
    sampled = {live[int(i * step)] for i in range(len(live) if step == 1 else DEFAULT_SAMPLE)}
    for number in live:
        report.articles += 1
        label = f"{where} document {number}"
        fields = leaf.stored_fields(number) if column is None else column.fields(number)
        record = _record(fields, label, report)
        if record is None:
            continue
        article_id = str(fields.get("id"))
        label = f"{where} id={article_id}"
        if article_id in seen:
            report.problems.append(f"{label}: the id is also live in {seen[article_id]}")
        seen[article_id] = where
        try:
            article = parse_article(record)
        except RecordError as exc:
            report.problems.append(f"{label}: the stored record is not a valid article ({exc})")
            continue
        if article.id != article_id:
            report.problems.append(f"{label}: the stored record has id {article.id!r}")
        stamp = int(columns.stamps[number])
        indexed = None if stamp >= NO_DATE else stamp
        if indexed != article.timestamp:
            report.problems.append(
                f"{label}: the date column holds {indexed}, the record {article.timestamp}"
            )
        category = columns.category_names[int(columns.category_codes[number])] or None
        if category != article.category:
            report.problems.append(
                f"{label}: the category column holds {category!r}, the record "
                f"{article.category!r}"
            )
        if data is not None and number in sampled:
            report.documents_analysed += 1
            terms.update(_check_terms(leaf, data, number, record, label, report))
    if data is not None:
        _compare_postings(leaf, data, sorted(terms)[:MAX_POSTINGS_COMPARED], where, report)


def _record(fields: dict[str, Any], label: str, report: CheckReport) -> dict[str, Any] | None:
    try:
        record = json.loads(fields["record"])
    except (KeyError, TypeError, ValueError) as exc:
        report.problems.append(f"{label}: the stored record cannot be read ({_what(exc)})")
        return None
    if not isinstance(record, dict) or "id" not in fields:
        report.problems.append(f"{label}: the stored record or its id is missing")
        return None
    return record


def _check_terms(
    leaf: Any,
    data: SegmentData,
    number: int,
    record: dict[str, Any],
    label: str,
    report: CheckReport,
) -> set[tuple[bytes, int]]:
    """Each term the record's texts give is in the data, with ``number`` among its docs;
    returns the terms found (their keys and numbers in the data)."""
    keys: list[bytes] = []
    for name in SCORED_FIELDS:
        text = record.get(name.rsplit("_", 1)[0]) or ""
        if text and name in leaf.schema:
            prefix = segdata.term_key(name, "")
            keys.extend(prefix + btext for btext, *_ in leaf.schema[name].index(text))
    found: set[tuple[bytes, int]] = set()
    if not keys:
        return found
    terms = data.find(segdata.key_hashes(keys), keys)
    missing = 0
    for key, term in zip(keys, terms.tolist()):
        if term < 0:
            missing += 1
            continue
        docs = data.docs[int(data.post_starts[term]) : int(data.post_starts[term + 1])]
        place = int(np.searchsorted(docs, number))
        if place >= len(docs) or int(docs[place]) != number:
            missing += 1
            continue
        report.terms_checked += 1
        found.add((key, term))
    if missing:
        report.problems.append(
            f"{label}: {missing} of the {len(keys)} terms of its title and body are not "
            "indexed for it (the stored article and the index disagree)"
        )
    return found


def _compare_postings(
    leaf: Any, data: SegmentData, terms: list[tuple[bytes, int]], where: str, report: CheckReport
) -> None:
    """The documents of each term read from Whoosh's own files are those of the data."""
    differ = 0
    for key, term in terms:
        name, _, btext = key.partition(b"\x00")
        ids, _ = read_postings(leaf, name.decode("utf-8"), btext)
        docs = data.docs[int(data.post_starts[term]) : int(data.post_starts[term + 1])]
        if not np.array_equal(np.asarray(ids, dtype=np.int64), docs.astype(np.int64)):
            differ += 1
    if differ:
        report.problems.append(
            f"{where}: {differ} of {len(terms)} terms have other documents in the segment's "
            "postings than in its term data"
        )
