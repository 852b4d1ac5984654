"""The search box page (``examples/search-box/``), driven in headless Chromium.

A real ``timkiem serve --demo`` answers over the sample articles and a few
written here; Selenium drives Debian's ``chromium`` through ``chromedriver``
(``.ci/run`` installs both when it runs as root). Without them the browser
tests are skipped, saying what to install; the tests of the ``/demo/`` route
itself need no browser.
"""

from __future__ import annotations

import http.server
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
from falcon.testing import TestClient
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

from conftest import EXAMPLES, Engines, make_settings, write_jsonl
from timkiem import api
from timkiem.api import DEMO_FOLDER, create_app
from timkiem.config import Settings
from timkiem.errors import ConfigError
from timkiem.indexer import Indexer
from timkiem.testing import LOOPBACK, ServerProcess, free_port

T = TypeVar("T")

BROWSERS = ("/usr/bin/chromium", "chromium", "chromium-browser")
DRIVERS = ("/usr/bin/chromedriver", "chromedriver")
# Without the background-networking flags Chromium tries to reach Google's
# services, which a machine without internet access refuses noisily.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,1000",
)
NO_BROWSER = (
    "no headless Chromium to drive: install Debian's chromium and chromium-driver "
    "(apt-get install -y chromium chromium-driver; .ci/run does so when run as root)"
)
NO_SUGGEST = (
    "the server answers GET /suggest with 404: this build has no suggestions endpoint "
    "(it comes with the suggest branch), so the page has none to show"
)

# Articles whose fields carry markup: the page must show them as text.
HOSTILE = [
    {
        "id": "markup-1",
        "title": 'Đại hội <b>công nhân</b> & <img src=x onerror="document.title=\'pwned\'">',
        "body": "Tin về đại hội công nhân mỏ <script>document.title='pwned'</script> năm nay.",
        "date": "2017-06-02",
        "category": "<i>Tin vắn</i>",
        "author": "<u>Ban biên tập</u>",
        "url": "javascript:document.title='pwned'",
    }
]


def first_found(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    binary, driver = first_found(BROWSERS), first_found(DRIVERS)
    if binary is None or driver is None:
        pytest.skip(NO_BROWSER)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="timkiem-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    # Both paths given: Selenium never looks for (or downloads) a browser or driver.
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    yield chrome
    chrome.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("search-box")
    hostile = write_jsonl(folder / "hostile.jsonl", HOSTILE)
    Indexer(make_settings(folder / "index")).ingest([str(EXAMPLES), str(hostile)])
    return folder / "index"


@pytest.fixture(scope="module")
def demo(index: Path) -> Iterator[ServerProcess]:
    """``timkiem serve --demo``: the page at /demo/, calling the API beside it."""
    with ServerProcess(index, args=["--demo", "--no-access-log"], clean=True) as server:
        yield server


@pytest.fixture(scope="module")
def suggestions(demo: ServerProcess) -> None:
    """Skip unless the server has ``/suggest``."""
    status, _ = demo.get("/suggest", q="cong")
    if status == 404:
        pytest.skip(NO_SUGGEST)


# -- driving the page ----------------------------------------------------------------


def wait_for(
    browser: WebDriver, check: Callable[[], T | None], what: str, timeout: float = 10
) -> T:
    """Poll ``check`` until it gives something true (stale elements count as not yet)."""

    def attempt(_: WebDriver) -> T | None:
        try:
            return check()
        except StaleElementReferenceException:
            return None

    result: T = WebDriverWait(browser, timeout, poll_frequency=0.05).until(
        attempt, f"the page never showed {what}"
    )
    return result


def open_page(browser: WebDriver, url: str) -> WebElement:
    """Load the page and wait for its first answer (the newest articles); the search input."""
    browser.get(url)
    wait_for(browser, lambda: "Tìm thấy" in status(browser), "its first results")
    return browser.find_element(By.ID, "tk-q")


def status(browser: WebDriver) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, '[data-tk="status"]').text)


def hits(browser: WebDriver) -> list[WebElement]:
    return browser.find_elements(By.CSS_SELECTOR, ".tk-hit")


def options(browser: WebDriver) -> list[WebElement]:
    return browser.find_elements(By.CSS_SELECTOR, '#tk-suggestions [role="option"]')


