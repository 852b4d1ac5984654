"""Read replicas: the writer publishes immutable generations, replicas pull them.

The writer's index directory holds, beside its own generations, a publish
directory that is itself an index directory (``CURRENT`` and ``gen-NNNNNN/``)::

    index/
      CURRENT, LOCK, gen-000007/        the writer's own index (ingest commits here)
      published/
        CURRENT                         the newest published generation
        gen-000003/  gen-000004/        complete Whoosh indexes, never changed again
          MANIFEST.json                 each file's size and SHA-256, the article count

An ingest commits new segments into the writer's live generation folder, so
that folder changes; a published generation must not. :func:`publish` takes
the writer lock (no commit can be under way), reads the live commit's table of
contents, and hard-links that file and its segments' files into a new
published generation (copied where the file system cannot link). Whoosh
never rewrites a file it wrote: a later commit or merge writes new files and
deletes old names, so the linked files keep the commit as it was.

:func:`pull` copies the source's live published generation into a replica's
own index directory under a temporary name, checks every file against the
manifest and opens the index, then renames it to its generation name and
switches the replica's ``CURRENT`` in one rename: a running ``timkiem serve``
answers from the old generation until its next request after the switch, and
from the new one after. The generation before stays on disk (in-flight
requests, and a way back); older ones are removed. The source is the writer's
index directory (or its ``published/``), or an ``http(s)://`` URL where that
``published/`` folder is served as static files.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from timkiem.config import Settings
from timkiem.engine.filestore import DurableFileStorage, fsync_directory
from timkiem.errors import IndexUnavailable, ReplicationError, TimkiemError
from timkiem.storage import CURRENT, INDEX_NAME, IndexDirectory, storage_errors

log = logging.getLogger("timkiem.replication")

PUBLISHED = "published"
MANIFEST = "MANIFEST.json"
MANIFEST_FORMAT = 1
KEEP = 2  # the live generation and the one before
_CHUNK = 1 << 20
_HTTP_TIMEOUT = 30.0


# -- the manifest ---------------------------------------------------------------


@dataclass(frozen=True)
class FileEntry:
    """One file of a published generation: its size and SHA-256."""

    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What a published generation holds; written last, read first."""

    id: str  # unique per publication: tells two generations of the same name apart
    generation: str
    source_generation: str  # the writer's generation it was taken from
    commit: int  # that generation's commit (its table of contents' number)
    articles: int
    published: str  # UTC, ISO 8601
    files: dict[str, FileEntry]

    @property
    def size(self) -> int:
        return sum(entry.size for entry in self.files.values())

    def to_json(self) -> str:
        data = {
            "format": MANIFEST_FORMAT,
            "id": self.id,
            "generation": self.generation,
            "source_generation": self.source_generation,
            "commit": self.commit,
            "articles": self.articles,
            "published": self.published,
            "files": {
                name: {"size": entry.size, "sha256": entry.sha256}
                for name, entry in sorted(self.files.items())
            },
        }
        return json.dumps(data, indent=1) + "\n"

    @classmethod
    def parse(cls, raw: bytes, where: str) -> Manifest:
        """The manifest in ``raw``; ``ReplicationError`` naming ``where`` if it is not one."""
        try:
            data = json.loads(raw)
            if data.get("format") != MANIFEST_FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {MANIFEST_FORMAT}")
            files = {
                _safe_name(name, where): FileEntry(int(entry["size"]), str(entry["sha256"]))
                for name, entry in data["files"].items()
            }
            manifest = cls(
                id=str(data["id"]),
                generation=str(data["generation"]),
                source_generation=str(data["source_generation"]),
                commit=int(data["commit"]),
                articles=int(data["articles"]),
                published=str(data["published"]),
                files=files,
            )
        except ReplicationError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ReplicationError(
                f"{where} is not a timkiem manifest ({type(exc).__name__}: {exc}); "
                "publish the generation again on the writer with 'timkiem publish'"
            ) from None
        if not IndexDirectory.is_generation_name(manifest.generation):
            raise ReplicationError(f"{where} names no generation ({manifest.generation!r})")
        return manifest


