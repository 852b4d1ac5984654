"""The harness shared by the tests and the scripts (timkiem.testing)."""

from __future__ import annotations

import gzip
import math
import os
import socket
from pathlib import Path

import pytest

from timkiem import testing
from timkiem.testing import (
    corpus_missing,
    free_port,
    percentile,
    read_jsonl_gz,
    read_lines,
    rss_bytes,
    tree_rss_bytes,
)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 1..100, in any order
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile(values, 50) == 50
    assert percentile(values, 7) == 7
    assert percentile(values, 0) == 1
    assert percentile([3.0, 1.0, 2.0], 50) == 2
    assert percentile([4.0], 99) == 4
    assert math.isnan(percentile([], 50))


def test_jsonl_readers_take_gzip_or_plain_and_stop_at_the_limit(tmp_path: Path) -> None:
    text = '{"id": 1}\n\n{"id": 2}\n{"id": 3}\n'
    plain = tmp_path / "a.jsonl"
    plain.write_text(text, encoding="utf-8")
    packed = tmp_path / "a.jsonl.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    for path in (plain, packed):
        assert [r["id"] for r in read_jsonl_gz(path)] == [1, 2, 3]
        assert [r["id"] for r in read_jsonl_gz(path, limit=2)] == [1, 2]
        assert list(read_lines(path, limit=1)) == ['{"id": 1}\n']


def test_a_missing_corpus_file_says_where_it_belongs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "here.jsonl.gz").write_bytes(b"")
    assert corpus_missing("here.jsonl.gz", tmp_path) is None
    reason = corpus_missing("absent.jsonl.gz", tmp_path)
    assert reason is not None
    assert str(tmp_path / "absent.jsonl.gz") in reason
    assert "not part of the repository" in reason and "../shared/corpus/" in reason
    assert str(testing.DEFAULT_CORPUS_DIR) in reason and "TIMKIEM_CORPUS" in reason
    monkeypatch.setenv("TIMKIEM_CORPUS", str(tmp_path))
    assert testing.corpus_dir() == tmp_path
    assert corpus_missing("here.jsonl.gz") is None
    monkeypatch.delenv("TIMKIEM_CORPUS")
    assert testing.corpus_dir() == testing.PROJECT_ROOT.parent / "shared" / "corpus"


def test_memory_readers_see_this_process() -> None:
    own = rss_bytes(os.getpid())
    assert own > 1_000_000
    assert tree_rss_bytes(os.getpid()) >= own
    assert rss_bytes(2**22 + 12345) == 0  # no such process


def test_free_port_is_a_loopback_port_nobody_holds() -> None:
    port = free_port()
    assert 0 < port < 65536
    with socket.socket() as sock:
        sock.bind((testing.LOOPBACK, port))  # free: it can be bound
