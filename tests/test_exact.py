"""Exact accents: a quoted part typed with accents matches those accents only."""

from __future__ import annotations

import subprocess
import sys
import unicodedata

import pytest
from falcon.testing import TestClient

from conftest import FILLER, ROOT, Engines, corpus_file, index_records, make_settings
from timkiem.engine.snapshot import Snapshot
from timkiem.exact import ExactPhrases, exact_phrases, phrase_pattern
from timkiem.query import parse_query
from timkiem.search import SearchEngine, SearchRequest

RECORDS = [
    {"id": "bac-silver", "title": "Giá bạc tăng mạnh", "body": FILLER, "date": "2024-05-02"},
    {"id": "bac-north", "title": "Gió mùa Đông Bắc tràn về", "body": FILLER, "date": "2024-05-03"},
    {"id": "bac-doctor", "title": "Bác sĩ trẻ về vùng cao", "body": FILLER, "date": "2024-06-01"},
    {"id": "storm", "title": "Bão số 3 đổ bộ", "body": FILLER, "date": "2024-09-07"},
    {"id": "storm-comma", "title": "Sau cơn bão, số người", "body": FILLER, "date": "2024-09-08"},
    # the folded pair "bao_so", and "bão" and "số" apart: found by the index, not exact
    {"id": "keep-data", "title": "Bảo số liệu trước bão", "body": FILLER, "date": "2024-09-09"},
    {
        "id": "storm-body",
        "title": "Tin thời tiết",
        "body": "Cơn bão số 3 suy yếu.",
        "date": "2024-09-10",
    },
    {"id": "peace-old", "title": "Hoà bình cho mọi nhà", "body": FILLER, "date": "2024-01-01"},
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, module_engines: Engines) -> SearchEngine:
    folder = tmp_path_factory.mktemp("exact")
    return module_engines.open(index_records(folder, RECORDS, cache_size=0))


def found(engine: SearchEngine, q: str, **params: str) -> set[str]:
    response = engine.search(SearchRequest(q=q, per_page=100, **params))
    assert response["total"] == len(response["hits"])
    return {h["id"] for h in response["hits"]}


def test_a_quoted_accented_word_matches_only_its_accents(engine: SearchEngine) -> None:
    assert found(engine, '"bạc"') == {"bac-silver"}
    assert found(engine, '"Bắc"') == {"bac-north"}
    assert found(engine, '"BÁC"') == {"bac-doctor"}


def test_unquoted_or_unaccented_stays_accent_insensitive(engine: SearchEngine) -> None:
    every = {"bac-silver", "bac-north", "bac-doctor"}
    assert found(engine, "bạc") == every
    assert found(engine, '"bac"') == every
    assert found(engine, "bac") == every


def test_a_quoted_accented_phrase_matches_exactly_adjacent(engine: SearchEngine) -> None:
    assert found(engine, '"bão số"') == {"storm", "storm-comma", "storm-body"}
    assert found(engine, '"bao so"') == {"storm", "storm-comma", "storm-body", "keep-data"}
    assert found(engine, '"bảo số"') == {"keep-data"}
    assert found(engine, '"bão số 3"') == {"storm", "storm-body"}


def test_nfd_upper_case_and_old_tone_placement_are_the_same_accents(engine: SearchEngine) -> None:
    assert found(engine, unicodedata.normalize("NFD", '"BÃO SỐ 3"')) == {"storm", "storm-body"}
    assert found(engine, '"hòa bình"') == {"peace-old"}
    assert found(engine, '"hoà bình"') == {"peace-old"}
    assert found(engine, '"hóa bình"') == set()


def test_with_a_date_range_and_other_words(engine: SearchEngine) -> None:
    assert found(engine, '"bão số"', date_from="2024-09-08", date_to="2024-09-09") == {
        "storm-comma"
    }
    # the other words still match any document; the quoted part is required
    assert found(engine, 'giá "Bắc"') == {"bac-north"}


def test_only_quoted_parts_with_accents_are_exact() -> None:
    parsed = parse_query('"bạc" vàng "bac ha" "Đông Bắc" -"bắc"')
    assert [[w.accented for w in p] for p in exact_phrases(parsed)] == [["bạc"], ["đông", "bắc"]]


def test_the_pattern_needs_whole_syllables() -> None:
    pattern = phrase_pattern(parse_query("bão số").words)
    assert pattern.search("cơn bão số 3")
    assert pattern.search("bão, số")
    assert not pattern.search("bão số3")
    assert not pattern.search("xbão số")


def test_time_running_out_keeps_the_unchecked_candidates(
    engine: SearchEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import timkiem.exact as exact

    snap: Snapshot = engine.snapshot()
    verify = ExactPhrases((phrase_pattern(parse_query("bão số").words),))
    every = snap.live.copy()
    kept, complete = verify(snap, every, deadline=None)
    assert complete and 0 < kept.sum() < every.sum()
    monkeypatch.setattr(exact, "_BATCH", 1)  # the clock is read between batches
    hurried, complete = verify(snap, every, deadline=0.0)
    assert not complete
    assert (hurried >= kept).all() and hurried.sum() == every.sum() - (not kept[0])


def test_a_partial_check_says_partial(
    engine: SearchEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import timkiem.exact as exact

    monkeypatch.setattr(exact, "_BATCH", 1)
    settings = make_settings(engine.settings.index, cache_size=0, query_time_limit=1e-9)
    hurried = SearchEngine(settings)
    try:
        response = hurried.search(SearchRequest(q='"bão số"'))
    finally:
        hurried.close()
    assert response["partial"] is True
    assert response["total"] >= 3  # nothing dropped unchecked


def test_the_evaluation_script_runs_on_a_slice_of_the_news() -> None:
    corpus_file("news-rss-2025-2026.jsonl.gz")
    script = ROOT / "scripts" / "exact_accents.py"
    done = subprocess.run(
        [sys.executable, str(script), "--limit", "1500", "--phrases", "40", "--target", "100"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "quoted accented phrases with a date range: total exact in 40/40" in done.stdout, (
        done.stdout + done.stderr
    )
    assert done.returncode == 0


def test_over_http_on_the_sample_articles(client: TestClient) -> None:
    exact = client.simulate_get("/search", params={"q": '"bạc"'}).json
    assert [h["id"] for h in exact["hits"]] == ["bk-0013"] and exact["total"] == 1
    loose = client.simulate_get("/search", params={"q": "bạc"}).json
    assert loose["total"] > 40  # every "Bắc" of Bắc Kạn as well
    both = client.simulate_get("/search", params={"q": '"UBND tỉnh" "Bắc Kạn"'}).json
    assert {h["id"] for h in both["hits"]} == {"bk-0044", "bk-0023"} and both["total"] == 2