def shown_for(browser: WebDriver, query: str) -> Callable[[], bool]:
    """Whether the results of ``query`` are shown."""
    return lambda: f"cho “{query}”" in status(browser) and browser.execute_script(
        "return !document.getElementById('timkiem').hasAttribute('aria-busy')"
    )


def type_query(browser: WebDriver, box: WebElement, query: str) -> None:
    box.send_keys(query)
    wait_for(browser, shown_for(browser, query), f"the results of {query!r}")


def facet_buttons(browser: WebDriver, facet: str) -> list[WebElement]:
    return browser.find_elements(By.CSS_SELECTOR, f'[data-facet="{facet}"] button')


def facet_button(browser: WebDriver, facet: str, label: str) -> WebElement:
    """The button of ``facet`` whose label (without its count) is ``label``."""
    for button in facet_buttons(browser, facet):
        if button.find_element(By.CSS_SELECTOR, "span").text == label:
            return button
    raise AssertionError(f"no {label!r} in the {facet} filter")


def category_item(browser: WebDriver, name: str) -> WebElement:
    """The item of the category filter for ``name``: its checkbox, label and count."""
    for item in browser.find_elements(By.CSS_SELECTOR, '[data-facet="category"] li'):
        if item.find_element(By.CSS_SELECTOR, "label span").text == name:
            return item
    raise AssertionError(f"no {name!r} in the category filter")


def suggestions_for(browser: WebDriver, box: WebElement, typed: str) -> list[WebElement]:
    """The suggestions shown, once they are those for ``typed`` (not for a part of it)."""
    listbox = browser.find_element(By.ID, "tk-suggestions")
    if listbox.get_attribute("data-for") != typed or not list_open(box):
        return []
    return options(browser)


def list_open(box: WebElement) -> bool:
    return box.get_attribute("aria-expanded") == "true"


# -- the page ------------------------------------------------------------------------


def test_unaccented_query_shows_highlighted_accented_results(
    browser: WebDriver, demo: ServerProcess
) -> None:
    box = open_page(browser, demo.base + "/demo/")
    assert box.get_attribute("role") == "combobox"
    assert box.get_attribute("aria-autocomplete") == "list"
    assert box.get_attribute("aria-expanded") == "false"
    listbox = browser.find_element(By.ID, box.get_attribute("aria-controls") or "-")
    assert listbox.get_attribute("role") == "listbox"
    live = browser.find_element(By.CSS_SELECTOR, '[data-tk="status"]')
    assert live.get_attribute("role") == "status"
    assert live.get_attribute("aria-live") == "polite"
    label = browser.find_element(By.CSS_SELECTOR, 'label[for="tk-q"]')
    assert label.text

    type_query(browser, box, "cong doan bac kan")
    _, expected = demo.get("/search", q="cong doan bac kan", per_page=10)
    assert f"Tìm thấy {expected['total']} bài viết" in status(browser)
    shown = hits(browser)
    assert [h.find_element(By.CSS_SELECTOR, ".tk-hit-title").text for h in shown] == [
        h["title"] for h in expected["hits"]
    ]
    marked = {m.text.lower() for m in browser.find_elements(By.CSS_SELECTOR, ".tk-hit mark")}
    assert {"công", "đoàn", "bắc", "kạn"} <= marked, marked
    link = shown[0].find_element(By.CSS_SELECTOR, ".tk-hit-title a")
    assert link.get_attribute("href") == expected["hits"][0]["url"]
    assert "q=cong+doan+bac+kan" in browser.current_url


def test_fields_with_markup_are_shown_as_text(browser: WebDriver, demo: ServerProcess) -> None:
    box = open_page(browser, demo.base + "/demo/")
    type_query(browser, box, "dai hoi cong nhan mo")
    hit = next(h for h in hits(browser) if "pwned" in h.text)
    assert hit.find_element(By.CSS_SELECTOR, ".tk-hit-title").text == HOSTILE[0]["title"]
    meta = hit.find_element(By.CSS_SELECTOR, ".tk-hit-meta").text
    assert "<i>Tin vắn</i>" in meta and "<u>Ban biên tập</u>" in meta
    assert "<script>" in hit.find_element(By.CSS_SELECTOR, ".tk-hit-snippet").text
    # Only the snippet's <mark> elements became markup; a javascript: URL is no link.
    tags = browser.execute_script(
        "return [...document.querySelectorAll('.tk-hits *')].map(e => e.localName)"
    )
    allowed = {"li", "h3", "a", "span", "p", "time", "mark", "div", "button", "ul"}
    assert set(tags) <= allowed, tags
    assert hit.find_elements(By.CSS_SELECTOR, ".tk-hit-title a") == []
    assert browser.title != "pwned"


