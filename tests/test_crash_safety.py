"""Crash safety: killed writers, durable commits, stale locks, leftover builds."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT, Engines, make_settings, write_jsonl
from timkiem.config import Settings
from timkiem.errors import InvalidInput
from timkiem.indexer import Indexer
from timkiem.search import SearchRequest
from timkiem.storage import LOCK, IndexDirectory


def test_crash_loop_short(tmp_path: Path, engines: Engines) -> None:
    """A few SIGKILLs of real `timkiem ingest`/`reindex` processes (the script does 50+)."""
    argv = ["--kills", "4", "--batch", "60", "--reindex-every", "3", "--work", str(tmp_path)]
    script = ROOT / "scripts" / "crash_loop.py"
    done = subprocess.run(
        [sys.executable, str(script), *argv, "--quiet"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "kills survived: 4" in done.stdout
    # the kills really happened: the ingest after a kill wrote the probe article, and a
    # fresh reader finds it with the revision of a round of the loop
    probe = engines.open(make_settings(tmp_path / "index")).article("crash-probe")
    assert probe["title"] == "kiểm tra sau sự cố" and probe["crash_rev"] >= 1


def test_commit_fsyncs_every_file_and_directory(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to name the fsynced files")
    monkeypatch.setattr(os, "fsync", recording_fsync)
    Indexer(settings).ingest([str(EXAMPLES)])
    index = Path(settings.index).resolve()
    live = index / IndexDirectory(index).current_name()  # type: ignore[operator]
    files = [str(p) for p in live.iterdir() if p.name != "MAIN_WRITELOCK"]
    assert len(files) >= 2  # a segment and the table of contents
    for name in files:
        assert_synced_then_renamed(name, live, synced)
    assert_synced_then_renamed(str(index / "CURRENT"), index, synced)

    # a later ingest (same generation) syncs its segment and its new TOC
    synced.clear()
    Indexer(settings).ingest([str(EXAMPLES)])
    tocs = [str(p) for p in live.iterdir() if p.name.endswith(".toc")]
    assert tocs == [str(live / "_MAIN_2.toc")]
    assert_synced_then_renamed(tocs[0], live, synced)


def assert_synced_then_renamed(name: str, folder: Path, synced: list[str]) -> None:
    """``name`` (or the temporary file renamed to it) was fsynced, then its folder."""
    final = Path(name).name
    writes = [i for i, path in enumerate(synced) if Path(path).name.lstrip(".").startswith(final)]
    assert writes, f"{name} was never fsynced"
    assert str(folder) in synced[writes[0] :], f"{folder} not fsynced after {name}"


def _kill_while_holding_lock(index: Path) -> int:
    """Run a writer that takes the lock and is SIGKILLed holding it; its pid."""
    code = (
        "import os, signal, sys\n"
        "from timkiem.storage import IndexDirectory\n"
        "with IndexDirectory(sys.argv[1]).writer_lock(1.0):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(index)], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    return int((index / LOCK).read_text())


def test_stale_lock_is_reported_and_cleared(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    Indexer(settings).ingest([str(EXAMPLES)])
    dead = _kill_while_holding_lock(Path(settings.index))
    new = write_jsonl(tmp_path / "new.jsonl", [{"id": "x1", "title": "Bài mới"}])
    with caplog.at_level(logging.WARNING, logger="timkiem.storage"):
        report = Indexer(make_settings(settings.index, lock_timeout=0.5))
        assert report.ingest([str(new)]).added == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"process {dead}" in m and "stopped without finishing" in m for m in messages)
    assert (Path(settings.index) / LOCK).read_text() == ""  # cleared after a clean exit
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="timkiem.storage"):
        Indexer(settings).delete(["x1"])
    assert not caplog.records  # no false alarm after a clean exit


def test_lock_is_released_when_a_write_fails(settings: Settings, tmp_path: Path) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "x", "title": ""}])
    Indexer(settings).ingest([str(EXAMPLES)])
    with pytest.raises(InvalidInput, match="invalid record"):
        Indexer(settings).ingest([str(bad)])
    assert (Path(settings.index) / LOCK).read_text() == ""


def test_leftover_of_a_killed_reindex_is_removed(
    settings: Settings, tmp_path: Path, engines: Engines
) -> None:
    Indexer(settings).ingest([str(EXAMPLES)])
    index = Path(settings.index)
    leftover = index / "gen-000002"
    leftover.mkdir()
    (leftover / "MAIN_half_written.seg").write_bytes(b"\0" * 100)
    Indexer(settings).reindex([str(EXAMPLES)])
    directory = IndexDirectory(index)
    assert not (leftover / "MAIN_half_written.seg").exists()
    assert directory.current_name() == "gen-000002"
    engine = engines.open(settings)
    assert engine.search(SearchRequest(q="công đoàn"))["total"] > 0


def test_segments_without_dates_or_categories(
    settings: Settings, tmp_path: Path, engines: Engines
) -> None:
    """Found by the crash loop: a segment where no article has a date."""
    dated = write_jsonl(
        tmp_path / "a.jsonl",
        [{"id": "a", "title": "công đoàn", "date": "2020-01-01", "category": "Tin"}],
    )
    undated = write_jsonl(tmp_path / "b.jsonl", [{"id": "b", "title": "công đoàn"}])
    Indexer(settings).ingest([str(dated)])
    Indexer(settings).ingest([str(undated)])
    engine = engines.open(settings)
    result = engine.search(SearchRequest(q="công đoàn"))
    assert result["total"] == 2
    facets = {"year": {"2020": 1}, "month": {"2020-01": 1}, "category": {"Tin": 1}}
    assert result["facets"] == facets
    newest = engine.search(SearchRequest(sort="newest"))
    assert [h["id"] for h in newest["hits"]] == ["a", "b"]  # undated last
    assert engine.search(SearchRequest(category="Tin"))["total"] == 1


def _group(pgid: int) -> list[int]:
    """Processes of a process group that have not exited."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def test_killed_multiprocess_writer_leaves_no_workers_holding_the_lock(
    settings: Settings, tmp_path: Path
) -> None:
    """SIGKILL of a writer with TIMKIEM_INGEST_PROCS=2 (its workers are not signalled)."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to find the worker processes")
    Indexer(settings).ingest([str(EXAMPLES)])
    words = "công đoàn lao động việc làm tiền lương bảo hiểm xã hội".split()
    records = [
        {"id": f"p{i}", "title": " ".join(words[i % 5 :]), "body": " ".join(words * 8)}
        for i in range(8000)
    ]
    batch = write_jsonl(tmp_path / "big.jsonl", records)
    env = dict(os.environ, TIMKIEM_INGEST_PROCS="2")
    command = [sys.executable, "-m", "timkiem", "ingest", "--index", settings.index, str(batch)]
    proc = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its workers share its process group
    )
    deadline = time.monotonic() + 30
    while len(_group(proc.pid)) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if proc.poll() is not None or len(_group(proc.pid)) < 3:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.skip("could not catch the writer while both its workers ran")
    time.sleep(0.3)
    proc.kill()  # the writer only, not its workers
    proc.wait()
    deadline = time.monotonic() + 5
    while _group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = _group(proc.pid)
    if survivors:
        os.killpg(proc.pid, signal.SIGKILL)
    assert survivors == [], "workers outlived the killed writer"
    quick = make_settings(settings.index, lock_timeout=2.0)
    assert Indexer(quick).ingest([str(EXAMPLES)]).replaced == 47
