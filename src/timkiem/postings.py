"""A batch's postings of timkiem's text fields, kept in flat arrays.

Each posting of a text field is three numbers appended in document order (term
number, document, frequency), a few array operations per field of a document
instead of a Python step per term; syllable-pair fields keep each text's
syllable numbers instead (:class:`PairPostings`). At commit the postings are grouped by term
(sorted once with numpy) and written as the W3 posting blocks Whoosh writes:
the block statistics are computed for all blocks at once, and what is left per
block is pickling it, as Whoosh does.

Two encodings differ from Whoosh's writer while reading back the same: block
data is pickled with protocol 3 (protocol 2 spells bytes as a call to
``codecs.encode``, twice as slow), and compressed with a 4 KB window and
smaller tables, quicker to set up for a block this small (several times
quicker than ``zlib.compress`` when other processes load the memory bus).
Whoosh's reader unpickles and decompresses either.
"""

from __future__ import annotations

import pickle
import struct
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from itertools import repeat
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
from whoosh.util.numeric import byte_to_length

COMPRESS_FROM = 512  # bytes of pickled block data worth compressing
_CHUNK = 1 << 16  # postings turned into Python objects at a time
_EXACT_FLOAT32 = 1 << 24  # frequencies a float32 weight holds exactly
DATA_PROTOCOL = 3
PAIR_KEY_LIMIT = 1 << 63  # pair and document numbers counted in one int64 below this
_INT = struct.Struct("!i")
_UINT = struct.Struct("!I").pack

TermAdder = Callable[[bytes, bytes, tuple[Any, ...]], None]


def compress(data: bytes, level: int) -> bytes:
    """``zlib.compress(data, level)`` for a small block: a 4 KB window, smaller tables."""
    packer = zlib.compressobj(level, zlib.DEFLATED, 12, 4)
    return packer.compress(data) + packer.flush()


class Vocabulary(dict[str, int]):
    """A number for each term text, in order of first use."""

    def __missing__(self, term: str) -> int:
        number = self[term] = len(self)
        return number


def _set_length_byte(lbytes: bytearray, docnum: int, lbyte: int) -> None:
    """Record a document's length byte, the documents before it 0 if unseen."""
    if len(lbytes) <= docnum:
        lbytes.extend(bytes(docnum + 1 - len(lbytes)))
    lbytes[docnum] = lbyte


