"""Saved article pages (HTML) turned into article records.

Staff of a small site often have only the site itself: pages saved from a
browser or a mirror of the site, from a CMS that wraps each article in a menu,
a slide show, a breadcrumb, related-article lists and a footer. This module
finds in such a page the article's title, publication time, author, category,
canonical URL and body, and tells list pages (home page, category listings)
apart so they can be skipped.

The page is parsed once with lxml. Metadata comes first from what the page
declares (``<meta>``, JSON-LD, ``<time datetime>``, ``<link rel=canonical>``),
then from what Vietnamese CMSes print (date lines such as "Cập nhật lúc
15:00 - 13/04/2020 (GMT +07:00)", breadcrumbs, a trailing byline), found in
the parsed tree. The body is extracted by trafilatura from the tree after the
menus, breadcrumbs and related-article boxes are pruned. Nothing is fetched
over the network: every library gets the parsed tree, never a URL.
"""

from __future__ import annotations

import copy
import json
import os
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any

import htmldate
import lxml.html
import trafilatura
from lxml import etree

from timkiem.dates import VIETNAM

PAGE_SUFFIXES = (".html", ".htm", ".shtml", ".xhtml")
MAX_PAGE_BYTES = 20 << 20

_SEPARATORS = re.compile(r"\s+(?:-|\||–|—|::|»|·|>|/)\s+")
_SPACE = re.compile(r"\s+")
_DMY = re.compile(r"(?<!\d)(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})(?!\d)")
_HM = re.compile(r"(?<![\d/.])(\d{1,2})\s*(?::|h|g|giờ)\s*(\d{2})(?![\d/])(?:\s*:\s*(\d{2}))?")
_GMT = re.compile(r"(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.I)
_DATE_LABEL = re.compile(
    r"(cập nhật|ngày đăng|đăng lúc|đăng ngày|ngày xuất bản|xuất bản|thời gian đăng|"
    r"ngày ban hành|đăng tải|published|posted|thứ\s*(?:hai|ba|tư|năm|sáu|bảy|[2-7])|chủ nhật)",
    re.I,
)
_BOILERPLATE = re.compile(
    r"(^|[\s_-])(?:pnl|div|box|ctl|mod)?("
    r"menu|nav|navbar|navigation|topbar|top-bar|footer|banner|slide|slider|slideshow|"
    r"carousel|swiper|marquee|breadcrumbs?|pathway|sidebar|widget|related|relateditems|"
    r"relatedposts|lienquan|tinlienquan|tin-lien-quan|tinkhac|tin-khac|other-news|othernews|"
    r"share|sharing|social|sharedaddy|tags|tags-links|comments?|pager|paging|pagination|"
    r"pagenav|post-navigation|print|tools|toolbar|newstools|advert|ads|quangcao|quang-cao|"
    r"portlet-column|aside|masthead|site-header|logo|cookie|rightpane|right-col|col-right|"
    r"rightcolumn|counter|weblinks?|thongke|visitors?"
    r")(?:pane|panel|wrap|wrapper|box|area|zone|bar|inner|outer|container|holder|module)?\d*"
    r"($|[\s_-])",
    re.I,
)
_HEADER_CLASS = re.compile(r"(^|[\s_-])(header|head)($|[\s_-])", re.I)
_RELATED_HEADING = re.compile(
    r"^\s*(tin liên quan|các tin khác|tin khác|tin cùng chuyên mục|bài cùng chuyên mục|"
    r"cùng chuyên mục|bài viết liên quan|bài liên quan|xem thêm|đọc thêm|tin mới|tin mới nhất|"
    r"bài viết mới|tin đã đưa|các bài viết khác|tin bài khác|tin tức khác|có thể bạn quan tâm)"
    r"\s*:?\s*$",
    re.I,
)
_HOME = re.compile(r"^(trang chủ|trang chính|home|bạn đang ở\s*:?|you are here\s*:?)$", re.I)
_BYLINE_PREFIX = re.compile(
    r"^(?:(?:tác giả|người viết|bài(?:\s*(?:,|và)\s*ảnh)?|tin(?:\s*(?:,|và)\s*ảnh)?|"
    r"bài viết|phóng viên|pv|ctv|nguồn|theo)\s*:\s*|(?:theo|nguồn)\s+(?=\w))",
    re.I,
)
_SEE_ALSO = re.compile(r"^(?:xem thêm|đọc thêm|mời xem thêm|mời đọc thêm|xem tiếp)\s*:", re.I)
_FOOTER_LINE = re.compile(
    r"(©|\(c\)|bản quyền|copyright|all rights reserved|giấy phép|chịu trách nhiệm|"
    r"thiết kế bởi|designed by)",
    re.I,
)
_ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "blogposting",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "report",
    "scholarlyarticle",
}
_DATE_META = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "dc.date.issued",
    "dc.date",
    "dcterms.created",
    "date",
    "article.published",
    "sailthru.date",
)
_AUTHOR_META = ("author", "article:author", "dc.creator", "sailthru.author", "byl")
# not "form": ASP.NET portals (DotNetNuke) wrap the whole page in one
_JUNK_TAGS = ("script", "style", "noscript", "iframe", "svg", "button", "select", "template")


