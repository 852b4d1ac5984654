"""Crawling a site: its article pages fetched politely and written to the index.

``robots.txt`` is read first and obeyed (its ``Crawl-delay`` too, when longer
than ours). The pages come from the site's sitemap (``Sitemap:`` lines of
robots.txt, else ``/sitemap.xml``; sitemap indexes and RSS/Atom feeds too, or
the URL given when it is one); a site without a sitemap is crawled by
following its in-site links from the URL given. Each HTML page goes through
the same extraction as saved pages (:func:`timkiem.pages.extract_page`): list
pages are skipped with the reason, articles are written in batches, each one
commit (:meth:`Indexer.apply`).

A rerun fetches only what changed: a sitemap entry whose ``lastmod`` is the
one recorded is not fetched, and every other known page is asked for with
its ``ETag``/``Last-Modified`` (304: unchanged). What was recorded
(:mod:`timkiem.crawlstate`) is only written once the articles it describes
are committed, so a crawl killed at any moment loses no committed article
and the next run fetches what the killed one had not committed. No URL is
fetched twice in a run.
"""

from __future__ import annotations

import time
import urllib.robotparser
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from timkiem.config import Settings
from timkiem.crawlstate import CrawlState, PageState
from timkiem.errors import CrawlError, NotASitemap, Problem, RecordError
from timkiem.export import stored_hashes
from timkiem.fetch import USER_AGENT, Fetcher, Response
from timkiem.indexer import Indexer
from timkiem.pages import decode_page, extract_page, parse_html
from timkiem.records import Article, parse_article, record_hash
from timkiem.sitemaps import SiteList, normalize_url, parse_site_list

MAX_SITEMAPS = 1000
_FEED_ENDINGS = (".xml", ".xml.gz", ".rss", ".atom", "/feed", "/rss", "/feed/", "/rss/")


@dataclass
class CrawlReport:
    """What one crawl found and wrote."""

    site: str
    mode: str = "sitemap"  # or "links": followed from the page given
    requests: int = 0
    fetched: int = 0  # pages answered with a body
    not_modified: int = 0  # answered 304
    lastmod_unchanged: int = 0  # not fetched: the sitemap's lastmod was the one recorded
    added: int = 0
    replaced: int = 0
    unchanged: int = 0  # fetched, but the article's record is the one in the index
    not_articles: int = 0  # list pages, home page
    non_html: int = 0
    disallowed: int = 0  # by robots.txt, never requested
    broken: list[str] = field(default_factory=list)  # 4xx, with where the link was
    failed: list[str] = field(default_factory=list)  # no answer or 5xx after every try
    problems: list[Problem] = field(default_factory=list)  # pages whose record is invalid
    notices: list[Problem] = field(default_factory=list)  # skipped pages, missing fields
    present: set[str] = field(default_factory=set)  # ids of the site's articles, this run
    complete: bool = True  # False when crawl_max_pages stopped it
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.fetched} fetched ({self.not_modified} not modified, "
            f"{self.lastmod_unchanged} skipped by lastmod): {self.added} added, "
            f"{self.replaced} replaced, {self.unchanged} unchanged; {self.not_articles} not "
            f"articles, {self.non_html} not HTML, {len(self.problems)} rejected, "
            f"{len(self.broken)} broken, {len(self.failed)} failed, {self.disallowed} "
            f"disallowed; {self.requests} requests in {self.seconds:.1f} s"
        )


Progress = Callable[[CrawlReport, int], None]
"""Called after each page with the report so far and the number of pages still queued."""


def page_links(content: bytes, base: str) -> list[str]:
    """The http(s) links of an HTML page (``<a href>``, not ``rel=nofollow``), absolute."""
    tree = parse_html(decode_page(content))
    for node in tree.iter("base"):
        if node.get("href"):
            base = normalize_url(node.get("href"), base) or base
            break
    found: list[str] = []
    for link in tree.iter("a"):
        href = link.get("href")
        if not href or "nofollow" in (link.get("rel") or "").lower():
            continue
        url = normalize_url(href, base)
        if url:
            found.append(url)
    return found


def _site_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _looks_like_a_list(url: str) -> bool:
    path = urlsplit(url).path.lower()
    return path.endswith(_FEED_ENDINGS) or "sitemap" in path


class Crawler:
    """Crawls one site into the index; with ``write=False`` nothing is written
    (the report says what would be)."""

    def __init__(
        self, settings: Settings, *, progress: Progress | None = None, write: bool = True
    ) -> None:
        self.settings = settings
        self.progress = progress
        self.write = write
        self.indexer = Indexer(settings)
        self.state = CrawlState(settings.index)

    def crawl(self, url: str) -> CrawlReport:
        """Crawl the site of ``url``; ``CrawlError`` if it cannot be crawled at all."""
        start = normalize_url(url)
        if start is None:
            raise CrawlError(f"{url}: not an http:// or https:// URL")
        run = _Run(self, start)
        return run.go()


