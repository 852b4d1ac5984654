"""Fast writing of index segments for large batches.

Whoosh's ``SegmentWriter`` builds a token object per syllable, sends every
posting through an external sort on disk (one pickle per posting) and reads
each posting's field length back from disk at commit. :class:`BulkWriter`
computes the terms of timkiem's own analyzers with a few whole-string
operations (the same terms: the tests compare them on real text), keeps a
batch's postings in memory (``timkiem.engine.batch``), and writes the W3 segment
files Whoosh reads, with the same postings, weights, lengths and statistics.
Posting blocks too small to gain from compression are stored uncompressed (the
block header says so; Whoosh reads both).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
import struct
import types
from array import array
from collections.abc import Callable, Iterator
from queue import Empty, Full
from typing import Any, TypeVar

import numpy as np
from whoosh.analysis import BiWordFilter, LowercaseFilter
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3FieldWriter
from whoosh.fields import NUMERIC, FieldType
from whoosh.formats import Frequency
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.util import random_name
from whoosh.util.numeric import length_to_byte, to_sortable
from whoosh.writing import SegmentWriter

from timkiem.analysis import (
    BIGRAM_SEPARATOR,
    FOLD_TABLE,
    TOKEN_PATTERN,
    FoldFilter,
    ToneFilter,
    VietnameseTokenizer,
    canonical_tones,
    nfc,
)
from timkiem.engine import phrases, segdata
from timkiem.engine.batch import FieldPostings, PairPostings, Vocabulary, term_lists
from timkiem.engine.blocks import (
    COMPRESS_FROM,
    DATA_PROTOCOL,
    can_write_fast,
    compress,
    write_blocks,
)
from timkiem.engine.columns import length_bytes_of
from timkiem.engine.segdata import FieldTerms
from timkiem.errors import WriterFailed

_NO_TERMS = FieldTerms([], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
_NO_LENGTHS = np.zeros(0, dtype=np.uint8)
_UINT = struct.Struct("!I")
_USHORT = struct.Struct("!H")


class _Memo(dict[str, str]):
    """A function's result for each token seen (tens of thousands in practice)."""

    def __init__(self, function: Callable[[str], str]) -> None:
        super().__init__()
        self.function = function

    def __missing__(self, token: str) -> str:
        if len(self) > 1_000_000:
            self.clear()
        found = self[token] = self.function(token)
        return found


# Tone placement looks at the letters before and after a vowel pair, never
# across a token's ends: per token is the same as per text.
_CANONICAL = _Memo(lambda token: canonical_tones(token.lower()))
_FOLDED = _Memo(lambda syllable: syllable.translate(FOLD_TABLE))


def accented_terms(text: str) -> list[str]:
    """The terms of ``analysis.accented_analyzer()`` for ``text``."""
    return list(map(_CANONICAL.__getitem__, TOKEN_PATTERN.findall(nfc(text))))


def folded_terms(accented: list[str]) -> list[str]:
    """The terms of ``analysis.folded_analyzer()``, from the accented terms."""
    return list(map(_FOLDED.__getitem__, accented))


def pair_terms(folded: list[str], sep: str = BIGRAM_SEPARATOR) -> list[str]:
    """The terms of ``analysis.bigram_analyzer()``, from the folded terms."""
    if len(folded) < 2:
        return list(folded)  # one syllable stays itself (Whoosh's BiWordFilter)
    return list(map(sep.join, zip(folded, folded[1:])))


def _reference_analyzers() -> dict[str, Any]:
    accented = VietnameseTokenizer() | LowercaseFilter() | ToneFilter()
    folded = accented | FoldFilter()
    return {
        "accented": accented,
        "folded": folded,
        "bigram": folded | BiWordFilter(sep=BIGRAM_SEPARATOR),
    }


_REFERENCE = _reference_analyzers()


def fast_kind(field: FieldType) -> str | None:
    """Which fast term function reproduces ``field``'s terms, if one does."""
    if (
        type(field.format) is not Frequency
        or not field.indexed
        or not field.scorable
        or field.vector
        or field.separate_spelling()
    ):
        return None
    for kind, analyzer in _REFERENCE.items():
        if field.analyzer == analyzer:
            return kind
    return None


