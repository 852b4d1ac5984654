"""Per-document columns of one segment, read in one piece.

Whoosh's column readers unpack one document at a time; at 150,000 articles
that was most of a server's start-up. Here a segment's numeric, reference
and variable-length columns are read with one file access and decoded with
``array``/NumPy, checked against Whoosh's own reader on a sample, and the
result is kept per segment (:class:`SegmentColumns`), so a commit only reads
the columns of the segments it wrote.
"""

from __future__ import annotations

import sys
from array import array
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh import columns as wcolumns
from whoosh.codec.whoosh3 import LENGTHS_COLUMN

NO_DATE = 10**12  # column value of an article without a date is above this
FIRST_DATE, LAST_DATE = -62135510400, 253402128000  # 0001-01-02 and 9999-12-30


def column(leaf: Any, name: str) -> list[Any]:
    """One value per document of a segment's column."""
    found = _raw_column(leaf, name)
    return list(leaf.column_reader(name)) if found is None else found


def _raw_column(leaf: Any, name: str) -> list[Any] | None:
    """A segment's column read in one piece (numbers, or references to values).

    None means "use Whoosh's reader" (a column of another kind, or one that
    does not read back as Whoosh reads it).
    """
    try:
        raw = leaf.column_reader(name, translate=False)
        field = leaf.schema[name]
        count = leaf.doc_count_all()
        if isinstance(raw, wcolumns.NumericColumn.Reader):
            size = raw._fixedlen
            items = array(raw._typecode, bytes(raw._dbfile.get(raw._basepos, raw._count * size)))
            if sys.byteorder == "little" and size > 1:
                items.byteswap()
            numbers: list[Any] = items.tolist() + [raw._default] * (count - raw._count)
            shift = field.from_column_value(0)
            if all(field.from_column_value(x) == x + shift for x in (1, 2**20, 2**40)):
                values = [x + shift for x in numbers]
            else:
                values = list(map(field.from_column_value, numbers))
        elif isinstance(raw, wcolumns.RefBytesColumn.Reader):
            size = raw._itemsize
            refs = array(raw._typecode, bytes(raw._dbfile.get(raw._basepos, count * size)))
            if sys.byteorder == "little" and size > 1:
                refs.byteswap()
            uniques = [field.from_column_value(u) for u in raw._uniques]
            values = list(map(uniques.__getitem__, refs))
        elif isinstance(raw, wcolumns.VarBytesColumn.Reader):
            data = bytes(raw._dbfile.get(raw._basepos, raw._length))
            decoded: dict[bytes, Any] = {}
            values = []
            for start, size in zip(raw._offsets, raw._lengths):
                piece = data[start : start + size] if size else b""
                value = decoded.get(piece)
                if value is None:
                    value = decoded[piece] = field.from_column_value(piece)
                values.append(value)
        else:
            return None
        slow = leaf.column_reader(name)
        step = max(1, count // 97)
        if len(values) != count or any(values[n] != slow[n] for n in range(0, count, step)):
            return None
        return values
    except Exception:  # anything unexpected: Whoosh's own reader decides
        return None


def length_bytes(leaf: Any, field: str) -> npt.NDArray[np.uint8]:
    """The length byte Whoosh stores for ``field`` in each document of a segment."""
    return length_bytes_of(getattr(leaf, "_perdoc", None), field, leaf.doc_count_all())


def length_bytes_of(perdoc: Any, field: str, count: int) -> npt.NDArray[np.uint8]:
    """``length_bytes`` from a segment's per-document reader (W3's length column)."""
    raw = b""
    if perdoc is not None and hasattr(perdoc, "_cached_reader"):
        found = perdoc._cached_reader(f"_{field}_len", LENGTHS_COLUMN)
        if found is not None:
            raw = bytes(found._dbfile.get(found._basepos, min(found._count, count)))
    return np.frombuffer(raw + bytes(count - len(raw)), dtype=np.uint8).copy()


class SegmentColumns:
    """A segment's dates and categories, as arrays."""

    def __init__(self, leaf: Any) -> None:
        count = leaf.doc_count_all()
        self.stamps = np.array(column(leaf, "timestamp"), dtype=np.int64).reshape(count)
        dated = self.stamps < NO_DATE
        if dated.any():
            low, high = int(self.stamps[dated].min()), int(self.stamps[dated].max())
            if low < FIRST_DATE or high > LAST_DATE:
                raise ValueError(f"dates out of range in the timestamp column ({low}, {high})")
        raw = column(leaf, "category")
        values = [c.decode("utf-8") if isinstance(c, bytes) else c for c in raw]
        names, codes = np.unique(np.array(values, dtype=object), return_inverse=True)
        self.category_names: list[str] = [str(n) for n in names]
        self.category_codes = codes.astype(np.int32).reshape(count)