@dataclass
class PageResult:
    """What was found in one page: a record, or why the page is skipped."""

    source: str
    record: dict[str, Any] | None = None
    skipped: str | None = None
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PageFile:
    """One page to read: where it is shown in messages, its id path, its bytes."""

    source: str
    relative: str
    content: bytes


def _text(node: Any) -> str:
    return _SPACE.sub(" ", node.text_content()).strip()


def _norm(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _key(text: str) -> str:
    return _norm(text).casefold()


def decode_page(content: bytes) -> str:
    """The page's text: UTF-8, the declared charset, else a guess."""
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = re.search(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", content[:4096])
    if declared:
        try:
            return content.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    return str(trafilatura.utils.decode_file(content))


def parse_html(text: str) -> Any:
    """An lxml tree of the page (an encoding declaration in the text is ignored)."""
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True)
    try:
        return lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError):
        return lxml.html.document_fromstring(text.encode("utf-8"), parser=parser)


# -- metadata the page declares --------------------------------------------------------------


def _meta(tree: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in tree.iter("meta"):
        name = node.get("property") or node.get("name") or node.get("itemprop")
        content = node.get("content")
        if name and content and content.strip():
            found.setdefault(name.strip().lower(), _norm(content))
    return found


def _json_ld(tree: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            items.append(value)
            walk(value.get("@graph"))

    for node in tree.xpath('//script[contains(@type, "ld+json")]'):
        try:
            walk(json.loads(node.text or ""))
        except (json.JSONDecodeError, ValueError):
            continue
    return items


def _types(item: dict[str, Any]) -> set[str]:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).lower() for k in kinds if k}


def _name_of(value: Any) -> str | None:
    if isinstance(value, list):
        names = [n for n in (_name_of(v) for v in value) if n]
        return ", ".join(names) or None
    if isinstance(value, dict):
        value = value.get("name")
    if isinstance(value, str) and value.strip():
        return _norm(value)
    return None


# -- dates -----------------------------------------------------------------------------------


def parse_date_text(text: str) -> datetime | None:
    """A date and time printed the Vietnamese way, e.g. "Cập nhật lúc 15:00 - 13/04/2020
    (GMT +07:00)", "Thứ hai, 13/4/2020 - 15:00", "Ngày đăng: 13/04/2020"; None if none."""
    day = _DMY.search(text)
    if not day:
        return None
    rest = text[: day.start()] + " " + text[day.end() :]
    clock = _HM.search(rest)
    hour = minute = second = 0
    if clock:
        hour, minute, second = int(clock[1]), int(clock[2]), int(clock[3] or 0)
    zone: timezone = VIETNAM
    offset = _GMT.search(text)
    if offset:
        minutes = int(offset[2]) * 60 + int(offset[3] or 0)
        if minutes <= 14 * 60:
            zone = timezone(timedelta(minutes=-minutes if offset[1] == "-" else minutes))
    try:
        moment = datetime(int(day[3]), int(day[2]), int(day[1]), hour, minute, second, tzinfo=zone)
    except ValueError:
        return None
    if not 1900 <= moment.year <= 2100:
        return None
    return moment.astimezone(VIETNAM)


