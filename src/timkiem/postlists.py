"""A term's postings read in one piece, as arrays.

Whoosh reads postings through matcher objects, one block of 128 documents at
a time, with several method calls per block. Ranking every match needs all of
a term's postings at once: here they are read with one file access per
segment, decoded block by block with the same format rules as Whoosh's
``W3LeafMatcher`` (pickled, zlib-compressed blocks of delta-encoded document
numbers and weights), and handed back as NumPy arrays. Any other postings
format is read through Whoosh's own matcher.
"""

from __future__ import annotations

import io
import pickle
import zlib
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermsReader
from whoosh.reading import TermNotFound

Ids = npt.NDArray[np.int64]
Weights = npt.NDArray[np.float64]

_EMPTY_IDS: Ids = np.zeros(0, dtype=np.int64)
_EMPTY_WEIGHTS: Weights = np.zeros(0, dtype=np.float64)


def read_postings(reader: Any, field: str, btext: bytes) -> tuple[Ids, Weights]:
    """Document numbers (ascending, within the segment) and weights of a term.

    Deleted documents are included: the caller masks them out.
    """
    terms = getattr(reader, "_terms", None)
    if isinstance(terms, W3TermsReader):
        try:
            info = terms.term_info(field, btext)
        except TermNotFound:
            return _EMPTY_IDS, _EMPTY_WEIGHTS
        if info.is_inlined():
            ids, weights, _ = info.inlined_postings()
            return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64)
        offset, length = info.extent()
        if isinstance(length, tuple):  # whoosh3's TermInfo.from_bytes leaves it packed
            length = length[0]
        found = _decode(bytes(terms._postfile.get(offset, length)))
        if found is not None:
            return found
    if (field, btext) not in reader:
        return _EMPTY_IDS, _EMPTY_WEIGHTS
    return _generic(reader._terms.matcher(field, btext, reader.schema[field].format))


def _decode(raw: bytes) -> tuple[Ids, Weights] | None:
    """The blocks of one term in a ``whoosh3`` postings file (None: not all there)."""
    if raw[:4] != WHOOSH3_HEADER_MAGIC:
        raise ValueError(f"postings block tag error {raw[:4]!r}")
    stream = io.BytesIO(raw)
    pos = 4
    deltas: list[int] = []
    weights: list[float] = []
    starts: list[int] = []
    last_ids: list[int] = []
    weighted = False
    end = len(raw)
    while pos < end:
        size = int.from_bytes(raw[pos : pos + 4], "big", signed=True)
        pos += 4
        last = size < 0
        size = abs(size)
        stream.seek(pos)
        count, last_id, _maxweight, compression, _mn, _mx = pickle.load(stream)
        data = raw[stream.tell() : pos + size]
        block = pickle.loads(zlib.decompress(data) if compression else data)
        starts.append(len(deltas))
        last_ids.append(last_id)
        deltas.extend(block[0])
        found = block[1]
        if found is None:
            weights.extend([1.0] * count)
        elif isinstance(found, float):
            weights.extend([found] * count)
            weighted = True
        else:
            weights.extend(found)
            weighted = True
        pos += size
        if last:
            break
    else:
        return None
    ids = np.array(deltas, dtype=np.int64)
    # Each block's ids are deltas from 0: make them deltas from the block before.
    ids[starts[1:]] -= np.array(last_ids[:-1], dtype=np.int64)
    np.cumsum(ids, out=ids)
    scores = np.array(weights, dtype=np.float64) if weighted else np.ones(len(ids))
    return ids, scores


def _generic(matcher: Any) -> tuple[Ids, Weights]:
    ids: list[int] = []
    weights: list[float] = []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64)
