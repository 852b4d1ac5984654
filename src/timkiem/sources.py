"""Reading raw article records from JSON Lines, JSON arrays and CSV files.

Each record comes with where it was found (file and line), so that every
problem can be reported as ``FILE:LINE``. Files may be gzip-compressed;
``-`` is standard input.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from timkiem.errors import SourceError


@dataclass(frozen=True)
class RawRecord:
    """A record as read, or the reason it could not be read."""

    source: str
    line: int
    data: Any = None
    error: str | None = None


def _open_binary(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        handle: IO[bytes] = open(path, "rb")
    except OSError as exc:
        raise SourceError(path, f"cannot open: {exc.strerror}") from None
    if path.endswith(".gz"):
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    return handle


def _format_of(path: str, first: bytes) -> str:
    name = path[:-3] if path.endswith(".gz") else path
    suffix = Path(name).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    stripped = first.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"["):
        return "array"
    if stripped.startswith(b"{") or suffix == ".json" or not stripped:
        return "jsonl"
    return "csv"


def read_records(path: str, content: bytes | None = None) -> Iterator[RawRecord]:
    """Yield every record of one file, in order (of ``content`` when given: the
    bytes already read from ``path``, which is then only its name)."""
    source = "<stdin>" if path == "-" else path
    if content is None:
        content = _read_all(source, _open_binary(path))
    if content.startswith(b"\x1f\x8b") and not path.endswith(".gz"):  # piped or misnamed gzip
        unzipped: IO[bytes] = gzip.GzipFile(fileobj=io.BytesIO(content))  # type: ignore[assignment]
        content = _read_all(source, unzipped)
    kind = _format_of(path, content[:4096])
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    if kind == "jsonl":
        single = _single_object(content)
        records = iter([RawRecord(source, 1, data=single)]) if single else _jsonl(source, content)
    else:
        text = _decode(source, content)
        records = _array(source, text) if kind == "array" else _csv(source, text)
    found = False
    for record in records:
        found = True
        yield record
    if not found:
        what = "is empty" if not content.strip() else "holds no records"
        raise SourceError(source, f"the file {what}; nothing to index", 1)


def _single_object(content: bytes) -> dict[str, Any] | None:
    """A file holding one JSON object spread over several lines (pretty-printed)."""
    first = next((line for line in content.split(b"\n", 64) if line.strip()), b"")
    try:
        json.loads(first)
        return None  # the first line stands alone: JSON Lines
    except (json.JSONDecodeError, UnicodeDecodeError):
        pass
    try:
        whole = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return whole if isinstance(whole, dict) else None


def _read_all(source: str, handle: IO[bytes]) -> bytes:
    """The whole (decompressed) content; a damaged gzip names the line it breaks in."""
    chunks: list[bytes] = []
    # read1: a truncated gzip then loses no data decompressed before the break
    read: Callable[[int], bytes] = getattr(handle, "read1", handle.read)
    try:
        while True:
            chunk = read(1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        line = sum(c.count(b"\n") for c in chunks) + 1
        if isinstance(exc, EOFError):
            reason = f"truncated gzip file: it breaks off at line {line}"
        else:
            reason = f"bad gzip data ({exc})"
        raise SourceError(source, reason, line if chunks else None) from None
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()


def _decode(source: str, content: bytes) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        raise SourceError(source, f"invalid UTF-8 ({exc.reason})", line) from None


def _lines(content: bytes) -> Iterator[bytes]:
    """The lines of ``content`` one at a time (not a second copy of it all at once)."""
    start = 0
    while (end := content.find(b"\n", start)) >= 0:
        yield content[start:end]
        start = end + 1
    yield content[start:]


def _jsonl(source: str, content: bytes) -> Iterator[RawRecord]:
    for number, raw_line in enumerate(_lines(content), 1):
        if not raw_line.strip():
            continue
        try:
            line = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield RawRecord(source, number, error=f"invalid UTF-8 ({exc.reason})")
            continue
        try:
            yield RawRecord(source, number, data=json.loads(line))
        except json.JSONDecodeError as exc:
            yield RawRecord(source, number, error=f"invalid JSON ({exc.msg} at column {exc.colno})")


def _array(source: str, text: str) -> Iterator[RawRecord]:
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    line = text.count("\n", 0, pos) + 1
    end = len(text)
    expect_item = True
    while True:
        start = pos
        while pos < end and text[pos] in " \t\r\n":
            pos += 1
        line += text.count("\n", start, pos)
        if pos >= end:
            raise SourceError(source, "JSON array is not closed (missing ']')", line)
        if text[pos] == "]":
            if text[pos + 1 :].strip():
                raise SourceError(source, "unexpected data after the JSON array", line)
            return
        if not expect_item:
            if text[pos] != ",":
                raise SourceError(source, "expected ',' or ']' between array items", line)
            pos += 1
            expect_item = True
            continue
        try:
            item, after = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise SourceError(source, f"invalid JSON ({exc.msg})", exc.lineno) from None
        yield RawRecord(source, line, data=item)
        line += text.count("\n", pos, after)
        pos = after
        expect_item = False


def _csv(source: str, text: str) -> Iterator[RawRecord]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        return
    names = [n.strip() for n in reader.fieldnames]
    reader.fieldnames = names
    try:
        for row in reader:
            number = reader.line_num
            if None in row:
                yield RawRecord(source, number, error="row has more cells than the header")
                continue
            data = {k: v for k, v in row.items() if k and v is not None and v != ""}
            yield RawRecord(source, number, data=data)
    except csv.Error as exc:
        raise SourceError(source, f"invalid CSV ({exc})", reader.line_num) from None


def count_records(path: str) -> int:
    """A quick count of the records in a file, for progress display."""
    try:
        handle = _open_binary(path)
        with handle:
            return sum(1 for line in handle if line.strip())
    except (SourceError, OSError, EOFError, zlib.error):
        return 0
