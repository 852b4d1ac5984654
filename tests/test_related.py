"""Related articles: ``GET /articles/{id}/related``, ``timkiem related`` and the
more-like-this service, on the sample articles and on a small set written here
whose related articles are known."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from falcon.testing import TestClient

from conftest import CORPUS, EXAMPLES, Engines, analyze, corpus_file, make_settings, write_jsonl
from timkiem.analysis import bigram_analyzer, folded_analyzer, folded_syllables, syllable_pairs
from timkiem.cli import cli
from timkiem.config import Settings
from timkiem.engine.executor import Filters, execute
from timkiem.evaluation import evaluate
from timkiem.indexer import Indexer
from timkiem.ranking import RANKING
from timkiem.related import (
    MAX_LIMIT,
    Profile,
    RelatedRequest,
    build_related_plan,
    near_duplicate,
    term_counts,
)

FLOOD = "Lũ quét ở huyện Mù Cang Chải tỉnh Yên Bái làm năm người mất tích"
FLOOD_BODY = (
    "Mưa lớn kéo dài suốt đêm qua gây lũ quét tại xã Chế Cu Nha, huyện Mù Cang Chải, tỉnh "
    "Yên Bái. Lũ cuốn trôi ba ngôi nhà, năm người mất tích. Lực lượng cứu hộ, bộ đội biên "
    "phòng và dân quân đang tìm kiếm người mất tích dọc suối Nậm Kim."
)


def article(id: str, title: str, body: str, date: str, category: str = "Thời sự") -> dict[str, Any]:
    return {"id": id, "title": title, "body": body, "date": date, "category": category}


# Three events (flood, fuel prices, U23 football), three articles each, written
# as three newspapers would; and the first flood article re-posted twice.
ARTICLES = [
    article("lu-1", FLOOD, FLOOD_BODY, "2024-09-10T07:00:00+07:00"),
    article(
        "tin/2024/09/lu-2",
        "Tìm kiếm người mất tích sau lũ quét ở Mù Cang Chải",
        "Sáng nay lực lượng cứu hộ tiếp tục tìm kiếm năm người mất tích do lũ quét ở xã Chế "
        "Cu Nha, Mù Cang Chải, Yên Bái. Dòng suối Nậm Kim dâng cao, bùn đất vùi lấp nhiều "
        "nhà dân, bộ đội biên phòng dùng xuồng tìm kiếm.",
        "2024-09-11T08:00:00+07:00",
    ),
    article(
        "lu-3",
        "Yên Bái hỗ trợ các gia đình bị lũ quét cuốn trôi nhà",
        "Tỉnh Yên Bái trích ngân sách hỗ trợ các hộ dân xã Chế Cu Nha, huyện Mù Cang Chải có "
        "nhà bị lũ quét cuốn trôi. Đến nay cứu hộ đã tìm thấy hai trong năm người mất tích.",
        "2024-09-14T09:00:00+07:00",
        "Xã hội",
    ),
    article(
        "lu-1-dang-lai", FLOOD, FLOOD_BODY + " Cập nhật lúc 9 giờ.", "2024-09-10T09:00:00+07:00"
    ),
    article(
        "lu-1-sua-tieu-de",
        FLOOD.replace("năm người", "5 người"),
        FLOOD_BODY,
        "2024-09-10T10:00:00+07:00",
    ),
    article(
        "xang-1",
        "Giá xăng dầu tăng mạnh từ chiều nay",
        "Liên Bộ Công Thương - Tài chính điều chỉnh giá xăng dầu từ 15 giờ chiều nay: xăng "
        "RON 95 tăng 800 đồng mỗi lít, dầu diesel tăng 600 đồng mỗi lít, quỹ bình ổn giá "
        "không được sử dụng.",
        "2024-10-03T15:00:00+07:00",
        "Kinh doanh",
    ),
    article(
        "xang-2",
        "Xăng RON 95 lên gần 24.000 đồng một lít",
        "Sau kỳ điều chỉnh chiều nay giá xăng RON 95 lên gần 24.000 đồng một lít, dầu diesel "
        "cũng tăng. Liên Bộ Công Thương - Tài chính không trích quỹ bình ổn giá xăng dầu.",
        "2024-10-03T16:00:00+07:00",
        "Kinh doanh",
    ),
    article(
        "xang-3",
        "Doanh nghiệp vận tải lo chi phí khi giá dầu diesel tăng",
        "Giá dầu diesel tăng 600 đồng mỗi lít khiến doanh nghiệp vận tải lo chi phí nhiên "
        "liệu; xăng RON 95 cũng tăng trong kỳ điều chỉnh giá xăng dầu của Liên Bộ Công "
        "Thương - Tài chính.",
        "2024-10-04T08:00:00+07:00",
        "Kinh doanh",
    ),
    article(
        "u23-1",
        "U23 Việt Nam thắng U23 Thái Lan ở bán kết",
        "U23 Việt Nam thắng U23 Thái Lan 2-1 ở bán kết giải U23 Đông Nam Á. Tiền đạo Văn "
        "Tùng ghi bàn quyết định phút 88, huấn luyện viên Hoàng Anh Tuấn khen các cầu thủ.",
        "2024-08-27T21:00:00+07:00",
        "Thể thao",
    ),
    article(
        "u23-2",
        "Văn Tùng ghi bàn phút 88, U23 Việt Nam vào chung kết",
        "Bàn thắng phút 88 của tiền đạo Văn Tùng đưa U23 Việt Nam vào chung kết U23 Đông Nam "
        "Á sau chiến thắng 2-1 trước U23 Thái Lan ở bán kết.",
        "2024-08-27T22:00:00+07:00",
        "Thể thao",
    ),
    article(
        "u23-3",
        "Huấn luyện viên Hoàng Anh Tuấn: các cầu thủ U23 đã chiến đấu quả cảm",
        "Sau trận bán kết thắng U23 Thái Lan 2-1, huấn luyện viên Hoàng Anh Tuấn nói các cầu "
        "thủ U23 Việt Nam đã chiến đấu quả cảm và hướng tới trận chung kết Đông Nam Á.",
        "2024-08-28T08:00:00+07:00",
        "Thể thao",
    ),
    article(
        "chuyen-muc/related",
        "Chuyên mục tin lũ quét",
        "Tổng hợp tin lũ quét và mưa lớn ở các tỉnh miền núi phía Bắc.",
        "2024-09-15T08:00:00+07:00",
        "Chuyên mục",
    ),
]
EVENTS = {
    "flood": ["lu-1", "tin/2024/09/lu-2", "lu-3"],
    "fuel": ["xang-1", "xang-2", "xang-3"],
    "u23": ["u23-1", "u23-2", "u23-3"],
}
DUPLICATES = {"lu-1", "lu-1-dang-lai", "lu-1-sua-tieu-de"}


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("related")
    settings = make_settings(folder / "index")
    Indexer(settings).ingest([str(write_jsonl(folder / "events.jsonl", ARTICLES))])
    return settings


def related_ids(client: TestClient, article_id: str, **params: Any) -> list[str]:
    result = client.simulate_get(f"/articles/{article_id}/related", params=params)
    assert result.status_code == 200, result.text
    return [hit["id"] for hit in result.json["hits"]]


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_the_same_event_comes_first(client: TestClient, event: str) -> None:
    for article_id in EVENTS[event]:
        others = {i for i in EVENTS[event] if i != article_id}
        found = related_ids(client, article_id, limit=2)
        if article_id != "lu-1":
            # a flood article gets one of the re-posts of lu-1, never two
            found = ["lu-1" if i in DUPLICATES else i for i in found]
        assert set(found) == others, (article_id, found)


def test_response_shape_is_a_search_hit_without_snippet(client: TestClient) -> None:
    body = client.simulate_get("/articles/xang-1/related").json
    assert set(body) == {"id", "hits", "took_ms"}
    assert body["id"] == "xang-1"
    assert len(body["hits"]) == 5  # the default limit
    first = body["hits"][0]
    assert set(first) == {"id", "title", "url", "date", "category", "author", "score"}
    assert first["category"] == "Kinh doanh"
    scores = [hit["score"] for hit in body["hits"]]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0


def test_excludes_itself_and_its_near_duplicates(client: TestClient) -> None:
    found = related_ids(client, "lu-1", limit=MAX_LIMIT)
    assert not DUPLICATES & set(found)
    assert found[:2] in (["tin/2024/09/lu-2", "lu-3"], ["lu-3", "tin/2024/09/lu-2"])
    # from another article: the best of the three copies only
    found = related_ids(client, "lu-3", limit=MAX_LIMIT)
    assert len(DUPLICATES & set(found)) == 1


def test_near_duplicates_need_the_same_title_or_the_same_story() -> None:
    def profile(title: str, body: str) -> Profile:
        return Profile(folded_syllables(title), frozenset(folded_syllables(body)))

    original = profile(FLOOD, FLOOD_BODY)
    assert near_duplicate(original, profile(FLOOD.upper(), "Một bài khác hẳn."))
    assert near_duplicate(original, profile(FLOOD.replace("năm", "5"), FLOOD_BODY))
    # almost the same title over another newspaper's own text: kept
    assert not near_duplicate(original, profile(FLOOD.replace("năm", "5"), ARTICLES[1]["body"]))
    assert not near_duplicate(original, profile(ARTICLES[2]["title"], FLOOD_BODY))


def test_ids_with_slashes(client: TestClient) -> None:
    found = related_ids(client, "tin/2024/09/lu-2", limit=3)
    assert set(found) & DUPLICATES and "lu-3" in found
    assert "tin/2024/09/lu-2" in related_ids(client, "lu-3")
    # an article whose own id ends in "/related" is still an article
    result = client.simulate_get("/articles/chuyen-muc/related")
    assert (result.status_code, result.json["id"]) == (200, "chuyen-muc/related")
    assert related_ids(client, "chuyen-muc/related", limit=1)


def test_date_window_and_category(client: TestClient) -> None:
    found = related_ids(client, "lu-3", **{"from": "2024-09-11", "to": "2024-09-30"})
    assert found[0] == "tin/2024/09/lu-2"
    assert not DUPLICATES & set(found)
    dated = {a["id"]: a["date"][:10] for a in ARTICLES}
    assert all("2024-09-11" <= dated[i] <= "2024-09-30" for i in found)
    found = related_ids(client, "u23-1", category="Kinh doanh")
    assert set(found) == set(EVENTS["fuel"])
    assert related_ids(client, "u23-1", category="Không có") == []


def test_unknown_article_is_a_404(client: TestClient) -> None:
    for path in ("/articles/nope/related", "/articles/tin/nope/related"):
        result = client.simulate_get(path)
        assert result.status_code == 404
        assert result.json["error"]["code"] == "not_found"
    message = client.simulate_get("/articles/tin/nope/related").json["error"]["message"]
    assert message == "no article with id 'tin/nope'"


@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        ({"limit": "0"}, "limit", f"between 1 and {MAX_LIMIT}"),
        ({"limit": str(MAX_LIMIT + 1)}, "limit", f"between 1 and {MAX_LIMIT}"),
        ({"limit": "many"}, "limit", "whole number"),
        ({"from": "yesterday"}, "from", ""),
        ({"from": "2024-10", "to": "2024-09"}, "from", "after 'to'"),
    ],
)
def test_parameter_errors(
    client: TestClient, params: dict[str, str], param: str, message: str
) -> None:
    result = client.simulate_get("/articles/lu-1/related", params=params)
    assert result.status_code == 400
    error = result.json["error"]
    assert (error["code"], error["param"]) == ("invalid_parameter", param)
    assert message in error["message"]


def test_a_new_article_is_related_at_once(tmp_path: Path, engines: Engines) -> None:
    settings = make_settings(tmp_path / "index")
    indexer = Indexer(settings)
    indexer.ingest([str(write_jsonl(tmp_path / "a.jsonl", ARTICLES[5:]))])
    engine = engines.open(settings)
    before = engine.related(RelatedRequest("xang-1", limit=3))
    assert "xang-4" not in [h["id"] for h in before["hits"]]
    fresh = article(
        "xang-4",
        "Giá xăng RON 95 và dầu diesel cùng tăng",
        "Quỹ bình ổn giá xăng dầu không được trích; xăng RON 95 tăng 800 đồng, dầu diesel "
        "tăng 600 đồng mỗi lít theo Liên Bộ Công Thương - Tài chính.",
        "2024-10-03T17:00:00+07:00",
    )
    indexer.ingest([str(write_jsonl(tmp_path / "b.jsonl", [fresh]))])
    after = engine.related(RelatedRequest("xang-1", limit=3))
    assert "xang-4" in [h["id"] for h in after["hits"]]


def test_sample_articles(tmp_path: Path, engines: Engines) -> None:
    settings = make_settings(tmp_path / "index")
    Indexer(settings).ingest([str(EXAMPLES)])
    client = engines.client(settings)
    # the two "Tết Sum vầy" programmes; the three "Mái ấm Công đoàn" articles
    assert related_ids(client, "bk-0006", limit=1) == ["bk-0031"]
    assert {"bk-0003", "bk-0032"} & set(related_ids(client, "bk-0033", limit=3))
    # the two articles on safety at hydropower plants
    assert related_ids(client, "bk-0005", limit=1) == ["bk-0018"]


def test_fast_analysis_gives_the_index_terms() -> None:
    texts = [FLOOD, FLOOD_BODY, "Hoà bình THUỶ điện", "Một", "", "Ô-tô, 2024; e\u0301 Đắk Lắk"]
    texts += [json.loads(line)["body"] for line in EXAMPLES.read_text("utf-8").splitlines()[:5]]
    for text in texts:
        folded = folded_syllables(text)
        assert folded == analyze(folded_analyzer(), text)
        if folded:
            assert syllable_pairs(folded) == analyze(bigram_analyzer(), text)


def test_command(app_settings: Settings) -> None:
    runner = CliRunner()
    index = ["--index", str(app_settings.index)]
    result = runner.invoke(cli, ["related", "xang-2", "--limit", "2", *index])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("2 related article(s) in ")
    assert {line.split()[1] for line in lines[1:]} == {"[xang-1]", "[xang-3]"}
    result = runner.invoke(
        cli, ["related", "tin/2024/09/lu-2", "--json", "--category", "Xã hội", *index]
    )
    assert [hit["id"] for hit in json.loads(result.stdout)["hits"]] == ["lu-3"]
    result = runner.invoke(cli, ["related", "nope", *index])
    assert result.exit_code == 1
    assert "no article with id 'nope'" in result.stderr
    result = runner.invoke(cli, ["related", "lu-1", "--from", "2024-13", *index])
    assert result.exit_code == 1 and "from:" in result.stderr


def test_real_news_events_beat_the_cosine_baseline() -> None:
    corpus_file("relevance/vmds-docs.jsonl.gz")
    rows, _ = evaluate(["vmds"], CORPUS, None, [], pool=0, items=0, seed=1)
    by_form = {row.form: row for row in rows}
    cosine, related = by_form["cosine"], by_form["related"]
    assert related.queries == cosine.queries == 628
    assert 90 < cosine.recall < related.recall
    assert related.passed


def test_the_executor_runs_a_plan_with_its_lookup_given(
    app_settings: Settings, engines: Engines
) -> None:
    snap = engines.open(app_settings).snapshot()
    counts = term_counts(folded_syllables(FLOOD), folded_syllables(FLOOD_BODY), RANKING)
    plan, lookup = build_related_plan(snap, counts, RANKING)
    assert len(lookup.index) > len(plan.keys())  # every term of the article, not only the plan's
    runs = [
        execute(snap, plan, Filters(), True, True, 20, 0.0, lookup=given)
        for given in (None, lookup)
    ]
    assert runs[0].ranked == runs[1].ranked and len(runs[0].ranked) > 5
    assert runs[0].members.tolist() == runs[1].members.tolist()
