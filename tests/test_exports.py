"""CMS exports with their own column names, --map, export and delete --missing-ok."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import EXAMPLES
from timkiem.cli import cli
from timkiem.cms_columns import ColumnMap, fold, parse_mapping
from timkiem.errors import InvalidParameter

CMS_CSV = (
    "Mã bài,Tiêu đề,Tóm tắt,Nội dung,Ngày đăng,Chuyên mục,Tác giả,Đường dẫn,Lượt xem\n"
    "101,Hội nghị công đoàn,Sáng 13/4 hội nghị khai mạc.,Các đại biểu thảo luận.,"
    "15:00 - 13/04/2020,Tin tức,Minh Thu,https://cd.example/101,25\n"
)


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_column_names_are_folded() -> None:
    assert fold(" Ngày  Đăng ") == "ngay dang"
    assert fold("ĐƯỜNG_DẪN") == "duong dan"


def test_vietnamese_columns_are_recognised() -> None:
    row = {
        "MÃ BÀI": "101",
        "tiêu đề": "Hội nghị",
        "Sapo": "Mở đầu.",
        "Nội dung": "Thân bài.",
        "Ngay dang": "13/04/2020",
        "Chuyên mục": "Tin tức",
        "URL": "https://cd.example/101",
        "Lượt xem": "25",
    }
    assert ColumnMap().apply(row) == {
        "id": "101",
        "title": "Hội nghị",
        "body": "Mở đầu.\nThân bài.",
        "date": "13/04/2020",
        "category": "Tin tức",
        "url": "https://cd.example/101",
        "Lượt xem": "25",
    }


def test_a_field_present_is_never_replaced_and_map_wins_over_names() -> None:
    assert ColumnMap().apply({"id": "1", "title": "A", "Tiêu đề": "B"}) == {
        "id": "1",
        "title": "A",
        "Tiêu đề": "B",
    }
    mapped = ColumnMap(parse_mapping(["title=Tên tin", "id=Số"])).apply(
        {"Số": "7", "Tên tin": "A", "Tiêu đề": "B"}
    )
    assert mapped == {"id": "7", "title": "A", "Tiêu đề": "B"}


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["title"], "'title' is not FIELD=COLUMN"),
        (["heading=Tên"], "'heading' is not a record field"),
        (["title=A", "title=B"], "title is mapped twice"),
    ],
)
def test_bad_map_items(items: list[str], message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        parse_mapping(items)


def test_cli_ingests_a_cms_export_and_maps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(CMS_CSV, encoding="utf-8")
    index = str(tmp_path / "index")
    result = run("ingest", str(path), "--index", index)
    assert result.exit_code == 0, result.output
    record = json.loads(run("export", "--index", index).stdout)
    assert record == {
        "id": "101",
        "title": "Hội nghị công đoàn",
        "body": "Sáng 13/4 hội nghị khai mạc.\nCác đại biểu thảo luận.",
        "date": "2020-04-13T15:00:00+07:00",
        "category": "Tin tức",
        "url": "https://cd.example/101",
        "author": "Minh Thu",
        "Lượt xem": "25",
    }

    odd = tmp_path / "odd.csv"
    odd.write_text("STT,Tên tin,Bài\n1,Tin một,Nội dung một\n", encoding="utf-8")
    result = run("ingest", str(odd), "--index", index)
    assert result.exit_code == 1
    assert (
        f"{odd}:2: id=?: id is missing; the columns found are 'STT', 'Tên tin', 'Bài': "
        "name the one holding the id with --map id=COLUMN"
    ) in result.stderr
    result = run(
        "ingest", str(odd), "--map", "id=stt", "--map", "title=Tên tin", "--map", "body=Bài",
        "--index", index,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(run("search", "tin mot", "--json", "--index", index).stdout)["total"] == 1


def test_a_bad_map_is_a_clean_error(tmp_path: Path) -> None:
    result = run("ingest", str(EXAMPLES), "--map", "x", "--index", str(tmp_path / "i"))
    assert result.exit_code == 2
    assert "Invalid value for '--map': 'x' is not FIELD=COLUMN" in result.stderr
    result = run("ingest", "--format", "html", str(tmp_path), "--map", "id=Mã", "--dry-run")
    assert result.exit_code == 2
    assert "Invalid value for '--map': names the columns of CSV or JSON records" in result.stderr


def test_records_in_timkiem_s_own_names_are_passed_through_unchanged() -> None:
    columns = ColumnMap()
    record = {"id": "1", "title": "A", "body": "B", "Lượt xem": "5"}
    assert columns.apply(record) is record
    assert columns.apply(dict(record)) == record


def test_export_round_trips_through_reindex(tmp_path: Path) -> None:
    first, second = str(tmp_path / "one"), str(tmp_path / "two")
    assert run("ingest", str(EXAMPLES), "--index", first).exit_code == 0
    exported = tmp_path / "export.jsonl"
    result = run("export", "--output", str(exported), "--index", first)
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == "47 exported"
    assert run("reindex", str(exported), "--index", second).exit_code == 0
    again = run("export", "--index", second).stdout
    assert again == exported.read_text(encoding="utf-8")
    originals = {r["id"]: r for r in map(json.loads, EXAMPLES.read_text().splitlines())}
    for record in map(json.loads, again.splitlines()):
        original = originals[record["id"]]  # stored in NFC, as every record is
        for name in ("title", "body"):
            assert record[name] == unicodedata.normalize("NFC", original[name].strip())


def test_export_without_an_index_is_a_clean_error(tmp_path: Path) -> None:
    result = run("export", "--output", str(tmp_path / "x.jsonl"), "--index", str(tmp_path / "n"))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no index at ")
    assert not (tmp_path / "x.jsonl").exists()


def test_delete_missing_ok(tmp_path: Path) -> None:
    index = str(tmp_path / "index")
    run("ingest", str(EXAMPLES), "--index", index)
    result = run("delete", "bk-0001", "nope", "--missing-ok", "--index", index)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "1 deleted, 1 not found"
    result = run("delete", "nope", "--missing-ok", "--index", index)
    assert result.stdout.strip() == "0 deleted, 1 not found"
    assert json.loads(run("stats", "--json", "--index", index).stdout)["articles"] == 46


def test_duplicate_ids_in_the_cli_are_notices(tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_text(
        '{"id": "a", "title": "Bản cũ"}\n{"id": "a", "title": "Bản mới"}\n', encoding="utf-8"
    )
    result = run("ingest", str(path), "--index", str(tmp_path / "i"))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1 added, 0 replaced, 0 rejected")
    assert f"{path}:2: id=a: replaces the record of the same id at {path}:1" in result.stderr
    dry = run("ingest", str(path), "-", "--dry-run", input='{"id": "b", "title": "Ba"}\n')
    assert [json.loads(line)["title"] for line in dry.stdout.splitlines()] == ["Bản mới", "Ba"]
