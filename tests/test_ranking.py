"""Relevance ranking: accent preference, form invariance, adjacency, titles, coverage."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import CORPUS, EXAMPLES, corpus_file, write_jsonl
from timkiem import evaluation as evaluate
from timkiem.analysis import fold, syllables
from timkiem.config import Settings
from timkiem.indexer import Indexer
from timkiem.search import SearchEngine, SearchRequest

FILLER = (
    "Ban chấp hành họp định kỳ, thông qua kế hoạch công tác quý tới và phân công "
    "nhiệm vụ cho từng thành viên phụ trách các phần việc cụ thể."
)


def sample_records() -> list[dict[str, Any]]:
    with EXAMPLES.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def ranked_ids(engine: SearchEngine, q: str) -> list[str]:
    return [hit["id"] for hit in engine.search(SearchRequest(q=q, per_page=100))["hits"]]


def hits(engine: SearchEngine, q: str) -> list[tuple[str, float | None]]:
    return [
        (hit["id"], hit["score"])
        for hit in engine.search(SearchRequest(q=q, per_page=100))["hits"]
    ]


@pytest.fixture
def make_engine(tmp_path: Path) -> Iterator[Any]:
    """An engine over records written in the test."""
    engines: list[SearchEngine] = []

    def build(records: list[dict[str, Any]]) -> SearchEngine:
        settings = Settings.load({"index": str(tmp_path / "index"), "cache_size": 0}, environ={})
        source = write_jsonl(tmp_path / "records.jsonl", records)
        Indexer(settings).reindex([str(source)])
        engine = SearchEngine(settings)
        engines.append(engine)
        return engine

    yield build
    for engine in engines:
        engine.close()


# -- accent preference -----------------------------------------------------------


@pytest.mark.parametrize("word", ["bạc", "bác", "năm", "đường", "dương"])
def test_exact_accents_rank_above_folded_only_matches_in_the_samples(
    sample_engine: SearchEngine, word: str
) -> None:
    exact: set[str] = set()
    folded_only: set[str] = set()
    for record in sample_records():
        words = syllables(f"{record.get('title') or ''} {record.get('body') or ''}")
        if word in words:
            exact.add(record["id"])
        elif fold(word) in {fold(w) for w in words}:
            folded_only.add(record["id"])
    assert exact and folded_only, "the samples must hold both kinds for this test to mean much"
    ranking = ranked_ids(sample_engine, word)
    assert set(ranking) == exact | folded_only
    last_exact = max(ranking.index(i) for i in exact)
    first_folded = min(ranking.index(i) for i in folded_only)
    assert last_exact < first_folded, (word, ranking)


def test_exact_accents_beat_a_folded_match_in_the_title(make_engine: Any) -> None:
    engine = make_engine(
        [
            {"id": "bac-title", "title": "Công đoàn Bắc Kạn", "body": FILLER},
            {"id": "bac-body", "title": "Tin vắn", "body": f"Phòng chống cờ bạc. {FILLER}"},
            {"id": "bac-uncle", "title": "Tin vắn", "body": f"Lời bác dặn. {FILLER}"},
        ]
    )
    assert ranked_ids(engine, "bạc")[0] == "bac-body"
    assert ranked_ids(engine, "bác")[0] == "bac-uncle"
    assert ranked_ids(engine, "Bắc")[0] == "bac-title"
    assert set(ranked_ids(engine, "bac")) == {"bac-title", "bac-body", "bac-uncle"}


# -- form invariance -------------------------------------------------------------

FORM_QUERIES = [
    "Công đoàn Bắc Kạn",
    "hòa giải tranh chấp lao động",
    "nhà máy thủy điện",
    "khỏe sinh sản",
    "văn hoá thể thao",
    "Anh Hoàng Văn Hòa",
    "Thuỷ lợi",
    "đường bê tông",
]


@pytest.mark.parametrize("query", FORM_QUERIES)
def test_nfd_tone_swapped_and_upper_case_give_identical_hits(
    sample_engine: SearchEngine, query: str
) -> None:
    expected = hits(sample_engine, query)
    assert expected
    variants = {
        "nfd": unicodedata.normalize("NFD", query),
        "tone-swapped": evaluate.swap_tones(query),
        "upper": query.upper(),
    }
    for form, variant in variants.items():
        assert hits(sample_engine, variant) == expected, form


def test_the_tone_swap_form_really_swaps() -> None:
    assert evaluate.swap_tones("Hòa THUỶ khoẻ quý hoàng") == "Hoà THỦY khỏe quý hoàng"
    assert evaluate.strip_accents("Đường “Bắc Kạn”") == "Duong “Bac Kan”"


def test_a_long_decomposed_query_is_measured_in_nfc(settings: Settings) -> None:
    engine = SearchEngine(Settings.load({"index": settings.index, "max_query_length": 20}))
    Indexer(settings).ingest([str(EXAMPLES)])
    query = "Công đoàn Bắc Kạn"
    assert len(unicodedata.normalize("NFD", query)) > 20
    assert engine.search(SearchRequest(q=unicodedata.normalize("NFD", query)))["hits"]
    engine.close()


# -- adjacency, titles, coverage ---------------------------------------------------


def test_adjacent_syllables_outrank_scattered_ones(make_engine: Any) -> None:
    engine = make_engine(
        [
            {
                "id": "scattered",
                "title": "Tin vắn",
                "body": f"Chuyến đi lao xuống dốc làm mọi người xúc động. {FILLER}",
            },
            {
                "id": "adjacent",
                "title": "Tin vắn",
                "body": f"Chuyến đi của người lao động xuống dốc làm mọi người vui. {FILLER}",
            },
        ]
    )
    assert ranked_ids(engine, "lao động") == ["adjacent", "scattered"]
    assert ranked_ids(engine, "lao dong") == ["adjacent", "scattered"]


def test_a_title_match_outranks_a_body_match(make_engine: Any) -> None:
    engine = make_engine(
        [
            {"id": "body", "title": "Tin vắn", "body": f"Nói về thủy lợi. {FILLER}"},
            {"id": "title", "title": "Thủy lợi", "body": f"Nói về chuyện khác. {FILLER}"},
        ]
    )
    assert ranked_ids(engine, "thủy lợi") == ["title", "body"]
    assert ranked_ids(engine, "thuy loi") == ["title", "body"]


def test_more_query_words_outrank_fewer(make_engine: Any) -> None:
    engine = make_engine(
        [
            {"id": "two", "title": "Tin vắn", "body": f"Bảo hiểm y tế cho mọi người. {FILLER}"},
            {"id": "three", "title": "Tin vắn", "body": f"Bảo hiểm y tế cho công nhân. {FILLER}"},
            {"id": "one", "title": "Tin vắn", "body": f"Công nhân nghỉ lễ. {FILLER}"},
        ]
    )
    assert ranked_ids(engine, "bảo hiểm công nhân")[0] == "three"
    assert ranked_ids(engine, "bao hiem cong nhan")[0] == "three"


def test_the_sample_query_finds_its_article_first(sample_engine: SearchEngine) -> None:
    assert ranked_ids(sample_engine, "cờ bạc trực tuyến")[0] == "bk-0013"
    assert ranked_ids(sample_engine, "co bac truc tuyen")[0] == "bk-0013"
    assert ranked_ids(sample_engine, "hoà giải tranh chấp")[0] == "bk-0016"


def test_a_question_ranks_by_its_content_words(make_engine: Any) -> None:
    # As in any real collection, the function words are in most documents.
    common = "Việc này là gì, có không, như thế nào và khi nào thì làm?"
    others = [
        {"id": f"other-{n}", "title": f"Tin số {n}", "body": f"{common} {FILLER}"}
        for n in range(6)
    ]
    engine = make_engine(
        [
            *others,
            {
                "id": "chatter",
                "title": "Hỏi đáp",
                "body": f"Là gì, như thế nào, có không, của ai, ở đâu và khi nào? {FILLER}",
            },
            {
                "id": "answer",
                "title": "Tin vắn",
                "body": f"Bệnh sởi lây qua đường hô hấp, trẻ nhỏ dễ mắc. {FILLER}",
            },
        ]
    )
    question = "Bệnh sởi là gì và lây như thế nào, có nguy hiểm không?"
    assert ranked_ids(engine, question)[0] == "answer"
    assert ranked_ids(engine, evaluate.strip_accents(question))[0] == "answer"
    # The function words it drops do not match either: every match is ranked.
    response = engine.search(SearchRequest(q=question, per_page=100))
    assert [hit["id"] for hit in response["hits"]] == ["answer"]
    assert response["total"] == 1
    # A query of function words only keeps them all.
    assert "chatter" in ranked_ids(engine, "ở đâu")


def test_a_plain_word_in_an_accented_query_is_taken_as_typed(make_engine: Any) -> None:
    engine = make_engine(
        [
            {"id": "ung", "title": "Tin vắn", "body": f"Khoa ung bướu mở thư viện. {FILLER}"},
            {
                "id": "ung-vien",
                "title": "Tin vắn",
                "body": f"Ứng viên ứng tuyển gửi thư ứng tuyển. {FILLER}",
            },
        ]
    )
    assert ranked_ids(engine, "ung thư") == ["ung", "ung-vien"]
    assert ranked_ids(engine, "ung thu")[0] == "ung-vien"
    assert ranked_ids(engine, "cong ứng viên")[0] == "ung-vien"


# -- the evaluation script -----------------------------------------------------------


def test_the_evaluation_runs_on_a_slice_of_a_real_set() -> None:
    corpus_file("relevance/ALQAC-passages.jsonl.gz")
    rows, times = evaluate.evaluate(
        ["alqac"], CORPUS, limit=15, forms=list(evaluate.FORMS), pool=0, items=0, seed=1
    )
    by_form = {row.form: row for row in rows}
    assert set(by_form) == set(evaluate.FORMS)
    assert len(times) == 15 * len(evaluate.FORMS)
    assert by_form["accented"].queries == 15
    assert by_form["accented"].recall >= 80
    for form in evaluate.SAME_AS_ACCENTED:
        assert by_form[form].extra.startswith("same hits 15/15"), by_form[form]
        assert by_form[form].passed
    assert by_form["unaccented"].recall >= by_form["accented"].recall - 15
