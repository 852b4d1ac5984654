"""Making the index match a full export or a crawl of the site exactly.

Articles of the source that are not in the index are added, those whose
record differs (by :func:`timkiem.records.record_hash`) replace the stored
one, the rest are left untouched, and articles the source no longer holds
are deleted, refusing to delete more than ``sync_max_delete_percent`` of the
index unless forced (a truncated export or a site that is half down must not
empty the index). From files, everything is one commit: all or nothing. From
a site, the crawl commits its batches as it goes (see :mod:`timkiem.crawl`)
and the deletions are one last commit.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from timkiem.cms_columns import ColumnMap
from timkiem.config import Settings
from timkiem.crawl import Crawler, CrawlReport, Progress
from timkiem.errors import InvalidInput, NothingToIndex, Problem, SyncRefused
from timkiem.export import stored_hashes
from timkiem.indexer import Indexer
from timkiem.records import record_hash


@dataclass
class SyncReport:
    """What a sync did (or, in a dry run, would do)."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    deleted: int = 0
    dry_run: bool = False
    seconds: float = 0.0
    notices: list[Problem] = field(default_factory=list)
    crawl: CrawlReport | None = None

    def summary(self) -> str:
        counts = (
            f"{self.added} added, {self.replaced} replaced, {self.unchanged} unchanged, "
            f"{self.deleted} deleted"
        )
        if self.dry_run:
            return f"dry run: {counts} (would be); nothing was written"
        return f"{counts} in {self.seconds:.1f} s"


def is_url(source: str) -> bool:
    """Whether a sync source is a site (``http(s)://...``) rather than a path."""
    return source.lower().startswith(("http://", "https://"))


def _guard(
    settings: Settings, doomed: int, total: int, force: bool, source: str, kept: str = ""
) -> None:
    """Refuse to delete more than ``sync_max_delete_percent`` of ``total`` articles."""
    limit = settings.sync_max_delete_percent
    if force or doomed == 0 or total == 0 or doomed * 100 <= limit * total:
        return
    raise SyncRefused(
        f"{source} lacks {doomed} of the index's {total} articles ({doomed / total:.0%}); "
        f"a sync deletes at most {limit:g}% (sync_max_delete_percent) without --force, in "
        f"case the source is incomplete. Nothing was deleted{kept}. If it is complete, run "
        "again with --force"
    )


def sync_files(
    settings: Settings,
    paths: Iterable[str],
    *,
    format: str = "records",
    columns: ColumnMap | None = None,
    force: bool = False,
    dry_run: bool = False,
) -> SyncReport:
    """Make the index hold exactly the articles of ``paths``, in one commit.

    Any invalid record stops the sync (``InvalidInput``): its article would be
    deleted otherwise.
    """
    started = time.monotonic()
    paths = list(paths)
    indexer = Indexer(settings)
    articles, checked = indexer.check(paths, format=format, columns=columns)
    report = SyncReport(dry_run=dry_run, notices=checked.notices)
    if checked.problems:
        indexer.notices = checked.notices
        raise InvalidInput(checked.problems)
    if not articles:
        indexer.notices = checked.notices
        raise NothingToIndex(
            f"{', '.join(paths)} holds no article; a sync would empty the index. "
            "Nothing was written"
        )
    stored = stored_hashes(settings)
    changed = [a for a in articles if stored.get(a.id) != record_hash(a.to_json())]
    wanted = {a.id for a in articles}
    doomed = [i for i in stored if i not in wanted]
    _guard(settings, len(doomed), len(stored), force, ", ".join(paths))
    report.unchanged = len(articles) - len(changed)
    report.replaced = sum(1 for a in changed if a.id in stored)
    report.added = len(changed) - report.replaced
    report.deleted = len(doomed)
    if not dry_run:
        indexer.apply(changed, doomed)
    report.seconds = time.monotonic() - started
    return report


def sync_site(
    settings: Settings,
    url: str,
    *,
    force: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> SyncReport:
    """Crawl the site of ``url`` and delete the articles it no longer has.

    A page that could not be fetched (no answer, 5xx) keeps its article; one
    that is gone (4xx), left the sitemap or is no longer an article loses it.
    """
    started = time.monotonic()
    crawled = Crawler(settings, progress=progress, write=not dry_run).crawl(url)
    report = SyncReport(dry_run=dry_run, crawl=crawled, notices=crawled.notices)
    report.added, report.replaced = crawled.added, crawled.replaced
    report.unchanged = len(crawled.present) - crawled.added - crawled.replaced
    if not crawled.complete:
        raise SyncRefused(
            f"the crawl of {crawled.site} stopped at crawl_max_pages "
            f"({settings.crawl_max_pages}) pages, so what the site no longer has is "
            "unknown; nothing was deleted (the articles crawled are written). Raise "
            "crawl_max_pages and run again"
        )
    stored = stored_hashes(settings)
    total = len(stored) + (report.added if dry_run else 0)
    doomed = [i for i in stored if i not in crawled.present]
    kept = "" if dry_run else " (the articles crawled were written)"
    _guard(settings, len(doomed), total, force, crawled.site, kept)
    report.deleted = len(doomed)
    if not dry_run and doomed:
        Indexer(settings).apply([], doomed)
    report.seconds = time.monotonic() - started
    return report
