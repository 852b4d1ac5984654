"""A site's lists of pages: sitemaps, sitemap indexes and RSS/Atom feeds.

Parsed with lxml without resolving entities or fetching anything; a gzipped
sitemap (``sitemap.xml.gz``) is unpacked first.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

from lxml import etree

from timkiem.errors import NotASitemap

MAX_UNPACKED_BYTES = 50 << 20  # the sitemap protocol's own limit


@dataclass
class SiteList:
    """What one sitemap or feed lists: pages (URL -> lastmod) and further sitemaps."""

    pages: dict[str, str | None] = field(default_factory=dict)
    sitemaps: list[str] = field(default_factory=list)


def normalize_url(url: str, base: str | None = None) -> str | None:
    """``url`` (relative to ``base``) without its fragment, scheme and host in lower case;
    None when it is not an http(s) URL."""
    try:
        joined = urljoin(base, url.strip()) if base else url.strip()
        parts = urlsplit(urldefrag(joined)[0])
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, "")
    )


def _local(tag: object) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _child_text(node: etree._Element, name: str) -> str | None:
    for child in node:
        if _local(child.tag) == name and child.text and child.text.strip():
            return str(child.text).strip()
    return None


def parse_site_list(content: bytes, base: str) -> SiteList:
    """The pages and sitemaps listed by a sitemap, sitemap index, RSS or Atom feed."""
    if content[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(content)) as packed:
                content = packed.read(MAX_UNPACKED_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise NotASitemap(f"a damaged gzip file ({exc})") from None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        raise NotASitemap(f"not XML ({exc})") from None
    found = SiteList()
    kind = _local(root.tag)
    if kind == "urlset":
        for node in root:
            if _local(node.tag) == "url":
                _add(found.pages, _child_text(node, "loc"), base, _child_text(node, "lastmod"))
    elif kind == "sitemapindex":
        for node in root:
            loc = _child_text(node, "loc") if _local(node.tag) == "sitemap" else None
            url = normalize_url(loc, base) if loc else None
            if url:
                found.sitemaps.append(url)
    elif kind in ("rss", "rdf"):
        for item in root.iter():
            if _local(item.tag) == "item":
                _add(found.pages, _child_text(item, "link"), base, None)
    elif kind == "feed":
        for entry in root:
            if _local(entry.tag) != "entry":
                continue
            for link in entry:
                if _local(link.tag) == "link" and link.get("rel", "alternate") == "alternate":
                    _add(found.pages, link.get("href"), base, _child_text(entry, "updated"))
                    break
    else:
        raise NotASitemap(f"an XML document of another kind (<{kind}>)")
    return found


def _add(pages: dict[str, str | None], loc: str | None, base: str, lastmod: str | None) -> None:
    url = normalize_url(loc, base) if loc else None
    if url:
        pages[url] = lastmod

