"""The HTTP API, through falcon.testing."""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from falcon.testing import Result, TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conftest import Engines, index_records, make_settings, write_jsonl
from timkiem.config import Settings
from timkiem.indexer import Indexer

HIT_KEYS = {"id", "title", "url", "date", "category", "author", "score", "snippet"}
RESPONSE_KEYS = {
    "query",
    "total",
    "page",
    "per_page",
    "total_pages",
    "has_more",
    "took_ms",
    "hits",
    "facets",
    "applied",
}

# Around the turn of 2020/2021 in Vietnam time; UTC would put these on other days.
BOUNDARY = [
    {"id": "before", "title": "công đoàn", "date": "2019-12-31T23:30:00+07:00"},
    {"id": "first", "title": "công đoàn", "date": "2020-01-01T00:30:00+07:00"},
    {"id": "mid", "title": "công đoàn", "date": "15:00 - 13/04/2020", "category": "Tin"},
    {"id": "last", "title": "công đoàn", "date": "2020-12-31T23:30:00+07:00"},
    {"id": "after", "title": "công đoàn", "date": "2021-01-01T00:30:00+07:00"},
    {"id": "after-utc", "title": "công đoàn", "date": "2020-12-31T17:45:00Z"},
    {"id": "undated", "title": "công đoàn"},
]


@pytest.fixture(scope="module")
def boundary(tmp_path_factory: pytest.TempPathFactory, module_engines: Engines) -> TestClient:
    return module_engines.client(index_records(tmp_path_factory.mktemp("boundary"), BOUNDARY))


def get(client: TestClient, path: str = "/search", **params: Any) -> Result:
    result = client.simulate_get(path, params={k: str(v) for k, v in params.items()})
    assert result.status_code < 500, result.text
    assert result.headers["content-type"].startswith("application/json")
    return result


def search(client: TestClient, **params: Any) -> dict[str, Any]:
    result = get(client, **params)
    assert result.status_code == 200, result.text
    body: dict[str, Any] = result.json
    return body


def all_ids(client: TestClient, **params: Any) -> list[str]:
    return [h["id"] for h in search(client, per_page=100, **params)["hits"]]


def error_of(client: TestClient, path: str = "/search", **params: Any) -> dict[str, Any]:
    result = get(client, path, **params)
    assert result.status_code == 400, result.text
    assert set(result.json) == {"error"}
    error: dict[str, Any] = result.json["error"]
    assert error["status"] == 400
    assert error["code"] == "invalid_parameter"
    return error


# -- response shape ----------------------------------------------------------


def test_search_response_shape(client: TestClient) -> None:
    body = search(client, q="công đoàn Bắc Kạn", per_page=5)
    assert set(body) == RESPONSE_KEYS
    assert body["query"] == "công đoàn Bắc Kạn"
    assert (body["page"], body["per_page"]) == (1, 5)
    assert isinstance(body["took_ms"], int | float) and body["took_ms"] >= 0
    assert len(body["hits"]) == 5
    for hit in body["hits"]:
        assert set(hit) == HIT_KEYS
        assert isinstance(hit["score"], float) and hit["score"] > 0
        assert hit["date"].endswith("+07:00")
        assert isinstance(hit["snippet"], str)
    scores = [h["score"] for h in body["hits"]]
    assert scores == sorted(scores, reverse=True)
    assert set(body["facets"]) == {"year", "month", "category"}


def test_totals_and_facets_are_exact(client: TestClient) -> None:
    body = search(client, q="lao động", per_page=100, match="any")
    hits = body["hits"]
    assert body["total"] == len(hits) > 10
    years = Counter(h["date"][:4] for h in hits)
    categories = Counter(h["category"] for h in hits)
    assert body["facets"]["year"] == dict(years)
    assert body["facets"]["category"] == dict(categories)
    assert list(body["facets"]["year"]) == sorted(years, reverse=True)


