"""Safe output: markup in articles and requests never comes back raw; no writes."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator

import numpy as np
import pytest
from falcon.testing import Result, TestClient

from conftest import make_settings, write_jsonl
from timkiem.api import dumps
from timkiem.config import Settings
from timkiem.indexer import Indexer
from timkiem.testing import LOOPBACK, ServerProcess

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
EVIL = {
    "id": "evil-<b>1</b>",
    "title": f"Công đoàn {SCRIPT} lao động",
    "body": f"Người lao động {IMG} và công đoàn & <iframe src=javascript:alert(2)> ' \" hết.",
    "author": f"<svg onload=alert(3)>{IMG}",
    "category": "<i>Tin</i> & sự kiện",
    "url": "javascript:alert(4)//<x>",
    "tags": [SCRIPT, IMG],
    "date": "2024-05-01",
    "<extra>": {"<k>": SCRIPT},
}
MARKUP = ("<script", "<img", "<svg", "<iframe", "<i>", "<b>", "<x>", "<extra>", "<k>")


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The articles ``client`` serves: one full of markup, one calm."""
    tmp = tmp_path_factory.mktemp("evil")
    settings = make_settings(tmp / "index")
    calm = {
        "id": "calm",
        "title": "Hội nghị công đoàn",
        "body": "Bình thường.",
        "date": "2020-01-02",
    }
    Indexer(settings).ingest([str(write_jsonl(tmp / "evil.jsonl", [EVIL, calm]))])
    return settings


def assert_safe(result: Result) -> None:
    assert result.status_code < 500, result.text
    assert result.headers["content-type"] == "application/json"
    assert result.headers["x-content-type-options"] == "nosniff"
    # not one raw angle bracket anywhere: markup cannot appear, whatever the field
    assert "<" not in result.text and ">" not in result.text, result.text
    json.loads(result.text)


REQUESTS = [
    ("/search", {"q": "công đoàn"}),
    ("/search", {"q": "lao dong", "per_page": "100"}),
    ("/search", {"q": "script alert img onerror"}),
    ("/search", {"q": "iframe javascript"}),
    ("/search", {"sort": "newest"}),
    ("/search", {"category": EVIL["category"]}),
    ("/search", {"q": SCRIPT}),  # echoed back as "query"
    ("/search", {"q": "x", "from": SCRIPT}),  # echoed back in the error message
    ("/search", {"sort": IMG}),
    ("/search", {"page": SCRIPT}),
    ("/articles/" + EVIL["id"], {}),
    ("/articles/" + SCRIPT, {}),  # echoed back in the 404 message
    ("/stats", {}),
    ("/health", {}),
    ("/" + SCRIPT, {}),
]


@pytest.mark.parametrize(("path", "params"), REQUESTS)
def test_no_markup_is_ever_emitted_raw(
    client: TestClient, path: str, params: dict[str, str]
) -> None:
    assert_safe(client.simulate_get(path, params=params))


def test_snippet_is_escaped_html_and_fields_are_plain_text(client: TestClient) -> None:
    body = client.simulate_get("/search", params={"q": "onerror lao động"}).json
    hit = next(h for h in body["hits"] if h["id"] == EVIL["id"])
    snippet = hit["snippet"]
    without_marks = snippet.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in without_marks and ">" not in without_marks
    assert "&lt;img src=x" in without_marks and "&quot;&gt;" in without_marks
    assert "<mark>onerror</mark>" in snippet
    # other fields are plain text (escape them when building HTML): the JSON
    # value is the text itself, its markup escaped only in the JSON encoding
    assert hit["title"] == EVIL["title"] and hit["author"] == EVIL["author"]
    article = client.simulate_get("/articles/" + EVIL["id"]).json
    assert article["body"] == EVIL["body"] and article["<extra>"] == EVIL["<extra>"]
    facets = client.simulate_get("/search").json["facets"]
    assert EVIL["category"] in facets["category"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/search", "/articles/calm", "/health", "/stats"])
def test_no_write_operation(client: TestClient, method: str, path: str) -> None:
    result = client.simulate_request(method, path, body='{"id": "calm", "title": "x"}')
    assert result.status_code == 405
    assert_safe(result)
    assert result.json["error"]["code"] == "method_not_allowed"
    assert "GET" in result.headers["allow"]
    assert client.simulate_get("/articles/calm").json["title"] == "Hội nghị công đoàn"
    assert client.simulate_get("/health").json["articles"] == 2


# -- through a real server: what a browser or crawler really sends ---------------


@pytest.fixture(scope="module")
def live(app_settings: Settings) -> Iterator[int]:
    with ServerProcess(app_settings.index, clean=True) as server:
        yield server.port


RAW_PATHS = [
    "/articles/../../etc/passwd",
    "/articles/..%2f..%2fetc%2fpasswd",
    "/articles/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/articles/%252e%252e%252fetc%252fpasswd",
    "/articles/%c0%ae%c0%ae%c0%afetc%c0%afpasswd",
    "/articles/%e0%80%ae%e0%80%ae/",
    "/articles/%00",
    "/articles/%ff%fe",
    "/articles/\uff0e\uff0e\uff0fetc",  # raw UTF-8 bytes in the request line
    "/articles/%ef%bc%8e%ef%bc%8e%ef%bc%8fetc",
    "/articles/" + "%2e" * 2000,
    "/%2e%2e/%2e%2e/etc/passwd",
    "/search?q=%00%01%02%1b%7f",
    "/search?q=" + "%e1%ba%a1" * 600,
    "/search?" + "q=a&" * 500,
    "/health/../stats",
    "//search",
    "/search#fragment",
]


@pytest.mark.parametrize("path", RAW_PATHS)
def test_raw_paths_on_a_real_server(live: int, path: str) -> None:
    """The request line goes out byte for byte, as a crawler might send it."""
    with socket.create_connection((LOOPBACK, live), timeout=30) as sock:
        sock.sendall(
            b"GET " + path.encode("utf-8") + b" HTTP/1.1\r\nHost: localhost\r\n"
            b"Connection: close\r\n\r\n"
        )
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        body = resp.read().decode("utf-8")
    assert resp.status < 500, body
    if not path.isascii():
        # not a URI: waitress refuses it before the app with a fixed plain-text 400
        assert resp.status == 400 and "Bad URI" in body and "etc" not in body
        return
    assert resp.getheader("content-type") == "application/json"
    assert resp.getheader("x-content-type-options") == "nosniff"
    assert "root:" not in body and "<" not in body
    json.loads(body)


def test_json_bodies_escape_markup_and_take_what_the_standard_library_takes() -> None:
    value = {"title": "<b>Công đoàn</b> & lao động", "score": np.float64(1.25), 3: np.int64(2)}
    raw = dumps(value)
    assert b"<" not in raw and b">" not in raw and b"&" not in raw
    assert "Công đoàn".encode() in raw  # UTF-8, not \u escapes
    assert json.loads(raw) == json.loads(json.dumps(value, default=int)) == {
        "title": "<b>Công đoàn</b> & lao động",
        "score": 1.25,
        "3": 2,
    }
