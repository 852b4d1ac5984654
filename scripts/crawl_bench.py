"""Crawl a generated 2,000-page site on 127.0.0.1 at the default politeness settings.

The site (``tests/sitegen.py``'s :class:`CrawlSite`: the labor-union portal's
article pages, paginated category listings, a home page, a PDF, a section
robots.txt forbids, a sitemap index) is served by
:class:`timkiem.testing.SiteServer`, which counts every request. Prints:

- the first crawl: pages fetched, pages fetched twice (must be 0), time, rate;
- a rerun with nothing changed: its requests (must be robots.txt and the
  sitemaps only);
- a crash mid-crawl: ``timkiem crawl`` SIGKILLed just after its first batch
  commit; every committed article must still be there, and a rerun must
  complete the index without fetching a committed page again.

Exits 1 when any check fails.

    .venv/bin/python scripts/crawl_bench.py [--pages 2000] [--crawl-delay S]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from sitegen import CrawlSite  # noqa: E402
from timkiem.config import Settings  # noqa: E402
from timkiem.crawl import Crawler  # noqa: E402
from timkiem.crawlstate import CrawlState  # noqa: E402
from timkiem.export import stored_records  # noqa: E402
from timkiem.storage import IndexDirectory  # noqa: E402
from timkiem.testing import SiteServer  # noqa: E402

SITEMAPS = {"/robots.txt", "/sitemap.xml", "/sitemap-bai-viet.xml", "/sitemap-trang.xml"}


def _settings(index: Path, overrides: dict[str, float]) -> Settings:
    return Settings.load({"index": str(index), **overrides}, environ={})


def _ids(settings: Settings) -> set[str]:
    return {r["id"] for r in stored_records(settings)}


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000, help="pages of the site (about)")
    parser.add_argument(
        "--crawl-delay", type=float, default=None, help="instead of the default setting"
    )
    args = parser.parse_args()
    overrides: dict[str, float] = {}
    if args.crawl_delay is not None:
        overrides["crawl_delay"] = args.crawl_delay
    articles = max(6, round(args.pages * 0.91))  # a tenth of list pages, as CMSes have
    site = CrawlSite(articles)
    failed = False
    with SiteServer() as server, tempfile.TemporaryDirectory(prefix="timkiem-crawl-") as tmp:
        server.pages = site.render(server.base)
        total = len(server.pages) - len(SITEMAPS)
        defaults = _settings(Path(tmp) / "a", overrides)
        print(
            f"site: {total} pages ({articles} articles, {len(site.list_pages())} list pages, "
            f"1 PDF, 1 disallowed by robots.txt) and {len(SITEMAPS)} robots/sitemap files "
            f"on {server.base}"
        )
        print(
            f"settings: crawl_delay {defaults.crawl_delay:g} s, crawl_concurrency "
            f"{defaults.crawl_concurrency}, crawl_timeout {defaults.crawl_timeout:g} s, "
            f"crawl_retries {defaults.crawl_retries}, crawl_batch_size "
            f"{defaults.crawl_batch_size}"
        )

        started = time.monotonic()
        report = Crawler(defaults).crawl(server.base + "/")
        seconds = time.monotonic() - started
        twice = sorted(p for p, n in server.requests.items() if n > 1)
        indexed = len(_ids(defaults))
        ok = not twice and indexed == articles and site.PRIVATE not in server.requests
        failed |= not ok
        print(
            f"first crawl:  {report.fetched} pages fetched, {len(twice)} fetched twice, "
            f"{indexed} articles indexed, {report.not_articles} list pages skipped, "
            f"{report.requests} requests in {seconds:.1f} s ({report.fetched / seconds:.1f} "
            f"pages/s)  {_verdict(ok)}"
        )

        server.reset_counts()
        started = time.monotonic()
        again = Crawler(defaults).crawl(server.base + "/")
        seconds = time.monotonic() - started
        asked = sorted(server.requests)
        ok = set(asked) == SITEMAPS and again.added + again.replaced == 0
        failed |= not ok
        print(
            f"rerun:        {sum(server.requests.values())} requests ({', '.join(asked)}), "
            f"{again.fetched} pages fetched, {again.added + again.replaced} written "
            f"in {seconds:.1f} s  {_verdict(ok)}"
        )

        failed |= not _crash_check(server, site, Path(tmp) / "b", overrides, articles)
    return 1 if failed else 0


def _crash_check(
    server: SiteServer, site: CrawlSite, index: Path, overrides: dict[str, float], articles: int
) -> bool:
    """Kill ``timkiem crawl`` just after its first commit; rerun; compare."""
    server.reset_counts()
    batch = int(overrides.get("crawl_batch_size", _settings(index, overrides).crawl_batch_size))
    if batch * 2 > articles:  # a small site: commit several batches all the same
        overrides = {**overrides, "crawl_batch_size": max(1, articles // 5)}
    command = [sys.executable, "-m", "timkiem", "crawl", server.base + "/", "--index", str(index)]
    for name, value in overrides.items():
        command += ["--" + name.replace("_", "-"), str(value)]
    env = {**os.environ, "TIMKIEM_CONFIG": "", "PYTHONPATH": str(ROOT / "src")}
    crawl = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state = CrawlState(index)
    while IndexDirectory(index).current_name() is None or not state.path.exists():
        if crawl.poll() is not None:
            print("crash check: the crawl ended before it could be killed  FAIL")
            return False
        time.sleep(0.01)
    while not state.load():  # the first batch is committed, then recorded
        if crawl.poll() is not None:
            print("crash check: the crawl ended before it could be killed  FAIL")
            return False
        time.sleep(0.01)
    crawl.send_signal(signal.SIGKILL)
    crawl.communicate()
    settings = _settings(index, overrides)
    committed = _ids(settings)
    recorded = {s.url for s in CrawlState(index).load().values() if s.article_id}
    counts = dict(server.requests)
    started = time.monotonic()
    finished = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    after = _ids(settings)
    refetched = [u for u in recorded if server.requests[u[len(server.base) :]] > 1]
    twice = [p for p, n in server.requests.items() if n - counts.get(p, 0) > 1]
    ok = (
        finished.returncode == 0
        and committed <= after
        and len(after) == articles
        and not refetched
        and not twice
        and len(committed) < articles
    )
    print(
        f"crash check:  killed after the first commit with {len(committed)} articles "
        f"committed ({len(recorded)} recorded); rerun exit {finished.returncode} in "
        f"{seconds:.1f} s, {len(after)} articles indexed, {len(committed - after)} committed "
        f"lost, {len(refetched)} committed pages fetched again, {len(twice)} fetched twice  "
        f"{_verdict(ok)}"
    )
    if finished.returncode != 0:
        print(finished.stderr[-2000:])
    return ok


if __name__ == "__main__":
    sys.exit(main())
