"""Matching "all" words: counted and ranked first, the least telling dropped when
too few documents hold them all; ``match=any`` counts every match as before."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from falcon.testing import TestClient

from conftest import EXAMPLES
from timkiem.analysis import fold, syllables
from timkiem.errors import InvalidParameter
from timkiem.search import SearchEngine, SearchRequest


def sample_words() -> dict[str, set[str]]:
    """The folded syllables of each sample article (title and body)."""
    found = {}
    for line in EXAMPLES.read_text("utf-8").splitlines():
        record = json.loads(line)
        text = f"{record.get('title') or ''} {record.get('body') or ''}"
        found[record["id"]] = {fold(s) for s in syllables(text)}
    return found


def search(engine: SearchEngine, q: str, match: str | None = None) -> dict[str, Any]:
    return engine.search(SearchRequest(q=q, per_page=100, match=match))


@pytest.mark.parametrize("q", ["bão số 3", "bao so 3", "cong doan bac kan", "Mái ấm Công đoàn"])
def test_all_words_are_counted_and_ranked_first(sample_engine: SearchEngine, q: str) -> None:
    words = {fold(s) for s in syllables(q)}
    docs = sample_words()
    holding_all = {i for i, held in docs.items() if words <= held}
    holding_any = {i for i, held in docs.items() if words & held}
    result = search(sample_engine, q)
    assert result["applied"]["match"] == "all" and result["applied"]["dropped"] == []
    assert result["total"] == len(holding_all) > 0
    ids = [h["id"] for h in result["hits"]]
    assert set(ids[: result["total"]]) == holding_all
    counted = result["hits"][: result["total"]]
    assert result["facets"]["year"] == dict(Counter(h["date"][:4] for h in counted if h["date"]))
    assert set(ids) == holding_any  # the other matches follow
    before = search(sample_engine, q, "any")
    assert before["applied"]["match"] == "any" and before["applied"]["dropped"] == []
    assert before["total"] == len(holding_any)
    assert set(h["id"] for h in before["hits"]) == holding_any


def test_bao_so_3_counts_a_few_not_most_samples(sample_engine: SearchEngine) -> None:
    assert (
        search(sample_engine, "bão số 3")["total"]
        < search(sample_engine, "bão số 3", "any")["total"] / 4
    )


FILLER = "Hội nghị diễn ra trong không khí phấn khởi, các đại biểu thảo luận sôi nổi."


def test_the_commonest_words_are_dropped_first_and_reported(
    engine_of: Callable[[list[dict[str, Any]]], SearchEngine],
) -> None:
    # "tỉnh" is in five articles, "lũ" in two, "đê" in one; none holds all three,
    # nor "lũ" and "đê" together
    records = [
        {"id": "a", "title": "Tỉnh hỗ trợ vùng lũ", "body": FILLER},
        {"id": "b", "title": "Lũ về sớm", "body": FILLER},
        {"id": "c", "title": "Gia cố đê biển", "body": FILLER},
        {"id": "d", "title": "Đại hội tỉnh", "body": FILLER},
        {"id": "e", "title": "Tỉnh đoàn", "body": FILLER},
        {"id": "f", "title": "Tỉnh ủy họp", "body": FILLER},
        {"id": "g", "title": "Khác", "body": FILLER},
    ]
    engine = engine_of(records)
    result = search(engine, "tỉnh lũ đê")
    assert result["applied"]["dropped"] == ["tỉnh", "lũ"]
    assert result["total"] == 1 and result["hits"][0]["id"] == "c"
    assert {h["id"] for h in result["hits"]} == {"a", "b", "c", "d", "e", "f"}
    # two words together in one article: only the commonest goes
    result = search(engine, "tinh lu")
    assert result["applied"]["dropped"] == [] and result["total"] == 1
    # a word no article holds goes first, whatever its place
    result = search(engine, "xyzzy đê")
    assert result["applied"]["dropped"] == ["xyzzy"] and result["total"] == 1
    assert search(engine, "tỉnh lũ đê", "any")["total"] == 6


def test_function_words_are_not_required(
    engine_of: Callable[[list[dict[str, Any]]], SearchEngine],
) -> None:
    engine = engine_of(
        [
            {"id": "a", "title": "Giá lúa tăng", "body": FILLER},
            {"id": "b", "title": "Giá của lúa gạo", "body": FILLER},
            {"id": "c", "title": "Khác", "body": FILLER},
        ]
    )
    for q in ("giá của lúa", "gia cua lua"):
        result = search(engine, q)
        assert result["total"] == 2 and result["applied"]["dropped"] == [], q


def test_a_question_matches_any_unless_asked(sample_engine: SearchEngine) -> None:
    q = "Bắc Kạn có bao nhiêu đoàn viên?"
    unasked, every = search(sample_engine, q), search(sample_engine, q, "any")
    assert unasked["applied"]["match"] == "any" and unasked["total"] == every["total"]
    assert unasked["hits"] == every["hits"]
    asked = search(sample_engine, q, "all")
    assert asked["applied"]["match"] == "all" and asked["total"] < every["total"]
    assert asked["applied"]["dropped"] == []  # "có", "bao", "nhiêu": function words, not required
    words = {fold(s) for s in syllables("Bắc Kạn đoàn viên")}
    docs = sample_words()
    counted = {h["id"] for h in asked["hits"][: asked["total"]]}
    assert counted == {i for i, held in docs.items() if words <= held}


def test_match_is_validated(sample_engine: SearchEngine) -> None:
    with pytest.raises(InvalidParameter) as caught:
        sample_engine.search(SearchRequest(q="bão", match="some"))
    assert caught.value.param == "match"


def test_the_api_takes_match_and_reports_it(client: TestClient) -> None:
    result = client.simulate_get("/search", params={"q": "bão số 3", "match": "any"})
    assert result.status_code == 200 and result.json["applied"]["match"] == "any"
    assert result.json["applied"]["dropped"] == []
    counted = client.simulate_get("/search", params={"q": "bão số 3"}).json
    assert counted["applied"]["match"] == "all" and counted["total"] < result.json["total"]
    bad = client.simulate_get("/search", params={"q": "bão", "match": "most"})
    assert bad.status_code == 400 and "match" in bad.text
