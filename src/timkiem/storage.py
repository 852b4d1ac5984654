"""The index directory on disk: generations, durable commits and the writer lock.

Layout of the index directory::

    index/
      CURRENT          name of the live generation, replaced atomically
      LOCK             held (flock) by the one writer; names its process
      gen-000001/      a Whoosh index
      gen-000002/      ...

``reindex`` builds a new generation beside the live one and switches
``CURRENT`` in one rename, so readers see the old index or the new one, never
a mix. Every file Whoosh writes is fsynced when closed, and the directory
after each rename, so a reported commit survives a crash.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import logging
import os
import pwd
import re
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from whoosh.index import EmptyIndexError, FileIndex

from timkiem.engine.filestore import DurableFileStorage, fsync_directory
from timkiem.errors import IndexLocked, IndexUnavailable, StorageError
from timkiem.schema import build_schema

CURRENT = "CURRENT"
LOCK = "LOCK"
INDEX_NAME = "MAIN"
_GEN = re.compile(r"^gen-(\d{6,})$")
TOC_NAME = re.compile(rf"^_{INDEX_NAME}_(\d+)\.toc$")  # a commit's table of contents

log = logging.getLogger("timkiem.storage")
_PR_SET_PDEATHSIG = 1
_held_locks: set[int] = set()  # descriptors of writer locks this process holds


def _after_fork_in_child() -> None:
    """A worker forked by a multi-process writer: let go of the lock, die with the parent.

    Otherwise a writer killed with SIGKILL leaves workers blocked forever on
    their job queue, holding the inherited lock, and no writer can start again.
    Closing the inherited descriptor does not unlock the parent's lock.
    """
    if not _held_locks:
        return
    for fd in _held_locks:
        try:
            os.close(fd)
        except OSError:
            pass
    _held_locks.clear()
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: workers may outlive a killed parent
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


os.register_at_fork(after_in_child=_after_fork_in_child)


def remove_new_files(folder: str | Path, before: set[str]) -> None:
    """Delete the files of ``folder`` not in ``before`` (a cancelled writer's segment).

    Call it holding the writer lock, so that no other writer's files are new.
    New directories (a writer's scratch space) go too.
    """
    for name in set(os.listdir(folder)) - before:
        if name.endswith("WRITELOCK"):
            continue
        path = os.path.join(folder, name)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.remove(path)
        except FileNotFoundError:
            continue


def remove_uncommitted_files(folder: str | Path, before: set[str]) -> None:
    """After a failed commit, delete its new files unless its table of contents went live.

    Whoosh writes the new table of contents (``_MAIN_<n>.toc``) last, by a
    rename: until then no reader sees the new files, so removing them leaves
    the folder as it was. Once it is there the commit is live and is kept.
    """
    new = set(os.listdir(folder)) - before
    if not any(TOC_NAME.match(name) for name in new):
        remove_new_files(folder, before)


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _owner(path: Path) -> int | None:
    """The owner of ``path``, or of its nearest existing parent."""
    for candidate in (path, *path.parents):
        try:
            return candidate.stat().st_uid
        except OSError:
            continue
    return None


def storage_error(exc: OSError, index: str | Path, doing: str) -> StorageError:
    """One line for an operator: the path, what happened, what to do.

    ``doing`` says what the command was doing ("ingesting", ...). The index
    keeps its last completed commit whatever failed.
    """
    index = Path(index)
    path = str(exc.filename or index)
    code = exc.errno
    name = errno.errorcode.get(code or 0, "")
    reason = f"{exc.strerror or exc}" + (f" ({name})" if name else "")
    kept = "the index keeps its last completed commit"
    if code in (errno.ENOSPC, errno.EDQUOT):
        message = (
            f"{path}: {reason} while {doing}; {kept}. "
            f"Free space on the disk holding {index} (see 'df -h {index}') or move the index "
            "to a larger disk, then run the command again"
        )
    elif code == errno.EROFS:
        message = (
            f"{path}: {reason}: the index {index} cannot be written; nothing was written. "
            f"Remount its file system read-write, or point --index (TIMKIEM_INDEX) at a "
            "writable directory"
        )
    elif code in (errno.EACCES, errno.EPERM):
        me, owner = os.geteuid(), _owner(Path(path))
        if owner is not None and owner != me:
            todo = (
                f"it belongs to {_user(owner)} and timkiem runs as {_user(me)}: run the "
                f"command as {_user(owner)} (e.g. 'sudo -u {_user(owner)} timkiem ...') or "
                f"give the index to {_user(me)} ('chown -R {_user(me)} {index}')"
            )
        else:
            todo = f"make {index} writable for {_user(me)} ('chmod -R u+rwX {index}')"
        message = f"{path}: {reason} while {doing}; nothing was written; {todo}"
    else:
        message = (
            f"{path}: {reason} while {doing}; {kept}. Check the disk and the permissions of "
            f"{index}, then run the command again"
        )
    return StorageError(message, path, code)


@contextmanager
def storage_errors(index: str | Path, doing: str) -> Iterator[None]:
    """Turn an ``OSError`` of the index files into a one-line ``StorageError``."""
    try:
        yield
    except OSError as exc:
        log.debug("%s failed", doing, exc_info=True)
        raise storage_error(exc, index, doing) from exc


class IndexDirectory:
    """The index directory: which generation is live, and the writer lock."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._current = os.fspath(self.path / CURRENT)  # stat on every request: no Path join

    # -- generations -------------------------------------------------------

    def current_name(self) -> str | None:
        """The live generation's directory name, or None for a new index."""
        try:
            name = (self.path / CURRENT).read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise IndexUnavailable(
                f"cannot read {self.path / CURRENT} ({exc}); "
                "rebuild the index with 'timkiem reindex FILE'"
            ) from None
        if not _GEN.match(name):
            raise IndexUnavailable(
                f"{self.path / CURRENT} names no generation ({name[:40]!r}); "
                "rebuild the index with 'timkiem reindex FILE'"
            )
        return name

    def current_token(self) -> tuple[int, int] | None:
        """A cheap fingerprint of CURRENT that changes when it is replaced."""
        try:
            st = os.stat(self._current)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns)

    def generations(self) -> list[str]:
        """Every generation directory present, oldest first."""
        if not self.path.is_dir():
            return []
        names = [p.name for p in self.path.iterdir() if _GEN.match(p.name) and p.is_dir()]
        return sorted(names, key=lambda n: int(n[4:]))

    def open_current(self) -> FileIndex:
        """Open the live generation; ``IndexUnavailable`` says what is wrong."""
        if not self.path.exists():
            raise IndexUnavailable(
                f"no index at {self.path}; create one with 'timkiem ingest FILE'"
            )
        name = self.current_name()
        if name is None:
            raise IndexUnavailable(
                f"{self.path} holds no index yet; create one with 'timkiem ingest FILE'"
            )
        return self.open_generation(name)

    def open_generation(self, name: str) -> FileIndex:
        folder = self.path / name
        if not folder.is_dir():
            raise IndexUnavailable(
                f"the live index {folder} is missing; rebuild it with 'timkiem reindex FILE'"
            )
        try:
            return DurableFileStorage(str(folder)).open_index(INDEX_NAME)
        except EmptyIndexError:
            raise IndexUnavailable(
                f"{folder} holds no readable index; rebuild it with 'timkiem reindex FILE'"
            ) from None
        except Exception as exc:  # whoosh raises many kinds on damaged files
            raise IndexUnavailable(
                f"the index in {folder} is damaged ({type(exc).__name__}: {exc}); "
                "rebuild it with 'timkiem reindex FILE'"
            ) from None

    def new_generation(self) -> tuple[str, FileIndex]:
        """Create an empty generation directory (not yet live).

        Call it holding the writer lock: generations newer than the live one
        are then leftovers of builds that never finished, and are removed.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        self.remove_abandoned_generations()
        name = self.next_generation_name()
        folder = self.path / name
        folder.mkdir()
        index = DurableFileStorage(str(folder)).create_index(build_schema(), INDEX_NAME)
        fsync_directory(self.path)
        return name, index

    def next_generation_name(self) -> str:
        """The name the next generation takes: one past the newest present."""
        existing = self.generations()
        number = int(existing[-1][4:]) + 1 if existing else 1
        return f"gen-{number:06d}"

    @staticmethod
    def is_generation_name(name: str) -> bool:
        """Whether ``name`` has the form of a generation's directory name."""
        return _GEN.match(name) is not None

    def switch_to(self, name: str) -> None:
        """Make ``name`` the live generation in one atomic rename."""
        tmp = self.path / f".{CURRENT}.{os.getpid()}.tmp"
        try:
            with open(tmp, "w", encoding="ascii") as handle:
                handle.write(name + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path / CURRENT)
        except BaseException:
            tmp.unlink(missing_ok=True)  # e.g. the disk is full: leave no temporary file
            raise
        fsync_directory(self.path)

    def remove_old_generations(self, keep: int = 2) -> None:
        """Delete all but the newest ``keep`` generations (never the live one)."""
        live = self.current_name()
        for name in self.generations()[:-keep]:
            if name != live:
                shutil.rmtree(self.path / name, ignore_errors=True)

    def remove_abandoned_generations(self) -> None:
        """Delete generations newer than the live one (unfinished builds)."""
        try:
            live = self.current_name()
        except IndexUnavailable:
            return  # CURRENT is damaged: keep everything; a reindex replaces it
        if live is None:
            return
        for name in self.generations():
            if int(name[4:]) > int(live[4:]):
                log.warning("removing %s, left by a build that did not finish", self.path / name)
                shutil.rmtree(self.path / name, ignore_errors=True)

    def remove_generation(self, name: str) -> None:
        shutil.rmtree(self.path / name, ignore_errors=True)

    def generation_probe(self) -> Callable[[], str | None]:
        """A function giving the live generation's name, reread only when CURRENT changes."""
        seen: dict[str, Any] = {"token": object(), "name": None}  # CURRENT when last read

        def live() -> str | None:
            token = self.current_token()
            if token != seen["token"]:
                try:
                    name = self.current_name()
                except IndexUnavailable:  # /health says why
                    name = None
                seen.update(token=token, name=name)
            found: str | None = seen["name"]
            return found

        return live

    # -- the writer lock -----------------------------------------------------

    @contextmanager
    def writer_lock(self, timeout: float) -> Iterator[None]:
        """Hold the one-writer lock, waiting up to ``timeout`` seconds.

        The lock is an ``flock`` on ``LOCK``: the kernel releases it when its
        holder dies, so a killed writer never leaves the index locked. The
        holder writes its pid in ``LOCK`` and erases it when done; a pid found
        there on taking the lock is a writer that died mid-write, whose
        uncommitted changes Whoosh discards: that is reported, then cleared.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
                        who = f" by process {holder}" if holder else ""
                        raise IndexLocked(
                            f"the index {self.path} is locked{who}: another ingest, "
                            f"delete or reindex is running; gave up after {timeout:g} s "
                            "(set TIMKIEM_LOCK_TIMEOUT to wait longer)"
                        ) from None
                    time.sleep(0.05)
            stale = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            if stale:
                log.warning(
                    "the previous writer of %s (process %s) stopped without finishing "
                    "(killed or crashed); its unfinished changes were discarded and its "
                    "lock cleared; the last completed commit is intact",
                    self.path,
                    stale,
                )
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
            _held_locks.add(fd)
            try:
                yield
            finally:
                _held_locks.discard(fd)
                os.ftruncate(fd, 0)  # a clean exit, failed or not, leaves no pid
        finally:
            os.close(fd)