def test_total_is_exact_on_every_page(client: TestClient) -> None:
    everything = all_ids(client, q="công đoàn", match="any")
    total = search(client, q="công đoàn", match="any")["total"]
    assert total == len(everything)
    paged: list[str] = []
    for page in range(1, total // 7 + 2):
        body = search(client, q="công đoàn", per_page=7, page=page, match="any")
        assert body["total"] == total
        paged.extend(h["id"] for h in body["hits"])
    assert paged == everything


def test_a_date_filter_matching_nothing_gives_zero(client: TestClient) -> None:
    # Whoosh treats an empty filter as "no filter"; the total must still be 0.
    for params in ({"q": "công đoàn"}, {"q": ""}, {"q": "cong doan", "sort": "newest"}):
        body = search(client, **params, **{"from": "1990", "to": "1990-12-31"})
        assert (body["total"], body["hits"]) == (0, [])
        assert body["facets"] == {"year": {}, "month": {}, "category": {}}
    body = search(client, q="công đoàn", category="no such category")
    assert (body["total"], body["hits"]) == (0, [])


def test_query_with_no_match(client: TestClient) -> None:
    body = search(client, q="zzzyyyxxx")
    assert (body["total"], body["hits"]) == (0, [])


# -- dates -----------------------------------------------------------------


@pytest.mark.parametrize("start", ["2020", "2020-01", "2020-01-01"])
@pytest.mark.parametrize("end", ["2020", "2020-12", "2020-12-31"])
@pytest.mark.parametrize("q", ["công đoàn", "cong doan", ""])
def test_date_bounds_are_inclusive_days_in_vietnam(
    boundary: TestClient, start: str, end: str, q: str
) -> None:
    body = search(boundary, q=q, per_page=100, **{"from": start, "to": end})
    assert sorted(h["id"] for h in body["hits"]) == ["first", "last", "mid"]
    assert body["total"] == 3
    assert body["facets"]["year"] == {"2020": 3}


def test_open_ended_ranges(boundary: TestClient) -> None:
    assert sorted(all_ids(boundary, **{"from": "2021"})) == ["after", "after-utc"]
    assert all_ids(boundary, to="2019-12-31") == ["before"]
    assert all_ids(boundary, **{"from": "2020-04-13", "to": "2020-04-13"}) == ["mid"]


def test_year_facet_is_in_vietnam_time(boundary: TestClient) -> None:
    facets = search(boundary, q="cong doan")["facets"]
    assert facets["year"] == {"2021": 2, "2020": 3, "2019": 1}
    assert facets["category"] == {"Tin": 1}


def test_archive_lists_newest_first(boundary: TestClient) -> None:
    body = search(boundary, **{"from": "2019", "to": "2021"})
    ids = [h["id"] for h in body["hits"]]
    assert ids == ["after-utc", "after", "last", "mid", "first", "before"]
    assert all(h["score"] is None for h in body["hits"])


def test_sort_newest_and_oldest(boundary: TestClient) -> None:
    newest = all_ids(boundary, q="công đoàn", sort="newest")
    oldest = all_ids(boundary, q="công đoàn", sort="oldest")
    dated = ["after-utc", "after", "last", "mid", "first", "before"]
    assert newest == [*dated, "undated"]
    assert oldest == [*dated[::-1], "undated"]


def test_sort_on_the_samples(client: TestClient) -> None:
    for sort, reverse in (("newest", True), ("oldest", False)):
        body = search(client, q="lao động", sort=sort, per_page=100, match="any")
        dates = [h["date"] for h in body["hits"]]
        assert dates == sorted(dates, reverse=reverse)
        # match=all: the articles holding both words by date, then the others
        body = search(client, q="lao động", sort=sort, per_page=100)
        dates = [h["date"] for h in body["hits"]]
        counted, others = dates[: body["total"]], dates[body["total"] :]
        assert counted == sorted(counted, reverse=reverse) and counted
        assert others == sorted(others, reverse=reverse)


def test_category_filter(client: TestClient) -> None:
    facets = search(client, per_page=1)["facets"]["category"]
    assert sum(facets.values()) == 47
    for name, count in facets.items():
        body = search(client, category=name, per_page=100)
        assert body["total"] == count
        assert {h["category"] for h in body["hits"]} == {name}


# -- snippets --------------------------------------------------------------


def test_snippet_marks_folded_matches_in_the_original_spelling(client: TestClient) -> None:
    hit = search(client, q="cong doan bac kan")["hits"][0]
    snippet = hit["snippet"]
    assert "<mark>" in snippet
    marked = [part.split("</mark>")[0] for part in snippet.split("<mark>")[1:]]
    # "Bắc Cạn", the other spelling searched too, is marked as a whole, never "cán"
    assert {m.lower() for m in marked} <= {"công", "đoàn", "bắc", "kạn", "bắc cạn"}
    assert "đoàn" in [m.lower() for m in marked]


def test_snippet_marks_tone_variants(client: TestClient) -> None:
    for q in ("hòa bình", "hoà bình", "hoa binh"):
        snippet = search(client, q=q)["hits"][0]["snippet"]
        assert "<mark>hoà</mark>" in snippet.lower() or "<mark>hòa</mark>" in snippet.lower()


def test_snippet_is_html_escaped(tmp_path: Path, engines: Engines) -> None:
    settings = make_settings(tmp_path / "index")
    body = 'Tin <script>alert("x")</script> & Công đoàn <b>Bắc Kạn</b>'
    Indexer(settings).ingest(
        [str(write_jsonl(tmp_path / "a.jsonl", [{"id": "x", "title": "<i>t</i>", "body": body}]))]
    )
    client = engines.client(settings)
    result = get(client, q="cong doan")
    assert "<" not in result.text and ">" not in result.text  # raw JSON carries no markup
    snippet = result.json["hits"][0]["snippet"]
    assert "<script>" not in snippet and "<b>" not in snippet
    assert "&lt;script&gt;" in snippet and "&amp;" in snippet
    assert "<mark>Công</mark> <mark>đoàn</mark> &lt;b&gt;" in snippet
    text = snippet.replace("<mark>", "").replace("</mark>", "")
    assert html.unescape(text) in body  # an excerpt of the original text
    assert result.json["hits"][0]["title"] == "<i>t</i>"  # the title is data, not HTML


# -- other endpoints -------------------------------------------------------


def test_article_by_id(client: TestClient) -> None:
    result = get(client, "/articles/bk-0001")
    assert result.status_code == 200
    article = result.json
    assert article["id"] == "bk-0001"
    assert article["title"].startswith("Thực hiện chỉ thị 05-CT/TW")
    assert article["date"] == "2020-04-13T00:00:00+07:00"
    assert article["body"] and article["tags"]


def test_unknown_fields_come_back(tmp_path: Path, engines: Engines) -> None:
    settings = make_settings(tmp_path / "index")
    record = {"id": "tin/2020/1", "title": "t", "image": "a.jpg", "views": 3}
    Indexer(settings).ingest([str(write_jsonl(tmp_path / "a.jsonl", [record]))])
    article = get(engines.client(settings), "/articles/tin/2020/1").json
    assert (article["id"], article["image"], article["views"]) == ("tin/2020/1", "a.jpg", 3)


def test_missing_article_is_a_json_404(client: TestClient) -> None:
    result = get(client, "/articles/nope")
    assert result.status_code == 404
    assert result.json == {
        "error": {"status": 404, "code": "not_found", "message": "no article with id 'nope'"}
    }


def test_health_and_stats(client: TestClient) -> None:
    health = get(client, "/health")
    assert health.status_code == 200
    assert health.json["status"] == "ok" and health.json["articles"] == 47
    assert health.json["warm"] is True  # nothing to read in advance without prefetch
    stats = get(client, "/stats").json
    assert stats["articles"] == 47
    assert stats["first_date"] < stats["last_date"]
    assert sum(stats["categories"].values()) == 47


def test_without_an_index(tmp_path: Path, engines: Engines) -> None:
    client = engines.client(make_settings(tmp_path / "none"))
    health = client.simulate_get("/health")
    assert health.status_code == 503
    assert health.json["status"] == "unavailable" and "no index" in health.json["reason"]
    result = client.simulate_get("/search", params={"q": "x"})
    assert result.status_code == 503
    assert result.json["error"]["code"] == "index_unavailable"


# -- errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        ({"from": "2020-13"}, "from", "not a valid date"),
        ({"from": "13/04/2020"}, "from", "use YYYY-MM-DD, YYYY-MM or YYYY"),
        ({"to": "yesterday"}, "to", "use YYYY-MM-DD"),
        ({"from": "2021", "to": "2020"}, "from", "after"),
        ({"per_page": "0"}, "per_page", "between 1 and 100"),
        ({"per_page": "101"}, "per_page", "between 1 and 100"),
        ({"per_page": "-5"}, "per_page", "between 1 and 100"),
        ({"page": "0"}, "page", "1 or more"),
        ({"page": "101"}, "page", "at most 1000"),
        ({"page": "10", "per_page": "100"}, None, None),
        ({"page": "99999999999999999999999"}, "page", "at most 1000"),
        ({"page": "abc"}, "page", "must be a whole number, not 'abc'"),
        ({"per_page": "1.5"}, "per_page", "must be a whole number, not '1.5'"),
        ({"sort": "best"}, "sort", "relevance, newest, oldest"),
        ({"q": "a" * 501}, "q", "the limit is 500"),
    ],
)
def test_errors_name_the_parameter(
    client: TestClient, params: dict[str, str], param: str | None, message: str | None
) -> None:
    if param is None:
        assert get(client, **params).status_code == 200
        return
    error = error_of(client, **params)
    assert error["param"] == param
    assert message is not None and message in error["message"]


