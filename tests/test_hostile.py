"""Hostile queries: property tests over every parameter, bounds, the time limit."""

from __future__ import annotations

import json
import random
import string
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from falcon.testing import Result, TestClient
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conftest import Engines, make_settings, write_jsonl
from timkiem.config import Settings
from timkiem.engine import segdata
from timkiem.indexer import Indexer
from timkiem.search import SearchEngine, SearchRequest

PARAMS = ("q", "from", "to", "category", "sort", "page", "per_page")
SYNTAX = [
    "*", "?", "~", "~2", "^", "^3", '"', '""', "(", ")", "((", ")(", "[", "]", "{", "}",
    "AND", "OR", "NOT", "and", "or", "not", "&&", "||", "!", "-", "+", "--", "+-",
    "title:", "body:", "id:", "category:", "title:*", "*:*", ":", "\\", "/", "'",
    "[a TO z]", "{* TO *}", "cong*", "c?ng", "đoàn~", "lao^2", '"công đoàn', 'đoàn"',
    "-\"", "\x00", "\t", "\n", "\r\n", "\u200b", "\u0301", "\ufeff", "\U0001f4a9",
]  # fmt: skip
HOSTILE_SETTINGS = hypothesis_settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def check(result: Result, sent: set[str]) -> None:
    """No 5xx; JSON with no raw markup; a 400 names a parameter that was sent."""
    assert result.status_code < 500, result.text
    assert result.headers["content-type"].startswith("application/json")
    assert result.headers["x-content-type-options"] == "nosniff"
    assert "<" not in result.text and ">" not in result.text
    body = json.loads(result.text)
    if result.status_code == 200:
        # with match=all the hits past ``total`` hold only some of the words
        assert body["total"] >= 0 and len(body["hits"]) <= body["per_page"]
        assert body["has_more"] == (body["page"] < body["total_pages"])
    else:
        assert result.status_code in (400, 404), result.text
        error = body["error"]
        assert error["status"] == result.status_code and error["message"]
        if result.status_code == 400:
            assert error.get("param") in sent, (error, sent)


syntax_soup = st.lists(
    st.one_of(st.sampled_from(SYNTAX), st.text(min_size=1, max_size=6)), max_size=40
).map(" ".join)
any_text = st.one_of(
    syntax_soup,
    st.text(max_size=80),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=30),  # control characters
    st.text(min_size=450, max_size=1200),  # around and past the length limit
    st.integers().map(str),
    st.floats().map(str),
    st.sampled_from(["", " ", "0", "-1", "1e3", "１２", "2020-02-30", "9999", "0000-00", "2020"]),
)


@HOSTILE_SETTINGS
@given(params=st.dictionaries(st.sampled_from(PARAMS), any_text, max_size=7))
@example(params={"q": "a" * 5000})
@example(params={"q": " ".join(["công"] * 400)})
@example(params={"page": "10" * 40, "per_page": "100"})
@example(params={"from": "2030", "to": "1999"})
def test_no_parameter_value_gets_a_server_error(client: TestClient, params: dict[str, str]) -> None:
    check(client.simulate_get("/search", params=params), set(params))


@HOSTILE_SETTINGS
@given(
    raw=st.lists(
        st.tuples(
            st.one_of(st.sampled_from(PARAMS), st.text(max_size=5)),
            st.binary(max_size=40),
        ),
        max_size=8,
    )
)
def test_raw_bytes_in_the_query_string(client: TestClient, raw: list[tuple[str, bytes]]) -> None:
    """Percent-encoded bytes that are not UTF-8, repeated and unknown parameters."""
    query = "&".join(
        f"{urllib.parse.quote(k, safe='')}={urllib.parse.quote_from_bytes(v, safe='')}"
        for k, v in raw
    )
    check(client.simulate_get("/search", query_string=query), {k for k, _ in raw})


@HOSTILE_SETTINGS
@given(segment=st.one_of(st.text(min_size=1, max_size=60), st.binary(min_size=1, max_size=60)))
@example(segment=b"..%2f..%2fetc%2fpasswd")
@example(segment=b"%2e%2e/%2e%2e/pyproject.toml")
@example(segment=b"\xc0\xae\xc0\xae\xc0\xaf")  # overlong "../"
@example(segment=b"\xed\xa0\x80")  # a UTF-16 surrogate in UTF-8
@example(segment="\uff0e\uff0e\uff0f")  # full-width "../"
@example(segment=b"\x00")
def test_article_paths_never_fail(client: TestClient, segment: str | bytes) -> None:
    raw = segment if isinstance(segment, bytes) else segment.encode("utf-8", "surrogatepass")
    result = client.simulate_get("/articles/" + urllib.parse.quote_from_bytes(raw, safe="/%"))
    assert result.status_code in (200, 404), result.text
    check(result, set())
    assert "root:" not in result.text and "[project]" not in result.text


# -- bounds -----------------------------------------------------------------


def test_query_length_bound(client: TestClient) -> None:
    limit = Settings().max_query_length
    assert client.simulate_get("/search", params={"q": "đ" * limit}).status_code == 200
    result = client.simulate_get("/search", params={"q": "đ" * (limit + 1)})
    assert result.status_code == 400
    assert result.json["error"]["param"] == "q"
    assert str(limit) in result.json["error"]["message"]


def test_term_bound_ignores_the_rest_and_says_so(client: TestClient) -> None:
    terms = Settings().max_query_terms
    words = [f"từ{i}" for i in range(terms + 8)]
    body = client.simulate_get("/search", params={"q": " ".join(words)}).json
    assert body["ignored_terms"] == 8


