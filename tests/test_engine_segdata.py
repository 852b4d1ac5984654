"""Each segment's derived data equals its Whoosh postings, survives commits, and
is rebuilt, never trusted, when damaged or missing."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from conftest import EXAMPLES, Engines, write_jsonl
from timkiem.config import Settings
from timkiem.engine import segdata
from timkiem.engine.blocks import read_postings
from timkiem.engine.columns import length_bytes
from timkiem.indexer import Indexer
from timkiem.schema import SCORED_FIELDS
from timkiem.search import SearchRequest
from timkiem.storage import INDEX_NAME


def _records() -> list[dict[str, object]]:
    return [json.loads(line) for line in EXAMPLES.read_text("utf-8").splitlines()]


def _segment_files(settings: Settings) -> list[Path]:
    return sorted(Path(settings.index).glob(f"gen-*/{INDEX_NAME}_*.{segdata.SUFFIX}"))


@pytest.fixture
def three_segments(settings: Settings, tmp_path: Path) -> Settings:
    records = _records()
    indexer = Indexer(settings)
    for part in range(3):
        indexer.ingest([str(write_jsonl(tmp_path / f"{part}.jsonl", records[part::3]))])
    return settings


@pytest.mark.parametrize("way", ["from a dict of all", "one by one", "many at once"])
def test_every_term_reads_back_as_whoosh_stores_it(
    way: str, three_segments: Settings, engines: Engines, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Terms are found in a small segment's dict of all its keys, or searched for
    by hash (one key at a time, or many at once) in a large one."""
    if way != "from a dict of all":
        monkeypatch.setattr(segdata, "_ALL_KEPT", 0)
    engine = engines.open(three_segments)
    snap = engine.snapshot()
    assert len(snap.segments) == 3
    leaves = list(snap.searcher.reader().leaf_readers())
    checked = 0
    for (leaf, _offset), view in zip(leaves, snap.segments):
        data = view.data
        expected_terms = 0
        for field in SCORED_FIELDS:
            lengths_of_docs = length_bytes(leaf, field)  # as Whoosh stores them
            texts = list(leaf.lexicon(field))
            keys = [segdata.term_key(field, btext.decode("utf-8")) for btext in texts]
            if way == "many at once":
                places = data.find(segdata.key_hashes(keys), keys).tolist()
            else:
                places = [int(data.find(segdata.key_hashes([k]), [k])[0]) for k in keys]
            for btext, place in zip(texts, places):
                expected_terms += 1
                ids, weights = read_postings(leaf, field, btext)
                assert place >= 0, (field, btext)
                lo, hi = int(data.post_starts[place]), int(data.post_starts[place + 1])
                assert data.docs[lo:hi].tolist() == ids.tolist()
                tf, lengths = data.table(field)
                codes = data.codes[lo:hi].astype(np.int64)
                assert tf[codes].tolist() == weights.tolist()
                assert lengths[codes].tolist() == lengths_of_docs[ids].tolist()
                checked += 1
        assert len(data.hashes) == expected_terms  # no term more, none less
    assert checked > 1000
    absent = [segdata.term_key(f, "khongcotu") for f in ("body_f", "nofield", "title_a")]
    found = snap.segments[0].data.find(segdata.key_hashes(absent), absent).tolist()
    assert found == [-1, -1, -1]


def test_a_commit_reuses_the_data_of_the_segments_it_keeps(
    three_segments: Settings, tmp_path: Path, engines: Engines
) -> None:
    engine = engines.open(three_segments)
    before = engine.snapshot()
    shared = {s.segment_id: s.data for s in before.segments}
    new = {"id": "moi-1", "title": "Công đoàn Bắc Kạn thăm hỏi công nhân", "body": "Tin mới."}
    Indexer(three_segments).ingest([str(write_jsonl(tmp_path / "new.jsonl", [new]))])
    after = engine.snapshot()
    assert after is not before
    kept = [s for s in after.segments if s.segment_id in shared]
    assert kept, "the commit kept the earlier segments"
    assert all(s.data is shared[s.segment_id] for s in kept)  # the same objects: not re-read
    found = engine.search(SearchRequest(q="cong doan bac kan tham hoi"))
    assert found["hits"][0]["id"] == "moi-1"


def test_deletions_leave_the_data_and_hide_the_documents(
    three_segments: Settings, engines: Engines
) -> None:
    engine = engines.open(three_segments)
    first = _records()[0]["id"]
    assert isinstance(first, str)
    before = engine.snapshot()
    Indexer(three_segments).delete([first])
    after = engine.snapshot()
    assert {s.segment_id for s in after.segments} <= {s.segment_id for s in before.segments}
    assert after.doc_count == before.doc_count - 1
    assert first not in {h["id"] for h in engine.search(SearchRequest(per_page=100))["hits"]}


@pytest.mark.parametrize("damage", ["missing", "flipped", "truncated", "foreign"])
def test_damaged_or_missing_data_is_rebuilt_not_trusted(
    three_segments: Settings, damage: str, caplog: pytest.LogCaptureFixture, engines: Engines
) -> None:
    request = SearchRequest(q="công đoàn lao động", per_page=20)
    expected = engines.open(three_segments).search(request)
    engines.close()  # its mapped files are about to change
    files = _segment_files(three_segments)
    assert len(files) == 3
    target = files[1]
    raw = target.read_bytes()
    if damage == "missing":
        target.unlink()
    elif damage == "flipped":
        target.write_bytes(raw[:-100] + bytes([raw[-100] ^ 0xFF]) + raw[-99:])
    elif damage == "truncated":
        target.write_bytes(raw[: len(raw) // 2])
    else:
        target.write_bytes(files[0].read_bytes())
    engine = engines.open(three_segments)
    with caplog.at_level(logging.WARNING, logger="timkiem.engine"):
        got = engine.search(request)
    assert "rebuilding segment" in caplog.text
    assert [(h["id"], h["score"]) for h in got["hits"]] == [
        (h["id"], h["score"]) for h in expected["hits"]
    ]
    assert got["total"] == expected["total"]


def test_merged_and_replaced_segments_take_their_data_files_with_them(
    settings: Settings, tmp_path: Path, engines: Engines
) -> None:
    records = _records()
    indexer = Indexer(settings)
    for n in range(12):  # enough small commits for Whoosh to merge some
        indexer.ingest([str(write_jsonl(tmp_path / f"{n}.jsonl", records[n::12]))])
    engine = engines.open(settings)
    snap = engine.snapshot()
    live = {s.segment_id for s in snap.segments}
    on_disk = {p.name.split(".")[0] for p in _segment_files(settings)}
    assert on_disk == live  # one file per live segment, none left behind
    assert len(live) < 12  # Whoosh merged some
    assert engine.search(SearchRequest(per_page=1))["total"] == len(records)


def test_vectorised_hashes_are_fnv1a_of_each_key() -> None:
    def fnv1a(data: bytes) -> int:
        state = 0xCBF29CE484222325
        for byte in data:
            state = ((state ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        return state

    keys = [b"", b"a", "body_f\x00công".encode(), b"title_b\x00cong_doan" * 3, b"z" * 70]
    keys += [f"title_f\x00{n}".encode() for n in range(100)]  # enough for the NumPy path
    assert segdata.key_hashes(keys).tolist() == [fnv1a(k) for k in keys]
    assert segdata.key_hashes(keys[:5]).tolist() == [fnv1a(k) for k in keys[:5]]