def test_query_length_limit_is_a_setting(app_settings: Settings, engines: Engines) -> None:
    client = engines.client(make_settings(app_settings.index, max_query_length=10))
    assert get(client, q="a" * 10).status_code == 200
    assert error_of(client, q="a" * 11)["param"] == "q"


def test_unknown_path_and_method(client: TestClient) -> None:
    result = get(client, "/nope")
    assert (result.status_code, result.json["error"]["code"]) == (404, "not_found")
    result = client.simulate_post("/search")
    assert (result.status_code, result.json["error"]["code"]) == (405, "method_not_allowed")


MALFORMED = [
    '"',
    '""',
    '"""',
    "-",
    "--",
    '-"công đoàn',
    '"công -đoàn',
    "(",
    ")",
    "*",
    "?",
    "a*",
    "title:x",
    "NOT",
    "AND OR NOT",
    "a AND",
    "\\",
    "\x00",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🎉",
    "\u0301\u0301",
    "đ" * 500,
    " ".join(["công"] * 100),
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%",
    "%%%%",
    "{}[]",
    "~2",
    "a^3",
    "[a TO b]",
]


@pytest.mark.parametrize("q", MALFORMED)
def test_malformed_queries_never_fail(client: TestClient, q: str) -> None:
    body = search(client, q=q)
    assert body["query"] == q and len(body["hits"]) <= body["per_page"]
    # with match=all, hits past ``total`` hold only some of the words; with any, none
    every = search(client, q=q, match="any")
    assert every["total"] >= len(every["hits"]) and every["total"] >= body["total"]


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    q=st.text(max_size=60),
    extra=st.dictionaries(
        st.sampled_from(["from", "to", "page", "per_page", "sort", "category"]),
        st.text(max_size=12),
        max_size=3,
    ),
)
def test_no_input_gets_a_server_error(client: TestClient, q: str, extra: dict[str, str]) -> None:
    result = client.simulate_get("/search", params={"q": q, **extra})
    assert result.status_code in (200, 400), result.text
    if result.status_code == 400:
        assert result.json["error"]["param"] in extra


