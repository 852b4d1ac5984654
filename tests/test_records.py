"""Validation and normalization of article records."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from timkiem.dates import isoformat
from timkiem.errors import RecordError
from timkiem.records import Article, parse_article, record_id


def test_minimal_record() -> None:
    article = parse_article({"id": "a1", "title": "Công đoàn"})
    assert article == Article(id="a1", title="Công đoàn")


def test_full_record_round_trips_through_json() -> None:
    raw = {
        "id": "bk-1",
        "title": "Tiêu đề",
        "body": "Nội dung",
        "date": "15:00 - 13/04/2020",
        "category": "Tin tức",
        "url": "https://example.vn/1",
        "author": "Hoàng Lan",
        "tags": ["công đoàn", " lao động "],
    }
    article = parse_article(raw)
    assert article.timestamp is not None
    assert isoformat(article.timestamp) == "2020-04-13T15:00:00+07:00"
    assert article.tags == ["công đoàn", "lao động"]
    data = article.to_json()
    assert data["date"] == "2020-04-13T15:00:00+07:00"
    assert {k: data[k] for k in ("id", "title", "body", "category", "url", "author")} == {
        k: raw[k] for k in ("id", "title", "body", "category", "url", "author")
    }


def test_unknown_fields_are_kept() -> None:
    raw = {"id": "x", "body": "b", "image": "a.jpg", "views": 12, "meta": {"nguồn": "Báo"}}
    data = parse_article(raw).to_json()
    assert data["image"] == "a.jpg"
    assert data["views"] == 12
    assert data["meta"] == {"nguồn": "Báo"}


def test_text_is_nfc_everywhere() -> None:
    nfd = unicodedata.normalize("NFD", "Thuỷ điện Bắc Kạn")
    article = parse_article({"id": "x", "title": nfd, "body": nfd, "extra": nfd, "tags": [nfd]})
    nfc = unicodedata.normalize("NFC", nfd)
    assert article.title == article.body == nfc
    assert article.tags == [nfc]
    assert article.extra["extra"] == nfc


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"title": "t"}, "id is missing"),
        ({"id": None, "title": "t"}, "id is missing"),
        ({"id": "", "title": "t"}, "id is empty"),
        ({"id": "   ", "title": "t"}, "id is empty"),
        ({"id": ["a"], "title": "t"}, "id must be a string"),
        ({"id": True, "title": "t"}, "id must be a string"),
        ({"id": "a\nb", "title": "t"}, "control characters"),
        ({"id": "x" * 201, "title": "t"}, "longer than 200"),
        ({"id": "a"}, "at least one is required"),
        ({"id": "a", "title": "  ", "body": ""}, "at least one is required"),
        ({"id": "a", "title": 5}, "title must be a string"),
        ({"id": "a", "title": "t", "date": "32/13/2020"}, "does not exist"),
        ({"id": "a", "title": "t", "date": "hôm qua"}, "ISO 8601"),
        ({"id": "a", "title": "t", "date": 20200413}, "date must be a string"),
        ({"id": "a", "title": "t", "tags": "ok;fine", "category": 3}, "category must be"),
        ({"id": "a", "title": "t", "tags": [1, 2]}, "tags must be a list of strings"),
        ({"id": "a", "title": "t", "tags": {"a": 1}}, "tags must be a list of strings"),
        (["id", "a"], "must be a JSON object"),
        ("id", "must be a JSON object"),
    ],
)
def test_invalid_records_say_what_is_wrong(raw: Any, reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        parse_article(raw)


def test_numeric_id_becomes_text() -> None:
    assert parse_article({"id": 42, "body": "b"}).id == "42"
    assert record_id({"id": 42}) == "42"
    assert record_id({"id": True}) is None
    assert record_id(["x"]) is None


def test_title_or_body_is_enough() -> None:
    assert parse_article({"id": "a", "body": "chỉ có nội dung"}).title == ""
    assert parse_article({"id": "a", "title": "chỉ có tiêu đề"}).body == ""


def test_text_length_limit() -> None:
    with pytest.raises(RecordError, match="body has 11 characters, over the limit of 10"):
        parse_article({"id": "a", "body": "x" * 11}, max_text_length=10)
    assert parse_article({"id": "a", "body": "x" * 10}, max_text_length=10).body == "x" * 10


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ("công đoàn; lao động", ["công đoàn", "lao động"]),
        ("a|b|", ["a", "b"]),
        (["x", " ", "y"], ["x", "y"]),
        ([], []),
    ],
)
def test_tags_from_lists_and_csv_cells(tags: Any, expected: list[str]) -> None:
    assert parse_article({"id": "a", "title": "t", "tags": tags}).tags == expected


def test_empty_date_means_undated() -> None:
    assert parse_article({"id": "a", "title": "t", "date": ""}).timestamp is None
    assert parse_article({"id": "a", "title": "t"}).to_json()["date"] is None