class _Terms:
    """The terms of one text, computed once for all its fields."""

    def __init__(self, text: str) -> None:
        self.accented = accented_terms(text)
        self._folded: list[str] | None = None
        self._numbers: list[int] | None = None

    @property
    def folded(self) -> list[str]:
        if self._folded is None:
            self._folded = folded_terms(self.accented)
        return self._folded

    def numbers(self, vocabulary: Vocabulary) -> list[int]:
        """The numbers of the folded syllables in ``vocabulary``."""
        if self._numbers is None:
            self._numbers = list(map(vocabulary.__getitem__, self.folded))
        return self._numbers

    def of(self, kind: str) -> list[str]:
        if kind == "accented":
            return self.accented
        if kind == "folded":
            return self.folded
        return pair_terms(self.folded)


_P = TypeVar("_P", FieldPostings, PairPostings)


class MemoryPool:
    """A batch's postings in memory.

    Fields with a fast path keep flat arrays of postings (``FieldPostings``).
    Anything else (ids, dates, merged segments) keeps, for each term, its one
    document, the array of its documents (postings of weight 1 without a
    value, as ids and dates have) or Whoosh's posting tuples.
    """

    def __init__(self) -> None:
        self.vocabulary = Vocabulary()
        self.fast: dict[str, FieldPostings | PairPostings] = {}
        self.other: dict[str, dict[bytes, Any]] = {}
        self.fieldnames: set[str] = set()

    def add(self, item: tuple[str, bytes, int, float, bytes | None]) -> None:
        """Whoosh's pool interface: one ``(field, btext, docnum, weight, vbytes)``."""
        fieldname, btext, docnum, weight, vbytes = item
        terms = self.other.get(fieldname)
        if terms is None:
            terms = self.other[fieldname] = {}
            self.fieldnames.add(fieldname)
        found = terms.get(btext)
        plain = weight == 1.0 and not vbytes
        if found is None:
            terms[btext] = docnum if plain else [(docnum, weight, vbytes)]
        elif type(found) is list:
            found.append((docnum, weight, vbytes))
        elif not plain:
            terms[btext] = [*_other_rows(found), (docnum, weight, vbytes)]
        elif type(found) is int:
            terms[btext] = array("I", (found, docnum))
        else:
            found.append(docnum)

    def cleanup(self) -> None:
        self.fast.clear()
        self.other.clear()
        self.vocabulary.clear()


def numeric_terms(field: FieldType, value: Any) -> list[tuple[bytes, int, float, bytes]]:
    """``list(field.index(value))`` of a NUMERIC field with steps and an int, else [].

    The number is checked and made sortable once, not once per step.
    """
    if type(field) is not NUMERIC or not field.shift_step or type(value) is not int:
        return []
    sortable = to_sortable(field.numtype, field.bits, field.signed, field.prepare_number(value))
    encode = field.sortable_to_bytes
    shifts = range(0, field.bits, field.shift_step)
    return [(encode(sortable, shift), 1, 1.0, b"") for shift in shifts]


def _other_rows(found: Any) -> list[tuple[int, float, bytes | None]]:
    """The posting tuples of one term of ``MemoryPool.other``."""
    if type(found) is list:
        return found
    return [(docnum, 1.0, b"") for docnum in ((found,) if type(found) is int else found)]


def _mini_weights(weights: array[float]) -> Any:
    first = weights[0]
    if first == 1.0 and all(w == 1.0 for w in weights):
        return None
    if all(w == first for w in weights):
        return first
    return tuple(weights)


_TERMINFO = struct.Struct("!BfIBBfIIqi")  # W3TermInfo.to_bytes() of a term not inlined
_KEYVALUE = struct.Struct("!ii")  # filetables.HashWriter: key and value lengths
_POINTER = struct.Struct("!Iq")  # filetables.HashWriter: hash and position
_INT = struct.Struct("!i")
_NULL_POINTER = _POINTER.pack(0, 0)


def _f32(value: float) -> float:
    return array("f", (value,))[0]


