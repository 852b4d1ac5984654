"""Each segment's derived data: term postings in the form ranking reads them.

A segment's text fields are written twice: as Whoosh's own files, and as one
file beside them, ``<segment id>.tkseg``, that search reads through
``mmap``. The operating system pages it in on demand and shares its pages
between processes, nothing is rebuilt at start-up, and a commit adds only the
files of the segments it writes: every snapshot that holds a segment reads
the same :class:`SegmentData`.

For each term (a field name and a term's bytes) the file holds its documents
(segment-local numbers, ascending) and, per document, a 16-bit code into the
field's distinct ``(frequency, field length byte)`` pairs: a term's BM25F
score in a document is its idf times a function of that pair and of the
field's average length, so a query computes that function once per pair of
each field it scores, and reads the rest as codes (6 bytes a posting). Terms
are found by a 64-bit hash of ``field NUL term`` in a sorted array (equal
hashes are told apart by the stored key bytes).

Layout: 8 bytes of magic, a little-endian uint32 header length, a JSON header
(format, segment id, document count, fields, the offset, type and shape of
each array, and a CRC-32 of everything after the header), then the arrays,
each aligned to 64 bytes. The file name matches Whoosh's segment file pattern,
so Whoosh deletes it with its segment. A file that is missing, of another
segment, or whose checksum fails is never used: the data is rebuilt from the
segment's Whoosh files instead (:func:`from_reader`).
"""

from __future__ import annotations

import json
import mmap
import os
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from timkiem.cache import Memo
from timkiem.engine.filestore import fsync_directory

MAGIC = b"TKSEG\x00\x01\n"
FORMAT = 3
SUFFIX = "tkseg"
_ALIGN = 64
_TF_BITS = 20  # frequencies below 2**20 (the writer rejects others)
_LEN_BITS = 8

_ARRAYS = (
    "hashes",
    "order",
    "key_starts",
    "keys",
    "field_starts",
    "post_starts",
    "docs",
    "codes",
    "table_starts",
    "table_tf",
    "table_len",
)

U64 = npt.NDArray[np.uint64]
Int64s = npt.NDArray[np.int64]


class SegmentDataError(ValueError):
    """A segment's derived data file is missing, foreign or damaged."""


def file_name(segment_id: str) -> str:
    """The data file of a segment (Whoosh's segment ids start with the index name)."""
    return f"{segment_id}.{SUFFIX}"


def term_key(field: str, text: str) -> bytes:
    """The key a term is stored under: its field, a NUL byte and its UTF-8 text."""
    return field.encode("utf-8") + b"\x00" + text.encode("utf-8")


_FNV_OFFSET = 0xCBF29CE484222325
_HASHES_KEPT = 8192
_HASHES: Memo[bytes, int] = Memo(_HASHES_KEPT)  # the hashes of keys queries asked for
_HASHED_TOGETHER = 32  # keys hashed by one NumPy pass from this many (a step per byte)
_FNV_PRIME = np.uint64(0x100000001B3)


def _fnv1a(blob: npt.NDArray[np.uint8], starts: Int64s, lengths: Int64s, seeds: U64) -> U64:
    """FNV-1a (64 bits) of each ``blob[start:start + length]``, continuing from its seed.

    All keys advance one byte per step, the shortest dropping out first, so
    the work is a few NumPy operations per byte of the longest key.
    """
    order = np.argsort(lengths, kind="stable")
    lengths, starts = lengths[order], starts[order]
    state = seeds[order].astype(np.uint64)
    longest = int(lengths[-1]) if len(lengths) else 0
    for step in range(longest):
        first = int(np.searchsorted(lengths, step, side="right"))  # keys longer than step
        part = state[first:]
        part ^= blob[starts[first:] + step]
        part *= _FNV_PRIME
    hashes = np.empty_like(state)
    hashes[order] = state
    return hashes


