"""Stored records read from the segments' column files equal Whoosh's
``stored_fields``, and a damaged column is reported, never read wrong."""

from __future__ import annotations

import json
import random
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from whoosh.codec.whoosh3 import STORED_COLUMN
from whoosh.filedb.structfile import StructFile
from whoosh.writing import NO_MERGE

from conftest import EXAMPLES, Engines, write_jsonl
from timkiem.config import Settings
from timkiem.engine.damage import is_damage
from timkiem.engine.snapshot import Snapshot
from timkiem.engine.stored import StoredColumn, StoredDataError
from timkiem.errors import IndexUnavailable
from timkiem.indexer import Indexer, article_document
from timkiem.records import parse_article


def _records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in EXAMPLES.read_text("utf-8").splitlines()]


def _whoosh_fields(snap: Snapshot, docnum: int) -> dict[str, Any]:
    fields: dict[str, Any] = snap.searcher.stored_fields(docnum)
    return fields


def _assert_parity(snap: Snapshot) -> int:
    """Every document, deleted ones too, reads as Whoosh reads it; the count read."""
    leaves = [leaf for leaf, _ in snap.searcher.reader().leaf_readers()]
    for leaf, segment in zip(leaves, snap.segments):
        for local in range(segment.size):
            docnum = segment.offset + local
            expected = _whoosh_fields(snap, docnum)
            if segment.stored is not None:
                assert segment.stored.fields(local) == expected == leaf.stored_fields(local)
            assert snap.record(docnum) == json.loads(expected["record"])
    return snap.size


@pytest.fixture
def several_segments(settings: Settings, tmp_path: Path) -> Settings:
    """Three commits, the third updating some articles of the first two and
    deleting others."""
    records = _records()
    indexer = Indexer(settings)
    for part in range(2):
        indexer.ingest([str(write_jsonl(tmp_path / f"{part}.jsonl", records[part::2][:20]))])
    changed = [dict(r, title=f"{r['title']} (sửa)") for r in records[:6]]
    indexer.ingest([str(write_jsonl(tmp_path / "changed.jsonl", changed))])
    indexer.delete([str(records[7]["id"]), str(records[8]["id"])])
    return settings


def test_records_equal_whoosh_stored_fields_across_segments(
    several_segments: Settings, engines: Engines
) -> None:
    snap = engines.open(several_segments).snapshot()
    assert len(snap.segments) >= 3
    assert snap.doc_count < snap.size  # updated and deleted documents are still there
    assert _assert_parity(snap) == snap.size
    with pytest.raises(IndexError):
        snap.record(snap.size)


def test_threads_read_records_without_the_lock(
    several_segments: Settings, engines: Engines
) -> None:
    snap = engines.open(several_segments).snapshot()
    expected = [json.loads(_whoosh_fields(snap, d)["record"]) for d in range(snap.size)]
    with ThreadPoolExecutor(4) as pool:
        with snap.lock:  # a reader that needed it would time out
            docs = list(range(snap.size)) * 4
            found = list(pool.map(snap.record, docs, timeout=60))
    assert found == expected * 4


def test_a_compound_segment_is_read_through_whoosh(
    several_segments: Settings, engines: Engines
) -> None:
    engine = engines.open(several_segments)
    record = dict(_records()[0], id="gop-1", title="Bài trong một segment gộp")
    writer = engine.directory.open_current().writer()  # Whoosh's own: a compound segment
    writer.add_document(**article_document(parse_article(record)))
    writer.commit(mergetype=NO_MERGE)
    snap = engine.snapshot()
    assert [s.stored is None for s in snap.segments].count(True) == 1
    _assert_parity(snap)
    assert engine.article("gop-1")["title"] == "Bài trong một segment gộp"


def _column(path: Path, values: dict[int, dict[str, Any]], count: int) -> Path:
    """A stored-fields column written by Whoosh's own column writer."""
    with open(path, "wb") as handle:
        writer = STORED_COLUMN.writer(StructFile(handle))
        for docnum in sorted(values):
            writer.add(docnum, values[docnum])
        writer.finish(count)
    return path


def _whoosh_column(path: Path, count: int) -> list[dict[str, Any]]:
    with open(path, "rb") as handle:
        reader = STORED_COLUMN.reader(StructFile(handle), 0, path.stat().st_size, count)
        return [reader[n] or {} for n in range(count)]


@pytest.mark.parametrize(
    "count, step",
    [(0, 1), (1, 1), (50, 3), (40_000, 7)],  # empty, one, gaps, with offsets written
)
def test_column_layouts_read_as_whoosh_reads_them(tmp_path: Path, count: int, step: int) -> None:
    values = {n: {"id": f"d{n}", "record": "x" * (n % 300)} for n in range(0, count, step)}
    path = _column(tmp_path / "c._stored.col", values, count + 2)  # two trailing without
    column = StoredColumn(str(path), count + 2)
    found = [column.fields(n) for n in range(count + 2)]
    assert found == _whoosh_column(path, count + 2)
    assert found == [values.get(n, {}) for n in range(count + 2)]