# -- CORS ------------------------------------------------------------------


def test_no_cors_by_default(client: TestClient) -> None:
    result = client.simulate_get("/search", headers={"Origin": "https://congdoan.example"})
    assert result.status_code == 200
    assert "access-control-allow-origin" not in result.headers


def test_cors_allows_configured_origins(app_settings: Settings, engines: Engines) -> None:
    settings = make_settings(
        app_settings.index, cors_origins="https://congdoan.example, https://b.example"
    )
    client = engines.client(settings)
    for origin in ("https://congdoan.example", "https://b.example"):
        result = client.simulate_get("/search", headers={"Origin": origin})
        assert result.headers["access-control-allow-origin"] == origin
    other = client.simulate_get("/search", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    preflight = client.simulate_options(
        "/search",
        headers={"Origin": "https://congdoan.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://congdoan.example"
    assert "GET" in preflight.headers["access-control-allow-methods"]


def test_cors_any_origin(app_settings: Settings, engines: Engines) -> None:
    client = engines.client(make_settings(app_settings.index, cors_origins="*"))
    result = client.simulate_get("/health", headers={"Origin": "https://x.example"})
    assert result.headers["access-control-allow-origin"] == "*"


# -- filters on ranked results --------------------------------------------


def test_filters_apply_to_ranked_hits(client: TestClient) -> None:
    everything = search(client, q="lao động", per_page=100, match="any")
    name, count = next(iter(everything["facets"]["category"].items()))
    ranked = search(client, q="lao động", category=name, per_page=100, match="any")
    assert ranked["total"] == count == len(ranked["hits"])
    assert {h["category"] for h in ranked["hits"]} == {name}
    in_2020 = search(
        client, q="lao động", per_page=100, match="any", **{"from": "2020", "to": "2020"}
    )
    assert {h["date"][:4] for h in in_2020["hits"]} == {"2020"}
    assert in_2020["total"] == len(in_2020["hits"]) == everything["facets"]["year"]["2020"]


def test_excluded_words_are_excluded(client: TestClient) -> None:
    with_word = set(all_ids(client, q="kạn"))
    body = search(client, q="lao động -kạn", per_page=100, match="any")
    ids = {h["id"] for h in body["hits"]}
    assert ids and not ids & with_word
    assert body["total"] == len(ids)
    assert set(all_ids(client, q="lao động", match="any")) - with_word == ids


@pytest.mark.parametrize(
    "query_string",
    [
        "q=%ff%fe%00",
        "q=%c3",
        "from=%c3%28&to=%ff",
        "page=%00",
        "per_page=&page=",
        "q=a&q=b&q=%22",
        "category=%ff",
        "sort=",
        "q=" + "%e1%bb%87" * 400,
    ],
)
def test_raw_query_strings_never_fail(client: TestClient, query_string: str) -> None:
    result = client.simulate_get("/search", query_string=query_string)
    assert result.status_code in (200, 400), result.text
    assert set(result.json) in (RESPONSE_KEYS, RESPONSE_KEYS | {"partial"}, {"error"})


@pytest.mark.parametrize(
    "path", ["/articles/", "/articles/%ff", "/articles/a/b/../c", "/articles/%00"]
)
def test_odd_article_paths_never_fail(client: TestClient, path: str) -> None:
    result = client.simulate_get(path)
    assert result.status_code in (400, 404), result.text
    assert "error" in result.json