def fnv1a(data: bytes) -> int:
    """FNV-1a (64 bits) of ``data``."""
    state = _FNV_OFFSET
    for byte in data:
        state = ((state ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return state


def _hashed(keys: list[bytes], seed: int) -> tuple[U64, bytes, Int64s]:
    """FNV-1a of each key continuing from ``seed``, the keys joined, and their lengths."""
    lengths = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
    starts = np.zeros(len(keys), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    blob = b"".join(keys)
    seeds = np.full(len(keys), seed, dtype=np.uint64)
    return _fnv1a(np.frombuffer(blob, dtype=np.uint8), starts, lengths, seeds), blob, lengths


def key_hashes(keys: list[bytes]) -> U64:
    """The hash of each key (``term_key``: field, NUL, text) as the file stores it.

    A query's keys are remembered (its words recur in other queries); those
    not seen before are hashed one by one when few, with NumPy when many.
    """
    if len(keys) >= _HASHES_KEPT:  # a whole lexicon: nothing to remember
        return _hashed(keys, _FNV_OFFSET)[0]
    found = [_HASHES.get(key) for key in keys]
    missing = [key for key, hashed in zip(keys, found) if hashed is None]
    if missing:
        fresh = (
            [fnv1a(key) for key in missing]
            if len(missing) < _HASHED_TOGETHER
            else _hashed(missing, _FNV_OFFSET)[0].tolist()
        )
        new = dict(zip(missing, fresh))
        _HASHES.update(new)
        found = [new[key] if hashed is None else hashed for key, hashed in zip(keys, found)]
    return np.array(found, dtype=np.uint64)


@dataclass
class FieldTerms:
    """One field's postings grouped by term: ``keys[i]`` has ``counts[i]``
    postings, in ``docs`` (ascending per term) and ``freqs``."""

    keys: list[bytes]
    counts: npt.NDArray[Any]
    docs: npt.NDArray[Any]
    freqs: npt.NDArray[Any]


class Builder:
    """A segment's data, built field by field as the writer writes its fields.

    Each field's postings are turned at once into 6 bytes a posting (its
    document and a code into the field's distinct ``(frequency, length
    byte)`` pairs), so the writer can drop them before the next field.
    """

    def __init__(self, segment_id: str, doc_count: int) -> None:
        self.segment_id = segment_id
        self.doc_count = doc_count
        self.fields: list[str] = []
        self.blobs: list[bytes] = []
        self.key_lengths: list[Int64s] = []
        self.hashes: list[U64] = []
        self.counts: list[npt.NDArray[np.int64]] = []
        self.docs: list[npt.NDArray[np.int32]] = []
        self.codes: list[npt.NDArray[np.uint32]] = []
        self.tables: list[npt.NDArray[np.int64]] = []

    def add(self, name: str, terms: FieldTerms, lengths: npt.NDArray[np.uint8]) -> None:
        """One field's terms, and its length byte in each document."""
        if name in self.fields:
            raise SegmentDataError(f"field {name!r} given twice")
        lengths = np.asarray(lengths, dtype=np.uint8)[: self.doc_count]
        lengths = np.concatenate([lengths, np.zeros(self.doc_count - len(lengths), np.uint8)])
        docs = np.asarray(terms.docs).astype(np.int32)
        freqs = np.asarray(terms.freqs)
        if len(freqs):
            if freqs.dtype.kind == "f":
                if not np.array_equal(freqs, np.floor(freqs)):
                    raise SegmentDataError(f"{name}: term frequencies must be whole numbers")
            if freqs.min() < 0 or freqs.max() >= 2**_TF_BITS:
                raise SegmentDataError(f"{name}: term frequencies must be below 2**20")
        pairs = (freqs.astype(np.int64) << _LEN_BITS) | lengths[docs]
        del freqs
        if len(pairs) and pairs.max() < 1 << 24:  # a table over every possible pair: no sort
            present = np.zeros(int(pairs.max()) + 1, dtype=np.bool_)
            present[pairs] = True
            unique = np.flatnonzero(present)
            codes = (np.cumsum(present, dtype=np.int64) - 1)[pairs].astype(np.uint32)
        else:
            unique, inverse = np.unique(pairs, return_inverse=True)
            codes = inverse.reshape(-1).astype(np.uint32)
        self.fields.append(name)
        prefix = name.encode("utf-8") + b"\x00"
        hashes, blob, key_lengths = _hashed(terms.keys, fnv1a(prefix))
        self.hashes.append(hashes)
        self.blobs.append(blob)
        self.key_lengths.append(key_lengths)
        self.counts.append(np.asarray(terms.counts, dtype=np.int64))
        self.docs.append(docs)
        self.codes.append(codes)
        self.tables.append(unique.astype(np.int64))

    def finish(self) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
        """The header and arrays of the file."""
        hashes = concat(self.hashes, np.uint64)
        order = np.argsort(hashes, kind="stable")
        key_lengths = concat(self.key_lengths, np.int64)
        key_starts = np.zeros(len(key_lengths) + 1, dtype=np.int64)
        np.cumsum(key_lengths, out=key_starts[1:])
        field_starts = np.zeros(len(self.fields) + 1, dtype=np.int64)
        np.cumsum([len(k) for k in self.key_lengths], out=field_starts[1:])
        counts = concat(self.counts, np.int64)
        post_starts = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=post_starts[1:])
        table = concat(self.tables, np.int64)
        table_starts = np.zeros(len(self.tables) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in self.tables], out=table_starts[1:])
        wide = max((len(t) for t in self.tables), default=0) > 1 << 16
        arrays: dict[str, npt.NDArray[Any]] = {
            "hashes": hashes[order],
            "order": order.astype(np.int64),
            "key_starts": key_starts,
            "keys": np.frombuffer(b"".join(self.blobs), dtype=np.uint8),
            "field_starts": field_starts,
            "post_starts": post_starts,
            "docs": concat(self.docs, np.int32),
            "codes": concat(self.codes, np.uint32 if wide else np.uint16),
            "table_starts": table_starts,
            "table_tf": (table >> _LEN_BITS).astype(np.float64),
            "table_len": (table & 0xFF).astype(np.uint8),
        }
        header = {
            "format": FORMAT,
            "segment": self.segment_id,
            "doc_count": self.doc_count,
            "fields": self.fields,
        }
        return header, arrays


def concat(parts: list[npt.NDArray[Any]], dtype: Any) -> npt.NDArray[Any]:
    """``parts`` end to end as one array of ``dtype`` (empty for no parts)."""
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def write(
    path: str, header: dict[str, Any], arrays: dict[str, npt.NDArray[Any]], magic: bytes = MAGIC
) -> None:
    """Write the file durably: a temporary name, fsync, rename, fsync the folder.

    ``magic`` names the kind of file (this layout also holds ``timkiem.engine.phrases``).
    """
    layout: dict[str, list[Any]] = {}
    offset = 0
    for name, array in arrays.items():
        offset = -(-offset // _ALIGN) * _ALIGN
        layout[name] = [offset, array.dtype.str, list(array.shape)]
        offset += array.nbytes
    payload_size = offset
    crc = 0
    pieces: list[tuple[int, bytes]] = []
    for name, array in arrays.items():
        pieces.append((layout[name][0], np.ascontiguousarray(array).tobytes()))
    body = bytearray(payload_size)
    for start, data in pieces:
        body[start : start + len(data)] = data
    crc = zlib.crc32(body)
    meta = dict(header, arrays=layout, payload=payload_size, crc32=crc)
    text = json.dumps(meta, sort_keys=True).encode("utf-8")
    head = magic + len(text).to_bytes(4, "little") + text
    head += bytes(-len(head) % _ALIGN)
    folder, base = os.path.split(path)
    tmp = os.path.join(folder, f".{base}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(head)
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_directory(folder or ".")


_ALL_KEPT = 4096  # a segment of at most this many terms keeps them all in a dict
_ONE_BY_ONE = 8  # keys searched for one at a time below this many (NumPy calls cost)
_TERMS_KEPT = 8192  # keys whose term numbers a segment remembers (about 1 MB)


class SegmentData:
    """One segment's derived data, read through ``mmap`` (or held in memory)."""

    def __init__(self, header: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.segment_id: str = header["segment"]
        self.doc_count: int = header["doc_count"]
        self.fields: list[str] = list(header["fields"])
        self.hashes: U64 = arrays["hashes"]
        self.order: Int64s = arrays["order"]
        self.field_starts: list[int] = arrays["field_starts"].tolist()
        self._field_number = {name: n for n, name in enumerate(self.fields)}
        self.key_starts: Int64s = arrays["key_starts"]
        self.keys = arrays["keys"]
        self.post_starts: Int64s = arrays["post_starts"]
        self.docs: npt.NDArray[np.int32] = arrays["docs"]
        self.codes: npt.NDArray[Any] = arrays["codes"]
        self.table_starts: Int64s = arrays["table_starts"]
        self.table_tf: npt.NDArray[np.float64] = arrays["table_tf"]
        self.table_len: npt.NDArray[np.uint8] = arrays["table_len"]
        self._keybytes = memoryview(self.keys.data) if len(self.keys) else memoryview(b"")
        # small results computed from the data (a field's BM25F ratios per parameters)
        self.memo: dict[tuple[object, ...], Any] = {}
        # the term number of keys looked up before (-1: absent): queries repeat words
        self._terms: Memo[bytes, int] = Memo(_TERMS_KEPT)
        self._all_terms: dict[bytes, int] | None = None  # every key, for a small segment

    def table(self, field: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint8]]:
        """The distinct ``(frequency, length byte)`` pairs of ``field``, which its
        postings' codes number."""
        number = self.fields.index(field)
        lo, hi = int(self.table_starts[number]), int(self.table_starts[number + 1])
        return self.table_tf[lo:hi], self.table_len[lo:hi]

    def find(self, hashes: U64, keys: list[bytes]) -> Int64s:
        """The term number of each key (``term_key``; -1: not in this segment).

        A key looked up before is answered from memory. For the others, the
        hash, the field and the key's length are checked for all keys at once;
        the bytes of each candidate are compared one by one.
        """
        if len(self.key_starts) <= _ALL_KEPT:  # a small segment: every key in a dict
            if self._all_terms is None:
                self._all_terms = self._every_term()
            every = self._all_terms
            return np.array([every.get(key, -1) for key in keys], dtype=np.int64)
        numbers = [self._terms.get(key) for key in keys]
        unseen = [n for n, number in enumerate(numbers) if number is None]
        if unseen:
            looked = self._search(hashes[unseen], [keys[n] for n in unseen]).tolist()
            self._terms.update({keys[n]: number for n, number in zip(unseen, looked)})
            for n, number in zip(unseen, looked):
                numbers[n] = number
        return np.array(numbers, dtype=np.int64)

    def _every_term(self) -> dict[bytes, int]:
        """Each key of the segment and its term number."""
        starts = self.key_starts.tolist()
        keybytes = bytes(self._keybytes)
        every: dict[bytes, int] = {}
        for number, field in enumerate(self.fields):
            prefix = field.encode("utf-8") + b"\x00"
            for term in range(self.field_starts[number], self.field_starts[number + 1]):
                every[prefix + keybytes[starts[term] : starts[term + 1]]] = term
        return every

    def _search(self, hashes: U64, keys: list[bytes]) -> Int64s:
        """``find`` in the sorted hashes, for keys not looked up before."""
        found = np.full(len(keys), -1, dtype=np.int64)
        if not len(self.hashes) or not keys:
            return found
        if len(keys) <= _ONE_BY_ONE:
            for n, (hashed, key) in enumerate(zip(hashes.tolist(), keys)):
                found[n] = self._search_one(hashed, key)
            return found
        table = self.hashes
        places = np.searchsorted(table, hashes, side="left")
        hits = np.flatnonzero(places < len(table))
        hits = hits[table[places[hits]] == hashes[hits]]
        if not len(hits):
            return found
        parts = [keys[i].partition(b"\x00") for i in hits.tolist()]
        numbers = [self._field_number.get(field.decode("utf-8"), -1) for field, _, _ in parts]
        terms = self.order[places[hits]]
        bounds = np.array(self.field_starts + [0], dtype=np.int64)
        number = np.array(numbers, dtype=np.int64)
        sizes = np.array([len(text) for _, _, text in parts], dtype=np.int64)
        starts = self.key_starts[terms]
        fits = (number >= 0) & (terms >= bounds[number]) & (terms < bounds[number + 1])
        fits &= self.key_starts[terms + 1] - starts == sizes
        keybytes = self._keybytes
        for n, (i, term, start, size, ok) in enumerate(
            zip(hits.tolist(), terms.tolist(), starts.tolist(), sizes.tolist(), fits.tolist())
        ):
            if ok and keybytes[start : start + size] == parts[n][2]:
                found[i] = term
            elif int(places[i]) + 1 < len(table) and table[int(places[i]) + 1] == hashes[i]:
                found[i] = self._find_among_equal(int(places[i]), numbers[n], parts[n][2])
        return found

    def _search_one(self, hashed: int, key: bytes) -> int:
        """``_search`` for one key (fewer NumPy calls than for many)."""
        field, _, text = key.partition(b"\x00")
        number = self._field_number.get(field.decode("utf-8", "replace"), -1)
        place = int(self.hashes.searchsorted(np.uint64(hashed)))
        if number < 0 or place >= len(self.hashes) or int(self.hashes[place]) != hashed:
            return -1
        return self._find_among_equal(place, number, text)

    def _find_among_equal(self, place: int, number: int, text: bytes) -> int:
        """The term among the entries of one hash (two keys of one hash: rare)."""
        if number < 0:
            return -1
        lo, hi = self.field_starts[number], self.field_starts[number + 1]
        wanted = self.hashes[place]
        while place < len(self.hashes) and self.hashes[place] == wanted:
            term = int(self.order[place])
            start, end = int(self.key_starts[term]), int(self.key_starts[term + 1])
            if lo <= term < hi and self._keybytes[start:end] == text:
                return term
            place += 1
        return -1


def open_file(path: str, segment_id: str, doc_count: int) -> SegmentData:
    """Open and check a segment's data file (``SegmentDataError`` if unusable)."""
    meta, arrays = open_arrays(path, segment_id, doc_count, MAGIC, FORMAT, _ARRAYS)
    return SegmentData(meta, arrays)


def open_arrays(
    path: str,
    segment_id: str,
    doc_count: int,
    magic: bytes,
    version: int,
    names: tuple[str, ...],
) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
    """Open and check a file of this layout: its header and its arrays, mapped."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise SegmentDataError(f"{path} is missing") from None
    try:
        size = os.fstat(fd).st_size
        start = os.pread(fd, 12, 0)
        if len(start) < 12 or start[:8] != magic:
            raise SegmentDataError(f"{path} is not a timkiem segment data file")
        hlen = int.from_bytes(start[8:12], "little")
        try:
            meta = json.loads(os.pread(fd, hlen, 12))
        except ValueError:
            raise SegmentDataError(f"{path} has a damaged header") from None
        body = 12 + hlen
        body += -body % _ALIGN
        if meta.get("format") != version:
            raise SegmentDataError(f"{path} is of format {meta.get('format')}, not {version}")
        if meta.get("segment") != segment_id or meta.get("doc_count") != doc_count:
            raise SegmentDataError(f"{path} belongs to another segment")
        if size != body + meta["payload"]:
            raise SegmentDataError(f"{path} is {size} bytes, not {body + meta['payload']}")
        crc = 0
        position = body
        while position < size:  # read, not mapped: the check adds no resident memory
            chunk = os.pread(fd, min(1 << 22, size - position), position)
            if not chunk:
                break
            crc = zlib.crc32(chunk, crc)
            position += len(chunk)
        if crc != meta["crc32"]:
            raise SegmentDataError(f"{path} fails its checksum")
        mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ) if size else None
    finally:
        os.close(fd)
    arrays: dict[str, npt.NDArray[Any]] = {}
    missing = set(names) - set(meta["arrays"])
    if missing:
        raise SegmentDataError(f"{path} lacks {', '.join(sorted(missing))}")
    for name, (offset, dtype, shape) in meta["arrays"].items():
        count = int(np.prod(shape)) if shape else 1
        if mapped is None or count == 0:
            arrays[name] = np.zeros(shape, dtype=np.dtype(dtype))
            continue
        flat = np.frombuffer(mapped, dtype=np.dtype(dtype), count=count, offset=body + offset)
        arrays[name] = flat.reshape(shape)
    return meta, arrays


def from_reader(reader: Any, segment_id: str, fields: list[str]) -> SegmentData:
    """A segment's data rebuilt from its Whoosh files (slow: every term is read)."""
    from timkiem.engine.blocks import read_postings
    from timkiem.engine.columns import length_bytes

    builder = Builder(segment_id, reader.doc_count_all())
    for name in fields:
        if name not in reader.schema:
            continue
        keys: list[bytes] = []
        counts: list[int] = []
        docs: list[npt.NDArray[Any]] = []
        freqs: list[npt.NDArray[Any]] = []
        if name in reader.indexed_field_names():
            for btext in reader.lexicon(name):
                ids, weights = read_postings(reader, name, btext)
                if len(ids):
                    keys.append(bytes(btext))
                    counts.append(len(ids))
                    docs.append(ids)
                    freqs.append(weights)
        counted = np.array(counts, dtype=np.int64)
        terms = FieldTerms(keys, counted, concat(docs, np.int64), concat(freqs, np.float64))
        builder.add(name, terms, length_bytes(reader, name))
    return SegmentData(*builder.finish())
