"""The project's own sample articles carry the cases the analyzer must handle."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from typing import Any

from conftest import EXAMPLES
from timkiem.records import parse_article
from timkiem.search import SearchEngine, SearchRequest


def records() -> list[dict[str, Any]]:
    with EXAMPLES.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def nfc_text(record: dict[str, Any]) -> str:
    return unicodedata.normalize("NFC", f"{record.get('title', '')} {record.get('body', '')}")


def test_forty_or_more_valid_articles_over_years_and_categories() -> None:
    raw = records()
    articles = [parse_article(r) for r in raw]
    assert len(articles) >= 40
    assert len({a.id for a in articles}) == len(articles)
    years = Counter(a.to_json()["date"][:4] for a in articles)
    assert len(years) >= 5
    assert len({a.category for a in articles}) >= 4
    date_forms = {("/" in r["date"], ":" in r["date"]) for r in raw}
    assert {(True, False), (True, True), (False, True)} <= date_forms


def test_the_hard_cases_are_present() -> None:
    raw = records()
    texts = [nfc_text(r) for r in raw]
    assert any(unicodedata.normalize("NFC", r["body"]) != r["body"] for r in raw), "NFD text"
    for needle in ("hoà", "hòa", "thuỷ", "thủy", "Bắc Kạn", "Bắc Cạn", "05-CT/TW", "Đ"):
        assert any(needle in t for t in texts), needle


def test_nfd_articles_are_found_like_the_others(sample_engine: SearchEngine) -> None:
    for record in records():
        if unicodedata.normalize("NFC", record["body"]) == record["body"]:
            continue
        title = unicodedata.normalize("NFC", record["title"])
        found = sample_engine.search(SearchRequest(q=f'"{title}"'))
        assert record["id"] in [h["id"] for h in found["hits"]], title
