"""What a crawl knows of each page it fetched, kept beside the index for the next run.

One SQLite database (``crawl-state.sqlite`` in the index directory): per URL the
sitemap's ``lastmod``, the response's ``ETag`` and ``Last-Modified``, the hash
of the article record it gave (or none: a list page, a non-HTML file) and its
id, and the in-site links found on it (a page answered with 304 is not read
again, so its links are kept). A crawl writes rows only for pages whose
articles are committed, each write one SQLite transaction: a crawl killed at
any moment leaves rows that agree with the index.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

STATE_FILE = "crawl-state.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY,
    lastmod TEXT,
    etag TEXT,
    last_modified TEXT,
    content_hash TEXT,
    article_id TEXT,
    links TEXT NOT NULL DEFAULT '[]'
)
"""
_COLUMNS = "url, lastmod, etag, last_modified, content_hash, article_id, links"


@dataclass
class PageState:
    """One page as the last crawl that committed it saw it."""

    url: str
    lastmod: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    article_id: str | None = None
    links: list[str] = field(default_factory=list)


class CrawlState:
    """The crawl state of one index directory."""

    def __init__(self, index: str | Path) -> None:
        self.path = Path(index) / STATE_FILE

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute(_SCHEMA)
        return connection

    def load(self) -> dict[str, PageState]:
        """Every page known, by URL (empty before the first crawl)."""
        if not self.path.exists():
            return {}
        with closing(self._connect()) as connection:
            rows = connection.execute(f"SELECT {_COLUMNS} FROM pages").fetchall()
        return {
            row[0]: PageState(
                url=row[0],
                lastmod=row[1],
                etag=row[2],
                last_modified=row[3],
                content_hash=row[4],
                article_id=row[5],
                links=json.loads(row[6]),
            )
            for row in rows
        }

    def save(self, pages: Iterable[PageState], forget: Iterable[str] = ()) -> None:
        """Write ``pages`` and remove the URLs ``forget``, in one transaction."""
        rows = [
            (
                p.url,
                p.lastmod,
                p.etag,
                p.last_modified,
                p.content_hash,
                p.article_id,
                json.dumps(p.links, ensure_ascii=False),
            )
            for p in pages
        ]
        gone = [(url,) for url in forget]
        if not rows and not gone:
            return
        with closing(self._connect()) as connection, connection:
            connection.executemany(
                f"INSERT OR REPLACE INTO pages ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows
            )
            connection.executemany("DELETE FROM pages WHERE url = ?", gone)
