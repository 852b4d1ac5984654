"""Reading records from JSON Lines, JSON arrays and CSV, plain or gzipped, or stdin."""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from timkiem.errors import Problem, SourceError
from timkiem.sources import RawRecord, count_records, read_records

BOM = b"\xef\xbb\xbf"
RECORDS = [
    {"id": "a", "title": "Công đoàn Bắc Kạn", "tags": ["x", "y"]},
    {"id": "b", "body": 'Người lao động, "đoàn viên"\nnhiều dòng'},
]


def jsonl(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def csv_bytes() -> bytes:
    return (
        "id,title,body,tags\r\n"
        "a,Công đoàn Bắc Kạn,,x;y\r\n"
        'b,,"Người lao động, ""đoàn viên""\nnhiều dòng",\r\n'
    ).encode()


def array_bytes() -> bytes:
    return json.dumps(RECORDS, ensure_ascii=False, indent=2).encode()


def read(path: Path) -> list[RawRecord]:
    return list(read_records(str(path)))


FORMATS = {"jsonl": jsonl(RECORDS), "json": array_bytes(), "csv": csv_bytes()}


@pytest.mark.parametrize("suffix", sorted(FORMATS))
@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("gz", [False, True])
def test_every_format_reads_the_same_records(
    tmp_path: Path, suffix: str, bom: bool, gz: bool
) -> None:
    content = (BOM if bom else b"") + FORMATS[suffix]
    path = tmp_path / f"articles.{suffix}{'.gz' if gz else ''}"
    path.write_bytes(gzip.compress(content) if gz else content)
    records = read(path)
    assert [r.error for r in records] == [None, None]
    assert [r.source for r in records] == [str(path)] * 2
    data = [r.data for r in records]
    assert data[0]["id"] == "a" and data[0]["title"] == "Công đoàn Bắc Kạn"
    assert data[1]["id"] == "b" and data[1]["body"] == 'Người lao động, "đoàn viên"\nnhiều dòng'
    assert "title" not in data[1]  # an empty CSV cell is an absent field


def test_line_numbers_point_at_each_record(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"id": "1"}\n\n{"id": "2"}\n   \n{"id": "3"}\n')
    assert [(r.line, r.data["id"]) for r in read(path)] == [(1, "1"), (3, "2"), (5, "3")]

    path = tmp_path / "a.json"
    path.write_bytes(array_bytes())
    lines = array_bytes().decode().splitlines()
    starts = [n for n, line in enumerate(lines, 1) if line.strip() == "{"]
    assert [r.line for r in read(path)] == starts

    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes())
    assert [r.line for r in read(path)] == [2, 4]  # record b ends on line 4


def test_bad_jsonl_lines_are_reported_and_the_rest_read(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"id": "1"}\n{"id": \n\xff\xfe\n{"id": "4"}\n')
    records = read(path)
    assert [(r.line, r.error is None) for r in records] == [
        (1, True),
        (2, False),
        (3, False),
        (4, True),
    ]
    assert records[1].error is not None and "invalid JSON" in records[1].error
    assert records[2].error is not None and "invalid UTF-8" in records[2].error


@pytest.mark.parametrize(
    ("name", "content", "message", "line"),
    [
        ("a.json", b'[{"id": "1"},\n{"id": "2"}\n', "not closed", 3),
        ("a.json", b'[{"id": "1"}\n{"id": "2"}]', "expected ','", 2),
        ("a.json", b'[{"id": "1"}] trailing', "after the JSON array", 1),
        ("a.json", b'[{"id": "1"},\n{"id": }]', "invalid JSON", 2),
        ("a.csv", b"id,title\n1,ok\n\xff\n", "invalid UTF-8", 3),
        ("a.jsonl.gz", gzip.compress(b'{"id": "1"}\n' * 50)[:30], "truncated gzip", 51),
        ("a.jsonl.gz", b"not gzip at all", "bad gzip", None),
    ],
)
def test_unreadable_files_raise_source_error(
    tmp_path: Path, name: str, content: bytes, message: str, line: int | None
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message) as caught:
        read(path)
    assert caught.value.source == str(path)
    assert caught.value.line == line


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot open"):
        read(tmp_path / "nope.jsonl")


def test_csv_row_with_extra_cells(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,title\n1,ok\n2,too,many\n3,ok\n", encoding="utf-8")
    records = read(path)
    assert [(r.line, r.error) for r in records] == [
        (2, None),
        (3, "row has more cells than the header"),
        (4, None),
    ]


def test_csv_header_names_are_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(BOM + b" id , title \n1,Tin\n")
    assert read(path)[0].data == {"id": "1", "title": "Tin"}


def test_format_sniffed_when_the_suffix_says_nothing(tmp_path: Path) -> None:
    for content in (jsonl(RECORDS), BOM + array_bytes(), csv_bytes()):
        path = tmp_path / "articles.txt"
        path.write_bytes(content)
        assert [r.data["id"] for r in read(path)] == ["a", "b"]


def test_dash_reads_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    for content, lines in ((BOM + jsonl(RECORDS), [1, 2]), (array_bytes(), [2, 10])):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(content)))
        records = list(read_records("-"))
        assert [(r.source, r.line, r.data["id"]) for r in records] == [
            ("<stdin>", lines[0], "a"),
            ("<stdin>", lines[1], "b"),
        ]


def test_gzip_is_recognized_without_the_suffix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(gzip.compress(csv_bytes()))))
    assert [r.data["id"] for r in read_records("-")] == ["a", "b"]
    path = tmp_path / "articles.jsonl"
    path.write_bytes(gzip.compress(BOM + jsonl(RECORDS)))
    assert [r.data["id"] for r in read(path)] == ["a", "b"]


def test_count_records_for_progress(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress(jsonl(RECORDS * 5)))
    assert count_records(str(path)) == 10
    assert count_records(str(tmp_path / "missing.jsonl")) == 0


@pytest.mark.parametrize(
    ("problem", "text"),
    [
        (Problem("a.jsonl", 3, "bk-1", "id is empty"), "a.jsonl:3: id=bk-1: id is empty"),
        (Problem("a.jsonl", 4, None, "id is missing"), "a.jsonl:4: id=?: id is missing"),
        (Problem("a.jsonl", None, None, "cannot open"), "a.jsonl: cannot open"),
    ],
)
def test_problems_read_file_line_id_reason(problem: Problem, text: str) -> None:
    assert str(problem) == text


def test_a_pretty_printed_json_object_is_one_record(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text('{\n  "id": "x1",\n  "title": "Hội nghị công đoàn"\n}\n', encoding="utf-8")
    records = list(read_records(str(path)))
    assert [(r.line, r.data["id"], r.error) for r in records] == [(1, "x1", None)]


def test_a_broken_multiline_object_is_still_reported_by_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "id": "x1",\n  "title": \n', encoding="utf-8")
    records = list(read_records(str(path)))
    assert records and all(r.error for r in records)
    assert records[0].line == 1
