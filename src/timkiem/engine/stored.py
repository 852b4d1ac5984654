"""A segment's stored fields, read straight from Whoosh's column file.

Whoosh W3 keeps each document's stored fields in the segment's
``<segment id>._stored.col`` (``whoosh.codec.whoosh3.STORED_COLUMN``: a
``PickleColumn`` over a ``CompressedBytesColumn``): the documents' values,
each a zlib-compressed pickle of the document's stored-fields dict, one after
the other; then the value lengths (an array of big-endian integers); maybe
their offsets (written above 32,768 documents); then one or three bytes of
array type codes (``whoosh.columns.VarBytesColumn``).

Whoosh reads a value through its reader stack (a multi-reader, a segment
reader, column readers) under the snapshot's lock. Here the column is opened
once per segment (:class:`StoredColumn`, kept in the segment store) and a
value is one positional read (``os.pread``): no seek, so no lock, and
request threads read records concurrently. The pages stay in the operating
system's cache, shared between processes; a memory map would serve them as
fast but count every page it touched in the server's resident memory (up to
the whole column: 70 MB for 153,825 news items).

A column that does not read back as Whoosh's writer wrote it (type codes,
sizes, offsets, or a value's zlib stream and checksum) raises
:class:`StoredDataError`: damage, never a wrong record.
"""

from __future__ import annotations

import json
import os
import pickle
import weakref
import zlib
from array import array
from collections.abc import Callable
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import W3Codec

COLUMN = "_stored"

Reader = Callable[[int, int], bytes]  # the bytes from a position to another

# The array type codes Whoosh's ``GrowableArray`` writes, as big-endian NumPy types.
_TYPES = {"B": ">u1", "H": ">u2", "i": ">i4", "I": ">u4", "q": ">i8"}


class StoredDataError(ValueError):
    """A segment's stored-fields column is missing, truncated or garbled."""


def column_path(folder: str, segment: Any) -> str | None:
    """The stored-fields column file of a segment, or None when it has none of
    its own (a compound segment, or one of another codec: read it through Whoosh)."""
    if segment.is_compound() or not isinstance(segment.codec(), W3Codec):
        return None
    return os.path.join(folder, W3Codec.column_filename(segment, COLUMN))


class StoredColumn:
    """One segment's stored fields; safe to share between threads."""

    def __init__(self, path: str, doc_count: int) -> None:
        self.path = path
        try:
            self._fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise StoredDataError(f"{path} cannot be read ({exc})") from exc
        weakref.finalize(self, os.close, self._fd)  # when no snapshot holds the segment
        self._starts = _value_starts(self._read, os.fstat(self._fd).st_size, doc_count, path)

    def _read(self, start: int, end: int) -> bytes:
        found = os.pread(self._fd, end - start, start)
        if len(found) != end - start:
            raise StoredDataError(f"{self.path} is truncated: it ends before byte {end}")
        return found

    def fields(self, docnum: int) -> dict[str, Any]:
        """The stored fields of segment document ``docnum``, as Whoosh's
        ``stored_fields`` returns them ({} for a document without any)."""
        start, end = self._starts[docnum], self._starts[docnum + 1]
        if start == end:
            return {}
        inflate = zlib.decompressobj()
        try:
            raw = inflate.decompress(self._read(start, end))
        except zlib.error as exc:
            raise self._damaged(docnum, str(exc)) from exc
        if not inflate.eof or inflate.unused_data:
            raise self._damaged(docnum, "its compressed value does not end where its length says")
        try:
            found = pickle.loads(raw)
        except Exception as exc:  # unpickling garbage raises many kinds of error
            raise self._damaged(docnum, f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(found, dict):
            raise self._damaged(docnum, f"a {type(found).__name__} instead of a dict")
        return found

    def _damaged(self, docnum: int, why: str) -> StoredDataError:
        where = f"{self.path}: the stored fields of document {docnum}"
        return StoredDataError(f"{where} are damaged ({why})")


def _value_starts(read: Reader, size: int, count: int, path: str) -> array[int]:
    """Where each document's value starts, and where the values end (``count + 1``
    positions), checked against the column's lengths, offsets and size."""
    if size == 0:
        raise StoredDataError(f"{path} is empty")
    end = size - 1  # the lengths' type code
    lengths_code = read(end, size).decode("latin-1")
    offsets = None
    if lengths_code == "X":  # offsets written too: "<lengths code><offsets code>X"
        if size < 3:
            raise StoredDataError(f"{path} is truncated ({size} bytes)")
        codes = read(end - 2, end).decode("latin-1")
        lengths_code, offsets_code = codes[0], codes[1]
        offsets = _read_array(read, offsets_code, end - 2, count, path)
        end -= 2 + count * np.dtype(_TYPES[offsets_code]).itemsize
    lengths = _read_array(read, lengths_code, end, count, path)
    data_end = end - count * np.dtype(_TYPES[lengths_code]).itemsize
    starts = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    if starts[-1] != data_end:
        raise StoredDataError(
            f"{path} is damaged: its values' lengths add up to {int(starts[-1])} bytes, "
            f"the file holds {data_end}"
        )
    if offsets is not None and not np.array_equal(offsets, starts[:-1]):
        raise StoredDataError(f"{path} is damaged: its offsets do not follow its lengths")
    return array("q", starts.tobytes())


def _read_array(read: Reader, code: str, end: int, count: int, path: str) -> Any:
    """The ``count`` big-endian numbers of type ``code`` that end at ``end``."""
    dtype = _TYPES.get(code)
    if dtype is None:
        raise StoredDataError(f"{path} is damaged: unknown array type {code!r}")
    start = end - count * np.dtype(dtype).itemsize
    if start < 0:
        raise StoredDataError(f"{path} is truncated: too short for {count} documents")
    return np.frombuffer(read(start, end), dtype=dtype).astype(np.int64)


def record_of(fields: dict[str, Any], where: str) -> dict[str, Any]:
    """The record a document's stored fields hold (the JSON it was ingested as)."""
    raw = fields.get("record")
    if not isinstance(raw, str):
        raise StoredDataError(f"{where} has no stored record")
    try:
        found = json.loads(raw)
    except ValueError as exc:
        raise StoredDataError(f"{where}'s stored record is not JSON ({exc})") from exc
    if not isinstance(found, dict):
        raise StoredDataError(f"{where}'s stored record is not a JSON object")
    return found