def _iso_date(value: str) -> datetime | None:
    value = value.strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return parse_date_text(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VIETNAM)
    if not 1900 <= moment.year <= 2100:
        return None
    return moment.astimezone(VIETNAM)


def _inside(node: Any, tags: tuple[str, ...]) -> bool:
    return any(getattr(a, "tag", None) in tags for a in node.iterancestors())


# -- the page ----------------------------------------------------------------------------------


class _Page:
    """One parsed page and what has been found in it so far."""

    def __init__(self, text: str) -> None:
        self.tree = parse_html(text)
        for junk in self.tree.xpath("//" + " | //".join(_JUNK_TAGS)):
            if junk.tag != "script" or "ld+json" not in (junk.get("type") or ""):
                junk.drop_tree()
        self.meta = _meta(self.tree)
        self.ld = _json_ld(self.tree)
        self.ld_article = next((i for i in self.ld if _types(i) & _ARTICLE_TYPES), None)
        for node in self.tree.xpath('//script[contains(@type, "ld+json")]'):
            node.drop_tree()
        self.order = {node: n for n, node in enumerate(self.tree.iter())}
        self.title_node: Any = None

    # title

    def site_names(self) -> set[str]:
        names = {
            self.meta.get("og:site_name", ""),
            self.meta.get("application-name", ""),
            self.meta.get("twitter:site", ""),
        }
        for item in self.ld:
            if _types(item) & {"website", "organization", "newsmediaorganization"}:
                names.add(_name_of(item.get("name")) or "")
            if self.ld_article and item is self.ld_article:
                names.add(_name_of(item.get("publisher")) or "")
        for node in _named(self.tree, _SITE_NAME):
            names.add(_text(node) or node.get("alt") or node.get("title") or "")
            for image in node.iter("img"):
                names.add(image.get("alt") or "")
        return {_key(n) for n in names if n and len(n) > 2}

    def headings(self, tree: Any = None) -> list[Any]:
        """Elements that may hold a headline: h1-h3, itemprop=headline, a "title" class."""
        found = []
        for node in (self.tree if tree is None else tree).iter():
            if not isinstance(node.tag, str) or node.tag in _NOT_HEADINGS:
                continue
            if not (
                node.tag in ("h1", "h2", "h3")
                or node.get("itemprop") == "headline"
                or _TITLE_NAME.search(_names(node))
            ):
                continue
            text = _text(node)
            if 8 <= len(text) <= 400:
                found.append(node)
        return found

    def title(self) -> str | None:
        sites = self.site_names()
        declared = [
            self.meta.get("og:title"),
            self.meta.get("twitter:title"),
            _name_of(self.ld_article.get("headline")) if self.ld_article else None,
        ]
        title_tag = self.tree.find(".//title")
        page_title = _text(title_tag) if title_tag is not None else ""
        candidates = [_norm(c) for c in [*declared, page_title] if c]
        for node in self.headings():
            text = _text(node)
            if _linked(node):
                continue
            if any(_same_or_part(text, c) for c in candidates) and _key(text) not in sites:
                self.title_node = node
                return text
        for text in [_norm(c) for c in declared if c]:  # og:title, JSON-LD headline
            stripped = _strip_site(text, sites)
            if stripped:
                return stripped
        # the page's one headline: old CMSes give every page the same <title>
        headlines = [h for h in self.tree.iter("h1") if not _linked(h) and _key(_text(h))]
        if len(headlines) == 1 and _key(_text(headlines[0])) not in sites:
            self.title_node = headlines[0]
            return _text(headlines[0])
        if page_title:
            return _strip_site(_norm(page_title), sites) or None
        return None

    # dates

    def declared_date(self) -> datetime | None:
        sources: list[str | None] = [self.meta.get(name) for name in _DATE_META]
        if self.ld_article:
            sources.insert(0, str(self.ld_article.get("datePublished") or "") or None)
        for node in self.tree.xpath("//time[@datetime]"):
            if "modified" not in (node.get("class") or "") + (node.get("itemprop") or ""):
                sources.append(node.get("datetime"))
        for node in self.tree.xpath('//*[@itemprop="datePublished"][@content]'):
            sources.append(node.get("content"))
        for value in sources:
            if value:
                moment = _iso_date(value)
                if moment is not None:
                    return moment
        return None

    def markup_date(self) -> datetime | None:
        """htmldate's reading of the page's markup (no guessing from free text)."""
        try:
            found = htmldate.find_date(
                self.tree,
                extensive_search=False,
                original_date=True,
                outputformat="%Y-%m-%dT%H:%M:%S",
            )
        except (ValueError, TypeError):
            return None
        return _iso_date(found) if found else None

    def date_lines(self) -> list[tuple[Any, str, bool]]:
        """Elements printing a date (innermost), with their text and whether it is labeled."""
        found = []
        for node in self.tree.iter():
            if not isinstance(node.tag, str) or node.tag in ("head", "title", "html", "body"):
                continue
            text = _text(node)
            if not text or len(text) > 160 or not _DMY.search(text):
                continue
            if any(_DMY.search(_text(child)) for child in node if isinstance(child.tag, str)):
                continue
            if node.tag == "a" or _inside(node, ("a", "li", "footer")):
                continue
            context = text
            parent = node.getparent()
            if parent is not None and len(_text(parent)) <= 160:
                context = _text(parent)
            found.append((node, context, bool(_DATE_LABEL.search(context))))
        return found

    def printed_date(self) -> tuple[datetime | None, Any]:
        lines = self.date_lines()
        anchor = self.order.get(self.title_node, 0) if self.title_node is not None else None
        labeled = [line for line in lines if line[2]] or lines
        best = None
        for node, text, _ in labeled:
            moment = parse_date_text(text)
            if moment is None:
                continue
            distance = abs(self.order.get(node, 0) - anchor) if anchor is not None else 0
            if best is None or distance < best[0]:
                best = (distance, moment, node)
        return (best[1], best[2]) if best else (None, None)

    # category

    def breadcrumb(self) -> list[str]:
        for node in self.tree.iter():
            if not isinstance(node.tag, str) or node.tag == "a":
                continue
            label = f"{_names(node)} {node.get('aria-label') or ''} {node.get('itemtype') or ''}"
            if not _CRUMB_NAME.search(label.lower()):
                continue
            items = _crumbs(node)
            if items:
                return items
        for node in self.tree.iter():  # "Trang chủ > Tin tức - Sự kiện" printed as text
            if not isinstance(node.tag, str) or node.tag in ("html", "body", "head", "title"):
                continue
            text = _text(node)
            if len(text) > 200 or not _CRUMB_TEXT.match(text):
                continue
            if not any(isinstance(c.tag, str) and _CRUMB_TEXT.match(_text(c)) for c in node):
                items = [t for t in _CRUMB_SPLIT.split(text) if t and not _HOME.match(t)]
                if items and all(len(t) < 100 for t in items):
                    return items
        for item in self.ld:
            if "breadcrumblist" in _types(item):
                elements = item.get("itemListElement") or []
                names = [
                    _name_of(e.get("name") or e.get("item"))
                    for e in elements
                    if isinstance(e, dict)
                ]
                items = [n for n in names if n and not _HOME.match(n)]
                if items:
                    return items
        return []

    def category(self, title: str | None) -> str | None:
        items = self.breadcrumb()
        if items and title and _key(items[-1]) == _key(title):
            items = items[:-1]
        if items:
            return items[-1]
        section = self.meta.get("article:section")
        if not section and self.ld_article:
            section = _name_of(self.ld_article.get("articleSection"))
        if section:
            return section
        tagged = self.tree.xpath('//a[contains(concat(" ", @rel, " "), " category ")]')
        return _text(tagged[0]) if tagged else None

    def url(self) -> str | None:
        canonical = '//link[@href][contains(concat(" ", @rel, " "), " canonical ")]'
        for node in self.tree.xpath(canonical):
            href = (node.get("href") or "").strip()
            if href.startswith(("http://", "https://")):
                return href
        value = self.meta.get("og:url")
        if value and value.startswith(("http://", "https://")):
            return value
        return None

    def declared_author(self) -> str | None:
        if self.ld_article:
            name = _name_of(self.ld_article.get("author"))
            if name:
                return name
        for key in _AUTHOR_META:
            value = self.meta.get(key)
            if value and not value.startswith(("http://", "https://")):
                return value
        return None

    # body

    def prune(self, headers: bool = True) -> Any:
        """A copy of the tree without menus, banners, breadcrumbs, related lists and footers
        (and page headers unless ``headers`` is false)."""
        tree = copy.deepcopy(self.tree)
        body = tree.find("body")
        if body is None:
            return tree
        _unwrap_layout_tables(body)
        total = len(_text(body)) or 1
        for node in list(body.iter()):
            if not isinstance(node.tag, str) or node.getparent() is None:
                continue
            if _RELATED_HEADING.match(_text(node)) and node.tag not in ("body",):
                _drop_related(node)
                continue
            names = f"{node.get('class') or ''} {node.get('id') or ''} {node.get('role') or ''}"
            boilerplate = node.tag in ("nav", "footer", "aside") or _BOILERPLATE.search(names)
            header = headers and (node.tag == "header" or _HEADER_CLASS.search(names))
            if not (boilerplate or header):
                continue
            size = len(_text(node))
            paragraphs = sum(len(_text(p)) for p in node.iter("p"))
            # never drop what holds the article itself (a wrapper named "main-nav-content")
            if size > 0.5 * total and paragraphs > 0.5 * size:
                continue
            if header and paragraphs > 400:
                continue
            node.drop_tree()
        return tree

    def sapo(self) -> str | None:
        """The lead paragraph many CMSes print between the title and the body."""
        anchor = self.order.get(self.title_node, -1) if self.title_node is not None else -1
        for node in _named(self.tree, _SAPO_NAME):
            if node.tag in ("meta", "a", "img", "body", "html") or _linked(node):
                continue
            if self.order.get(node, 0) < anchor:
                continue
            text = _text(node)
            if 40 <= len(text) <= 1500:
                return text
        return None

    def body_lines(self) -> list[str]:
        pruned = self.prune()
        text = trafilatura.extract(
            pruned,
            favor_recall=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            deduplicate=False,
            with_metadata=False,
        )
        lines = [line for line in (_norm(line) for line in (text or "").split("\n")) if line]
        lead = self.sapo()
        if lead and lines and lead not in lines and not any(lead in line for line in lines):
            lines.insert(0, lead)
        return lines