def test_pick_a_suggestion_with_the_keyboard(
    browser: WebDriver, demo: ServerProcess, suggestions: None
) -> None:
    box = open_page(browser, demo.base + "/demo/")
    box.send_keys("cong do")
    wait_for(browser, lambda: suggestions_for(browser, box, "cong do"), "suggestions")
    offered = options(browser)
    texts = [o.find_element(By.CSS_SELECTOR, ".tk-option-text").text for o in offered]
    assert "công đoàn" in [t.lower() for t in texts], texts
    assert box.get_attribute("aria-activedescendant") is None

    box.send_keys(Keys.ARROW_DOWN)
    assert box.get_attribute("aria-activedescendant") == offered[0].get_attribute("id")
    assert offered[0].get_attribute("aria-selected") == "true"
    if len(offered) > 1:
        box.send_keys(Keys.ARROW_DOWN)
        assert box.get_attribute("aria-activedescendant") == offered[1].get_attribute("id")
        assert offered[0].get_attribute("aria-selected") == "false"
        box.send_keys(Keys.ARROW_UP)
    assert box.get_attribute("aria-activedescendant") == offered[0].get_attribute("id")

    box.send_keys(Keys.ENTER)
    assert box.get_property("value") == texts[0]
    assert not list_open(box)
    assert not browser.find_element(By.ID, "tk-suggestions").is_displayed()
    assert box.get_attribute("aria-activedescendant") is None
    wait_for(browser, shown_for(browser, texts[0]), f"the results of {texts[0]!r}")


def test_escape_closes_the_list_then_clears_the_box(
    browser: WebDriver, demo: ServerProcess, suggestions: None
) -> None:
    box = open_page(browser, demo.base + "/demo/")
    box.send_keys("cong do")
    wait_for(browser, lambda: suggestions_for(browser, box, "cong do"), "suggestions")
    box.send_keys(Keys.ARROW_DOWN)
    assert box.get_attribute("aria-activedescendant")
    box.send_keys(Keys.ESCAPE)
    assert not list_open(box)
    assert not browser.find_element(By.ID, "tk-suggestions").is_displayed()
    assert box.get_attribute("aria-activedescendant") is None
    assert box.get_property("value") == "cong do"
    box.send_keys(Keys.ESCAPE)
    assert box.get_property("value") == ""


def test_filter_by_year_then_month(browser: WebDriver, demo: ServerProcess) -> None:
    _, body = demo.get("/search", **{"from": "2020", "to": "2020"})
    if "month" not in body["facets"]:
        pytest.skip("the server's /search has no month facet (it comes with the webapi branch)")
    months = body["facets"]["month"]
    open_page(browser, demo.base + "/demo/")
    facet_button(browser, "year", "2020").click()
    wait_for(browser, lambda: facet_buttons(browser, "month"), "the month filter")
    month = min(months)
    label = f"Tháng {int(month[5:])}/2020"
    button = facet_button(browser, "month", label)
    assert button.find_element(By.CSS_SELECTOR, ".tk-count").text == str(months[month])
    button.click()
    wait_for(
        browser,
        lambda: facet_button(browser, "month", label).get_attribute("aria-pressed") == "true",
        f"{label} chosen",
    )
    wait_for(browser, lambda: f"Tìm thấy {months[month]} bài viết" in status(browser), "the count")
    times = browser.find_elements(By.CSS_SELECTOR, ".tk-hit time")
    dates = [t.get_attribute("datetime") or "" for t in times]
    assert len(dates) == min(months[month], 10)
    assert all(d.startswith(month) for d in dates), dates
    assert f"month={month}" in browser.current_url


