"""Whoosh's W3 posting blocks, written and read in bulk.

Writing (:func:`write_blocks`): each term's posting blocks as
``W3PostingsWriter`` makes them, with the block statistics of all blocks
computed at once; what is left per block is pickling it, as Whoosh does. Two
encodings differ from Whoosh's writer while reading back the same: block data
is pickled with protocol 3 (protocol 2 spells bytes as a call to
``codecs.encode``, twice as slow), and compressed with a 4 KB window and
smaller tables, quicker to set up for a block this small. Whoosh's reader
unpickles and decompresses either.

Reading (:func:`read_postings`): Whoosh reads postings through matcher
objects, one block of 128 documents at a time. Here a term's postings are
read with one file access per segment, decoded block by block with the same
format rules as Whoosh's ``W3LeafMatcher`` (pickled, zlib-compressed blocks of
delta-encoded document numbers and weights), and handed back as NumPy arrays.
Any other postings format is read through Whoosh's own matcher.
"""

from __future__ import annotations

import io
import pickle
import struct
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermsReader
from whoosh.reading import TermNotFound

COMPRESS_FROM = 512  # bytes of pickled block data worth compressing
_CHUNK = 1 << 16  # postings turned into Python objects at a time
_EXACT_FLOAT32 = 1 << 24  # frequencies a float32 weight holds exactly
DATA_PROTOCOL = 3
_INT = struct.Struct("!i")
_UINT = struct.Struct("!I").pack

TermAdder = Callable[[bytes, bytes, tuple[Any, ...]], None]
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


def compress(data: bytes, level: int) -> bytes:
    """``zlib.compress(data, level)`` for a small block: a 4 KB window, smaller tables."""
    packer = zlib.compressobj(level, zlib.DEFLATED, 12, 4)
    return packer.compress(data) + packer.flush()


def can_write_fast(boost: float, freqs: np.ndarray) -> bool:
    """Whether :func:`write_blocks` makes Whoosh's bytes for these postings."""
    return boost == 1.0 and (len(freqs) == 0 or int(freqs.max()) < _EXACT_FLOAT32)


def write_blocks(
    add: TermAdder,
    keys: list[bytes],
    grouped: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    lbytes: bytearray,
    blocklimit: int,
    compression: int,
) -> None:
    """Write each term's posting blocks, as ``W3PostingsWriter`` with a weight of 1 per use.

    ``keys`` are the terms' keys by rank; ``add(key, blocks, stats)`` takes
    each term in order. Weights equal frequencies (a field boost of 1) and are
    exact in float32 (see :func:`can_write_fast`).
    """
    present, tcount, docs, freqs = grouped
    if not len(present):
        return
    total = len(docs)
    tstart = np.zeros(len(present), dtype=np.int64)
    np.cumsum(tcount[:-1], out=tstart[1:])
    # Blocks tile the sorted postings: each term's in runs of ``blocklimit``.
    nblocks = (tcount + blocklimit - 1) // blocklimit
    firstblock = np.zeros(len(present), dtype=np.int64)
    np.cumsum(nblocks[:-1], out=firstblock[1:])
    within = np.arange(int(nblocks.sum()), dtype=np.int64) - np.repeat(firstblock, nblocks)
    bstart = np.repeat(tstart, nblocks) + blocklimit * within
    del within
    bend = np.empty_like(bstart)
    bend[:-1] = bstart[1:]
    bend[-1] = total
    lb = np.frombuffer(bytes(lbytes), dtype=np.uint8)[docs]
    block_min_lb = np.minimum.reduceat(lb, bstart)
    block_max_lb = np.maximum.reduceat(lb, bstart)
    del lb
    block_min_f = np.minimum.reduceat(freqs, bstart)
    block_max_f = np.maximum.reduceat(freqs, bstart)
    term_sum = np.add.reduceat(freqs.astype(np.uint64), tstart)
    term_max_f = np.maximum.reduceat(freqs, tstart)
    term_min_lb = np.minimum.reduceat(block_min_lb, firstblock)
    term_max_lb = np.maximum.reduceat(block_max_lb, firstblock)

    dumps = pickle.dumps
    protocol = DATA_PROTOCOL
    int_bytes = _INT.pack
    magic = WHOOSH3_HEADER_MAGIC
    block_rows = zip(
        bstart.tolist(),
        bend.tolist(),
        docs[bend - 1].tolist(),
        block_min_f.tolist(),
        block_max_f.tolist(),
        block_min_lb.tolist(),
        block_max_lb.tolist(),
    )
    term_rows = zip(
        present.tolist(),
        nblocks.tolist(),
        tcount.tolist(),
        term_sum.tolist(),
        term_max_f.tolist(),
        term_min_lb.tolist(),
        term_max_lb.tolist(),
        docs[tstart].tolist(),
    )
    chunk_start = chunk_end = 0
    deltas: list[int] = []
    flist: list[int] = []
    fbytes = b""
    single: dict[tuple[int, int], bytes] = {}  # the blocks of one posting, by (doc, freq)
    for rank, blockcount, count, weight, maxf, minlb, maxlb, first in term_rows:
        if count == 1:  # most terms: one posting, too small to compress
            next(block_rows)
            blocks = single.get((first, maxf))
            if blocks is None:
                if len(single) >= 1 << 16:
                    single.clear()
                data = dumps(((first,), None if maxf == 1 else float(maxf), _UINT(maxf)), protocol)
                head = dumps((1, first, float(maxf), 0, minlb, maxlb), 2)
                blocks = single[first, maxf] = (
                    magic + int_bytes(-len(head) - len(data)) + head + data
                )
            add(keys[rank], blocks, (float(weight), 1, minlb, maxlb, float(maxf), first, first))
            continue
        parts = [magic]
        last = 0
        for n in range(blockcount, 0, -1):
            a, b, last, minf, bmaxf, bminlb, bmaxlb = next(block_rows)
            if b > chunk_end:  # the next postings as Python objects
                chunk_start, chunk_end = a, min(total, max(b, a + _CHUNK))
                ids = docs[chunk_start:chunk_end].astype(np.int64)
                moved = np.empty_like(ids)
                moved[0] = 0
                moved[1:] = ids[:-1]
                deltas = (ids - moved).tolist()
                cf = freqs[chunk_start:chunk_end]
                flist = cf.tolist()
                fbytes = cf.astype(">u4").tobytes()
                del ids, moved, cf
            i, j = a - chunk_start, b - chunk_start
            block_ids = deltas[i:j]
            block_ids[0] = first if n == blockcount else int(docs[a])
            if minf == bmaxf:
                mini: Any = None if bmaxf == 1 else float(bmaxf)
            else:
                mini = tuple(map(float, flist[i:j]))
            data = dumps((tuple(block_ids), mini, fbytes[4 * i : 4 * j]), protocol)
            comp = compression if len(data) >= COMPRESS_FROM else 0
            if comp:
                data = compress(data, comp)
            head = dumps((j - i, last, float(bmaxf), comp, bminlb, bmaxlb), 2)
            size = len(head) + len(data)
            parts.append(int_bytes(-size if n == 1 else size))
            parts.append(head)
            parts.append(data)
        stats = (float(weight), count, minlb, maxlb, float(maxf), first, last)
        add(keys[rank], b"".join(parts), stats)