_SITE_NAME = re.compile(r"(^|[\s_-])logo($|[\s_-])|site-title|site-name|sitename")
_TITLE_NAME = re.compile(r"title|headline|tieude|tieu-de")
_CRUMB_NAME = re.compile(
    r"breadcrumb|pathway|duongdan|duong-dan|(^|[\s_-])(path|crumbs?)($|[\s_-])"
)
_CRUMB_TEXT = re.compile(r"^(?:trang chủ|trang chính|home)\s*[»>›/|]\s*\S", re.I)
_CRUMB_SPLIT = re.compile(r"\s*[»>›/|]\s*")
_SAPO_NAME = re.compile(
    r"sapo|description|(^|[\s_-])lead|summary|chapeau|excerpt|tom-?tat|(^|[\s_-])intro"
)
_NOT_HEADINGS = ("title", "html", "body", "head", "meta", "a", "img", "input", "link")


def _names(node: Any) -> str:
    """The element's class and id, lower case: what CMS templates name their parts by."""
    return f"{node.get('class') or ''} {node.get('id') or ''}".lower()


def _named(tree: Any, pattern: re.Pattern[str]) -> list[Any]:
    return [
        node
        for node in tree.iter()
        if isinstance(node.tag, str) and (node.get("class") or node.get("id"))
        and pattern.search(_names(node))
    ]


