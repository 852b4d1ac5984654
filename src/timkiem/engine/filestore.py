"""Whoosh file storage whose commits are durable and whose reads are positional."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile


def fsync_directory(path: str | Path) -> None:
    """Make a directory's entries (new, renamed and removed files) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_on_close(stream: StructFile) -> None:
    handle = stream.file
    handle.flush()
    os.fsync(handle.fileno())


class PositionalFile(StructFile):
    """A read-only ``StructFile`` whose random reads are one ``pread`` each.

    Whoosh reads terms, postings and stored fields with ``get(position,
    length)``: a seek and a buffered read, which refills an 8 KB buffer for a
    few bytes and moves the shared file position. ``os.pread`` reads just the
    bytes asked for and leaves the position alone.
    """

    def get(self, position: int, length: int) -> bytes:
        return os.pread(self._fileno, length, position)

    @property
    def _fileno(self) -> int:
        return int(self.file.fileno())


class DurableFileStorage(FileStorage):
    """A Whoosh ``FileStorage`` whose files and renames reach the disk."""

    def create_file(
        self, name: str, excl: bool = False, mode: str = "wb", **kwargs: Any
    ) -> StructFile:
        stream = super().create_file(name, excl=excl, mode=mode, **kwargs)
        stream.onclose = _fsync_on_close
        return stream

    def open_file(self, name: str, **kwargs: Any) -> StructFile:
        return PositionalFile(open(self._fpath(name), "rb"), name=name, **kwargs)

    def rename_file(self, oldname: str, newname: str, safe: bool = False) -> None:
        super().rename_file(oldname, newname, safe=safe)
        fsync_directory(self.folder)

    def temp_storage(self, name: str | None = None) -> FileStorage:
        # Scratch space of multi-process writers: no need to be durable.
        return FileStorage.temp_storage(self, name)