class TermWriter:
    """Writes a field's terms: posting blocks (W3 format) and term index rows.

    Both files get large buffered writes; offsets are counted here.
    """

    def __init__(self, fw: W3FieldWriter, blocklimit: int, compression: int) -> None:
        self.postfile = fw._postfile
        self.tindex = fw._tindex
        self.blocklimit = blocklimit
        self.compression = compression
        self.posts: list[bytes] = []
        self.postpos = self.postfile.tell()
        self.rows: list[bytes] = []
        self.rowpos = self.tindex.dbfile.tell()
        self.lastkey = b""

    def add(self, key: bytes, blocks: bytes, stats: tuple[Any, ...]) -> None:
        """One term: its key, its blocks and (weight, df, minlen, maxlen, maxweight, ids)."""
        info = _TERMINFO.pack(0, *stats, self.postpos, len(blocks))
        self.posts.append(blocks)
        self.postpos += len(blocks)
        tindex = self.tindex
        row = _KEYVALUE.pack(len(key), len(info)) + key + info
        digest = hashlib.md5(key, usedforsecurity=False).digest()
        hashed = int.from_bytes(digest[12:], "big")
        tindex.index.append(self.rowpos)
        bucket = tindex.buckets[hashed & 255]
        bucket.append(hashed)
        bucket.append(self.rowpos)
        self.rows.append(row)
        self.rowpos += len(row)
        self.lastkey = key
        if len(self.posts) >= 4096:
            self.flush()

    def flush(self) -> None:
        self.postfile.write(b"".join(self.posts))
        self.posts.clear()
        self.tindex.dbfile.write(b"".join(self.rows))
        self.rows.clear()
        self.tindex.lastkey = self.lastkey

    def blocks(
        self,
        ids: list[int],
        weights: list[float],
        values: list[bytes] | None,
        lengths: list[int],
        fixedsize: int | None,
    ) -> tuple[bytes, tuple[Any, ...]]:
        """The blocks of one posting list, as ``W3PostingsWriter`` makes them."""
        parts = [WHOOSH3_HEADER_MAGIC]
        total_weight = 0.0
        minlength: int | None = None
        maxlength = 0
        maxweight: float = 0
        count = len(ids)
        for lo in range(0, count, self.blocklimit):
            hi = min(count, lo + self.blocklimit)
            bids = ids[lo:hi]
            raw = weights[lo:hi]
            stored = array("f", raw)
            known = [n for n in lengths[lo:hi] if n]
            bmin = min(known) if known else None
            bmax = max(known) if known else 0
            bweight = max(0, max(raw))
            total_weight += sum(stored)
            if bmin is not None:
                minlength = bmin if minlength is None else min(minlength, bmin)
            maxlength = max(maxlength, bmax)
            maxweight = max(maxweight, bweight)
            deltas = [bids[0]] + [b - a for a, b in zip(bids, bids[1:])]
            if values is None or fixedsize == 0:
                vals: Any = None
            else:
                block = [v for v in values[lo:hi] if v]
                vals = tuple(block) if fixedsize is None or fixedsize < 0 else b"".join(block)
            data = pickle.dumps((tuple(deltas), _mini_weights(stored), vals), DATA_PROTOCOL)
            comp = self.compression if len(data) >= COMPRESS_FROM else 0
            if comp:
                data = compress(data, comp)
            head = pickle.dumps(
                (hi - lo, bids[-1], bweight, comp, length_to_byte(bmin), length_to_byte(bmax)), 2
            )
            size = len(head) + len(data)
            parts.append(_INT.pack(-size if hi == count else size))
            parts.append(head)
            parts.append(data)
        stats = (
            total_weight,
            count,
            0 if minlength is None else length_to_byte(minlength),
            length_to_byte(maxlength),
            maxweight,
            ids[0],
            ids[-1],
        )
        return b"".join(parts), stats


def _byte_order(vocabulary: dict[str, int]) -> tuple[list[bytes], np.ndarray]:
    """The terms' keys (UTF-8) in byte order, and each term number's place in it."""
    encoded = [term.encode("utf-8") for term in vocabulary]
    order = sorted(range(len(encoded)), key=encoded.__getitem__)
    rank = np.empty(len(encoded), dtype=np.uint32)
    rank[order] = np.arange(len(encoded), dtype=np.uint32)
    return [encoded[i] for i in order], rank


def _write_hashes(self: Any) -> None:
    """``HashWriter._write_hashes`` with one write per table: the same bytes.

    Each bucket is an array of hash and position pairs, not a list of tuples
    (a tenth of the memory).
    """
    dbfile = self.dbfile
    for entries in self.buckets:
        pos = dbfile.tell()
        numslots = len(entries)  # two slots per entry
        self.directory.append((pos, numslots))
        table: list[bytes | None] = [None] * numslots
        for hashval, position in zip(entries[::2], entries[1::2]):
            slot = (hashval >> 8) % numslots
            while table[slot] is not None:
                slot = (slot + 1) % numslots
            table[slot] = _POINTER.pack(hashval, position)
        dbfile.write(b"".join(_NULL_POINTER if e is None else e for e in table))