class FieldPostings:
    """One field's postings in document order, and each document's length byte."""

    __slots__ = ("terms", "docs", "freqs", "lbytes")

    def __init__(self) -> None:
        self.terms = array("I")
        self.docs = array("I")
        self.freqs = array("I")
        self.lbytes = bytearray()  # 0: the document has no value

    def add(self, vocabulary: Vocabulary, words: list[str], docnum: int, lbyte: int) -> None:
        """The terms of one document's value of this field (``words`` in order)."""
        counts = Counter(words)
        self.terms.extend(map(vocabulary.__getitem__, counts))
        self.freqs.extend(counts.values())
        self.docs.extend(repeat(docnum, len(counts)))
        _set_length_byte(self.lbytes, docnum, lbyte)

    def __len__(self) -> int:
        return len(self.docs)

    def grouped(self, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(ranks, counts, docs, freqs)``: postings sorted by term rank, then document.

        ``rank`` maps term numbers to their place in byte order; ``ranks`` and
        ``counts`` list the ranks of the terms present and their posting
        counts. The arrays of this object are emptied.
        """
        ranks = rank[np.frombuffer(self.terms, dtype=np.uint32)]
        self.terms = array("I")
        counts = np.bincount(ranks, minlength=len(rank))
        order = np.argsort(ranks, kind="stable")
        del ranks
        docs = np.frombuffer(self.docs, dtype=np.uint32)[order]
        self.docs = array("I")
        freqs = np.frombuffer(self.freqs, dtype=np.uint32)[order]
        self.freqs = array("I")
        del order
        present = np.flatnonzero(counts)
        return present, counts[present], docs, freqs

    def lengths(self) -> list[int]:
        """The length Whoosh reads for each document (decoded from its byte)."""
        return decoded_lengths(self.lbytes)


class PairPostings:
    """A syllable-pair field's postings, kept as each document's syllable numbers.

    The pairs ("cong_doan") are made and counted at commit for all documents
    at once, instead of a new string and a look-up in a large dictionary per
    pair of adjacent syllables. A value of one syllable has that syllable as
    its one term, as Whoosh's ``BiWordFilter`` makes it.
    """

    __slots__ = ("syllables", "docs", "counts", "lbytes")

    def __init__(self) -> None:
        self.syllables = array("I")  # the syllable numbers of every value, in order
        self.docs = array("I")  # the document of each value
        self.counts = array("I")  # the syllables of each value
        self.lbytes = bytearray()

    def add(self, numbers: list[int], docnum: int, lbyte: int) -> None:
        """One document's value of this field, as the numbers of its folded syllables."""
        if numbers:
            self.syllables.extend(numbers)
            self.docs.append(docnum)
            self.counts.append(len(numbers))
        _set_length_byte(self.lbytes, docnum, lbyte)

    def __len__(self) -> int:
        return len(self.syllables)

    def grouped(
        self, names: list[str], sep: str
    ) -> tuple[list[bytes], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """The terms' keys in byte order, and the postings as ``FieldPostings.grouped``."""
        syllables = np.frombuffer(self.syllables, dtype=np.uint32)
        counts = np.frombuffer(self.counts, dtype=np.uint32).astype(np.int64)
        rundocs = np.frombuffer(self.docs, dtype=np.uint32)
        # Number the syllables present 0..width-2; width-1 stands for "no second".
        present = np.bincount(syllables, minlength=len(names)) > 0
        used = np.flatnonzero(present)
        width = len(used) + 1
        compact = (np.cumsum(present) - 1).astype(np.uint64)[syllables]
        del present, syllables
        self.syllables = array("I")
        ends = np.cumsum(counts)
        follows = np.ones(len(compact), dtype=bool)  # the next syllable is in the same value
        follows[ends - 1] = False
        lefts = np.flatnonzero(follows[:-1])
        codes = compact[lefts] * width + compact[lefts + 1]
        docs = np.repeat(rundocs, counts - 1)
        single = counts == 1
        codes = np.concatenate([codes, compact[ends[single] - 1] * width + (width - 1)])
        docs = np.concatenate([docs, rundocs[single]])
        del compact, follows, lefts, ends, single
        ndocs = int(docs.max()) + 1 if len(docs) else 1
        if width * width * ndocs < PAIR_KEY_LIMIT:
            keys = codes * ndocs + docs
            del codes, docs
            keys.sort()
            first = np.empty(len(keys), dtype=bool)
            first[:1] = True
            np.not_equal(keys[1:], keys[:-1], out=first[1:])
            starts = np.flatnonzero(first)
            del first
            freqs = np.diff(np.append(starts, len(keys))).astype(np.uint32)
            keys = keys[starts]
            del starts
            pdocs = (keys % ndocs).astype(np.uint32)
            pcodes = keys // ndocs
            del keys
        else:  # too many syllables and documents for one 64-bit key
            order = np.lexsort((docs, codes))
            codes, docs = codes[order], docs[order]
            first = np.ones(len(codes), dtype=bool)
            first[1:] = (codes[1:] != codes[:-1]) | (docs[1:] != docs[:-1])
            starts = np.flatnonzero(first)
            freqs = np.diff(np.append(starts, len(codes))).astype(np.uint32)
            pcodes, pdocs = codes[starts], docs[starts].astype(np.uint32)
            del order, codes, docs, first, starts
        newterm = np.ones(len(pcodes), dtype=bool)
        np.not_equal(pcodes[1:], pcodes[:-1], out=newterm[1:])
        tstart = np.flatnonzero(newterm)
        del newterm
        tcount = np.diff(np.append(tstart, len(pcodes)))
        termcodes = pcodes[tstart]
        del pcodes
        words = [names[n] for n in used.tolist()]
        encoded = [
            (words[a] if b == width - 1 else words[a] + sep + words[b]).encode("utf-8")
            for a, b in zip((termcodes // width).tolist(), (termcodes % width).tolist())
        ]
        del termcodes
        order_t = sorted(range(len(encoded)), key=encoded.__getitem__)
        keys_sorted = [encoded[i] for i in order_t]
        del encoded
        # Move each term's run of postings to its place in byte order.
        by_rank = np.array(order_t, dtype=np.int64)
        counts_sorted = tcount[by_rank]
        new_starts = np.cumsum(counts_sorted) - counts_sorted
        index = np.arange(len(pdocs), dtype=np.int64)
        index += np.repeat(tstart[by_rank] - new_starts, counts_sorted)
        return keys_sorted, (
            np.arange(len(keys_sorted)),
            counts_sorted,
            pdocs[index],
            freqs[index],
        )

    def lengths(self) -> list[int]:
        """The length Whoosh reads for each document (decoded from its byte)."""
        return decoded_lengths(self.lbytes)


def decoded_lengths(lbytes: bytearray) -> list[int]:
    """The field length Whoosh reads for each document, from its length byte."""
    return [byte_to_length(b) if b else 0 for b in lbytes]


def term_lists(
    present: np.ndarray, counts: np.ndarray, docs: np.ndarray, freqs: np.ndarray
) -> Iterator[tuple[int, list[int], list[int]]]:
    """``(rank, docs, freqs)`` of each term, for the general writing path."""
    ends = np.cumsum(counts).tolist()
    start = 0
    for rank, end in zip(present.tolist(), ends):
        yield rank, docs[start:end].tolist(), freqs[start:end].tolist()
        start = end


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