def test_a_garbled_column_raises_damage_and_never_a_wrong_record(tmp_path: Path) -> None:
    records = _records()[:30]
    values = {n: {"id": r["id"], "record": json.dumps(r)} for n, r in enumerate(records)}
    pristine = _column(tmp_path / "pristine.col", values, len(values)).read_bytes()
    path = tmp_path / "c._stored.col"
    rng = random.Random(9)
    outcomes = {"open": 0, "read": 0}
    for trial in range(300):
        damaged = bytearray(pristine)
        if trial % 3 == 0:
            damaged = damaged[: rng.randrange(len(damaged))]  # truncated
        else:
            at = rng.randrange(len(damaged))
            size = rng.choice([1, 4, 64])
            damaged[at : at + size] = rng.randbytes(len(damaged[at : at + size]))
        path.write_bytes(bytes(damaged))
        try:
            column = StoredColumn(str(path), len(values))
        except StoredDataError as exc:
            assert is_damage(exc) and str(path) in str(exc)
            outcomes["open"] += 1
            continue
        for n, expected in values.items():
            try:
                assert column.fields(n) == expected
            except StoredDataError as exc:
                assert is_damage(exc) and f"document {n}" in str(exc)
                outcomes["read"] += 1
    assert outcomes["open"] > 50 and outcomes["read"] > 50


def test_a_damaged_column_in_an_index_is_reported(
    settings: Settings, engines: Engines, tmp_path: Path
) -> None:
    Indexer(settings).ingest([str(EXAMPLES)])
    (column,) = Path(settings.index).glob("gen-*/*._stored.col")
    pristine = tmp_path / "pristine"
    shutil.copytree(settings.index, pristine)
    stored = _whoosh_column(column, len(_records()))
    first, last = stored[0]["id"], stored[-1]["id"]

    data = bytearray(column.read_bytes())
    data[40:44] = bytes(b ^ 0xFF for b in data[40:44])  # inside the first record's value
    column.write_bytes(bytes(data))
    engine = engines.open(settings)
    with pytest.raises(IndexUnavailable, match="stored fields of document 0 are damaged"):
        engine.article(first)
    assert engine.article(last)["id"] == last

    shutil.rmtree(settings.index)
    shutil.copytree(pristine, settings.index)
    column.write_bytes(column.read_bytes()[:-5])  # truncated
    with pytest.raises(IndexUnavailable, match="_stored.col"):
        engines.open(settings).article(first)


def _trailer(data: bytearray, count: int, offsets: bool) -> tuple[Any, Any]:
    """Views of a column's value lengths and offsets (None without offsets)."""
    end = len(data) - 1
    found = None
    if offsets:
        assert chr(data[end]) == "X"
        code = chr(data[end - 1])
        size = np.dtype(f">{code}").itemsize
        found = np.frombuffer(data, f">{code}", count, end - 2 - count * size)
        end -= 2 + count * size
    code = chr(data[end])
    size = np.dtype(f">{code}").itemsize
    return np.frombuffer(data, f">{code}", count, end - count * size), found


def test_values_cut_elsewhere_are_damage(tmp_path: Path) -> None:
    """Lengths or offsets rewritten so that every byte is still covered: a
    value holding two documents' values, or one document's offset another's."""
    values = {n: {"id": f"d{n}", "record": json.dumps(r)} for n, r in enumerate(_records()[:5])}
    data = bytearray(_column(tmp_path / "a.col", values, 5).read_bytes())
    lengths, _ = _trailer(data, 5, offsets=False)
    lengths[1] += lengths[0]  # document 1's value: documents 0 and 1's
    lengths[0] = 0
    path = tmp_path / "a._stored.col"
    path.write_bytes(bytes(data))
    column = StoredColumn(str(path), 5)
    with pytest.raises(StoredDataError, match="document 1 .*does not end where its length says"):
        column.fields(1)  # Whoosh's reader gives document 0's fields here
    assert column.fields(2) == values[2]
    lengths[4] -= 1  # the last value's last byte then belongs to no document
    path.write_bytes(bytes(data))
    with pytest.raises(StoredDataError, match="lengths add up to"):
        StoredColumn(str(path), 5)

    many = {n: {"id": f"d{n:05d}"} for n in range(40_000)}
    data = bytearray(_column(tmp_path / "b.col", many, 40_000).read_bytes())
    lengths, offsets = _trailer(data, 40_000, offsets=True)
    same = int(np.flatnonzero(lengths[:-1] == lengths[1:])[0])
    offsets[same], offsets[same + 1] = offsets[same + 1], offsets[same]
    path.write_bytes(bytes(data))
    with pytest.raises(StoredDataError, match="offsets do not follow its lengths"):
        StoredColumn(str(path), 40_000)
