"""timkiem crawl: a generated site served on 127.0.0.1, crawled by its sitemap or
its links, politely, once per URL, and again fetching only what changed."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import make_settings
from sitegen import CrawlSite
from timkiem.cli import cli
from timkiem.config import Settings
from timkiem.crawl import Crawler
from timkiem.crawlstate import CrawlState
from timkiem.errors import CrawlError, NotASitemap
from timkiem.export import stored_records
from timkiem.sitemaps import parse_site_list
from timkiem.storage import IndexDirectory
from timkiem.testing import SitePage, SiteServer

ARTICLES = 24
SITEMAPS = {"/robots.txt", "/sitemap.xml", "/sitemap-bai-viet.xml", "/sitemap-trang.xml"}
FAST = {
    "crawl_delay": 0.0,
    "crawl_timeout": 0.5,
    "crawl_retries": 1,
    "crawl_batch_size": 5,
}


@pytest.fixture
def site() -> CrawlSite:
    return CrawlSite(ARTICLES, slow_first=1.5)


@pytest.fixture
def server(site: CrawlSite) -> Iterator[SiteServer]:
    with SiteServer() as running:
        running.pages = site.render(running.base)
        yield running


@pytest.fixture
def crawl_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "index", **FAST)


def _ids(settings: Settings) -> set[str]:
    return {r["id"] for r in stored_records(settings)}


def _article_urls(site: CrawlSite, server: SiteServer) -> set[str]:
    return {server.base + path for path in site.articles}


def test_sitemap_crawl_indexes_articles_once_each_and_obeys_robots(
    site: CrawlSite, server: SiteServer, crawl_settings: Settings
) -> None:
    report = Crawler(crawl_settings).crawl(server.base + "/")
    assert report.mode == "sitemap"
    assert _ids(crawl_settings) == _article_urls(site, server)
    assert (report.added, report.replaced) == (ARTICLES, 0)
    assert report.not_articles == len(site.list_pages())  # home and paginated listings
    assert report.non_html == 1 and report.disallowed == 1
    assert report.broken == [] and report.failed == []
    assert site.PRIVATE not in server.requests  # robots.txt: Disallow: /noi-bo/
    assert server.requests[site.slow] == 2  # timed out once, then fetched
    twice = {p: n for p, n in server.requests.items() if n > 1 and p != site.slow}
    assert twice == {}
    assert server.agents == {f"timkiem/{__import__('timkiem').__version__} "
                             "(site search indexer; obeys robots.txt)"}
    skipped = [str(n) for n in report.notices if "skipped" in n.message]
    assert any("not an article (a list of" in n for n in skipped)
    assert any("not an HTML page (application/pdf)" in n for n in skipped)
    state = CrawlState(crawl_settings.index).load()
    assert {s.article_id for s in state.values() if s.article_id} == _ids(crawl_settings)


def test_a_rerun_fetches_only_robots_and_sitemaps_then_only_what_changed(
    site: CrawlSite, server: SiteServer, crawl_settings: Settings
) -> None:
    Crawler(crawl_settings).crawl(server.base + "/")
    server.reset_counts()
    again = Crawler(crawl_settings).crawl(server.base + "/")
    assert set(server.requests) == SITEMAPS
    assert again.lastmod_unchanged == ARTICLES + len(site.list_pages()) + 1  # and the PDF
    assert (again.added, again.replaced, again.fetched) == (0, 0, 0)

    changed = sorted(site.articles)[5]
    site.revise(changed, "Buổi lễ kết thúc lúc 11 giờ cùng ngày.")
    server.pages = site.render(server.base)
    server.reset_counts()
    third = Crawler(crawl_settings).crawl(server.base + "/")
    assert set(server.requests) == SITEMAPS | {changed}
    assert (third.added, third.replaced, third.unchanged) == (0, 1, 0)
    body = {r["id"]: r["body"] for r in stored_records(crawl_settings)}[server.base + changed]
    assert body.endswith("Buổi lễ kết thúc lúc 11 giờ cùng ngày.")


def test_a_site_without_sitemap_is_crawled_by_its_links(
    tmp_path: Path, crawl_settings: Settings
) -> None:
    site = CrawlSite(ARTICLES, sitemap=False)
    with SiteServer() as server:
        server.pages = site.render(server.base)
        report = Crawler(crawl_settings).crawl(server.base + "/")
        assert report.mode == "links"
        assert _ids(crawl_settings) == _article_urls(site, server)
        assert any("-trang-2.html" in path for path in server.requests)  # pagination followed
        assert report.broken == [
            f"{server.base}{site.BROKEN}: HTTP 404 (linked from {server.base}/)"
        ]
        assert site.PRIVATE not in server.requests
        assert max(server.requests.values()) == 1
        server.reset_counts()
        again = Crawler(crawl_settings).crawl(server.base + "/")
        # no sitemap: each known page is asked for with its ETag, and answers 304
        assert again.not_modified == report.fetched
        assert (again.fetched, again.added, again.replaced) == (0, 0, 0)
        assert max(server.requests.values()) == 1


def test_server_errors_and_timeouts_are_reported_and_retried(
    site: CrawlSite, server: SiteServer, crawl_settings: Settings
) -> None:
    down = sorted(site.articles)[0]
    server.pages[down] = SitePage(b"", status=503)
    settings = make_settings(crawl_settings.index, **{**FAST, "crawl_retries": 0})
    report = Crawler(settings).crawl(server.base + "/")
    assert sorted(report.failed) == sorted(
        [f"{server.base}{site.slow}: no answer in 0.5 s", f"{server.base}{down}: HTTP 503"]
    )
    assert server.requests[down] == 1  # no retry with crawl_retries = 0
    assert report.added == ARTICLES - 2

    server.reset_counts()
    again = Crawler(crawl_settings).crawl(server.base + "/")  # one retry each
    assert again.failed == [f"{server.base}{down}: HTTP 503 after 2 tries"]
    assert server.requests[down] == 2
    assert again.added == 1  # the slow page, answered in time on its second try


def test_unreadable_robots_txt_stops_the_crawl(tmp_path: Path) -> None:
    with SiteServer() as server:
        settings = make_settings(tmp_path / "index", **FAST)
        with pytest.raises(CrawlError, match="not an http"):
            Crawler(settings).crawl("ftp://example/")
        server.delay = 0.6  # robots.txt times out every time
        with pytest.raises(CrawlError, match="robots.txt cannot be read"):
            Crawler(settings).crawl(server.base + "/")


def test_cli_crawl_prints_skips_broken_links_and_a_summary(tmp_path: Path) -> None:
    site = CrawlSite(8, sitemap=False)
    with SiteServer() as server:
        server.pages = site.render(server.base)
        args = ["crawl", server.base + "/", "--index", str(tmp_path / "index")]
        args += ["--crawl-delay", "0", "--crawl-batch-size", "3"]
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"broken link: {server.base}{site.BROKEN}: HTTP 404" in result.output
    assert "skipped: not an article" in result.output
    summary = result.output.strip().splitlines()[-1]
    assert summary.startswith(f"{server.base} (links): ")
    assert " 8 added, 0 replaced" in summary and "1 broken, 0 failed, 1 disallowed" in summary


def test_a_crawl_killed_mid_way_loses_no_committed_article(tmp_path: Path) -> None:
    site = CrawlSite(40)
    index = tmp_path / "index"
    with SiteServer(delay=0.03) as server:
        server.pages = site.render(server.base)
        command = [sys.executable, "-m", "timkiem", "crawl", server.base + "/"]
        command += ["--index", str(index), "--crawl-delay", "0", "--crawl-batch-size", "4"]
        env = {**os.environ, "TIMKIEM_CONFIG": ""}
        crawl = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while IndexDirectory(index).current_name() is None and time.monotonic() < deadline:
            assert crawl.poll() is None, crawl.communicate()
            time.sleep(0.01)
        time.sleep(0.1)
        crawl.send_signal(signal.SIGKILL)
        crawl.communicate()
        settings = make_settings(index)
        committed = _ids(settings)
        assert 4 <= len(committed) < 40  # killed after its first commit, before the end
        recorded = {s.url: s for s in CrawlState(index).load().values() if s.article_id}
        assert {s.article_id for s in recorded.values()} <= committed

        counts = dict(server.requests)
        result = CliRunner().invoke(
            cli, ["crawl", server.base + "/", "--index", str(index), "--crawl-delay", "0"]
        )
        assert result.exit_code == 0, result.output
        assert _ids(settings) == _article_urls(site, server)
        for url in recorded:  # committed and recorded: not fetched again
            path = url[len(server.base) :]
            assert server.requests[path] == counts[path] == 1


def test_a_longer_crawl_delay_in_robots_txt_wins(tmp_path: Path) -> None:
    with SiteServer() as server:
        rules = b"User-agent: *\nCrawl-delay: 1\n"
        server.pages["/robots.txt"] = SitePage(rules, "text/plain")
        server.pages["/"] = SitePage("<html><body><p>Trang chủ</p></body></html>".encode())
        started = time.monotonic()
        report = Crawler(make_settings(tmp_path / "index", **FAST)).crawl(server.base + "/")
        assert time.monotonic() - started >= 0.95  # robots.txt, /sitemap.xml (404), then /
        assert report.mode == "links" and report.not_articles == 1


def test_sitemaps_feeds_and_gzip_are_read() -> None:
    base = "http://site.example/"
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Tin</title>'
        b"<item><title>A</title><link>http://site.example/a.html</link></item>"
        b"<item><title>B</title><link>/b.html#binh-luan</link></item></channel></rss>"
    )
    assert list(parse_site_list(rss, base).pages) == [
        "http://site.example/a.html",
        "http://site.example/b.html",
    ]
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><link rel="alternate" '
        b'href="http://site.example/c.html"/><updated>2024-01-02T00:00:00Z</updated>'
        b"</entry></feed>"
    )
    assert parse_site_list(atom, base).pages == {
        "http://site.example/c.html": "2024-01-02T00:00:00Z"
    }
    index = (
        b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>http://site.example/s1.xml.gz</loc></sitemap></sitemapindex>"
    )
    assert parse_site_list(gzip.compress(index), base).sitemaps == [
        "http://site.example/s1.xml.gz"
    ]
    with pytest.raises(NotASitemap, match="not XML"):
        parse_site_list(b"<html><body>", base)
    with pytest.raises(NotASitemap, match="another kind"):
        parse_site_list(b"<html></html>", base)