class _Run:
    """The state of one crawl."""

    def __init__(self, crawler: Crawler, start: str) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.settings = settings
        self.start = start
        self.site = _site_of(start)
        self.report = CrawlReport(self.site)
        self.known = crawler.state.load()
        self.stored = stored_hashes(settings)
        self.fetcher = Fetcher(settings.crawl_timeout, settings.crawl_retries, settings.crawl_delay)
        self.robots = urllib.robotparser.RobotFileParser()
        self.queue: deque[str] = deque()
        self.seen: set[str] = set()
        self.referrer: dict[str, str] = {}
        self.lastmod: dict[str, str | None] = {}
        self.batch: dict[str, Article] = {}
        self.rows: list[PageState] = []
        self.forget: list[str] = []
        self.last_commit = time.monotonic()
        self.started = time.monotonic()
        self.pages = 0

    # -- setup -------------------------------------------------------------

    def go(self) -> CrawlReport:
        self._read_robots()
        if not self.allowed(self.start):
            raise CrawlError(f"{self.start}: robots.txt of {self.site} disallows it to timkiem")
        listed = self._read_sitemaps()
        if listed is None:
            self.report.mode = "links"
            self.enqueue(self.start, None)
            for url in self.known:  # their links are known too: pages behind a 304 are reached
                if _site_of(url) == self.site:
                    self.enqueue(url, None)
        else:
            for url, lastmod in listed.pages.items():
                self._listed(url, lastmod)
        self._fetch_all()
        self._commit()
        self.report.requests = self.fetcher.requests
        self.report.seconds = time.monotonic() - self.started
        return self.report

    def _read_robots(self) -> None:
        answer = self.fetcher.get(self.site + "/robots.txt")
        if answer.status == 200:
            text = decode_page(answer.body) if answer.body else ""
            self.robots.parse(text.splitlines())
        elif 400 <= answer.status < 500:
            self.robots.parse([])  # no rules (RFC 9309: unavailable means allowed)
        else:
            why = answer.error or f"HTTP {answer.status}"
            raise CrawlError(
                f"{self.site}/robots.txt cannot be read ({why}); a site whose rules are "
                "unknown is not crawled: try again later"
            )
        delay = self.robots.crawl_delay(USER_AGENT)
        if delay is not None and float(delay) > self.fetcher.rate.delay:
            self.fetcher.rate.delay = float(delay)

    def allowed(self, url: str) -> bool:
        return self.robots.can_fetch(USER_AGENT, url)

    def _read_sitemaps(self) -> SiteList | None:
        """The pages the site's sitemaps list, or None when it has none."""
        if _looks_like_a_list(self.start):
            todo, implicit = [self.start], False
        else:
            declared = [u for u in self.robots.site_maps() or [] if normalize_url(u)]
            todo = [normalize_url(u) or u for u in declared]
            implicit = not todo
            if implicit:
                todo = [self.site + "/sitemap.xml"]
        listed = SiteList()
        found_any = False
        done: set[str] = set()
        while todo and len(done) < MAX_SITEMAPS:
            url = todo.pop(0)
            if url in done:
                continue
            done.add(url)
            answer = self.fetcher.get(url)
            if answer.status != 200:
                if not (implicit and answer.status in (404, 410)):
                    self._unusable(url, answer, "a sitemap")
                continue
            try:
                part = parse_site_list(answer.body, answer.url)
            except NotASitemap as exc:
                self.report.notices.append(Problem(url, None, None, f"not a sitemap: {exc}"))
                continue
            found_any = True
            todo.extend(u for u in part.sitemaps if u not in done)
            for page, lastmod in part.pages.items():
                listed.pages.setdefault(page, lastmod)
        return listed if found_any else None

    def _listed(self, url: str, lastmod: str | None) -> None:
        """A sitemap's entry: skipped when its lastmod is the one recorded, else queued."""
        if _site_of(url) != self.site or url in self.seen:
            return
        self.lastmod[url] = lastmod
        known = self._usable_state(url)
        if known is not None and lastmod and known.lastmod == lastmod:
            self.seen.add(url)
            self.report.lastmod_unchanged += 1
            if known.article_id:
                self.report.present.add(known.article_id)
            return
        self.enqueue(url, None)

    def _usable_state(self, url: str) -> PageState | None:
        """What was recorded of ``url``, if the index still holds its article as recorded."""
        known = self.known.get(url)
        if known is None:
            return None
        if known.article_id is not None and self.stored.get(known.article_id) != known.content_hash:
            return None  # the index changed since (a reindex, a delete): fetch it whole
        return known

    def enqueue(self, url: str, referrer: str | None) -> None:
        if url in self.seen or _site_of(url) != self.site:
            return
        self.seen.add(url)
        if not self.allowed(url):
            self.report.disallowed += 1
            return
        if referrer is not None:
            self.referrer[url] = referrer
        self.queue.append(url)

    # -- fetching ----------------------------------------------------------

    def _fetch_all(self) -> None:
        width = self.settings.crawl_concurrency
        limit = self.settings.crawl_max_pages
        with ThreadPoolExecutor(width, thread_name_prefix="timkiem-crawl") as pool:
            running: dict[Future[Response], str] = {}
            while self.queue or running:
                # twice as many as in flight: the threads fetch while a page is extracted
                while self.queue and len(running) < 2 * width and self.pages < limit:
                    url = self.queue.popleft()
                    self.pages += 1
                    known = self._usable_state(url)
                    etag = known.etag if known else None
                    modified = known.last_modified if known else None
                    running[pool.submit(self.fetcher.get, url, etag, modified)] = url
                if not running:
                    self.report.complete = False  # crawl_max_pages reached
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    self._handle(running.pop(future), future.result())
                    if self.crawler.progress is not None:
                        self.crawler.progress(self.report, len(self.queue) + len(running))
                if time.monotonic() - self.last_commit >= self.settings.crawl_commit_seconds:
                    self._commit()

    def _handle(self, url: str, answer: Response) -> None:
        if answer.status == 304 and url in self.known:
            self._not_modified(url)
        elif answer.status == 200:
            self._page(url, answer)
        else:
            linked = self.referrer.get(url)
            if linked:
                where = f"linked from {linked}"
            elif self.report.mode == "sitemap":
                where = "listed in the sitemap"
            else:
                where = "the URL given" if url == self.start else "found by an earlier crawl"
            self._unusable(url, answer, where)
            if 400 <= answer.status < 500:
                self.forget.append(url)

    def _unusable(self, url: str, answer: Response, where: str) -> None:
        """A broken link (4xx) or a failed fetch (no answer, 5xx), reported."""
        if 400 <= answer.status < 500:
            self.report.broken.append(f"{url}: HTTP {answer.status} ({where})")
            return
        tries = f" after {answer.tries} tries" if answer.tries > 1 else ""
        self.report.failed.append(f"{url}: {answer.error or f'HTTP {answer.status}'}{tries}")
        known = self.known.get(url)
        if known is not None and known.article_id:
            self.report.present.add(known.article_id)  # not gone, only unreachable now

    def _not_modified(self, url: str) -> None:
        known = self.known[url]
        self.report.not_modified += 1
        if known.article_id:
            self.report.present.add(known.article_id)
        for link in known.links:
            self.enqueue(link, url)
        if self.lastmod.get(url) and self.lastmod[url] != known.lastmod:
            known.lastmod = self.lastmod[url]
            self.rows.append(known)

    def _page(self, url: str, answer: Response) -> None:
        self.report.fetched += 1
        final = normalize_url(answer.url) or url
        if _site_of(final) != self.site:
            self._skip(url, f"skipped: redirects to another site ({final})")
            return
        row = PageState(
            url,
            lastmod=self.lastmod.get(url),
            etag=answer.headers.get("etag"),
            last_modified=answer.headers.get("last-modified"),
        )
        if not answer.is_html():
            self.report.non_html += 1
            kind = answer.content_type or "no content type"
            self._skip(url, f"skipped: not an HTML page ({kind})", row)
            return
        if self.report.mode == "links":
            row.links = sorted(set(page_links(answer.body, final)))
            for link in row.links:
                self.enqueue(link, url)
        result = extract_page(answer.body, url, final)
        if result.record is None:
            self.report.not_articles += 1
            self._skip(url, f"skipped: {result.skipped}", row)
            return
        for name in result.missing:
            self.report.notices.append(Problem(url, None, None, f"no {name} found"))
        try:
            article = parse_article(result.record, self.settings.max_text_length)
        except RecordError as exc:
            self.report.problems.append(Problem(url, None, result.record.get("id"), str(exc)))
            return
        row.article_id = article.id
        row.content_hash = record_hash(article.to_json())
        self.report.present.add(article.id)
        self.rows.append(row)
        if self.stored.get(article.id) == row.content_hash and article.id not in self.batch:
            self.report.unchanged += 1
            return
        self.batch[article.id] = article
        if len(self.batch) >= self.settings.crawl_batch_size:
            self._commit()

    def _skip(self, url: str, reason: str, row: PageState | None = None) -> None:
        self.report.notices.append(Problem(url, None, None, reason))
        if row is not None:
            self.rows.append(row)

    def _commit(self) -> None:
        """Write the batch in one commit, then record the pages it holds."""
        articles = list(self.batch.values())
        if self.crawler.write:
            written = self.crawler.indexer.apply(articles)
            self.report.added += written.added
            self.report.replaced += written.replaced
            self.crawler.state.save(self.rows, self.forget)
        else:
            replacing = sum(1 for a in articles if a.id in self.stored)
            self.report.replaced += replacing
            self.report.added += len(articles) - replacing
        for row in self.rows:
            if row.article_id is not None and row.content_hash is not None:
                self.stored[row.article_id] = row.content_hash
        self.batch.clear()
        self.rows.clear()
        self.forget.clear()
        self.last_commit = time.monotonic()
