"""Faults an operator meets: a full disk, a read-only or someone else's index directory.

Each must give one line naming the path, what happened and what to do, a
non-zero exit status, and leave the index byte for byte as it was.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES, ROOT, write_jsonl
from timkiem.config import Settings
from timkiem.errors import StorageError
from timkiem.indexer import Indexer
from timkiem.search import SearchEngine
from timkiem.storage import DurableFileStorage

NEW = [{"id": f"new-{n}", "title": f"Bài mới số {n}", "body": "công đoàn " * 50} for n in range(30)]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


class _FullDisk:
    """A file whose writes fail with ENOSPC once the disk's ``budget`` bytes are used."""

    def __init__(self, handle: Any, disk: dict[str, int]) -> None:
        self._handle = handle
        self._disk = disk

    def write(self, data: bytes) -> int:
        if self._disk["used"] + len(data) > self._disk["budget"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._disk["used"] += len(data)
        written: int = self._handle.write(data)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def fill_disk_after(monkeypatch: pytest.MonkeyPatch, budget: int) -> dict[str, int]:
    """Make every index file written from now on fail once ``budget`` bytes are written."""
    disk = {"used": 0, "budget": budget}
    real = DurableFileStorage.create_file

    def create_file(self: DurableFileStorage, name: str, *args: Any, **kwargs: Any) -> Any:
        stream = real(self, name, *args, **kwargs)
        stream.file = _FullDisk(stream.file, disk)
        return stream

    monkeypatch.setattr(DurableFileStorage, "create_file", create_file)
    return disk


@pytest.fixture
def loaded(settings: Settings) -> Path:
    Indexer(settings).ingest([str(EXAMPLES)])
    return Path(settings.index)


def bytes_of_an_ingest(tmp_path: Path, batch: Path) -> int:
    """Bytes the index files of ingesting ``batch`` over the samples take."""
    settings = Settings.load({"index": str(tmp_path / "measure")}, environ={})
    Indexer(settings).ingest([str(EXAMPLES)])
    with pytest.MonkeyPatch.context() as patch:
        disk = fill_disk_after(patch, 10**12)
        Indexer(settings).ingest([str(batch)])
    return disk["used"]


def articles(settings: Settings) -> int:
    engine = SearchEngine(settings)
    try:
        count: int = engine.stats()["articles"]
        return count
    finally:
        engine.close()


@pytest.mark.parametrize("when", ["first byte", "mid-segment", "table of contents"])
def test_full_disk_during_ingest_keeps_the_index_byte_for_byte(
    settings: Settings, loaded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    batch = write_jsonl(tmp_path / "new.jsonl", NEW)
    needed = bytes_of_an_ingest(tmp_path, batch)
    budget = {"first byte": 0, "mid-segment": needed // 2, "table of contents": needed - 1}[when]
    before = snapshot(loaded)
    fill_disk_after(monkeypatch, budget)
    with pytest.raises(StorageError) as raised:
        Indexer(settings).ingest([str(batch)])
    message = str(raised.value)
    assert "\n" not in message
    assert "No space left on device (ENOSPC) while ingesting" in message
    assert str(loaded) in message and "Free space on the disk" in message
    assert "run the command again" in message
    assert snapshot(loaded) == before  # nothing lost, nothing left behind
    monkeypatch.undo()  # space is freed: the next ingest works
    assert Indexer(settings).ingest([str(batch)]).added == len(NEW)
    assert articles(settings) == 47 + len(NEW)


def test_full_disk_during_reindex_keeps_the_live_index(
    settings: Settings, loaded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = write_jsonl(tmp_path / "new.jsonl", NEW)
    before = snapshot(loaded)
    fill_disk_after(monkeypatch, 5000)
    with pytest.raises(StorageError, match="while reindexing"):
        Indexer(settings).reindex([str(batch)])
    assert snapshot(loaded) == before  # no half-built generation is left
    monkeypatch.undo()
    assert Indexer(settings).reindex([str(batch)]).generation == "gen-000002"


def test_full_disk_during_delete(
    settings: Settings, loaded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(loaded)
    fill_disk_after(monkeypatch, 0)
    with pytest.raises(StorageError, match="while deleting"):
        Indexer(settings).delete(["bk-0001"])
    assert snapshot(loaded) == before
    monkeypatch.undo()
    assert Indexer(settings).delete(["bk-0001"]) == 1


_INJECT = """
import errno, os, sys
from timkiem.storage import DurableFileStorage
real = DurableFileStorage.create_file
def create_file(self, name, *args, **kwargs):
    stream = real(self, name, *args, **kwargs)
    class Full:
        def __init__(self, handle): self.handle = handle
        def write(self, data): raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        def __getattr__(self, name): return getattr(self.handle, name)
    stream.file = Full(stream.file)
    return stream
DurableFileStorage.create_file = create_file
from timkiem.cli import main
sys.argv[0] = "timkiem"
main()
"""


def test_full_disk_in_the_command_is_one_line(loaded: Path, tmp_path: Path) -> None:
    batch = write_jsonl(tmp_path / "new.jsonl", NEW)
    before = snapshot(loaded)
    proc = subprocess.run(
        [sys.executable, "-c", _INJECT, "ingest", str(batch), "--index", str(loaded)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: ") and str(loaded) in lines[0]
    assert "No space left on device (ENOSPC)" in lines[0]
    assert snapshot(loaded) == before


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A real 4 MB file system (tmpfs), for a disk that really fills; root only."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    mount_point = Path(tempfile.mkdtemp(prefix="timkiem-small-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        mount_point.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)
        mount_point.rmdir()


def test_a_disk_that_really_fills(small_disk: Path, tmp_path: Path) -> None:
    index = small_disk / "index"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMKIEM_")}
    first = subprocess.run(
        [sys.executable, "-m", "timkiem", "ingest", str(EXAMPLES), "--index", str(index)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert first.returncode == 0, first.stderr
    before = snapshot(index)
    words = " ".join(f"từ{n}" for n in range(20000))  # distinct words: a large index
    big = [{"id": f"big-{n}", "title": f"Bài {n}", "body": words} for n in range(60)]
    batch = write_jsonl(tmp_path / "big.jsonl", big)  # needs far more than the disk holds
    proc = subprocess.run(
        [sys.executable, "-m", "timkiem", "ingest", str(batch), "--index", str(index)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("Error: ")
    assert "No space left on device (ENOSPC) while ingesting" in proc.stderr
    assert snapshot(index) == before
    assert articles(Settings.load({"index": str(index)}, environ={})) == 47  # still opens


def test_read_only_file_system(
    settings: Settings, loaded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def read_only(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    before = snapshot(loaded)
    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(StorageError) as raised:
        Indexer(settings).ingest([str(EXAMPLES)])
    message = str(raised.value)
    assert message.startswith(f"{loaded / 'LOCK'}: Read-only file system (EROFS): ")
    assert "nothing was written" in message and "Remount" in message
    monkeypatch.undo()
    assert snapshot(loaded) == before


def test_permission_denied_names_the_fix(
    settings: Settings, loaded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def denied(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    before = snapshot(loaded)
    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(StorageError) as raised:
        Indexer(settings).delete(["bk-0001"])
    message = str(raised.value)
    assert message.startswith(f"{loaded / 'LOCK'}: Permission denied (EACCES) while deleting")
    assert "chmod -R u+rwX" in message  # the directory is ours: make it writable
    monkeypatch.undo()
    assert snapshot(loaded) == before


def test_an_index_another_user_owns_injected(
    settings: Settings, loaded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index belongs to someone else than the user timkiem runs as."""
    import pwd

    owner = loaded.stat().st_uid
    other = next(u for u in pwd.getpwall() if u.pw_uid != owner)
    real_open = os.open

    def denied(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    monkeypatch.setattr(os, "geteuid", lambda: other.pw_uid)
    with pytest.raises(StorageError) as raised:
        Indexer(settings).ingest([str(EXAMPLES)])
    me, them = other.pw_name, pwd.getpwuid(owner).pw_name
    assert f"it belongs to {them} and timkiem runs as {me}" in str(raised.value)
    assert f"'sudo -u {them} timkiem ...'" in str(raised.value)
    assert f"'chown -R {me} {loaded}'" in str(raised.value)


def test_read_only_directory_for_real(settings: Settings, loaded: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only directories; the injected EROFS test covers it")
    before = snapshot(loaded)
    modes = {p: p.stat().st_mode for p in [loaded, *loaded.iterdir()]}
    for path in modes:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        with pytest.raises(StorageError, match="Permission denied"):
            Indexer(settings).ingest([str(EXAMPLES)])
    finally:
        for path, mode in modes.items():
            path.chmod(mode)
    assert snapshot(loaded) == before


def test_an_index_another_user_owns(tmp_path: Path) -> None:
    """Run as ``nobody`` against root's index: the message says whose it is and what to do."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run a command as another user")
    try:
        import pwd

        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user 'nobody' on this machine")
    shared = Path(tempfile.mkdtemp(prefix="timkiem-owned-"))
    try:
        shared.chmod(0o755)
        index = shared / "index"
        Indexer(Settings.load({"index": str(index)}, environ={})).ingest([str(EXAMPLES)])
        batch = write_jsonl(shared / "new.jsonl", NEW)
        batch.chmod(0o644)
        before = snapshot(index)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIMKIEM_")}
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "timkiem", "ingest", str(batch), "--index", str(index)],
                capture_output=True,
                text=True,
                env={**env, "HOME": str(shared), "PYTHONDONTWRITEBYTECODE": "1"},
                cwd=str(shared),
                user=nobody.pw_uid,
                group=nobody.pw_gid,
                extra_groups=[],
                timeout=120,
            )
        except PermissionError as exc:
            pytest.skip(f"'nobody' cannot run this Python ({exc}); the injected test covers it")
        if "ModuleNotFoundError" in proc.stderr or f"Permission denied: '{ROOT}" in proc.stderr:
            pytest.skip(f"'nobody' cannot run timkiem from {ROOT}: {proc.stderr[-200:]}")
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        line = proc.stderr.strip()
        assert "\n" not in line
        assert line.startswith(f"Error: {index / 'LOCK'}: Permission denied (EACCES) while ")
        assert "it belongs to root and timkiem runs as nobody" in line
        assert "sudo -u root timkiem" in line and f"chown -R nobody {index}" in line
        assert snapshot(index) == before
    finally:
        shutil.rmtree(shared)
