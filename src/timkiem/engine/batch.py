"""A batch's postings of timkiem's text fields, kept in flat arrays.

Each posting of a text field is three numbers appended in document order (term
number, document, frequency), a few array operations per field of a document
instead of a Python step per term; syllable-pair fields keep each text's
syllable numbers instead (:class:`PairPostings`). At commit the postings are
grouped by term (sorted once with numpy), then written as W3 posting blocks
(``timkiem.engine.blocks``) and as the segment's derived data
(``timkiem.engine.segdata``).
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterator
from itertools import repeat

import numpy as np
from whoosh.util.numeric import byte_to_length

PAIR_KEY_LIMIT = 1 << 63  # pair and document numbers counted in one int64 below this


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
