"""HTTP caching: ETags of the index state, Cache-Control, 304, HEAD and CORS preflight."""

from __future__ import annotations

from pathlib import Path

import pytest
from falcon.inspect import inspect_routes
from falcon.testing import Result, TestClient

from conftest import EXAMPLES, Engines, make_settings, write_jsonl
from timkiem.config import Settings
from timkiem.indexer import Indexer

CACHED = ["/search?q=cong+doan", "/search?from=2020&to=2020", "/articles/bk-0001", "/openapi.json"]
UNCACHED = ["/health", "/stats", "/metrics"]


def get(client: TestClient, url: str, method: str = "GET", **headers: str) -> Result:
    path, _, query = url.partition("?")
    return client.simulate_request(method, path, query_string=query, headers=headers)


@pytest.fixture
def index(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path / "index")
    Indexer(settings).ingest([str(EXAMPLES)])
    return settings


@pytest.mark.parametrize("url", CACHED)
def test_answers_carry_a_weak_etag_and_the_cache_control_setting(
    client: TestClient, url: str
) -> None:
    first, again = get(client, url), get(client, url)
    assert first.status_code == 200
    tag = first.headers["etag"]
    assert tag.startswith('W/"gen-') and tag.endswith('"')
    assert again.headers["etag"] == tag  # the same index state, the same tag
    assert first.headers["cache-control"] == "no-cache"  # the default


@pytest.mark.parametrize("url", UNCACHED + ["/search?page=abc", "/articles/nope", "/nope"])
def test_live_figures_and_errors_are_never_stored(client: TestClient, url: str) -> None:
    result = get(client, url)
    assert result.headers["cache-control"] == "no-store"
    assert "etag" not in result.headers


@pytest.mark.parametrize("url", CACHED)
def test_if_none_match_gets_304_without_a_body(client: TestClient, url: str) -> None:
    tag = get(client, url).headers["etag"]
    for sent in (tag, tag.removeprefix("W/"), f'"other", {tag}'):
        result = get(client, url, **{"If-None-Match": sent})
        assert result.status_code == 304, sent
        assert result.content == b""
        assert result.headers["etag"] == tag
        assert result.headers["cache-control"] == "no-cache"
    assert get(client, url, **{"If-None-Match": 'W/"gen-000001.0.x"'}).status_code == 200
    assert get(client, url, **{"If-None-Match": "*"}).status_code == 200


def test_if_none_match_any_never_hides_an_error(client: TestClient) -> None:
    assert get(client, "/search?page=abc", **{"If-None-Match": "*"}).status_code == 400
    assert get(client, "/articles/nope", **{"If-None-Match": "*"}).status_code == 404


def test_any_commit_changes_the_etag(index: Settings, engines: Engines, tmp_path: Path) -> None:
    client = engines.client(index)
    url = "/search?q=cong+doan"
    tags = [get(client, url).headers["etag"]]
    extra = write_jsonl(tmp_path / "more.jsonl", [{"id": "new-1", "title": "Công đoàn mới"}])
    Indexer(index).ingest([str(extra)])
    tags.append(get(client, url).headers["etag"])
    Indexer(index).delete(["new-1"])
    tags.append(get(client, url).headers["etag"])
    Indexer(index).reindex([str(EXAMPLES)])
    tags.append(get(client, url).headers["etag"])
    assert len(set(tags)) == 4, tags
    # an old tag is answered with the new body, a current one with 304
    assert get(client, url, **{"If-None-Match": tags[0]}).status_code == 200
    assert get(client, url, **{"If-None-Match": tags[-1]}).status_code == 304


def test_settings_that_change_answers_change_the_etag(index: Settings, engines: Engines) -> None:
    url = "/search?q=cong+doan"
    plain = get(engines.client(index), url).headers["etag"]
    other_port = make_settings(index.index, port=8123, threads=4)
    assert get(engines.client(other_port), url).headers["etag"] == plain
    window = make_settings(index.index, max_result_window=20)
    assert get(engines.client(window), url).headers["etag"] != plain


def test_cache_control_is_a_setting(index: Settings, engines: Engines) -> None:
    client = engines.client(make_settings(index.index, cache_control="public, max-age=60"))
    assert get(client, "/search?q=lao+dong").headers["cache-control"] == "public, max-age=60"
    assert get(client, "/health").headers["cache-control"] == "no-store"


@pytest.mark.usefixtures("clock_after_each_term")
def test_partial_results_are_not_stored(index: Settings, engines: Engines) -> None:
    client = engines.client(make_settings(index.index, query_time_limit=1e-9))
    result = client.simulate_get("/search", params={"q": "công đoàn Bắc Kạn lao động"})
    assert result.json.get("partial") is True
    assert result.headers["cache-control"] == "no-store"
    assert "etag" not in result.headers


def test_without_an_index_nothing_is_tagged(tmp_path: Path, engines: Engines) -> None:
    client = engines.client(make_settings(tmp_path / "none"))
    assert get(client, "/search?q=x").status_code == 503
    document = get(client, "/openapi.json")
    assert document.status_code == 200
    assert "etag" not in document.headers and document.headers["cache-control"] == "no-store"


def test_every_route_answers_head(client: TestClient) -> None:
    """A resource answers HEAD by deriving from ``timkiem.api.Readable``."""
    for route in inspect_routes(client.app):
        answered = {m.method for m in route.methods if not m.internal}
        assert {"GET", "HEAD"} <= answered, route.path


@pytest.mark.parametrize("url", CACHED + UNCACHED + ["/articles/nope", "/search?page=0"])
def test_head_answers_like_get_without_a_body(client: TestClient, url: str) -> None:
    full, head = get(client, url), get(client, url, "HEAD")
    assert head.status_code == full.status_code
    assert head.content == b""
    assert head.headers["content-type"] == full.headers["content-type"]
    for name in ("etag", "cache-control"):
        assert head.headers.get(name) == full.headers.get(name)
    if "took_ms" not in full.text and url != "/metrics":  # these change between requests
        assert head.headers["content-length"] == str(len(full.content))


def test_cors_preflight_and_vary(index: Settings, engines: Engines) -> None:
    origin = "https://congdoan.example"
    client = engines.client(make_settings(index.index, cors_origins=origin))
    for url in ("/search", "/articles/bk-0001", "/openapi.json"):
        preflight = client.simulate_options(
            url,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "if-none-match",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin
        assert {"GET", "HEAD"} <= set(preflight.headers["access-control-allow-methods"].split(", "))
        assert preflight.headers["access-control-allow-headers"] == "if-none-match"
    # the CORS headers depend on Origin: a shared cache must keep one answer per origin
    result = get(client, "/search?q=cong+doan", Origin=origin)
    assert result.headers["access-control-allow-origin"] == origin
    assert "Origin" in result.headers["vary"]
    assert "vary" not in get(engines.client(index), "/search?q=cong+doan").headers
