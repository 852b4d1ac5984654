"""Questions and headline fragments: told apart, and weighted each their way."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import corpus_file
from timkiem import evaluation
from timkiem.analysis import fold, syllables
from timkiem.plan import build_plan
from timkiem.query import parse_query
from timkiem.query_shape import is_question
from timkiem.ranking import RANKING
from timkiem.schema import accented_field, folded_field
from timkiem.search import SearchEngine, SearchRequest

QUESTIONS = [
    "Bắc Kạn có bao nhiêu đoàn viên",
    "bac kan co bao nhieu doan vien",
    "ai là chủ tịch công đoàn tỉnh",
    "lễ ra quân diễn ra ở đâu",
    "le ra quan dien ra o dau",
    "giá vàng hôm nay",  # with the question mark, below
    "vì sao công nhân nghỉ việc",
    "hội nghị tổng kết năm 2024 được tổ chức tại thành phố",  # a sentence: 11 words
]
HEADLINES = [
    "công đoàn Bắc Kạn",
    "cong doan bac kan",
    "bão số 3",
    "dau tu cong",  # "đầu tư công": "dau" folded is not "đâu"
    "u nao",  # "u não": "nao" folded is not "nào"
    "may moc thiet bi",  # "máy móc", not "mấy"
    "Đại hội Công đoàn tỉnh lần",  # 6 words
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_questions_are_questions(text: str) -> None:
    if text == "giá vàng hôm nay":
        assert not is_question(parse_query(text), RANKING.question_words)
        text += "?"
    assert is_question(parse_query(text), RANKING.question_words), text


@pytest.mark.parametrize("text", HEADLINES)
def test_headline_fragments_are_not(text: str) -> None:
    assert not is_question(parse_query(text), RANKING.question_words), text


def test_the_question_mark_is_part_of_the_cache_key() -> None:
    assert parse_query("giá vàng?").key() != parse_query("giá vàng").key()


def _title_weight(text: str) -> float:
    plan = build_plan(parse_query(text), RANKING)
    field = accented_field("title") if text != fold(text) else folded_field("title")
    return next(w for f, _, w in plan.scored if f == field)


def test_a_question_weighs_titles_as_bodies_a_headline_double() -> None:
    assert _title_weight("công đoàn Bắc Kạn") == RANKING.title == 2.0
    assert _title_weight("công đoàn Bắc Kạn có bao nhiêu đoàn viên") == RANKING.question_title
    assert _title_weight("cong doan bac kan?") == RANKING.question_title == 1.0


FILLER = (
    "Ban chấp hành họp định kỳ, thông qua kế hoạch công tác quý tới và phân công "
    "nhiệm vụ cho từng thành viên phụ trách các phần việc cụ thể. "
)


def test_a_question_finds_the_body_that_answers_it_a_headline_the_title(
    engine_of: Callable[[list[dict[str, Any]]], SearchEngine],
) -> None:
    """The same words: in a title they win a headline search; in the body of a
    long article, with the rest of the question, they win the question."""
    titled = {
        "id": "titled",
        "title": "Nhà máy nước sạch xã Cẩm Giàng",
        "body": FILLER * 6 + "Công trình khởi công tháng trước.",
    }
    answering = {
        "id": "answering",
        "title": "Tin vắn trong tuần",
        "body": FILLER * 6
        + "Nhà máy nước sạch xã Cẩm Giàng cấp nước cho 2.300 hộ dân trong vùng lũ.",
    }
    engine = engine_of([titled, answering, *({"id": f"f{n}", "body": FILLER} for n in range(8))])

    def first(q: str) -> str:
        return str(engine.search(SearchRequest(q=q))["hits"][0]["id"])

    assert first("nhà máy nước sạch Cẩm Giàng") == "titled"
    assert first("nhà máy nước sạch Cẩm Giàng cấp nước cho bao nhiêu?") == "answering"


def test_the_news_questions_set_asks_about_bodies(tmp_path: Path) -> None:
    corpus = corpus_file("news-fulltext-2017.jsonl.gz").parent
    built = evaluation.build_question_set(corpus, tmp_path, pool=400, items=30, seed=5)
    pool = {
        json.loads(line)["id"]: json.loads(line)
        for line in built.docs.read_text("utf-8").splitlines()
    }
    assert len(pool) == 400 and len(built.queries) == 30
    asked = 0
    for query in built.queries:
        (answer,) = query.relevant
        article = pool[answer]
        words = syllables(query.text)
        assert 8 <= len(words) <= 21, query.text  # a clause; "bao nhiêu" may add one
        body = " ".join(syllables(article["body"]))
        kept = [w for w in words if w not in {"ai", "ở", "đâu", "khi", "nào", "bao", "nhiêu"}]
        assert all(w in body for w in kept), query.text
        asked += query.text.endswith("?")
    assert asked  # some details became questions


def test_snippets_mark_a_questions_scored_words_not_its_function_words(
    engine_of: Callable[[list[dict[str, Any]]], SearchEngine],
) -> None:
    """"có" and "không" match nearly every article: marked, they would pull a
    snippet to the passage richest in them."""
    record = {
        "id": "answer",
        "title": "Tin vắn",
        "body": "Trời có mưa không, ai cũng có ô. " * 12
        + "Đoàn viên công đoàn Bắc Kạn có 12.000 người.",
    }
    engine = engine_of([record, *({"id": f"f{n}", "body": FILLER} for n in range(4))])

    def snippet(q: str) -> str:
        hits = engine.search(SearchRequest(q=q))["hits"]
        return str(next(h["snippet"] for h in hits if h["id"] == "answer"))

    asked = snippet("đoàn viên công đoàn Bắc Kạn có không?")
    assert "<mark>Bắc</mark> <mark>Kạn</mark>" in asked
    assert "<mark>có</mark>" not in asked and "<mark>không</mark>" not in asked
    # typed without accents, "co" and "khong" may be other words: they score, and are marked
    assert "<mark>có</mark>" in snippet("doan vien cong doan Bac Kan co khong")
