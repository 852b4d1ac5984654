"""timkiem sync: the index made to match a full export or a crawl exactly."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conftest import make_settings, write_jsonl
from sitegen import CrawlSite
from timkiem.cli import cli
from timkiem.config import Settings
from timkiem.errors import InvalidInput, SyncRefused
from timkiem.export import stored_records
from timkiem.sync import sync_files, sync_site
from timkiem.testing import SiteServer


def _records(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"bai-{n}",
            "title": f"Công đoàn tỉnh Bắc Kạn tổ chức hội nghị lần thứ {n}",
            "body": f"Nội dung bài số {n} về hoạt động công đoàn cơ sở.",
            "date": f"2024-03-{n % 28 + 1:02d}",
        }
        for n in range(count)
    ]


def _stored(settings: Settings) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in stored_records(settings)}


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def synced(tmp_path: Path, settings: Settings) -> Path:
    export = write_jsonl(tmp_path / "export.jsonl", _records(10))
    report = sync_files(settings, [str(export)])
    assert (report.added, report.replaced, report.unchanged, report.deleted) == (10, 0, 0, 0)
    return export


def test_sync_adds_replaces_keeps_and_deletes(
    tmp_path: Path, settings: Settings, synced: Path
) -> None:
    records = _records(10)
    records[3]["body"] += " Đã sửa."
    del records[7]
    records.append({"id": "bai-moi", "title": "Bài mới", "body": "Bài mới đăng."})
    export = write_jsonl(tmp_path / "export2.jsonl", records)
    report = sync_files(settings, [str(export)])
    assert (report.added, report.replaced, report.unchanged, report.deleted) == (1, 1, 8, 1)
    stored = _stored(settings)
    assert set(stored) == {r["id"] for r in records}
    assert stored["bai-3"]["body"].endswith("Đã sửa.")
    again = sync_files(settings, [str(export)])
    assert (again.added, again.replaced, again.unchanged, again.deleted) == (0, 0, 10, 0)


def test_sync_refuses_to_delete_a_large_share_without_force(
    tmp_path: Path, settings: Settings, synced: Path
) -> None:
    export = write_jsonl(tmp_path / "half.jsonl", _records(5))
    before = _tree_digest(Path(settings.index))
    args = ["sync", str(export), "--index", settings.index]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "lacks 5 of the index's 10 articles (50%)" in result.output
    assert "at most 20% (sync_max_delete_percent)" in result.output and "--force" in result.output
    assert _tree_digest(Path(settings.index)) == before
    allowed = CliRunner().invoke(cli, [*args, "--sync-max-delete-percent", "50"])
    assert allowed.exit_code == 0, allowed.output
    assert allowed.output.startswith("0 added, 0 replaced, 5 unchanged, 5 deleted")
    assert len(_stored(settings)) == 5


def test_force_deletes_and_dry_run_writes_nothing(
    tmp_path: Path, settings: Settings, synced: Path
) -> None:
    records = _records(3)
    records[0]["title"] = "Tiêu đề mới"
    export = write_jsonl(tmp_path / "small.jsonl", records)
    before = _tree_digest(Path(settings.index))
    args = ["sync", str(export), "--index", settings.index, "--force"]
    dry = CliRunner().invoke(cli, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.strip() == (
        "dry run: 0 added, 1 replaced, 2 unchanged, 7 deleted (would be); nothing was written"
    )
    assert _tree_digest(Path(settings.index)) == before
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    assert set(_stored(settings)) == {"bai-0", "bai-1", "bai-2"}
    assert _stored(settings)["bai-0"]["title"] == "Tiêu đề mới"


def test_an_invalid_record_stops_the_sync(
    tmp_path: Path, settings: Settings, synced: Path
) -> None:
    records = _records(10)
    records[2]["date"] = "31/02/2024"
    export = write_jsonl(tmp_path / "bad.jsonl", records)
    with pytest.raises(InvalidInput):
        sync_files(settings, [str(export)])
    assert len(_stored(settings)) == 10


def test_saved_pages_sync_like_records(tmp_path: Path, settings: Settings) -> None:
    site = CrawlSite(6)
    folder = tmp_path / "pages"
    for path, (_, page, _) in site.articles.items():
        (folder / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (folder / path.lstrip("/")).write_text(page.html, encoding="utf-8")
    report = sync_files(settings, [str(folder)], format="html")
    assert (report.added, report.deleted) == (6, 0)
    assert len(_stored(settings)) == 6


def test_sync_from_a_site_deletes_what_it_no_longer_has(tmp_path: Path) -> None:
    site = CrawlSite(12)
    settings = make_settings(tmp_path / "index", crawl_delay=0.0)
    with SiteServer() as server:
        server.pages = site.render(server.base)
        first = sync_site(settings, server.base + "/")
        assert (first.added, first.deleted) == (12, 0)
        gone = sorted(site.articles)[4]
        del site.articles[gone]
        server.pages = site.render(server.base)
        dry = sync_site(settings, server.base + "/", dry_run=True)
        assert (dry.added, dry.replaced, dry.unchanged, dry.deleted) == (0, 0, 11, 1)
        assert len(_stored(settings)) == 12
        report = sync_site(settings, server.base + "/")
        assert (report.added, report.replaced, report.unchanged, report.deleted) == (0, 0, 11, 1)
        assert server.base + gone not in _stored(settings)
        assert len(_stored(settings)) == 11

        for path in sorted(site.articles)[:4]:
            del site.articles[path]
        server.pages = site.render(server.base)
        with pytest.raises(SyncRefused, match="lacks 4 of the index's 11 articles"):
            sync_site(settings, server.base + "/")
        assert len(_stored(settings)) == 11


def test_a_site_is_synced_from_one_url_alone(settings: Settings) -> None:
    args = ["sync", "http://127.0.0.1:9/", "--index", settings.index]
    for extra in (["other.jsonl"], ["--map", "id=STT"], ["--format", "html"]):
        result = CliRunner().invoke(cli, [*args, *extra])
        assert result.exit_code == 2
        assert "a site is synced from one URL, without --map or --format" in result.output