def test_filter_by_category(browser: WebDriver, demo: ServerProcess) -> None:
    _, body = demo.get("/search")
    name, count = next(iter(body["facets"]["category"].items()))
    open_page(browser, demo.base + "/demo/")
    chosen = category_item(browser, name)
    assert chosen.find_element(By.CSS_SELECTOR, ".tk-count").text == str(count)
    chosen.find_element(By.CSS_SELECTOR, "input").click()
    wait_for(browser, lambda: f"Tìm thấy {count} bài viết" in status(browser), "its count")
    categories = {
        h.find_element(By.CSS_SELECTOR, ".tk-hit-meta span").text for h in hits(browser)
    }
    assert categories == {name}
    if "applied" not in body:
        return  # an API that takes one category: ticking another replaces it
    # Several at once: every category is still offered with its own count.
    other, more = list(body["facets"]["category"].items())[1]
    second = category_item(browser, other)
    assert second.find_element(By.CSS_SELECTOR, ".tk-count").text == str(more)
    second.find_element(By.CSS_SELECTOR, "input").click()
    wait_for(browser, lambda: f"Tìm thấy {count + more} bài viết" in status(browser), "the sum")
    checked = browser.find_elements(By.CSS_SELECTOR, '[data-facet="category"] input:checked')
    assert len(checked) == 2


def test_follow_the_did_you_mean_link(
    browser: WebDriver, demo: ServerProcess, suggestions: None
) -> None:
    typo, offered = "", None
    for typo in ("cong doan bac kna", "coong ddoanf", "bac kna"):
        offered = demo.get("/search", q=typo)[1].get("suggestion")
        if offered:
            break
    assert offered, "the server offers no did-you-mean for any of the misspelled queries"
    box = open_page(browser, demo.base + "/demo/")
    type_query(browser, box, typo)
    link = wait_for(
        browser,
        lambda: [
            e
            for e in browser.find_elements(By.CSS_SELECTOR, ".tk-didyoumean-link")
            if e.is_displayed()
        ],
        "the did-you-mean link",
    )[0]
    assert link.text == offered["q"]
    link.click()
    wait_for(browser, shown_for(browser, offered["q"]), "the suggested query's results")
    assert box.get_property("value") == offered["q"]
    assert f"Tìm thấy {offered['total']} bài viết" in status(browser)
    # The box has the focus again, without the suggestions of the misspelled text.
    assert browser.switch_to.active_element == box
    assert not list_open(box)