class BulkWriter(SegmentWriter):
    """A ``SegmentWriter`` with in-memory postings and fast Vietnamese terms."""

    def __init__(self, ix: Any, **kwargs: Any) -> None:
        # Separate segment files, not one compound file: Whoosh reads a compound
        # file's parts through a copy in memory (slow to open, and resident).
        kwargs.setdefault("compound", False)
        super().__init__(ix, **kwargs)
        self.pool = MemoryPool()
        self._kinds = {name: fast_kind(field) for name, field in self.schema.items()}
        self._length_bytes: dict[int, int] = {}
        self._indexed: dict[str, dict[Any, list[Any]]] = {}
        self._titles: list[tuple[str, int | None]] = []  # for the segment's phrase file

    def add_document(self, **fields: Any) -> None:
        self._titles.append((fields.get(phrases.TITLE_FIELD) or "", fields.get("timestamp")))
        if any(name.startswith("_") for name in fields):
            super().add_document(**fields)  # boosts and custom stored values
            return
        self._check_state()
        schema = self.schema
        names = sorted(fields)
        self._check_fields(schema, names)
        docnum = self.docnum
        pdw = self.perdocwriter
        pool = self.pool
        texts: dict[str, _Terms] = {}
        pdw.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                kind = self._kinds.get(name)
                length = 0
                if kind is not None and isinstance(value, str):
                    terms = texts.get(value)
                    if terms is None:
                        terms = texts[value] = _Terms(value)
                    if kind == "bigram":
                        length = self._add_pairs(name, terms, docnum)
                    else:
                        words = terms.of(kind)
                        length = len(words)
                        self._add_fast(name, words, docnum, length)
                elif field.indexed:
                    scorable = field.scorable
                    for btext, freq, weight, vbytes in self._index(name, field, value):
                        if scorable:
                            length += freq
                        pool.add((name, btext, docnum, weight, vbytes))
                pdw.add_field(name, field, value if field.stored else None, length)
                if field.column_type:
                    pdw.add_column_value(name, field.column_type, field.to_column_value(value))
        except Exception:
            pdw.cancel_doc()
            raise
        pdw.finish_doc()
        self._added = True
        self.docnum += 1

    def add_reader(self, reader: Any) -> None:
        """A merge: the documents of ``reader``, their titles kept for the phrase file."""
        self._titles.extend(phrases.stored_titles(reader))
        super().add_reader(reader)

    def _index(self, name: str, field: FieldType, value: Any) -> list[Any]:
        """``field.index(value)``; remembered for fields whose values repeat."""
        if field.unique or not isinstance(value, str | int):
            return list(field.index(value))
        cache = self._indexed.setdefault(name, {})
        found = cache.get(value)
        if found is None:
            if len(cache) >= 4096:  # a date has 16 terms: keep the cache small
                cache.clear()
            found = cache[value] = numeric_terms(field, value) or list(field.index(value))
        return found

    def _length_byte(self, length: int) -> int:
        # Whoosh stores field lengths as one byte; postings see that byte.
        lbyte = self._length_bytes.get(length)
        if lbyte is None:
            lbyte = self._length_bytes[length] = length_to_byte(length)
        return lbyte

    def _postings(self, name: str, kind: type[_P]) -> _P:
        """The pool's postings of field ``name``, made empty on first use."""
        pool = self.pool
        postings = pool.fast.get(name)
        if postings is None:
            postings = pool.fast[name] = kind()
            pool.fieldnames.add(name)
        assert isinstance(postings, kind)
        return postings

    def _add_fast(self, name: str, words: list[str], docnum: int, length: int) -> None:
        postings = self._postings(name, FieldPostings)
        postings.add(self.pool.vocabulary, words, docnum, self._length_byte(length))

    def _add_pairs(self, name: str, terms: _Terms, docnum: int) -> int:
        """Add the syllable pairs of a text; their count (the field length)."""
        postings = self._postings(name, PairPostings)
        count = len(terms.folded)
        length = count - 1 if count > 1 else count  # one syllable is its own term
        postings.add(terms.numbers(self.pool.vocabulary), docnum, self._length_byte(length))
        return length

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        fw = self.fieldwriter
        if not isinstance(fw, W3FieldWriter):
            raise TypeError(f"BulkWriter writes the W3 codec, not {type(fw).__name__}")
        fw._tindex._write_hashes = types.MethodType(_write_hashes, fw._tindex)
        fw._tindex.buckets = [array("Q") for _ in range(256)]
        dfl: Callable[[int, str], int] = (
            pdr.doc_field_length if pdr is not None else (lambda docnum, name: 0)
        )
        names = list(self.pool.vocabulary)
        keys, rank = _byte_order(self.pool.vocabulary)
        self.pool.vocabulary.clear()
        segment_id = self.get_segment().segment_id()
        self._data = segdata.Builder(segment_id, self.docnum)
        self._pdr = pdr
        try:
            for name in sorted(self.pool.fieldnames):
                if name in self.schema:
                    self._write_field(fw, name, dfl, keys, rank, names)
            self.fieldwriter.close()
            for name, field in self.schema.items():
                if field.scorable and name not in self._data.fields:
                    self._add_scored(name, _NO_TERMS)
            path = os.path.join(self.storage.folder, segdata.file_name(segment_id))
            segdata.write(path, *self._data.finish())
            path = os.path.join(self.storage.folder, phrases.file_name(segment_id))
            phrases.write(path, segment_id, self.docnum, phrases.build(self._titles))
            self._titles = []
        finally:
            self._pdr = None
            if pdr is not None:
                pdr.close()

    def _add_scored(self, name: str, terms: FieldTerms) -> None:
        """A scored field's terms, into the segment's derived data (``segdata``)."""
        pdr = self._pdr
        lengths = length_bytes_of(pdr, name, self.docnum) if pdr is not None else _NO_LENGTHS
        self._data.add(name, terms, lengths)

    def _write_field(
        self,
        fw: W3FieldWriter,
        name: str,
        dfl: Callable[[int, str], int],
        keys: list[bytes],
        rank: np.ndarray,
        names: list[str],
    ) -> None:
        field = self.schema[name]
        fmt = field.format
        boost = fmt.field_boost
        fast = self.pool.fast.pop(name, None)
        other = self.pool.other.pop(name, {})
        fw.start_field(name, field)
        prefix = _USHORT.pack(fw._fieldid)
        out = TermWriter(fw, self.codec._blocklimit, self.codec._compression)
        listed: dict[bytes, tuple[list[int], list[int]]] = {}
        lengths: list[int] = []
        if fast is not None:
            if isinstance(fast, PairPostings):
                keys, grouped = fast.grouped(names, BIGRAM_SEPARATOR)
            else:
                grouped = fast.grouped(rank)
            if not other and can_write_fast(boost, grouped[3]):

                def add(key: bytes, blocks: bytes, stats: tuple[Any, ...]) -> None:
                    out.add(prefix + key, blocks, stats)

                write_blocks(add, keys, grouped, fast.lbytes, out.blocklimit, out.compression)
                out.flush()
                fw.finish_field()
                if field.scorable:
                    present = grouped[0]
                    found = FieldTerms([keys[r] for r in present.tolist()], *grouped[1:])
                    self._add_scored(name, found)
                return
            lengths = fast.lengths()
            listed = {keys[term]: (ids, freqs) for term, ids, freqs in term_lists(*grouped)}
        fixedsize = fmt.fixed_value_size()
        kept: list[bytes] = []
        kept_counts: list[int] = []
        kept_docs: list[int] = []
        kept_freqs: list[float] = []
        for btext in sorted(listed.keys() | other.keys()):
            rows: list[tuple[int, float, bytes | None, int]] = []
            if btext in listed:
                ids, freqs = listed.pop(btext)
                rows = [(d, f * boost, _UINT.pack(f), lengths[d]) for d, f in zip(ids, freqs)]
            found = other.pop(btext, None)
            if found is not None:
                for docnum, weight, value in _other_rows(found):
                    # A field that is not scorable has no lengths: Whoosh reads 0.
                    length = dfl(docnum, name) if field.scorable else 0
                    rows.append((docnum, weight, value, length))
                if fast is not None:
                    rows.sort(key=lambda p: p[0])
            if field.scorable:
                kept.append(btext)
                kept_counts.append(len(rows))
                kept_docs.extend(p[0] for p in rows)
                kept_freqs.extend(p[1] for p in rows)
            blocks, stats = out.blocks(
                [p[0] for p in rows],
                [p[1] for p in rows],
                [p[2] or b"" for p in rows],
                [p[3] for p in rows],
                fixedsize,
            )
            out.add(prefix + btext, blocks, stats)
        out.flush()
        fw.finish_field()
        if field.scorable:
            found = FieldTerms(
                kept,
                np.array(kept_counts, dtype=np.int64),
                np.array(kept_docs, dtype=np.int64),
                np.array(kept_freqs, dtype=np.float64),
            )
            self._add_scored(name, found)

    def iter_postings(self) -> Iterator[tuple[str, bytes, int, float, bytes | None]]:
        raise NotImplementedError("BulkWriter does not hand its postings to other writers")


