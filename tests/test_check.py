"""timkiem check: a sound index passes; damage is reported one line per problem,
with exit status 1 and never a traceback."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import EXAMPLES, write_jsonl
from timkiem.check import check_index
from timkiem.cli import cli
from timkiem.config import Settings
from timkiem.engine.segwriter import BulkWriter
from timkiem.indexer import Indexer, article_document
from timkiem.records import parse_article
from timkiem.storage import IndexDirectory


@pytest.fixture
def built(settings: Settings) -> Path:
    Indexer(settings).ingest([str(EXAMPLES)])
    return Path(settings.index)


def _check(index: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check", "--index", str(index), *extra])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


def _file(index: Path, suffix: str) -> Path:
    found = sorted((index / "gen-000001").glob(f"*{suffix}"))
    assert found, suffix
    return found[0]


def test_a_sound_index_passes(settings: Settings, built: Path, tmp_path: Path) -> None:
    more = write_jsonl(
        tmp_path / "more.jsonl",
        [{"id": "bk-0001", "title": "Bản sửa", "body": "Nội dung đã sửa.", "date": "2021-05-04"}],
    )
    Indexer(settings).ingest([str(more)])  # a second segment; the replaced copy is deleted
    status, output = _check(built, "--full")
    assert status == 0, output
    assert output.startswith("ok: 47 articles in 2 segment(s) of ")
    report = check_index(settings, full=True)
    assert report.documents_analysed == 47 and report.terms_checked > 1000


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _scramble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    rng = random.Random(3)
    for _ in range(3):
        place = rng.randrange(len(data))
        data[place : place + 64] = rng.randbytes(64)
    path.write_bytes(bytes(data[: len(path.read_bytes())]))


DAMAGES: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "term data truncated": (".tkseg", _truncate, "is 2"),
    "term data corrupted": (".tkseg", _scramble, "fails its checksum"),
    "postings corrupted": (".pst", _scramble, "cannot read the segment"),
    "terms corrupted": (".trm", _scramble, "cannot read the segment"),
    "stored records corrupted": ("_stored.col", _scramble, "cannot read the segment"),
    "stored records truncated": ("_stored.col", _truncate, "_stored.col is"),
    "dates corrupted": (".timestamp.col", _scramble, "cannot read the segment"),
    "table of contents truncated": (".toc", _truncate, "is damaged"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damage_is_reported(built: Path, damage: str) -> None:
    suffix, harm, expected = DAMAGES[damage]
    harm(_file(built, suffix))
    status, output = _check(built)
    assert status == 1, output
    lines = output.strip().splitlines()
    assert expected in output, output
    assert lines[-1] == f"{len(lines) - 1} problem(s) in {built}"


def test_a_missing_index_or_generation_is_reported(built: Path, tmp_path: Path) -> None:
    status, output = _check(tmp_path / "nowhere")
    assert status == 1 and "no index at" in output
    (built / "CURRENT").write_text("gen-000009\n")
    status, output = _check(built)
    assert status == 1 and "is missing" in output


def test_records_that_disagree_with_the_index_are_reported(settings: Settings) -> None:
    """A record stored over another article's terms and columns, and an id twice."""
    directory = IndexDirectory(settings.index)
    name, index = directory.new_generation()
    indexed = parse_article(
        {"id": "a", "title": "Công đoàn Bắc Kạn", "body": "Hội nghị tổng kết",
         "date": "2020-01-02", "category": "Tin tức"}
    )
    stored = parse_article(
        {"id": "a", "title": "Lao động Cao Bằng", "body": "Tập huấn nghiệp vụ",
         "date": "2021-05-06", "category": "Khác"}
    )
    writer = BulkWriter(index)
    doc = article_document(indexed)
    doc["record"] = json.dumps(stored.to_json(), ensure_ascii=False)
    writer.add_document(**doc)
    writer.add_document(**article_document(indexed))  # the same id, live twice
    writer.commit()
    directory.switch_to(name)
    status, output = _check(Path(settings.index))
    assert status == 1
    lines = output.strip().splitlines()
    assert lines[-1] == f"4 problem(s) in {settings.index}"
    assert "id=a: the date column holds 1577898000, the record 1620234000" in output
    assert "id=a: the category column holds 'Tin tức', the record 'Khác'" in output
    assert "id=a: 22 of the 22 terms of its title and body are not indexed for it" in output
    assert "id=a: the id is also live in" in output