def _safe_name(name: str, where: str) -> str:
    """A file name of a manifest, refused if it could leave its folder."""
    if not name or "/" in name or "\\" in name or name.startswith(".") or name == MANIFEST:
        raise ReplicationError(f"{where} lists a file named {name!r}, which timkiem never writes")
    return name


def read_manifest(folder: Path) -> Manifest | None:
    """The manifest of a generation folder, or None if it has none."""
    path = folder / MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    return Manifest.parse(raw, str(path))


# -- files ------------------------------------------------------------------------


def _hash_file(path: Path) -> FileEntry:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileEntry(size, digest.hexdigest())


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_or_copy(source: Path, target: Path) -> None:
    """Hard-link ``source`` as ``target``; copy it where the file system cannot link."""
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        shutil.copyfile(source, target)
        _fsync_file(target)


def _write_durably(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- publishing -------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """What :func:`publish` did: the published generation and whether it is new."""

    manifest: Manifest
    new: bool
    seconds: float

    def summary(self) -> str:
        m = self.manifest
        taken = f"{m.source_generation}, commit {m.commit}"
        if not self.new:
            return f"{m.generation} already holds the live commit ({taken}); nothing published"
        return (
            f"published {m.generation}: {m.articles} articles, {len(m.files)} files, "
            f"{m.size / 1e6:.1f} MB from {taken} in {self.seconds:.1f} s"
        )


def publish_directory(index: str | Path) -> Path:
    """Where the writer with index directory ``index`` publishes its generations."""
    return Path(index) / PUBLISHED


def publish(settings: Settings) -> Published:
    """Publish the writer's live commit as a new, immutable generation.

    Holds the writer lock while linking and hashing the commit's files (an
    ingest waits up to ``lock_timeout``). Publishing a commit already
    published does nothing.
    """
    started = time.monotonic()
    writer = IndexDirectory(settings.index)
    area = IndexDirectory(publish_directory(settings.index))
    if writer.current_name() is None:
        writer.open_current()  # says there is no index, before the lock creates its folder
    with (
        storage_errors(writer.path, "publishing"),
        writer.writer_lock(settings.lock_timeout),
    ):
        index = writer.open_current()
        source = writer.current_name() or ""
        commit = int(index.latest_generation())
        latest = area.current_name() if area.path.exists() else None
        if latest is not None:
            previous = read_manifest(area.path / latest)
            if (
                previous is not None
                and previous.source_generation == source
                and previous.commit == commit
            ):
                return Published(previous, False, time.monotonic() - started)
        folder = writer.path / source
        names = [f"_{INDEX_NAME}_{commit}.toc"]
        listing = sorted(os.listdir(folder))
        for segment in index._segments():
            prefix = segment.segment_id() + "."
            names += [name for name in listing if name.startswith(prefix)]
        area.path.mkdir(exist_ok=True)
        _remove_temporary(area.path)
        name = area.next_generation_name()
        with _installing(area, area.path / f".{name}.tmp", name) as staging:
            files = {}
            for file_name in names:
                _link_or_copy(folder / file_name, staging / file_name)
                files[file_name] = _hash_file(staging / file_name)
            manifest = Manifest(
                id=uuid.uuid4().hex,
                generation=name,
                source_generation=source,
                commit=commit,
                articles=int(index.doc_count()),
                published=_now(),
                files=files,
            )
            _write_durably(staging / MANIFEST, manifest.to_json())
    log.debug("published %s (%s, commit %d)", name, source, commit)
    return Published(manifest, True, time.monotonic() - started)


@contextmanager
def _installing(area: IndexDirectory, staging: Path, name: str) -> Iterator[Path]:
    """``staging``, a new folder for the block to fill; then it is fsynced, renamed
    to generation ``name`` of ``area`` and made live, the older ones beyond
    ``KEEP`` removed. A failure in the block removes the folder, nothing switches."""
    staging.mkdir()
    try:
        yield staging
        fsync_directory(staging)
        os.rename(staging, area.path / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_directory(area.path)
    area.switch_to(name)
    area.remove_old_generations(keep=KEEP)


def _remove_temporary(folder: Path) -> None:
    """Remove staging folders a killed publish or pull left (call it holding the lock)."""
    for entry in folder.iterdir():
        if entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.is_dir():
            log.warning("removing %s, left by a publish or pull that did not finish", entry)
            shutil.rmtree(entry, ignore_errors=True)


# -- sources ------------------------------------------------------------------------


class DirectorySource:
    """Published generations in a directory: the writer's index or its ``published/``."""

    def __init__(self, path: str | Path) -> None:
        self.given = Path(path)

    @property
    def path(self) -> Path:
        """The folder of ``CURRENT``: ``published/`` once the writer has published there."""
        inner = publish_directory(self.given)
        return inner if inner.is_dir() else self.given

    @property
    def label(self) -> str:
        return str(self.path)

    def where(self, name: str) -> str:
        return str(self.path / name)

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        """Read the file ``name`` (``gen-NNNNNN/FILE`` or ``CURRENT``)."""
        try:
            handle = open(self.path / name, "rb")
        except FileNotFoundError:
            raise _missing(self, name) from None
        with handle:
            yield handle


class HttpSource:
    """Published generations served as static files over HTTP(S) (e.g. by nginx)."""

    def __init__(self, url: str) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.label = self.url

    def where(self, name: str) -> str:
        return urllib.parse.urljoin(self.url, name)

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        """Fetch the file ``name``; a 404 is a missing file."""
        url = self.where(name)
        try:
            response = urllib.request.urlopen(url, timeout=_HTTP_TIMEOUT)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 404:
                raise _missing(self, name) from None
            raise ReplicationError(
                f"{url}: the server answered {exc.code} {exc.reason}; "
                "check that it serves the writer's published/ folder"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ReplicationError(
                f"{url}: cannot fetch it ({reason}); check the URL and that the writer's "
                "web server is up; the replica keeps its generation"
            ) from None
        with response:
            yield response


Source = DirectorySource | HttpSource


def open_source(source: str) -> Source:
    """The source of published generations named by ``source`` (a path or a URL)."""
    scheme = urllib.parse.urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        return HttpSource(source)
    if scheme and len(scheme) > 1:
        raise ReplicationError(
            f"{source}: unknown scheme {scheme!r}; give a directory or an http(s):// URL"
        )
    return DirectorySource(source)


def _missing(source: Source, name: str) -> ReplicationError:
    if name == CURRENT:
        return ReplicationError(
            f"{source.where(name)} not found: nothing has been published at {source.label}; "
            "run 'timkiem publish' on the writer, and give its index directory (or the URL "
            "serving its published/ folder)"
        )
    if name.endswith(f"/{MANIFEST}") and isinstance(source, DirectorySource):
        if (source.path / name).parent.is_dir():
            return ReplicationError(
                f"{source.where(name)} not found: {source.label} is a writer's own index, "
                "nothing has been published from it; run 'timkiem publish' on the writer"
            )
    return ReplicationError(
        f"{source.where(name)} not found: the writer removed that generation while it was "
        "copied (two newer ones were published); run 'timkiem pull' again"
    )


def _read(source: Source, name: str) -> bytes:
    with source.open(name) as handle:
        return handle.read()


def source_generation(source: Source) -> str:
    """The name of the source's live published generation."""
    name = _read(source, CURRENT).decode("ascii", "replace").strip()
    if not IndexDirectory.is_generation_name(name):
        raise ReplicationError(f"{source.where(CURRENT)} names no generation ({name[:40]!r})")
    return name


# -- pulling -------------------------------------------------------------------------


@dataclass(frozen=True)
class Pulled:
    """What :func:`pull` did: the source's generation and whether it was copied."""

    manifest: Manifest
    source: str
    new: bool
    seconds: float

    def summary(self) -> str:
        m = self.manifest
        if not self.new:
            return f"up to date: {m.generation} ({m.articles} articles) from {self.source}"
        return (
            f"pulled {m.generation} from {self.source}: {m.articles} articles, "
            f"{m.size / 1e6:.1f} MB in {self.seconds:.1f} s; now live"
        )


def pull(settings: Settings, source: str | Source) -> Pulled:
    """Make the source's live published generation this replica's live generation.

    Nothing changes unless every file matches the manifest and the index
    opens with the manifest's article count.
    """
    started = time.monotonic()
    origin = open_source(source) if isinstance(source, str) else source
    name = source_generation(origin)
    manifest = Manifest.parse(
        _read(origin, f"{name}/{MANIFEST}"), origin.where(f"{name}/{MANIFEST}")
    )
    replica = IndexDirectory(settings.index)
    with (
        storage_errors(replica.path, "pulling"),
        replica.writer_lock(settings.lock_timeout),
    ):
        live = _live_or_none(replica)
        if live == name:
            mine = read_manifest(replica.path / name)
            if mine is not None and mine.id == manifest.id:
                return Pulled(manifest, origin.label, False, time.monotonic() - started)
            raise ReplicationError(
                f"{replica.path / name} is live here but is not the {name} published at "
                f"{origin.label} (the writer's published/ folder was started anew); move "
                f"{replica.path} aside and pull into an empty directory"
            )
        _remove_temporary(replica.path)
        if (replica.path / name).exists():  # a pull that stopped between rename and switch
            replica.remove_generation(name)
        with _installing(replica, replica.path / f".pull-{name}.tmp", name) as staging:
            for file_name, entry in manifest.files.items():
                _fetch(origin, f"{name}/{file_name}", staging / file_name, entry)
            _write_durably(staging / MANIFEST, manifest.to_json())
            _check_index(staging, manifest, origin.where(name))
    log.debug("pulled %s from %s", name, origin.label)
    return Pulled(manifest, origin.label, True, time.monotonic() - started)


def _live_or_none(replica: IndexDirectory) -> str | None:
    """The replica's live generation; None for a new one or a damaged ``CURRENT``
    (which the pull then replaces)."""
    try:
        return replica.current_name()
    except IndexUnavailable:
        return None


def _fetch(origin: Source, name: str, target: Path, entry: FileEntry) -> None:
    """Copy ``name`` from ``origin`` to ``target``, checking its size and SHA-256."""
    digest = hashlib.sha256()
    size = 0
    with origin.open(name) as source, open(target, "wb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if size != entry.size or digest.hexdigest() != entry.sha256:
        what = f"{size} bytes" if size != entry.size else "a different SHA-256"
        raise ReplicationError(
            f"{origin.where(name)}: {what} than its manifest says ({entry.size} bytes, "
            f"SHA-256 {entry.sha256[:12]}...): the published copy is damaged or was "
            "changed; nothing was switched; publish again on the writer"
        )


def _check_index(folder: Path, manifest: Manifest, where: str) -> None:
    """Open the copied index; it must hold the manifest's article count."""
    try:
        index = DurableFileStorage(str(folder)).open_index(INDEX_NAME)
        articles = int(index.doc_count())
    except Exception as exc:  # whoosh raises many kinds on damaged files
        raise ReplicationError(
            f"{where}: the copied index does not open ({type(exc).__name__}: {exc}); "
            "nothing was switched; publish again on the writer"
        ) from None
    if articles != manifest.articles:
        raise ReplicationError(
            f"{where}: the copied index holds {articles} articles, its manifest "
            f"{manifest.articles}; nothing was switched; publish again on the writer"
        )


def follow(
    settings: Settings,
    source: str,
    interval: float,
    report: Callable[[Pulled | None, TimkiemError | None], None],
    stopped: Callable[[], bool] = lambda: False,
) -> None:
    """Pull from ``source`` every ``interval`` seconds until ``stopped()``.

    Each new generation is passed to ``report``; a failed pull too (as the
    error: a source mid-publish or unreachable is tried again next time).
    """
    origin = open_source(source)
    while not stopped():
        began = time.monotonic()
        try:
            pulled = pull(settings, origin)
        except TimkiemError as exc:  # unreachable, mid-publish, disk full: tried again
            report(None, exc)
        else:
            if pulled.new:
                report(pulled, None)
        time.sleep(max(0.0, interval - (time.monotonic() - began)))


__all__ = [
    "MANIFEST",
    "PUBLISHED",
    "DirectorySource",
    "HttpSource",
    "Manifest",
    "Published",
    "Pulled",
    "follow",
    "open_source",
    "publish",
    "publish_directory",
    "pull",
    "read_manifest",
    "source_generation",
]