class _BulkSubWriterTask(SubWriterTask):
    """One indexing process: the batches of its own queue, into its own segment."""

    def __init__(self, number: int, *args: Any) -> None:
        super().__init__(*args)
        self.number = number

    def run(self) -> None:
        ix = self.storage.open_index(self.indexname)
        self.writer = BulkWriter(ix, _lk=False, **self.kwargs)
        while True:
            job = self.jobqueue.get()
            if job is None:
                break
            self._process_file(*job)
        self.resultqueue.put((self.number, self.writer._finalize_segment()))


class BulkMpWriter(MpWriter):
    """Whoosh's multi-process writer whose processes are BulkWriters.

    Each process writes its own segment (merging them would cost about as much
    as writing them). The processes start with the writer, before it holds any
    batch in memory, and take the batches of 256 documents in turn, so that
    the same input makes the same index. A process that fails fails the
    commit; cancelling stops them.
    """

    def __init__(self, ix: Any, procs: int, **kwargs: Any) -> None:
        kwargs.setdefault("compound", False)
        super().__init__(ix, procs=procs, batchsize=256, multisegment=True, **kwargs)
        self.docbuffer: list[tuple[int, dict[str, Any]]] = []
        self._queues: list[multiprocessing.Queue[tuple[str, int] | None]] = [
            multiprocessing.Queue(4) for _ in range(procs)
        ]
        self._batches = 0
        for number, queue in enumerate(self._queues):
            task = _BulkSubWriterTask(
                number,
                self.storage,
                self.indexname,
                queue,
                self.resultqueue,
                self.subargs,
                True,
            )
            self.tasks.append(task)
            task.start()

    def _enqueue(self) -> None:
        filename = f"{random_name()}.doclist"
        with self.temp_storage().create_file(filename).raw_file() as handle:
            for item in self.docbuffer:
                pickle.dump(item, handle, 2)
        self._put(self._batches % len(self.tasks), (filename, len(self.docbuffer)))
        self._batches += 1
        self.docbuffer = []

    def _put(self, number: int, job: tuple[str, int] | None) -> None:
        """Queue a job for one process, unless that process has stopped."""
        while True:
            try:
                self._queues[number].put(job, timeout=0.5)
                return
            except Full:
                if not self.tasks[number].is_alive():
                    self._failed(self.tasks[number])

    def _failed(self, task: Any) -> None:
        raise WriterFailed(
            f"an indexing process stopped (exit code {task.exitcode}); nothing was written"
        )

    def _segments(self) -> list[Any]:
        """Each process's segment, in the order of the processes."""
        found: dict[int, Any] = {}
        while len(found) < len(self.tasks):
            try:
                number, segment = self.resultqueue.get(timeout=0.5)
            except Empty:
                for task in self.tasks:
                    if task.exitcode and task.number not in found:
                        self._failed(task)
                continue
            found[number] = segment
        return [found[number] for number in sorted(found)]

    def _commit(self, mergetype: Any, optimize: Any, merge: Any) -> None:
        if self.docbuffer:
            self._enqueue()
        for number in range(len(self.tasks)):
            self._put(number, None)
        finalsegments = self._merge_segments(mergetype, optimize, merge)
        finalsegments += self._segments()
        for task in self.tasks:
            task.join()
        if self._added:
            finalsegments.append(self._finalize_segment())
        else:
            self._close_segment()
        self._commit_toc(finalsegments)
        self._finish()

    def cancel(self) -> None:
        try:
            for task in self.tasks:
                if task.is_alive():
                    task.terminate()
            for task in self.tasks:
                task.join()
        finally:
            SegmentWriter.cancel(self)