def test_page_forward(browser: WebDriver, demo: ServerProcess) -> None:
    _, first = demo.get("/search", per_page=10)
    _, second = demo.get("/search", per_page=10, page=2)
    pages = -(-first["total"] // 10)
    open_page(browser, demo.base + "/demo/")
    assert f"trang 1/{pages}" in status(browser)
    browser.find_element(By.CSS_SELECTOR, ".tk-page-next").click()
    wait_for(browser, lambda: f"trang 2/{pages}" in status(browser), "page 2")
    titles = [h.find_element(By.CSS_SELECTOR, ".tk-hit-title").text for h in hits(browser)]
    assert titles == [h["title"] for h in second["hits"]]
    assert browser.find_element(By.CSS_SELECTOR, ".tk-hits").get_attribute("start") == "11"
    current = browser.find_element(By.CSS_SELECTOR, '.tk-page[aria-current="page"]')
    assert current.text == "2"
    assert "page=2" in browser.current_url
    focused = browser.switch_to.active_element
    assert focused.get_attribute("data-tk") == "hits", "keyboard focus should move to the results"


def test_related_articles_under_a_result(browser: WebDriver, demo: ServerProcess) -> None:
    status_code, related = demo.get("/articles/bk-0001/related", limit=5)
    if status_code == 404:
        pytest.skip(
            "the server answers GET /articles/bk-0001/related with 404 for an article it has: "
            "this build has no related-articles endpoint (it comes with the related branch)"
        )
    box = open_page(browser, demo.base + "/demo/")
    type_query(browser, box, "05-CT/TW")
    first = hits(browser)[0]
    assert "05-CT/TW" in first.find_element(By.CSS_SELECTOR, ".tk-hit-title").text
    toggle = wait_for(
        browser, lambda: first.find_elements(By.CSS_SELECTOR, ".tk-related-toggle"), "the toggle"
    )[0]
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    listed = browser.find_element(By.ID, toggle.get_attribute("aria-controls") or "-")
    wait_for(browser, lambda: listed.get_attribute("aria-busy") is None, "the related articles")
    titles = [a.text for a in listed.find_elements(By.CSS_SELECTOR, "li > a, li > span")]
    assert titles == [h["title"] for h in related["hits"]] or (
        not related["hits"] and "Không có tin liên quan" in listed.text
    )


# -- served from elsewhere: the site's own server, the API on another origin ----------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A plain static web server on a loopback port: its base URL and its folder."""
    folder = tmp_path_factory.mktemp("site")
    handler = partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer((LOOPBACK, free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOOPBACK}:{server.server_address[1]}", folder
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def copy_page(folder: Path, api: str) -> None:
    """Copy the search box into ``folder`` as a site would, pointed at ``api``."""
    shutil.copytree(DEMO_FOLDER, folder)
    page = folder / "index.html"
    text, count = re.subn(r'data-api="[^"]*"', f'data-api="{api}"', page.read_text("utf-8"))
    assert count == 1, "index.html should have one data-api attribute"
    page.write_text(text, "utf-8")


def test_works_cross_origin_when_the_api_allows_the_site(
    browser: WebDriver, demo: ServerProcess, index: Path, site: tuple[str, Path]
) -> None:
    origin, folder = site
    args = ["--cors-origins", origin, "--no-access-log"]
    with ServerProcess(index, args=args, clean=True) as api:
        copy_page(folder / "allowed", api.base)
        box = open_page(browser, f"{origin}/allowed/")
        type_query(browser, box, "cong doan bac kan")
        assert browser.find_elements(By.CSS_SELECTOR, ".tk-hit mark")
    # The demo server allows no other origin: the browser refuses its answers.
    copy_page(folder / "refused", demo.base)
    browser.get(f"{origin}/refused/")
    wait_for(browser, lambda: "Không tìm được" in status(browser), "the failure")
    assert "không kết nối được" in status(browser)
    assert hits(browser) == []


# -- the /demo/ route, without a browser ---------------------------------------------


@pytest.fixture
def demo_client(app_settings: Settings, engines: Engines) -> TestClient:
    return TestClient(create_app(engines.open(app_settings), app_settings, demo=True))


def test_demo_route_serves_the_page_and_its_files(demo_client: TestClient) -> None:
    moved = demo_client.simulate_get("/demo")
    assert moved.status_code == 301 and moved.headers["location"] == "demo/"
    page = demo_client.simulate_get("/demo/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text == (DEMO_FOLDER / "index.html").read_text("utf-8")
    head = demo_client.simulate_head("/demo/")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(page.content))
    for name, kind in (("search-box.js", "javascript"), ("search-box.css", "text/css")):
        served = demo_client.simulate_get(f"/demo/{name}")
        assert served.status_code == 200 and kind in served.headers["content-type"]
        assert served.content == (DEMO_FOLDER / name).read_bytes()
    assert demo_client.simulate_get("/demo/../pyproject.toml").status_code == 404
    assert demo_client.simulate_get("/demo/missing.js").status_code == 404
    assert demo_client.simulate_get("/search", params={"q": "cong doan"}).status_code == 200


def test_no_demo_route_unless_asked(client: TestClient) -> None:
    assert client.simulate_get("/demo/").status_code == 404
    assert client.simulate_get("/demo/search-box.js").status_code == 404


def test_every_file_the_page_loads_is_in_the_folder() -> None:
    page = (DEMO_FOLDER / "index.html").read_text("utf-8")
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page)
    local = [name for name in loaded if not name.startswith("data:")]
    assert sorted(local) == ["search-box.css", "search-box.js"]
    assert all((DEMO_FOLDER / name).is_file() for name in local)
    assert page.count('data-api=""') == 1


def test_demo_without_its_page_is_a_clear_error(
    app_settings: Settings, engines: Engines, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "DEMO_FOLDER", tmp_path / "search-box")
    with pytest.raises(ConfigError, match=r"search-box; it comes with timkiem's source tree"):
        create_app(engines.open(app_settings), app_settings, demo=True)