_TABLE_TAGS = ("table", "tbody", "thead", "tfoot", "tr", "td", "th")


def _unwrap_layout_tables(body: Any) -> None:
    """Turn tables that lay out a page (cells holding blocks) into plain blocks, so the
    article in a cell is read as text, not as a table. Data tables are kept."""
    for table in list(body.iter("table")):
        blocks = any(
            d.tag in ("div", "p", "table", "ul", "form", "h1", "h2", "h3")
            for d in table.iter()
            if d is not table
        )
        if not blocks:
            continue
        for node in table.iter(*_TABLE_TAGS):
            if node.tag == "table" and node is not table:
                continue  # an inner table is judged on its own
            node.tag = "div"
            for attr in ("width", "valign", "align", "colspan", "rowspan"):
                node.attrib.pop(attr, None)


def _linked(node: Any) -> bool:
    """Whether a heading is (mostly) a link, as headlines on a list page are."""
    text = _text(node)
    links = sum(len(_text(a)) for a in node.iter("a"))
    if node.getparent() is not None and node.getparent().tag == "a":
        return True
    return bool(text) and links >= 0.6 * len(text)


def _same_or_part(text: str, candidate: str) -> bool:
    """``text`` is ``candidate``, or a part of it between title separators
    ("Tin tức :: TEXT :: Site", "TEXT - Site", "Site | TEXT")."""
    a, b = _key(text), _key(candidate)
    if a == b:
        return True
    sep = r"\s*(?:[-|–—»·>/]|::)\s*"
    return bool(re.search(f"(?:^|{sep}){re.escape(a)}(?:{sep}|$)", b))


