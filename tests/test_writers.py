"""One writer at a time: a second ingest waits, then fails clearly; never corruption."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conftest import EXAMPLES, write_jsonl
from timkiem.config import Settings
from timkiem.indexer import Indexer
from timkiem.storage import IndexDirectory


def timkiem(index: Path, *args: str, timeout: float = 10.0) -> subprocess.Popen[str]:
    env = dict(os.environ, TIMKIEM_LOCK_TIMEOUT=str(timeout))
    return subprocess.Popen(
        [sys.executable, "-m", "timkiem", args[0], "--index", str(index), *args[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@contextmanager
def lock_held(index: Path, seconds: float) -> Iterator[int]:
    """Another process holds the writer lock for ``seconds``; yields its pid."""
    code = (
        "import sys, time\n"
        "from timkiem.storage import IndexDirectory\n"
        "with IndexDirectory(sys.argv[1]).writer_lock(1.0):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(float(sys.argv[2]))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(index), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def all_ids(settings: Settings) -> list[str]:
    """Every article id in the live index, read from the stored records."""
    index = IndexDirectory(settings.index).open_current()
    with index.searcher() as searcher:
        found = [json.loads(f["record"])["id"] for f in searcher.reader().all_stored_fields()]
        assert searcher.doc_count() == len(found)
    return sorted(found)


def test_second_writer_waits_then_fails_with_a_clear_message(
    settings: Settings, tmp_path: Path
) -> None:
    Indexer(settings).ingest([str(EXAMPLES)])
    before = all_ids(settings)
    toc_before = sorted(p.name for p in (Path(settings.index) / "gen-000001").iterdir())
    batch = write_jsonl(tmp_path / "b.jsonl", [{"id": "new", "title": "Bài mới"}])
    with lock_held(Path(settings.index), 30) as holder:
        started = time.monotonic()
        proc = timkiem(Path(settings.index), "ingest", str(batch), timeout=0.6)
        out, err = proc.communicate(timeout=30)
        waited = time.monotonic() - started
    assert proc.returncode == 1
    assert waited >= 0.6
    assert f"is locked by process {holder}" in err
    assert "gave up after 0.6 s" in err and "TIMKIEM_LOCK_TIMEOUT" in err
    assert "Traceback" not in err
    assert all_ids(settings) == before
    assert sorted(p.name for p in (Path(settings.index) / "gen-000001").iterdir()) == toc_before


def test_second_writer_proceeds_once_the_first_is_done(settings: Settings, tmp_path: Path) -> None:
    batch = write_jsonl(tmp_path / "b.jsonl", [{"id": "new", "title": "Bài mới"}])
    with lock_held(Path(settings.index), 1.0):
        started = time.monotonic()
        proc = timkiem(Path(settings.index), "ingest", str(batch), timeout=20)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert time.monotonic() - started >= 0.9  # it waited for the holder
    assert "1 added" in out
    assert all_ids(settings) == ["new"]


def test_concurrent_ingests_and_reindex_never_corrupt(settings: Settings, tmp_path: Path) -> None:
    """Four real writers at once on one index: each commit whole, none lost."""
    index = Path(settings.index)
    Indexer(settings).ingest([str(EXAMPLES)])
    batches = []
    for n in range(3):
        records = [{"id": f"w{n}-{i}", "title": f"công đoàn {n} {i}"} for i in range(40)]
        batches.append(write_jsonl(tmp_path / f"w{n}.jsonl", records))
    procs = [timkiem(index, "ingest", str(b), timeout=60) for b in batches]
    procs.append(timkiem(index, "reindex", str(EXAMPLES), str(batches[0]), timeout=60))
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err for _, err in results]
    found = all_ids(settings)
    # the reindex rebuilt from the sample and batch 0; the ingests after it kept
    # their articles, the ones before it were replaced by the rebuild
    sample = {line.split('"id": "')[1].split('"')[0] for line in EXAMPLES.read_text().splitlines()}
    assert sample <= set(found)
    assert {f"w0-{i}" for i in range(40)} <= set(found)
    for n in (1, 2):
        mine = {f"w{n}-{i}" for i in range(40)}
        assert mine <= set(found) or not mine & set(found)  # all or nothing
    assert len(found) == len(set(found))
    assert IndexDirectory(index).current_name() is not None
