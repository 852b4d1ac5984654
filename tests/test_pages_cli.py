"""Saved article pages through the command line: ingest, reindex and --dry-run."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import sitegen
from timkiem.cli import cli

PARAGRAPHS = (
    "<p>Sáng 13/4, Liên đoàn Lao động tỉnh tổ chức hội nghị triển khai nhiệm vụ năm 2020 "
    "với sự tham dự của các công đoàn cơ sở.</p><p>Hội nghị đã thảo luận về việc làm và "
    "tiền lương của người lao động trong các doanh nghiệp trên địa bàn tỉnh.</p>"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    sitegen.write_site(root, sitegen.generate(per_layout=12, seed=5))
    return root


def expected_records(site: Path, layout: str) -> dict[str, dict[str, Any]]:
    lines = (site / "expected.jsonl").read_text(encoding="utf-8").splitlines()
    pages = [json.loads(line) for line in lines]
    return {
        p["expected"]["id"]: p["expected"]
        for p in pages
        if p["layout"] == layout and p["expected"]
    }


def test_cli_ingests_a_folder_of_pages(site: Path, tmp_path: Path) -> None:
    index = str(tmp_path / "index")
    runner = CliRunner()
    folder = site / "congdoan"
    result = runner.invoke(cli, ["ingest", "--format", "html", str(folder), "--index", index])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("12 added, 0 replaced, 0 rejected")
    skipped = [line for line in result.stderr.splitlines() if ": skipped: not an article" in line]
    assert len(skipped) == 4 and all(line.startswith(str(folder)) for line in skipped)
    exported = runner.invoke(cli, ["export", "--index", index])
    records = {r["id"]: r for r in map(json.loads, exported.stdout.splitlines())}
    expected = expected_records(site, "congdoan")
    assert set(records) == set(expected)
    for rid, record in records.items():
        for name in ("title", "body", "category", "author"):
            assert record[name] == expected[rid][name]
        assert record["date"] == expected[rid]["date"]


def test_dry_run_prints_records_and_writes_nothing(site: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    args = ["reindex", "--format", "html", "--dry-run", str(site / "wordpress"), "--index"]
    result = CliRunner().invoke(cli, [*args, str(index)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["id"] for r in records} == set(expected_records(site, "wordpress"))
    assert "dry run: 12 record(s) would be written, 0 rejected; nothing was written" in (
        result.stderr
    )
    assert not index.exists()


def test_a_page_missing_fields_is_named_in_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "bai.html"
    path.write_text(
        f"<html><body><h1>Hội nghị triển khai nhiệm vụ năm 2020</h1>{PARAGRAPHS}</body></html>",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["ingest", "--format", "html", str(path), "--index", str(tmp_path / "i")]
    )
    assert result.exit_code == 0, result.output
    assert f"{path}: no date found" in result.stderr
    assert f"{path}: no author found" in result.stderr


def test_a_reindex_of_list_pages_only_says_why_each_was_skipped(site: Path, tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    for path in (site / "joomla" / "chuyen-muc").glob("*.html"):
        (lists / path.name).write_bytes(path.read_bytes())
    result = CliRunner().invoke(
        cli, ["reindex", "--format", "html", str(lists), "--index", str(tmp_path / "i")]
    )
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len([line for line in lines if ": skipped: not an article (" in line]) == 3
    assert lines[-1].startswith("Error: no valid article to build the new index from")
    assert not (tmp_path / "i" / "CURRENT").exists()


def test_a_zip_archive_of_pages(site: Path, tmp_path: Path) -> None:
    archive = tmp_path / "joomla.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((site / "joomla").rglob("*.html")):
            zf.write(path, path.relative_to(site / "joomla").as_posix())
    index = str(tmp_path / "index")
    result = CliRunner().invoke(cli, ["ingest", "--format", "html", str(archive), "--index", index])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("12 added, 0 replaced, 0 rejected")
    assert f"{archive}!index.html: skipped: not an article (" in result.stderr
    again = CliRunner().invoke(cli, ["ingest", "--format", "html", str(archive), "--index", index])
    assert again.stdout.startswith("0 added, 12 replaced, 0 rejected")