def _strip_site(text: str, sites: set[str]) -> str:
    parts = _SEPARATORS.split(text)
    if len(parts) > 1:
        if _key(parts[-1]) in sites or any(_key(parts[-1]) in s for s in sites):
            parts = parts[:-1]
        elif _key(parts[0]) in sites or any(_key(parts[0]) in s for s in sites):
            parts = parts[1:]
    stripped = " - ".join(parts)
    separators = _SEPARATORS.findall(text)
    if len(parts) == len(separators) + 1:
        return text
    return stripped


def _crumbs(node: Any) -> list[str]:
    links = [_text(a) for a in node.iter("a")]
    last = [
        _text(n)
        for n in node.xpath(
            './/*[contains(@class, "active") or contains(@class, "breadcrumb_last") or '
            '@aria-current="page"]'
        )
        if n.tag != "a" and not list(n.iter("a"))
    ]
    items = [t for t in links + last[-1:] if t and not _HOME.match(t) and len(t) < 200]
    return items


def _drop_related(heading: Any) -> None:
    """Remove a "Tin liên quan" heading with the list that follows it, or its whole box."""
    box = heading
    parent = heading.getparent()
    while parent is not None and parent.tag not in ("body", "html"):
        siblings_text = len(_text(parent))
        links = sum(len(_text(a)) for a in parent.iter("a"))
        if siblings_text > 0 and links >= 0.5 * (siblings_text - len(_text(heading))):
            box = parent
            if list(parent.iter("ul", "ol")) or len(list(parent.iter("a"))) >= 2:
                break
            parent = parent.getparent()
            continue
        break
    if box is heading:  # no box of its own: drop the links that follow it
        following = heading.getnext()
        while following is not None and _link_run(following):
            after = following.getnext()
            following.drop_tree()
            following = after
    if box.getparent() is not None:
        box.drop_tree()