def test_result_window_bound(client: TestClient) -> None:
    window = Settings().max_result_window
    ok = client.simulate_get("/search", params={"page": window // 100, "per_page": 100})
    assert ok.status_code == 200
    deep = client.simulate_get("/search", params={"page": window // 100 + 1, "per_page": 100})
    assert deep.status_code == 400 and deep.json["error"]["param"] == "page"
    wide = client.simulate_get("/search", params={"per_page": 101})
    assert wide.status_code == 400 and wide.json["error"]["param"] == "per_page"


@pytest.mark.parametrize(
    ("syntax", "plain"),
    [
        ("cong*", "cong"),
        ("c?ng", "c ng"),
        ("đoàn~", "đoàn"),
        ("đoàn~2", "đoàn 2"),
        ("lao^2", "lao 2"),
        ("title:kạn", "title kạn"),
        ("bắc AND kạn", "bắc and kạn"),
        ("(công OR đoàn)", "công or đoàn"),
    ],
)
def test_wildcard_fuzzy_and_operators_are_plain_text(
    client: TestClient, syntax: str, plain: str
) -> None:
    """No wildcard, fuzzy or boolean expansion: the same results as the plain words."""
    a = client.simulate_get("/search", params={"q": syntax, "per_page": 100}).json
    b = client.simulate_get("/search", params={"q": plain, "per_page": 100}).json
    assert a["total"] == b["total"]
    assert [h["id"] for h in a["hits"]] == [h["id"] for h in b["hits"]]


# -- the per-query time limit -----------------------------------------------------

WORDS = "công đoàn lao động việc làm tiền lương bảo hiểm xã hội hội nghị tỉnh".split()


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 articles that all match the query below."""
    tmp = tmp_path_factory.mktemp("many")
    records: list[dict[str, Any]] = [
        {
            "id": f"m{i}",
            "title": " ".join(WORDS[(i + k) % len(WORDS)] for k in range(6)),
            "body": "công đoàn " + " ".join(WORDS[(i * k) % len(WORDS)] for k in range(25)),
            "date": f"{1 + i % 28:02d}/{1 + i % 12:02d}/{2010 + i % 15}",
        }
        for i in range(1500)
    ]
    index = tmp / "index"
    Indexer(make_settings(index)).ingest([str(write_jsonl(tmp / "many.jsonl", records))])
    return index


@pytest.fixture
def prompt_timer() -> Iterator[None]:
    """Let Whoosh's timer thread take the GIL within microseconds, not 5 ms."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)


def engine_with_limit(engines: Engines, index: Path, seconds: float) -> SearchEngine:
    return engines.open(make_settings(index, query_time_limit=seconds, cache_size=0))


@pytest.mark.usefixtures("prompt_timer", "clock_after_each_term")
def test_time_limit_returns_partial_results_flagged(many: Path, engines: Engines) -> None:
    request = SearchRequest(
        q="công đoàn lao động việc làm bảo hiểm", page=2, per_page=10, match="any"
    )
    engine = engine_with_limit(engines, many, 1e-6)
    cut = engine.search(request)
    assert cut["partial"] is True
    assert cut["total"] == 1500  # the total stays exact
    ids = [h["id"] for h in cut["hits"]]
    assert len(ids) == 10 == len(set(ids))  # a full page, never a blank one

    engine = engine_with_limit(engines, many, 0)  # 0 = no limit
    whole = engine.search(request)
    assert "partial" not in whole
    assert whole["total"] == 1500 and len(whole["hits"]) == 10
    scores = [h["score"] for h in whole["hits"]]
    assert scores == sorted(scores, reverse=True) and None not in scores


@pytest.mark.usefixtures("prompt_timer", "clock_after_each_term")
def test_partial_results_are_not_cached(many: Path, engines: Engines) -> None:
    engine = engine_with_limit(engines, many, 1e-6)
    engine.settings = make_settings(many, query_time_limit=1e-6, cache_size=100)
    request = SearchRequest(q="công đoàn lao động việc làm bảo hiểm")
    assert engine.search(request)["partial"] is True
    engine.settings = make_settings(many, cache_size=100)
    assert "partial" not in engine.search(request)  # ranked in full the second time


@pytest.mark.usefixtures("prompt_timer", "clock_after_each_term")
def test_time_limit_through_the_api(many: Path, engines: Engines) -> None:
    client = engines.client(make_settings(many, query_time_limit=1e-6))
    result = client.simulate_get("/search", params={"q": "công đoàn lao động việc làm"})
    assert result.status_code == 200
    assert result.json["partial"] is True and len(result.json["hits"]) == 10


def test_made_up_words_do_not_grow_the_caches(many: Path, engines: Engines) -> None:
    """A stream of new words (a crawler, an attacker) must not grow memory."""
    engine = engine_with_limit(engines, many, 0)
    engine.settings = make_settings(many, cache_size=50)
    engine.search(SearchRequest(q="công đoàn bảo hiểm"))
    snap = engine.snapshot()
    segments = [id(s.data) for s in snap.segments]
    rng = random.Random(4)
    for _ in range(2000):
        made_up = " ".join(
            "".join(rng.choices(string.ascii_lowercase, k=9)) for _ in range(rng.randint(1, 4))
        )
        engine.search(SearchRequest(q=made_up))
    assert engine.snapshot() is snap
    assert [id(s.data) for s in snap.segments] == segments  # nothing is read or kept per term
    # the term numbers a segment remembers are forgotten past a bound
    assert all(len(s.data._terms) <= segdata._TERMS_KEPT + 64 for s in snap.segments)
    assert len(segdata._HASHES) <= segdata._HASHES_KEPT + 64  # and the keys' hashes
    assert len(engine._results) <= 50  # the result cache keeps its size
