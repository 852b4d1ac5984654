"""Saved article pages: extraction, list pages skipped, folders and archives, the CLI."""

from __future__ import annotations

import json
import socket
import sys
import unicodedata
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import sitegen
from conftest import ROOT
from timkiem.dates import VIETNAM
from timkiem.pages import extract_page, page_files, parse_date_text

sys.path.insert(0, str(ROOT / "scripts"))
import extraction_quality  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    sitegen.write_site(root, sitegen.generate(per_layout=12, seed=5))
    return root


def test_extraction_meets_its_targets_on_every_layout(tmp_path: Path) -> None:
    sitegen.write_site(tmp_path, sitegen.generate(per_layout=25, seed=2026))
    tallies = extraction_quality.measure(tmp_path)
    assert set(tallies) == set(sitegen.LAYOUTS)
    text, ok = extraction_quality.report(tallies)
    assert ok, text + "\n" + "\n".join(f for t in tallies.values() for f in t.failures[:20])
    assert all(t.articles == 25 and t.lists >= 3 for t in tallies.values())


def test_the_quality_script_exits_0_on_its_targets() -> None:
    assert extraction_quality.main(["--per-layout", "8", "--seed", "3"]) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Cập nhật lúc 15:00 - 13/04/2020 (GMT +07:00)", (2020, 4, 13, 15, 0)),
        ("Thứ hai, 13/4/2020 - 15:00", (2020, 4, 13, 15, 0)),
        ("Thứ hai, 13/4/2020, 15:00 (GMT+7)", (2020, 4, 13, 15, 0)),
        ("Ngày đăng: 13/04/2020", (2020, 4, 13, 0, 0)),
        ("Đăng lúc 08h30 ngày 02-09-2021", (2021, 9, 2, 8, 30)),
        ("13/04/2020 15:00 (GMT+0)", (2020, 4, 13, 22, 0)),
    ],
)
def test_vietnamese_date_lines(text: str, expected: tuple[int, ...]) -> None:
    assert parse_date_text(text) == datetime(*expected, tzinfo=VIETNAM)


@pytest.mark.parametrize("text", ["Ngày đăng: 31/02/2020", "Lượt xem: 1.234", ""])
def test_no_date_in_a_line(text: str) -> None:
    assert parse_date_text(text) is None


def page(head: str, body: str) -> bytes:
    return f"<html><head>{head}</head><body>{body}</body></html>".encode()


PARAGRAPHS = (
    "<p>Sáng 13/4, Liên đoàn Lao động tỉnh tổ chức hội nghị triển khai nhiệm vụ năm 2020 "
    "với sự tham dự của các công đoàn cơ sở.</p><p>Hội nghị đã thảo luận về việc làm và "
    "tiền lương của người lao động trong các doanh nghiệp trên địa bàn tỉnh.</p>"
)


def test_title_loses_the_site_name_and_missing_fields_are_named() -> None:
    html = page(
        "<title>Hội nghị triển khai nhiệm vụ năm 2020 | Công đoàn Bắc Kạn</title>"
        '<meta property="og:site_name" content="Công đoàn Bắc Kạn">',
        '<div class="date">Ngày đăng: 13/04/2020</div>' + PARAGRAPHS,
    )
    result = extract_page(html, "a.html", "tin/a.html")
    assert result.record is not None, result.skipped
    assert result.record["title"] == "Hội nghị triển khai nhiệm vụ năm 2020"
    assert result.record["date"] == "2020-04-13T00:00:00+07:00"
    assert result.record["id"] == "tin/a.html"
    assert "url" not in result.record
    assert result.missing == ["author", "category"]


def test_a_page_with_neither_headline_nor_date_is_skipped() -> None:
    result = extract_page(page("<title>Tin tức</title>", PARAGRAPHS), "a.html", "a.html")
    assert result.skipped == "not an article (no article title or publication date)"