def _link_run(node: Any) -> bool:
    """Whether a sibling after a "Các tin khác" heading is still part of its list:
    a line break, a link, or a block that is mostly links, with no prose after it."""
    if not isinstance(node.tag, str) or len((node.tail or "").strip()) > 25:
        return False
    if node.tag in ("br", "a"):
        return True
    text = len(_text(node))
    links = sum(len(_text(a)) for a in node.iter("a"))
    return node.tag in ("ul", "ol", "div", "p", "span", "li", "table") and (
        text == 0 or links >= 0.6 * text
    )


def _byline(lines: list[str]) -> str | None:
    """A trailing byline: a short last line naming a person or office, not a sentence."""
    if not lines:
        return None
    last = lines[-1]
    if len(last) > 120 or len(last.split()) > 16:
        return None
    if _BYLINE_PREFIX.match(last):
        return _BYLINE_PREFIX.sub("", last).strip() or None
    if last.endswith((".", "!", "?", ":", ";", ",")) and not re.search(r"\)\.?$", last):
        return None
    words = re.findall(r"\w+", last)
    if not words or sum(1 for w in words if w[0].isupper()) < 0.5 * len(words) and "-" not in last:
        return None
    return last


# -- records -----------------------------------------------------------------------------------


def extract_page(content: bytes, source: str, relative: str) -> PageResult:
    """The article record of one saved page, or the reason it is skipped.

    ``relative`` is the page's path inside what was given (a folder or an
    archive): it is the record's id when the page names no canonical URL.
    """
    result = PageResult(source)
    if len(content) > MAX_PAGE_BYTES:
        result.skipped = f"larger than {MAX_PAGE_BYTES >> 20} MB; not a saved article page"
        return result
    text = unicodedata.normalize("NFC", decode_page(content))  # legacy pages: tones combining
    if not text.strip() or "<" not in text:
        result.skipped = "empty or not HTML"
        return result
    page = _Page(text)
    title = page.title()
    printed, date_node = page.printed_date()
    declared = page.declared_date()
    moment = declared or printed or page.markup_date()
    lines = page.body_lines()
    if title:
        lines = [line for line in lines if _key(line) != _key(title)]
    lines = [
        line
        for line in lines
        if not (_is_date_line(line) or _CRUMB_TEXT.match(line) or _SEE_ALSO.match(line))
    ]
    while lines and _FOOTER_LINE.search(lines[-1]) and len(lines[-1]) < 300:
        lines.pop()  # a footer that came through: copyright, address, licence
    author_line = _byline(lines)
    if author_line is not None:
        lines = lines[:-1]
    body = "\n".join(lines)
    reason = _not_an_article(page, title, body, moment)
    if reason:
        result.skipped = f"not an article ({reason})"
        return result
    url = page.url()
    author = author_line or page.declared_author()
    record: dict[str, Any] = {
        "id": url or relative,
        "title": title,
        "body": body,
        "date": moment.isoformat() if moment else None,
        "category": page.category(title),
        "url": url,
        "author": author,
    }
    result.missing = [name for name in ("title", "date", "author", "category") if not record[name]]
    result.record = {k: v for k, v in record.items() if v}
    return result


def _is_date_line(line: str) -> bool:
    if len(line) > 100 or not _DMY.search(line):
        return False
    rest = _DMY.sub("", line)
    rest = _HM.sub("", _GMT.sub("", _DATE_LABEL.sub("", rest)))
    return len(re.findall(r"\w+", rest)) <= 4


