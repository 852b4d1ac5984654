"""What an archive or results page needs from ``/search``: month facets, categories in
any spelling (several at once), the parameters applied, and the pages there are."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlencode

import pytest
from falcon.testing import TestClient
from unidecode import unidecode

from conftest import Engines, index_records, make_settings
from timkiem.config import Settings
from timkiem.limits import MAX_CATEGORIES

UNION = "Hoạt động công đoàn"
ARTICLES = [
    {"id": "before", "title": "công đoàn", "date": "2019-12-31T23:30:00+07:00"},
    {"id": "first", "title": "công đoàn", "date": "2020-01-01T00:30:00+07:00", "category": UNION},
    {"id": "mid", "title": "công đoàn", "date": "15:00 - 13/04/2020", "category": "Tin"},
    {"id": "last", "title": "công đoàn", "date": "2020-12-31T23:30:00+07:00", "category": UNION},
    {"id": "after", "title": "công đoàn", "date": "2021-01-01T00:30:00+07:00"},
    # 17:45 UTC on 31 December is 00:45 on 1 January in Vietnam
    {"id": "after-utc", "title": "công đoàn", "date": "2020-12-31T17:45:00Z", "category": "tin"},
    {"id": "comma", "title": "công đoàn", "date": "2021-03-02", "category": "Kinh tế, Xã hội"},
    {"id": "undated", "title": "công đoàn", "category": "Hoạt động Công Đoàn"},
]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, module_engines: Engines) -> TestClient:
    return module_engines.client(index_records(tmp_path_factory.mktemp("archive"), ARTICLES))


def search(client: TestClient, query_string: str = "", **params: Any) -> dict[str, Any]:
    """``/search`` with ``params``, after the raw ``query_string`` (for repeated names)."""
    encoded = urlencode({k: str(v) for k, v in params.items()})
    result = client.simulate_get(
        "/search", query_string="&".join(filter(None, [query_string, encoded]))
    )
    assert result.status_code == 200, result.text
    body: dict[str, Any] = result.json
    return body


def ids(body: dict[str, Any]) -> set[str]:
    return {h["id"] for h in body["hits"]}


# -- month facets ------------------------------------------------------------------


def test_months_of_a_range_in_vietnam_time(archive: TestClient) -> None:
    body = search(archive, q="cong doan", **{"from": "2020-01", "to": "2021-01"})
    assert body["facets"]["month"] == {"2021-01": 2, "2020-12": 1, "2020-04": 1, "2020-01": 1}
    assert list(body["facets"]["month"]) == sorted(body["facets"]["month"], reverse=True)
    assert body["facets"]["year"] == {"2021": 2, "2020": 3}


def test_without_a_range_the_months_of_the_newest_year(archive: TestClient) -> None:
    assert search(archive)["facets"]["month"] == {"2021-03": 1, "2021-01": 2}
    # an open-ended range counts every month of its matches
    assert search(archive, to="2020-06")["facets"]["month"] == {
        "2020-04": 1,
        "2020-01": 1,
        "2019-12": 1,
    }


def test_month_facets_are_exact_on_the_samples(client: TestClient) -> None:
    body = search(client, q="lao động", per_page=100, **{"from": "2000", "to": "2030"})
    # every match is on this page; the facets count the first ``total`` (holding both words)
    counted = body["hits"][: body["total"]]
    assert body["total"] > 0 and body["has_more"] is False
    assert body["facets"]["month"] == dict(Counter(h["date"][:7] for h in counted))
    newest = search(client, q="lao động", per_page=100)
    year = max(newest["facets"]["year"])
    counted = newest["hits"][: newest["total"]]
    expected = Counter(h["date"][:7] for h in counted if h["date"].startswith(year))
    assert newest["facets"]["month"] == dict(expected)


# -- categories --------------------------------------------------------------------


def spellings(name: str) -> list[str]:
    bare = unidecode(name)
    return [name, name.lower(), name.upper(), bare, bare.lower().replace(" ", "-"), f"  {bare} "]


def test_a_category_in_any_case_accents_and_punctuation(client: TestClient) -> None:
    facets = search(client, per_page=1)["facets"]["category"]
    assert "Hoạt động công đoàn" in facets
    for name, count in facets.items():
        for spelled in spellings(name):
            body = search(client, category=spelled, per_page=100)
            assert body["total"] == count, spelled
            assert {h["category"] for h in body["hits"]} == {name}
            assert body["applied"]["category"] == [name]
    body = search(client, category="hoat dong cong doan")
    assert body["total"] == facets["Hoạt động công đoàn"] > 0


def test_names_spelled_differently_in_the_index_are_one_category(archive: TestClient) -> None:
    body = search(archive, category="HOAT DONG CONG DOAN")
    assert ids(body) == {"first", "last", "undated"}
    assert body["applied"]["category"] == ["Hoạt động Công Đoàn", UNION]
    assert ids(search(archive, category="TIN")) == {"mid", "after-utc"}


def test_several_categories_at_once(client: TestClient) -> None:
    facets = search(client, per_page=1)["facets"]["category"]
    first, second = list(facets)[:2]
    both = urlencode([("category", first), ("category", unidecode(second).lower())])
    body = search(client, both, per_page=100)
    assert body["total"] == facets[first] + facets[second] == len(body["hits"])
    assert {h["category"] for h in body["hits"]} == {first, second}
    assert body["facets"]["category"] == {first: facets[first], second: facets[second]}
    assert body["applied"]["category"] == [first, second]


def test_a_comma_is_part_of_a_name_not_a_list(archive: TestClient) -> None:
    assert ids(search(archive, category="kinh te, xa hoi")) == {"comma"}
    body = search(archive, category="Tin,Kinh tế")
    assert body["total"] == 0 and body["applied"]["category"] == ["Tin,Kinh tế"]


def test_unknown_and_blank_categories(archive: TestClient) -> None:
    body = search(archive, "category=nothing+like+it&category=")
    assert body["total"] == 0
    assert body["applied"]["category"] == ["nothing like it"]
    everything = search(archive, "category=&category=++")
    assert everything["total"] == len(ARTICLES)
    assert everything["applied"]["category"] == []


def test_too_many_categories(archive: TestClient) -> None:
    many = "&".join(f"category=c{n}" for n in range(MAX_CATEGORIES + 1))
    result = archive.simulate_get("/search", query_string=many)
    assert result.status_code == 400
    assert result.json["error"]["param"] == "category"
    assert f"at most {MAX_CATEGORIES}" in result.json["error"]["message"]
    assert search(archive, many.rsplit("&", 1)[0])["total"] == 0


# -- applied parameters and pages -----------------------------------------------------


@pytest.mark.parametrize(
    ("params", "applied"),
    [
        ({}, {"sort": "newest", "from": None, "to": None}),
        ({"q": "cong doan"}, {"sort": "relevance", "from": None, "to": None}),
        ({"q": "cong doan", "sort": "oldest"}, {"sort": "oldest", "from": None, "to": None}),
        ({"sort": "oldest"}, {"sort": "oldest", "from": None, "to": None}),
        ({"q": "-tin"}, {"sort": "newest", "from": None, "to": None}),
        ({"from": "2020", "to": "2020"}, {"from": "2020-01-01", "to": "2020-12-31"}),
        ({"from": "2020-02", "to": "2020-02"}, {"from": "2020-02-01", "to": "2020-02-29"}),
        ({"from": " 2021-03-02 "}, {"from": "2021-03-02", "to": None}),
    ],
)
def test_the_applied_parameters(
    archive: TestClient, params: dict[str, str], applied: dict[str, Any]
) -> None:
    body = search(archive, **params)
    assert set(body["applied"]) == {"sort", "from", "to", "category", "match", "dropped"}
    assert body["applied"] | applied == body["applied"]


@pytest.mark.parametrize(
    ("per_page", "page", "pages", "more"),
    [(10, 1, 5, True), (10, 4, 5, True), (10, 5, 5, False), (10, 6, 5, False), (47, 1, 1, False)],
)
def test_total_pages_and_has_more(
    client: TestClient, per_page: int, page: int, pages: int, more: bool
) -> None:
    body = search(client, per_page=per_page, page=page)
    assert body["total"] == 47
    assert (body["total_pages"], body["has_more"]) == (pages, more)
    assert bool(search(client, per_page=per_page, page=page + 1)["hits"]) == more


def test_pages_beyond_the_result_window_are_not_counted(
    app_settings: Settings, engines: Engines
) -> None:
    client = engines.client(make_settings(app_settings.index, max_result_window=20))
    body = search(client, per_page=10, page=2)
    assert (body["total"], body["total_pages"], body["has_more"]) == (47, 2, False)
    assert client.simulate_get("/search", params={"page": "3"}).status_code == 400


def test_no_match_has_no_pages(archive: TestClient) -> None:
    body = search(archive, q="zzzyyyxxx")
    assert (body["total_pages"], body["has_more"]) == (0, False)
