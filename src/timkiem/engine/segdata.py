"""Each segment's derived data: term postings in the form ranking reads them.

A segment's text fields are written twice: as Whoosh's own files, and as one
file beside them, ``<segment id>.tkseg``, that search reads through
``mmap``. The operating system pages it in on demand and shares its pages
between processes, nothing is rebuilt at start-up, and a commit adds only the
files of the segments it writes: every snapshot that holds a segment reads
the same :class:`SegmentData`.

For each term (a field name and a term's bytes) the file holds its documents
(segment-local numbers, ascending) and, per document, a 16-bit code into the
term's distinct ``(frequency, field length byte)`` pairs: a term's BM25F score
in a document depends only on those two and on index-wide statistics (idf,
average field length), so a query computes the few distinct scores of each
term and reads the rest as codes. Terms are found by a 64-bit hash of
``field NUL term`` in a sorted array (equal hashes are told apart by the
stored key bytes).

Layout: 8 bytes of magic, a little-endian uint32 header length, a JSON header
(format, segment id, document count, fields, the offset, type and shape of
each array, and a CRC-32 of everything after the header), then the arrays,
each aligned to 64 bytes. The file name matches Whoosh's segment file pattern,
so Whoosh deletes it with its segment. A file that is missing, of another
segment, or whose checksum fails is never used: the data is rebuilt from the
segment's Whoosh files instead (:func:`from_reader`).
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from timkiem.engine.filestore import fsync_directory

MAGIC = b"TKSEG\x00\x01\n"
FORMAT = 1
SUFFIX = "tkseg"
_ALIGN = 64
_TF_BITS = 20  # frequencies below 2**20 (the writer rejects others)
_LEN_BITS = 8

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


def key_hash(key: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")


def key_hashes(keys: Iterable[bytes]) -> U64:
    blake2b = hashlib.blake2b
    joined = b"".join(blake2b(k, digest_size=8).digest() for k in keys)
    return np.frombuffer(joined, dtype="<u8").astype(np.uint64)


@dataclass
class FieldTerms:
    """One field's postings grouped by term: ``keys[i]`` has ``counts[i]``
    postings, in ``docs`` (ascending per term) and ``freqs``."""

    keys: list[bytes]
    counts: npt.NDArray[Any]
    docs: npt.NDArray[Any]
    freqs: npt.NDArray[Any]


def build(
    segment_id: str,
    doc_count: int,
    fields: dict[str, FieldTerms],
    lengths: dict[str, npt.NDArray[np.uint8]],
) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
    """The header and arrays of a segment's data, from its postings and the
    length byte of each field in each document."""
    keys: list[bytes] = []
    counts, docs, freqs, lbytes = [], [], [], []
    for name in sorted(fields):
        terms = fields[name]
        prefix = name.encode("utf-8") + b"\x00"
        keys.extend(prefix + k for k in terms.keys)
        fdocs = np.asarray(terms.docs, dtype=np.int64)
        counts.append(np.asarray(terms.counts, dtype=np.int64))
        docs.append(fdocs)
        freqs.append(np.asarray(terms.freqs, dtype=np.float64))
        field_lengths = lengths.get(name, np.zeros(doc_count, np.uint8))
        lbytes.append(field_lengths[fdocs] if len(fdocs) else np.zeros(0, np.uint8))
    count = _cat(counts, np.int64)
    tf = _cat(freqs, np.float64)
    whole = np.array_equal(tf, np.floor(tf))
    if len(tf) and (tf.max() >= 2**_TF_BITS or tf.min() < 0 or not whole):
        raise SegmentDataError("term frequencies must be whole numbers below 2**20")
    hashes = key_hashes(keys)
    order = np.argsort(hashes, kind="stable")
    starts = np.zeros(len(count) + 1, dtype=np.int64)
    np.cumsum(count, out=starts[1:])
    new_count = count[order]
    new_starts = np.zeros(len(count) + 1, dtype=np.int64)
    np.cumsum(new_count, out=new_starts[1:])
    # Each term's run of postings moved to the term's place in hash order.
    moved = np.arange(int(new_starts[-1]), dtype=np.int64)
    moved += np.repeat(starts[:-1][order] - new_starts[:-1], new_count)
    all_docs = _cat(docs, np.int64)[moved]
    pair = (tf[moved].astype(np.int64) << _LEN_BITS) | _cat(lbytes, np.uint8)[moved]
    del moved
    term_of = np.repeat(np.arange(len(count), dtype=np.int64), new_count)
    unique, inverse = np.unique((term_of << (_TF_BITS + _LEN_BITS)) | pair, return_inverse=True)
    table_starts = np.searchsorted(unique >> (_TF_BITS + _LEN_BITS), np.arange(len(count) + 1))
    codes = inverse.reshape(-1) - table_starts[term_of]
    if len(codes) and codes.max() >= 1 << 16:
        raise SegmentDataError("a term has more than 65,536 distinct scores")
    sorted_keys = [keys[i] for i in order.tolist()]
    key_starts = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum([len(k) for k in sorted_keys], out=key_starts[1:])
    length_rows = np.zeros((len(fields), doc_count), dtype=np.uint8)
    for row, name in enumerate(sorted(fields)):
        if name in lengths:
            length_rows[row] = lengths[name][:doc_count]
    arrays: dict[str, npt.NDArray[Any]] = {
        "hashes": hashes[order],
        "key_starts": key_starts,
        "keys": np.frombuffer(b"".join(sorted_keys), dtype=np.uint8),
        "post_starts": new_starts,
        "docs": all_docs.astype(np.int32),
        "codes": codes.astype(np.uint16),
        "table_starts": table_starts.astype(np.int64),
        "table_tf": ((unique >> _LEN_BITS) & ((1 << _TF_BITS) - 1)).astype(np.float64),
        "table_len": (unique & 0xFF).astype(np.uint8),
        "lengths": length_rows,
    }
    header = {
        "format": FORMAT,
        "segment": segment_id,
        "doc_count": doc_count,
        "fields": sorted(fields),
    }
    return header, arrays


def _cat(parts: list[npt.NDArray[Any]], dtype: Any) -> npt.NDArray[Any]:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


def write(path: str, header: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> None:
    """Write the file durably: a temporary name, fsync, rename, fsync the folder."""
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
    head = MAGIC + len(text).to_bytes(4, "little") + text
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


class SegmentData:
    """One segment's derived data, read through ``mmap`` (or held in memory)."""

    def __init__(self, header: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.segment_id: str = header["segment"]
        self.doc_count: int = header["doc_count"]
        self.fields: list[str] = list(header["fields"])
        self.hashes: U64 = arrays["hashes"]
        self.key_starts: Int64s = arrays["key_starts"]
        self.keys = arrays["keys"]
        self.post_starts: Int64s = arrays["post_starts"]
        self.docs: npt.NDArray[np.int32] = arrays["docs"]
        self.codes: npt.NDArray[np.uint16] = arrays["codes"]
        self.table_starts: Int64s = arrays["table_starts"]
        self.table_tf: npt.NDArray[np.float64] = arrays["table_tf"]
        self.table_len: npt.NDArray[np.uint8] = arrays["table_len"]
        self._lengths = arrays["lengths"]
        self._keybytes = memoryview(self.keys.data) if len(self.keys) else memoryview(b"")
        self.size_bytes = sum(int(a.nbytes) for a in arrays.values())

    @property
    def term_count(self) -> int:
        return len(self.hashes)

    def field_lengths(self, field: str) -> npt.NDArray[np.uint8]:
        """The length byte of ``field`` in each document (0: no value)."""
        if field not in self.fields:
            return np.zeros(self.doc_count, dtype=np.uint8)
        return self._lengths[self.fields.index(field)]  # type: ignore[no-any-return]

    def find(self, hashes: U64, keys: list[bytes]) -> Int64s:
        """The term number of each key (-1: not in this segment)."""
        found = np.full(len(keys), -1, dtype=np.int64)
        if not len(self.hashes) or not keys:
            return found
        table = self.hashes
        places = np.searchsorted(table, hashes, side="left")
        inside = places < len(table)
        hits = np.flatnonzero(inside)
        hits = hits[table[places[hits]] == hashes[hits]]
        starts = self.key_starts
        keybytes = self._keybytes
        for i in hits.tolist():
            place = int(places[i])
            key = keys[i]
            while place < len(table) and table[place] == hashes[i]:
                if keybytes[int(starts[place]) : int(starts[place + 1])] == key:
                    found[i] = place
                    break
                place += 1
        return found

    def iter_keys(self) -> Iterable[tuple[str, str, int]]:
        """Every ``(field, text, term number)`` (in hash order): for checks and tools."""
        starts = self.key_starts.tolist()
        raw = bytes(self._keybytes)
        for number in range(len(self.hashes)):
            field, _, text = raw[starts[number] : starts[number + 1]].partition(b"\x00")
            yield field.decode("utf-8"), text.decode("utf-8"), number


def open_file(path: str, segment_id: str, doc_count: int) -> SegmentData:
    """Open and check a segment's data file (``SegmentDataError`` if unusable)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise SegmentDataError(f"{path} is missing") from None
    try:
        size = os.fstat(fd).st_size
        start = os.pread(fd, 12, 0)
        if len(start) < 12 or start[:8] != MAGIC:
            raise SegmentDataError(f"{path} is not a timkiem segment data file")
        hlen = int.from_bytes(start[8:12], "little")
        try:
            meta = json.loads(os.pread(fd, hlen, 12))
        except ValueError:
            raise SegmentDataError(f"{path} has a damaged header") from None
        body = 12 + hlen
        body += -body % _ALIGN
        if meta.get("format") != FORMAT:
            raise SegmentDataError(f"{path} is of format {meta.get('format')}, not {FORMAT}")
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
    for name, (offset, dtype, shape) in meta["arrays"].items():
        count = int(np.prod(shape)) if shape else 1
        if mapped is None or count == 0:
            arrays[name] = np.zeros(shape, dtype=np.dtype(dtype))
            continue
        flat = np.frombuffer(mapped, dtype=np.dtype(dtype), count=count, offset=body + offset)
        arrays[name] = flat.reshape(shape)
    return SegmentData(meta, arrays)


def from_reader(reader: Any, segment_id: str, fields: list[str]) -> SegmentData:
    """A segment's data rebuilt from its Whoosh files (slow: every term is read)."""
    from timkiem.engine.blocks import read_postings
    from timkiem.engine.columns import length_bytes

    doc_count = reader.doc_count_all()
    found: dict[str, FieldTerms] = {}
    lengths: dict[str, npt.NDArray[np.uint8]] = {}
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
        found[name] = FieldTerms(
            keys, np.array(counts, dtype=np.int64), _cat(docs, np.int64), _cat(freqs, np.float64)
        )
        lengths[name] = length_bytes(reader, name)
    header, arrays = build(segment_id, doc_count, found, lengths)
    return SegmentData(header, arrays)