def _headline_links(tree: Any) -> int:
    """Links that stand alone (not inside a sentence) and read like headlines (five words
    or more), outside menus and related-article boxes: what home pages and category
    listings are made of."""
    count = 0
    for link in tree.iter("a"):
        text = _text(link)
        if len(text) < 30 or len(text.split()) < 5:
            continue
        node = link
        while node.getparent() is not None and node.getparent().tag in _INLINE:
            node = node.getparent()
        before = node.getprevious()
        lead = (before.tail if before is not None else node.getparent().text) or ""
        if not _LETTER.search(lead) and not _LETTER.search(node.tail or ""):
            count += 1
    return count


_INLINE = ("span", "strong", "b", "em", "i", "font", "u")
_LETTER = re.compile(r"[^\W\d_]")


def _not_an_article(page: _Page, title: str | None, body: str, moment: datetime | None) -> str:
    """Why the page is a list page (home page, category listing), or "" for an article."""
    declared_article = page.ld_article is not None or page.meta.get("og:type") == "article"
    linked = _headline_links(page.prune(headers=False))
    if not declared_article and linked >= 3:
        return f"a list of {linked} links to articles"
    if len(body) < 80:
        return f"{linked} links to articles, no article text" if linked else "no article text"
    if not declared_article and page.title_node is None and moment is None:
        return "no article title or publication date"
    return ""


# -- files, folders and archives ------------------------------------------------------------------


def is_page_name(name: str) -> bool:
    """Whether a file name is a saved page (.html, .htm...)."""
    return name.lower().endswith(PAGE_SUFFIXES)


def page_files(paths: list[str]) -> Iterator[PageFile | tuple[str, str]]:
    """Every page of ``paths`` (files, folders searched recursively, .zip archives), in
    order; a path that cannot be read gives ``(source, reason)`` instead."""
    for path in paths:
        if os.path.isdir(path):
            found = False
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    full = os.path.join(root, name)
                    if name.lower().endswith(".zip"):
                        found = True
                        yield from _zip_pages(full)
                    elif is_page_name(name):
                        found = True
                        rel = PurePosixPath(Path(os.path.relpath(full, path)).as_posix())
                        yield _read_page(full, str(rel))
            if not found:
                yield (path, "no .html, .htm or .zip file in this folder")
        elif path.lower().endswith(".zip"):
            yield from _zip_pages(path)
        elif not os.path.exists(path):
            yield (path, "cannot open: No such file or directory")
        else:
            yield _read_page(path, Path(path).as_posix())


def _read_page(path: str, relative: str) -> PageFile | tuple[str, str]:
    try:
        with open(path, "rb") as handle:
            return PageFile(path, relative, handle.read(MAX_PAGE_BYTES + 1))
    except OSError as exc:
        return (path, f"cannot open: {exc.strerror}")


def _zip_pages(path: str) -> Iterator[PageFile | tuple[str, str]]:
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        yield (path, f"cannot read the zip archive ({exc})")
        return
    with archive:
        names = sorted(
            i.filename for i in archive.infolist() if not i.is_dir() and is_page_name(i.filename)
        )
        if not names:
            yield (path, "no .html or .htm page in this archive")
        for name in names:
            try:
                with archive.open(name) as member:
                    content = member.read(MAX_PAGE_BYTES + 1)
            except (OSError, zipfile.BadZipFile, RuntimeError) as exc:
                yield (f"{path}!{name}", f"cannot read from the archive ({exc})")
                continue
            yield PageFile(f"{path}!{name}", name, content)


def read_pages(paths: list[str]) -> Iterator[PageResult | tuple[str, str]]:
    """The extraction result of every page of ``paths``; unreadable inputs as
    ``(source, reason)``."""
    for item in page_files(paths):
        if isinstance(item, tuple):
            yield item
        else:
            yield extract_page(item.content, item.source, item.relative)
