"""Bad ingest input: a clear FILE:LINE message each, and the index exactly as it was."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import EXAMPLES
from timkiem.cli import cli

GOOD = [
    {"id": f"x{i}", "title": f"Tin công đoàn số {i}", "body": "Nội dung " * 20} for i in range(1, 6)
]


def jsonl(records: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def truncated_gzip(path: Path) -> tuple[Path, int]:
    """A gzip cut off in the middle of line 3001 of 5000."""
    lines = [json.dumps({"id": f"t{i}", "title": f"bài {i} " + str(i * 7919)}) for i in range(5000)]
    data = ("\n".join(lines) + "\n").encode()
    cut = sum(len(line) + 1 for line in lines[:3000]) + 10
    # compress in two flushes so the first 3000 lines and a bit are complete in the stream
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    head = comp.compress(data[:cut]) + comp.flush(zlib.Z_SYNC_FLUSH)
    path.write_bytes(head + comp.compress(data[cut:])[:5])
    return path, 3001


def write(name: str, content: bytes) -> Callable[[Path], tuple[Path, int]]:
    def make(folder: Path, line: int) -> tuple[Path, int]:
        path = folder / name
        path.write_bytes(content)
        return path, line

    return lambda folder: make(folder, LINES[name])


LINES: dict[str, int] = {}


def case(name: str, content: bytes, line: int) -> Callable[[Path], tuple[Path, int]]:
    LINES[name] = line
    return write(name, content)


BAD_UTF8_JSONL = jsonl(GOOD).replace("số 3".encode(), b"s\xff\xfe 3")
BAD_UTF8_CSV = b"id,title\nc1,ok\nc2,ti\xc3\n"
BAD_UTF8_ARRAY = b'[{"id": "a1", "title": "a"},\n{"id": "a2", "title": "\xe1\xbb"}]'
HALF_LINE = jsonl(GOOD)[:-40]
BAD_DATE = jsonl([{"id": "d1", "title": "Ngày lạ", "date": "31/02/2020"}])
HUGE = jsonl(
    [{"id": "h1", "title": "Ngắn"}, {"id": "h2", "title": "Ngắn"}]
    + [{"id": "big", "title": "Bài dài", "body": "công đoàn " * 1_000_000}]
)

CASES: dict[str, tuple[Callable[[Path], tuple[Path, int]], str]] = {
    "truncated gzip": (lambda f: truncated_gzip(f / "cut.jsonl.gz"), "truncated gzip file"),
    "invalid UTF-8 in JSON Lines": (case("u.jsonl", BAD_UTF8_JSONL, 3), "invalid UTF-8"),
    "invalid UTF-8 in CSV": (case("u.csv", BAD_UTF8_CSV, 3), "invalid UTF-8"),
    "invalid UTF-8 in a JSON array": (case("u.json", BAD_UTF8_ARRAY, 2), "invalid UTF-8"),
    "JSON line cut in half": (case("half.jsonl", HALF_LINE, 5), "invalid JSON"),
    "31/02/2020": (case("date.jsonl", BAD_DATE, 1), "'31/02/2020' does not exist"),
    "10 MB body": (
        case("huge.jsonl", HUGE, 3),
        f"body has {len(('công đoàn ' * 1_000_000).strip()):,} characters",
    ),
    "empty JSON Lines": (case("empty.jsonl", b"", 1), "the file is empty"),
    "blank lines only": (case("blank.jsonl", b"\n  \n\t\n", 1), "the file is empty"),
    "empty CSV": (case("empty.csv", b"", 1), "the file is empty"),
    "CSV with a header only": (case("header.csv", b"id,title\n", 1), "holds no records"),
    "empty JSON": (case("empty.json", b"", 1), "the file is empty"),
    "empty JSON array": (case("array.json", b"[]", 1), "holds no records"),
    "empty gzip": (case("empty.jsonl.gz", gzip.compress(b""), 1), "the file is empty"),
}


def fingerprint(index: Path) -> dict[str, tuple[int, int]]:
    """Every file of the index directory with its size and modification time."""
    return {
        str(p.relative_to(index)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(index.rglob("*"))
        if p.is_file() and p.name not in ("LOCK", "MAIN_WRITELOCK")
    }


@pytest.fixture
def index(tmp_path: Path) -> Path:
    path = tmp_path / "index"
    result = CliRunner().invoke(cli, ["ingest", "--index", str(path), str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_names_file_and_line_and_changes_nothing(
    index: Path, tmp_path: Path, name: str
) -> None:
    make, reason = CASES[name]
    path, line = make(tmp_path)
    good = tmp_path / "good.jsonl"
    good.write_bytes(jsonl(GOOD))
    before = fingerprint(index)
    runner = CliRunner()
    for command in ("ingest", "reindex"):
        result = runner.invoke(cli, [command, "--index", str(index), str(good), str(path)])
        assert result.exit_code == 1, result.output
        assert f"{path}:{line}:" in result.output, result.output
        assert reason in result.output
        assert "nothing was written" in result.output
        assert "Traceback" not in result.output
        assert fingerprint(index) == before
    search = runner.invoke(cli, ["search", "--index", str(index), "--json", "x1"])
    assert json.loads(search.output)["total"] == 0  # not even the good file's articles


def test_skip_invalid_commits_the_rest_and_reports_the_bad(index: Path, tmp_path: Path) -> None:
    bad = tmp_path / "mixed.jsonl"
    bad.write_bytes(jsonl(GOOD[:2]) + b'{"id": "half", "ti\n' + BAD_DATE)
    result = CliRunner().invoke(cli, ["ingest", "--index", str(index), "--skip-invalid", str(bad)])
    assert result.exit_code == 0, result.output
    assert f"{bad}:3: id=?: invalid JSON" in result.output
    assert f"{bad}:4: id=d1: date '31/02/2020' does not exist" in result.output
    assert "2 added, 0 replaced, 2 rejected" in result.output


def test_a_first_ingest_of_bad_input_leaves_no_index(tmp_path: Path) -> None:
    path, line = truncated_gzip(tmp_path / "cut.jsonl.gz")
    index = tmp_path / "fresh"
    result = CliRunner().invoke(cli, ["ingest", "--index", str(index), str(path)])
    assert result.exit_code == 1 and f"{path}:{line}:" in result.output
    assert not list(index.glob("gen-*")) and not (index / "CURRENT").exists()