def test_json_ld_and_meta_give_date_author_and_url() -> None:
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Hội nghị triển khai nhiệm vụ",
        "datePublished": "2020-04-13T08:00:00Z",
        "author": [{"@type": "Person", "name": "Hoàng Lan"}],
        "articleSection": "Tin tức",
    }
    html = page(
        f'<script type="application/ld+json">{json.dumps(ld)}</script>'
        '<meta property="og:url" content="https://example.vn/tin/1">',
        f"<h1>Hội nghị triển khai nhiệm vụ</h1>{PARAGRAPHS}",
    )
    result = extract_page(html, "a.html", "a.html")
    assert result.record is not None
    record = result.record
    assert (record["id"], record["url"]) == ("https://example.vn/tin/1", "https://example.vn/tin/1")
    assert record["date"] == "2020-04-13T15:00:00+07:00"
    assert (record["author"], record["category"]) == ("Hoàng Lan", "Tin tức")
    assert result.missing == []


def test_links_inside_sentences_do_not_make_a_list_page() -> None:
    link = '<a href="/x">Kế hoạch số 12 của Liên đoàn Lao động tỉnh về Tháng Công nhân</a>'
    body = "".join(f"<p>Theo {link}, các đơn vị triển khai ngay.</p>" for _ in range(4))
    result = extract_page(page("", "<h1>Triển khai Tháng Công nhân</h1>" + body), "a", "a")
    assert result.record is not None, result.skipped


def cp1258(text: str) -> bytes:
    """``text`` as a legacy Vietnamese Windows page stores it: base letters precomposed,
    tone marks combining."""
    out = b""
    for char in text:
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", char)
        tones = "".join(c for c in parts if c in "\u0300\u0301\u0303\u0309\u0323")
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
        out += (base + tones).encode("cp1258")
    return out


def test_pages_in_other_encodings_and_the_same_title_on_every_page() -> None:
    html = (
        '<html><head><meta charset="windows-1258"><title>Công đoàn Bắc Kạn</title></head>'
        "<body><h1>Hội nghị công đoàn tỉnh năm 2020</h1><div>Ngày đăng: 13/04/2020</div>"
        f"{PARAGRAPHS}</body></html>"
    )
    for content in (cp1258(html), html.encode("utf-16")):
        result = extract_page(content, "a.html", "a.html")
        assert result.record is not None, result.skipped
        assert result.record["title"] == "Hội nghị công đoàn tỉnh năm 2020"
        assert result.record["body"].startswith("Sáng 13/4, Liên đoàn Lao động tỉnh")
        assert unicodedata.is_normalized("NFC", result.record["body"])


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty or not HTML"), (b"just text", "empty or not HTML")],
)
def test_empty_pages_are_skipped(content: bytes, reason: str) -> None:
    assert extract_page(content, "x.html", "x.html").skipped == reason


def test_nothing_is_fetched_over_the_network(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("page extraction tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    for path in sorted(site.rglob("*.htm*"))[:40]:
        extract_page(path.read_bytes(), str(path), path.name)


def test_folders_and_zip_archives(site: Path, tmp_path: Path) -> None:
    archive = tmp_path / "congdoan.zip"
    folder = site / "congdoan"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*.html")):
            zf.write(path, path.relative_to(folder).as_posix())
        zf.writestr("notes.txt", "not a page")
    from_folder = [f for f in page_files([str(folder)]) if not isinstance(f, tuple)]
    from_zip = [f for f in page_files([str(archive)]) if not isinstance(f, tuple)]
    assert sorted(f.relative for f in from_folder) == sorted(f.relative for f in from_zip)
    assert from_zip[0].source == f"{archive}!{from_zip[0].relative}"
    assert len(from_folder) == len(list(folder.rglob("*.html")))
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK not really")
    empty = tmp_path / "empty"
    empty.mkdir()
    problems = [f for f in page_files([str(bad), str(empty), str(tmp_path / "nope.html")])]
    assert problems == [
        (str(bad), "cannot read the zip archive (File is not a zip file)"),
        (str(empty), "no .html, .htm or .zip file in this folder"),
        (str(tmp_path / "nope.html"), "cannot open: No such file or directory"),
    ]
