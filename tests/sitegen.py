# ruff: noqa: E501
"""Saved pages of Vietnamese news sites, generated for the tests.

Five layouts in the shape of CMSes that Vietnamese provincial and news sites
run (a labor-union portal, a VnExpress-like newspaper, a provincial government
portal, a WordPress news theme, a Joomla portal). Every page has its menu,
banner or slide show, breadcrumb, date line in that CMS's style, body,
trailing byline, related-article list and footer; each layout also has list
pages (a category listing and the home page) that are not articles.

All text is written here, from templates filled at random (fixed seed), so the
record each article page should give is known: :func:`generate` returns it
with the page. ``python tests/sitegen.py DIR`` writes a site to ``DIR``; ``python
tests/sitegen.py --crawl-site DIR ARTICLES BASE_URL`` writes a :class:`CrawlSite` as files
"""

from __future__ import annotations

import html
import json
import random
import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

VIETNAM = timezone(timedelta(hours=7))
WEEKDAYS = ["Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật"]

PROVINCES = ["Bắc Kạn", "Cao Bằng", "Thái Nguyên", "Lạng Sơn", "Tuyên Quang", "Hà Giang"]
UNITS = [
    "Công đoàn Viên chức tỉnh",
    "Công đoàn ngành Giáo dục",
    "Công đoàn ngành Y tế",
    "Công đoàn các Khu công nghiệp",
    "Liên đoàn Lao động huyện Chợ Đồn",
    "Liên đoàn Lao động thành phố",
    "Công đoàn cơ sở Công ty Cổ phần Khoáng sản",
    "Công đoàn ngành Nông nghiệp và Phát triển nông thôn",
]
EVENTS = [
    ("tổ chức Hội nghị tổng kết công tác công đoàn năm {year}", "hội nghị"),
    ("triển khai Chỉ thị 05-CT/TW trong đoàn viên, người lao động", "chỉ thị"),
    ("trao Mái ấm Công đoàn cho đoàn viên có hoàn cảnh khó khăn", "mái ấm"),
    ("tổ chức Tháng Công nhân năm {year}", "tháng công nhân"),
    ("tập huấn nghiệp vụ cho cán bộ công đoàn cơ sở", "tập huấn"),
    ("thăm, tặng quà công nhân lao động dịp Tết Nguyên đán", "tết"),
    ("phát động thi đua lao động giỏi, lao động sáng tạo", "thi đua"),
    ("đối thoại với người lao động tại doanh nghiệp", "đối thoại"),
    ("tổ chức giải bóng chuyền hơi công nhân viên chức", "thể thao"),
    ("ký kết thỏa ước lao động tập thể", "thỏa ước"),
]
OPENINGS = [
    "Ngày {d}/{m}, {unit} {event}.",
    "Sáng {d}/{m}/{year}, tại thành phố {city}, {unit} đã {event}.",
    "Chiều ngày {d} tháng {m}, {unit} {event} với sự tham dự của {n} đại biểu.",
    "Thực hiện kế hoạch năm {year}, {unit} vừa {event}.",
]
MIDDLES = [
    "Tham dự có đồng chí {person}, {role} Liên đoàn Lao động tỉnh {province}.",
    "Năm qua, các cấp công đoàn đã vận động {n} đoàn viên tham gia phong trào "
    "thi đua, trong đó có {k} sáng kiến được công nhận.",
    "Ban Chấp hành đã chỉ đạo {k} công đoàn cơ sở rà soát danh sách đoàn viên "
    "có hoàn cảnh khó khăn để kịp thời hỗ trợ.",
    "Tổng kinh phí hỗ trợ là {money} triệu đồng, trích từ quỹ Xã hội công đoàn "
    "và nguồn vận động của các doanh nghiệp trên địa bàn.",
    "Nhiều ý kiến phát biểu tập trung vào việc làm, tiền lương, điều kiện làm "
    "việc và bữa ăn ca của người lao động.",
    "Đồng chí {person} ghi nhận những kết quả mà {unit} đạt được, đồng thời đề "
    "nghị tiếp tục đổi mới nội dung, phương thức hoạt động.",
    "Dịp này, {k} tập thể và {n} cá nhân được tặng giấy khen vì có thành tích "
    "xuất sắc trong phong trào công nhân, viên chức, lao động.",
    "Các đại biểu đã thảo luận về công tác phát triển đoàn viên, thành lập công "
    "đoàn cơ sở tại các doanh nghiệp ngoài nhà nước ở {province}.",
    "Theo báo cáo, tỷ lệ đoàn viên được tuyên truyền, phổ biến pháp luật đạt "
    "{pct}%, vượt chỉ tiêu Đại hội đề ra.",
    "Chương trình “Phúc lợi cho đoàn viên” đã mang lại lợi ích thiết thực cho "
    "hơn {n} người lao động tại {k} doanh nghiệp.",
]
CLOSINGS = [
    "Thời gian tới, {unit} sẽ tiếp tục chăm lo đời sống vật chất, tinh thần cho "
    "đoàn viên và người lao động.",
    "Hoạt động góp phần xây dựng tổ chức công đoàn ngày càng vững mạnh, là chỗ "
    "dựa tin cậy của người lao động.",
    "Kết thúc buổi làm việc, các đại biểu thống nhất kiến nghị gửi cấp ủy, chính "
    "quyền địa phương trong tháng {m}.",
]
PEOPLE = [
    "Nguyễn Thị Hồng", "Hoàng Văn Lâm", "Triệu Thị Mai", "Lường Văn Đức",
    "Nông Thanh Hải", "Đặng Thị Thu", "Ma Văn Quyết", "Lý Thị Hằng",
]
ROLES = ["Chủ tịch", "Phó Chủ tịch", "Trưởng ban Tuyên giáo"]
WRITERS = [
    "Minh Thu", "Hoàng Lan", "Thu Trang", "Nông Hà", "Lê Phương", "Bảo Ngọc",
    "Quang Huy", "Đức Thịnh",
]
DEPARTMENTS = [
    "Ban công tác cơ sở Liên đoàn Lao động tỉnh",
    "Ban Tuyên giáo Liên đoàn Lao động tỉnh",
    "Công đoàn ngành Giáo dục",
    "Văn phòng Liên đoàn Lao động tỉnh",
]


@dataclass
class Page:
    """One generated page: where it goes, its HTML and what it should give."""

    layout: str
    kind: str  # "article", "category" or "home"
    path: str  # relative to the site folder
    html: str
    expected: dict[str, Any] | None = None  # the record of an article page
    boilerplate: list[str] = field(default_factory=list)  # text that is not the article


@dataclass
class Story:
    """The article texts of one page."""

    title: str
    lead: str
    paragraphs: list[str]
    when: datetime
    writer: str
    department: str
    slug: str
    number: int


def _slug(text: str) -> str:
    from unidecode import unidecode

    words = "".join(c if c.isalnum() else " " for c in unidecode(text).lower()).split()
    return "-".join(words[:12])


def make_story(rng: random.Random, number: int) -> Story:
    """A made-up labor-union news story with varied text, date and author."""
    year = rng.randint(2017, 2025)
    when = datetime(
        year, rng.randint(1, 12), rng.randint(1, 28), rng.randint(7, 20), rng.choice([0, 15, 30, 45]),
        tzinfo=VIETNAM,
    )
    unit = rng.choice(UNITS)
    event, _ = rng.choice(EVENTS)
    province = rng.choice(PROVINCES)
    fill = {
        "d": when.day,
        "m": when.month,
        "year": year,
        "unit": unit,
        "event": event.format(year=year),
        "city": province,
        "province": province,
        "n": rng.randint(30, 900),
        "k": rng.randint(3, 60),
        "money": rng.randint(20, 950),
        "pct": rng.randint(80, 99),
        "person": rng.choice(PEOPLE),
        "role": rng.choice(ROLES),
    }
    title = f"{unit} {province} {event.format(year=year)}"
    if rng.random() < 0.3:
        title = f"{province}: {unit} {event.format(year=year)}"
    lead = rng.choice(OPENINGS).format(**fill)
    middles = rng.sample(MIDDLES, rng.randint(3, 6))
    paragraphs = [lead] + [m.format(**fill) for m in middles] + [rng.choice(CLOSINGS).format(**fill)]
    # a longer paragraph now and then, as real articles have
    if rng.random() < 0.5:
        paragraphs[1] = paragraphs[1] + " " + rng.choice(MIDDLES).format(**fill)
    return Story(
        title=title[0].upper() + title[1:],
        lead=lead,
        paragraphs=paragraphs,
        when=when,
        writer=rng.choice(WRITERS),
        department=rng.choice(DEPARTMENTS),
        slug=_slug(title),
        number=number,
    )


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def _paras(texts: list[str], attrs: str = "") -> str:
    return "\n".join(f"<p{attrs}>{esc(t)}</p>" for t in texts)


def _related(rng: random.Random, count: int = 5) -> list[str]:
    return [make_story(rng, 0).title for _ in range(count)]


# -- the five layouts -----------------------------------------------------------------------

MENU_ITEMS = ["Trang chủ", "Giới thiệu", "Tin tức - Sự kiện", "Văn bản", "Thư viện ảnh", "Liên hệ"]


class Layout:
    """A CMS layout: article, category and home pages."""

    name = ""
    site = ""
    host = ""
    categories: list[str] = []
    footer = ""
    slides = ["Đại hội Công đoàn tỉnh lần thứ X", "Tháng Công nhân: vì việc làm bền vững"]

    def boilerplate(self, related: list[str]) -> list[str]:
        return [self.footer, *self.slides, *related, "Giới thiệu", "Thư viện ảnh"]

    def url(self, story: Story) -> str:
        return f"https://{self.host}/{_slug(self.categories[0])}/{story.slug}-{story.number}.html"

    def article(self, rng: random.Random, story: Story) -> Page:
        raise NotImplementedError

    def listing(self, rng: random.Random, stories: list[Story], category: str) -> str:
        raise NotImplementedError

    def home(self, rng: random.Random, stories: list[Story]) -> str:
        raise NotImplementedError


class UnionPortal(Layout):
    """An old provincial labor-union portal: no meta tags, the logo is the h1."""

    name = "congdoan"
    site = "Liên đoàn Lao động tỉnh Bắc Kạn"
    host = "congdoanbackan.example"
    categories = ["Hoạt động công đoàn", "Tin tức - Sự kiện", "Chính sách pháp luật"]
    footer = "Bản quyền thuộc Liên đoàn Lao động tỉnh Bắc Kạn. Địa chỉ: Tổ 1, phường Đức Xuân"

    def frame(self, title: str, main: str) -> str:
        menu = "".join(f'<li><a href="/{_slug(m)}">{esc(m)}</a></li>' for m in MENU_ITEMS)
        slides = "".join(
            f'<div class="slide"><img src="/images/s{i}.jpg" alt=""><span>{esc(s)}</span></div>'
            for i, s in enumerate(self.slides)
        )
        return f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{esc(title)}</title>
<link href="/css/style.css" rel="stylesheet" type="text/css"></head>
<body><div id="wrapper">
<div id="header"><h1 class="logo"><a href="/">{esc(self.site)}</a></h1>
<img src="/images/banner.jpg" alt="banner"></div>
<div id="menu"><ul class="menu">{menu}</ul></div>
<div id="slideshow">{slides}</div>
<div id="content">{main}</div>
<div id="right"><div class="box"><h3>Liên kết website</h3><ul>
<li><a href="http://www.congdoan.vn">Tổng Liên đoàn Lao động Việt Nam</a></li></ul></div></div>
<div id="footer"><p>{esc(self.footer)}</p><p>Điện thoại: 0209.3870.123</p></div>
</div></body></html>"""

    def article(self, rng: random.Random, story: Story) -> Page:
        category = rng.choice(self.categories)
        related = _related(rng)
        byline = f"{story.writer}- {story.department}"
        main = f"""<div class="breadcrumb"><a href="/">Trang chủ</a> » <a href="/tin-tuc">Tin tức - Sự kiện</a> » <a href="/{_slug(category)}">{esc(category)}</a></div>
<div class="news-detail"><h2 class="title-news">{esc(story.title)}</h2>
<div class="date-post">Cập nhật lúc {story.when:%H:%M} - {story.when:%d/%m/%Y} (GMT +07:00)</div>
<div class="news-content">
{_paras(story.paragraphs, ' style="text-align: justify;"')}
<p style="text-align: right;"><strong>{esc(byline)}</strong></p>
</div>
<div class="tools"><a href="javascript:window.print()">In bài viết</a> <a href="#">Gửi email</a></div>
<div class="other-news"><h3>Các tin khác</h3><ul>{"".join(f'<li><a href="/tin/{i}">{esc(t)}</a> <span>({rng.randint(1, 28):02d}/0{rng.randint(1, 9)}/2019)</span></li>' for i, t in enumerate(related))}</ul></div>
</div>"""
        path = f"{_slug(category)}/{story.slug}-{story.number}.html"
        page_html = self.frame(f"{story.title} - {self.site}", main)
        return Page(
            self.name,
            "article",
            path,
            page_html,
            {
                "id": path,
                "title": story.title,
                "body": "\n".join(story.paragraphs),
                "date": story.when.isoformat(),
                "category": category,
                "url": None,
                "author": byline,
            },
            self.boilerplate(related),
        )

    def listing(self, rng: random.Random, stories: list[Story], category: str) -> str:
        items = "".join(
            f'<div class="news-item"><a href="/{s.slug}.html"><img src="/t/{s.number}.jpg"></a>'
            f'<h3><a href="/{s.slug}.html">{esc(s.title)}</a></h3>'
            f'<span class="date">Cập nhật lúc {s.when:%H:%M} - {s.when:%d/%m/%Y}</span>'
            f"<p>{esc(s.lead)}</p></div>"
            for s in stories
        )
        main = (
            f'<div class="breadcrumb"><a href="/">Trang chủ</a> » <a href="#">{esc(category)}</a></div>'
            f'<h2 class="title-cat">{esc(category)}</h2>{items}'
            '<div class="paging"><a href="?p=1">1</a> <a href="?p=2">2</a> <a href="?p=3">Sau</a></div>'
        )
        return self.frame(f"{category} - {self.site}", main)

    def home(self, rng: random.Random, stories: list[Story]) -> str:
        blocks = []
        for n, category in enumerate(self.categories):
            part = stories[n * 4 : n * 4 + 4]
            first = part[0]
            blocks.append(
                f'<div class="block"><h3 class="block-title"><a href="/c{n}">{esc(category)}</a></h3>'
                f'<div class="hot"><h4><a href="/{first.slug}.html">{esc(first.title)}</a></h4>'
                f"<p>{esc(first.lead)}</p></div><ul>"
                + "".join(f'<li><a href="/{s.slug}.html">{esc(s.title)}</a></li>' for s in part[1:])
                + "</ul></div>"
            )
        return self.frame(self.site, "".join(blocks))


class NewsPaper(Layout):
    """A VnExpress-like national newspaper: og tags, pubdate meta, sapo, byline in bold."""

    name = "baochi"
    site = "Báo Người Lao Động Miền Núi"
    host = "nldmiennui.example"
    categories = ["Lao động - Việc làm", "Công đoàn", "Thời sự", "Pháp luật"]
    footer = "Tổng biên tập: Trần Văn Bình. Giấy phép số 123/GP-BTTTT. Toà soạn: 12 Lý Thường Kiệt"
    slides = ["Tin nóng", "Đọc nhiều nhất", "Podcasts"]

    def url(self, story: Story) -> str:
        return f"https://{self.host}/{story.slug}-{4000000 + story.number}.html"

    def frame(self, title: str, head: str, main: str) -> str:
        menu = "".join(
            f'<li><a href="/{_slug(c)}" title="{esc(c)}">{esc(c)}</a></li>'
            for c in [*self.categories, "Giải trí", "Thể thao"]
        )
        return f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><title>{esc(title)}</title>
{head}
<script>window.dataLayer = window.dataLayer || []; var article_type = 1;</script></head>
<body>
<header class="header"><a class="logo" href="/" title="{esc(self.site)}"></a>
<nav class="main-nav"><ul class="parent">{menu}</ul></nav>
<div class="banner-top"><a href="https://quangcao.example/"><img src="/qc.gif" alt="Quảng cáo"></a></div>
<div class="top-bar"><span>{esc(self.slides[0])}</span> <span>{esc(self.slides[1])}</span></div></header>
<section class="section page-detail top-detail"><div class="container">{main}</div></section>
<footer class="footer"><div class="footer-content"><p>{esc(self.footer)}</p>
<p>© Copyright 1997 Báo Người Lao Động Miền Núi, All rights reserved</p>
<p>{esc(self.slides[2])}</p></div></footer>
</body></html>"""

    def article(self, rng: random.Random, story: Story) -> Page:
        category = rng.choice(self.categories)
        parent = "Thời sự" if category != "Thời sự" else "Tin tức"
        related = _related(rng, 3)
        url = self.url(story)
        weekday = WEEKDAYS[story.when.weekday()]
        head = (
            f'<meta name="description" content="{esc(story.lead)}">'
            f'<meta property="og:title" content="{esc(story.title)}">'
            f'<meta property="og:url" content="{url}">'
            f'<meta property="og:type" content="article">'
            f'<meta property="og:site_name" content="{esc(self.site)}">'
            f'<meta name="pubdate" itemprop="datePublished" content="{story.when.isoformat()}">'
            f'<link rel="canonical" href="{url}">'
        )
        body = story.paragraphs
        main = f"""<div class="sidebar-1">
<div class="header-content"><ul class="breadcrumb" data-campaign="Header">
<li><a href="/{_slug(parent)}" title="{esc(parent)}">{esc(parent)}</a></li>
<li><a href="/{_slug(category)}" title="{esc(category)}">{esc(category)}</a></li></ul>
<span class="date">{weekday}, {story.when.day}/{story.when.month}/{story.when.year}, {story.when:%H:%M} (GMT+7)</span></div>
<h1 class="title-detail">{esc(story.title)}</h1>
<p class="description">{esc(body[0])}</p>
<article class="fck_detail">
{_paras(body[1:], ' class="Normal"')}
<p class="Normal" style="text-align:right;"><strong>{esc(story.writer)}</strong></p>
</article>
<div class="box-tinlienquanv2"><h3 class="title-box">Tin liên quan</h3>
<ul>{"".join(f'<li><a href="/x-{i}.html" title="{esc(t)}">{esc(t)}</a></li>' for i, t in enumerate(related))}</ul></div>
<div class="footer-content"><div class="social"><a href="#">Chia sẻ</a></div></div>
</div>"""
        return Page(
            self.name,
            "article",
            f"{story.slug}-{4000000 + story.number}.html",
            self.frame(f"{story.title} - {self.site}", head, main),
            {
                "id": url,
                "title": story.title,
                "body": "\n".join(body),
                "date": story.when.isoformat(),
                "category": category,
                "url": url,
                "author": story.writer,
            },
            self.boilerplate(related),
        )

    def listing(self, rng: random.Random, stories: list[Story], category: str) -> str:
        head = (
            f'<meta property="og:title" content="{esc(category)} - {esc(self.site)}">'
            f'<meta property="og:type" content="website">'
            f'<link rel="canonical" href="https://{self.host}/{_slug(category)}">'
        )
        items = "".join(
            f'<article class="item-news item-news-common"><h3 class="title-news">'
            f'<a href="{self.url(s)}" title="{esc(s.title)}">{esc(s.title)}</a></h3>'
            f'<p class="description"><a href="{self.url(s)}">{esc(s.lead)}</a></p></article>'
            for s in stories
        )
        main = (
            f'<ul class="breadcrumb"><li><a href="/{_slug(category)}">{esc(category)}</a></li></ul>'
            f'<h1 class="title-folder">{esc(category)}</h1><div class="list-news-subfolder">{items}</div>'
        )
        return self.frame(f"{category} - {self.site}", head, main)

    def home(self, rng: random.Random, stories: list[Story]) -> str:
        head = (
            f'<meta property="og:title" content="{esc(self.site)} - Tin tức lao động">'
            '<meta property="og:type" content="website">'
            f'<link rel="canonical" href="https://{self.host}/">'
        )
        items = "".join(
            f'<article class="item-news"><h3 class="title-news"><a href="{self.url(s)}">'
            f'{esc(s.title)}</a></h3><p class="description">{esc(s.lead)}</p></article>'
            for s in stories
        )
        return self.frame(f"{self.site} - Tin tức lao động", head, f'<div class="width_common">{items}</div>')


class GovPortal(Layout):
    """A provincial government portal (cổng thông tin điện tử): the site name leads <title>."""

    name = "congthongtin"
    site = "Cổng thông tin điện tử tỉnh Cao Bằng"
    host = "caobang.gov.example"
    categories = ["Tin hoạt động", "Lao động - Thương binh và Xã hội", "Chỉ đạo điều hành"]
    footer = "Cơ quan chủ quản: Ủy ban nhân dân tỉnh Cao Bằng. Chịu trách nhiệm chính: Chánh Văn phòng"
    slides = ["Chuyển đổi số tỉnh Cao Bằng", "Hệ thống thông tin giải quyết thủ tục hành chính"]

    def url(self, story: Story) -> str:
        return f"https://{self.host}/tin-tuc/-/view/{story.number}/{story.slug}"

    def frame(self, title: str, head: str, main: str) -> str:
        links = "".join(
            f'<li class="lfr-nav-item"><a href="/{_slug(m)}"><span>{esc(m)}</span></a></li>'
            for m in ["Trang chủ", "Giới thiệu chung", "Chính quyền", "Công dân", "Doanh nghiệp"]
        )
        slides = "".join(f'<div class="carousel-item"><p>{esc(s)}</p></div>' for s in self.slides)
        return f"""<!DOCTYPE html>
<html class="ltr" dir="ltr" lang="vi-VN"><head><title>{esc(title)}</title>
<meta content="text/html; charset=UTF-8" http-equiv="content-type">{head}</head>
<body class="portal"><div id="wrapper">
<header id="banner" role="banner"><div class="quoc-huy"><img src="/quochuy.png" alt="Quốc huy"></div>
<div class="site-title"><span>{esc(self.site)}</span></div></header>
<nav class="sort-pages modify-pages" id="navigation"><ul aria-label="Site Pages" role="menubar">{links}</ul></nav>
<div class="carousel">{slides}</div>
<div id="content"><div class="portlet-body">{main}</div></div>
<div class="portlet-column"><div class="portlet"><h2 class="portlet-title">Thống kê truy cập</h2><p>Đang truy cập: 125</p></div></div>
<footer id="footer" role="contentinfo"><p>{esc(self.footer)}</p><p>Địa chỉ: số 011 Hoàng Đình Giong</p></footer>
</div></body></html>"""

    def breadcrumb(self, items: list[str]) -> str:
        parts = "".join(
            f'<li class="breadcrumb-truncate"><a href="/{_slug(i)}">{esc(i)}</a></li>' for i in items
        )
        return f'<nav id="breadcrumbs"><ol class="breadcrumb">{parts}</ol></nav>'

    def article(self, rng: random.Random, story: Story) -> Page:
        category = rng.choice(self.categories)
        related = _related(rng, 4)
        url = self.url(story)
        byline = f"{story.writer} (Trung tâm Thông tin tỉnh)"
        head = (
            f'<meta property="og:title" content="{esc(story.title)}">'
            f'<link href="{url}" rel="canonical">'
        )
        main = f"""{self.breadcrumb(["Trang chủ", "Tin tức - Sự kiện", category])}
<div class="journal-content-article"><div class="news-detail">
<div class="news-title">{esc(story.title)}</div>
<div class="news-info"><span class="post-date">Ngày đăng: {story.when:%d/%m/%Y}</span> | <span>Lượt xem: {rng.randint(50, 9000)}</span></div>
<div class="news-sapo"><strong>{esc(story.paragraphs[0])}</strong></div>
<div class="news-body">
{_paras(story.paragraphs[1:])}
<p style="text-align: right;"><em>{esc(byline)}</em></p>
</div>
<div class="tags"><span>Từ khóa:</span> <a href="/tag/cong-doan">công đoàn</a></div>
<div class="related-news"><div class="title">Tin cùng chuyên mục</div><ul>{"".join(f'<li><a href="/r/{i}">{esc(t)}</a></li>' for i, t in enumerate(related))}</ul></div>
</div></div>"""
        return Page(
            self.name,
            "article",
            f"tin-tuc/view/{story.number}/{story.slug}.htm",
            self.frame(f"{self.site} - {story.title}", head, main),
            {
                "id": url,
                "title": story.title,
                "body": "\n".join(story.paragraphs),
                "date": story.when.replace(hour=0, minute=0).isoformat(),
                "category": category,
                "url": url,
                "author": byline,
            },
            self.boilerplate(related) + ["Thống kê truy cập", "Lượt xem", "Từ khóa"],
        )

    def listing(self, rng: random.Random, stories: list[Story], category: str) -> str:
        items = "".join(
            f'<div class="news-item"><div class="news-title"><a href="{self.url(s)}">{esc(s.title)}</a></div>'
            f'<span class="post-date">Ngày đăng: {s.when:%d/%m/%Y}</span>'
            f'<div class="news-sapo">{esc(s.lead)}</div></div>'
            for s in stories
        )
        main = self.breadcrumb(["Trang chủ", "Tin tức - Sự kiện", category]) + items
        return self.frame(f"{self.site} - {category}", "", main)

    def home(self, rng: random.Random, stories: list[Story]) -> str:
        items = "".join(
            f'<div class="news-item"><div class="news-title"><a href="{self.url(s)}">{esc(s.title)}</a></div>'
            f'<div class="news-sapo">{esc(s.lead)}</div></div>'
            for s in stories
        )
        return self.frame(self.site, "", f'<div class="home-news">{items}</div>')


class WordPressNews(Layout):
    """A WordPress news theme with Yoast: meta, JSON-LD and <time>, no visible byline."""

    name = "wordpress"
    site = "Công đoàn Giáo dục Thái Nguyên"
    host = "congdoangiaoduc-tn.example"
    categories = ["Hoạt động công đoàn", "Chăm lo đoàn viên", "Gương điển hình"]
    footer = "Công đoàn Giáo dục Thái Nguyên – Trang thông tin điện tử. Thiết kế bởi WP Việt"
    slides = ["Chào mừng Đại hội Công đoàn Giáo dục", "Nhà giáo tiêu biểu năm học"]

    def url(self, story: Story) -> str:
        return f"https://{self.host}/{story.when:%Y/%m}/{story.slug}/"

    def frame(self, title: str, head: str, body_class: str, main: str) -> str:
        menu = "".join(
            f'<li class="menu-item"><a href="/category/{_slug(c)}/">{esc(c)}</a></li>'
            for c in ["Trang chủ", *self.categories, "Liên hệ"]
        )
        slides = "".join(f'<div class="swiper-slide"><h2>{esc(s)}</h2></div>' for s in self.slides)
        return f"""<!doctype html>
<html lang="vi"><head><meta charset="UTF-8"><title>{esc(title)}</title>{head}
<link rel='stylesheet' id='theme-css' href='/wp-content/themes/newsup/style.css' media='all' /></head>
<body class="{body_class}"><div id="page" class="site">
<header id="masthead" class="site-header"><div class="site-branding"><p class="site-title"><a href="/" rel="home">{esc(self.site)}</a></p>
<p class="site-description">Trang tin của tổ chức công đoàn ngành giáo dục</p></div>
<nav id="site-navigation" class="main-navigation"><ul id="primary-menu" class="menu">{menu}</ul></nav></header>
<div class="swiper-container featured-slider">{slides}</div>
<div id="content" class="site-content"><div id="primary" class="content-area"><main id="main" class="site-main">{main}</main></div>
<aside id="secondary" class="widget-area"><section class="widget widget_recent_entries"><h2 class="widget-title">Bài viết mới</h2><ul><li><a href="/a/">Thông báo lịch nghỉ Tết</a></li></ul></section></aside></div>
<footer id="colophon" class="site-footer"><div class="site-info">{esc(self.footer)}</div></footer>
</div></body></html>"""

    def article(self, rng: random.Random, story: Story) -> Page:
        category = rng.choice(self.categories)
        related = _related(rng, 3)
        url = self.url(story)
        author = f"{story.writer}"
        ld = {
            "@context": "https://schema.org",
            "@graph": [
                {
                    "@type": "Article",
                    "headline": story.title,
                    "datePublished": story.when.isoformat(),
                    "dateModified": (story.when + timedelta(days=2)).isoformat(),
                    "author": {"@type": "Person", "name": author},
                    "articleSection": [category],
                },
                {"@type": "WebSite", "name": self.site, "url": f"https://{self.host}/"},
            ],
        }
        head = (
            f'<link rel="canonical" href="{url}" />'
            f'<meta property="og:locale" content="vi_VN" /><meta property="og:type" content="article" />'
            f'<meta property="og:title" content="{esc(story.title)} - {esc(self.site)}" />'
            f'<meta property="og:url" content="{url}" /><meta property="og:site_name" content="{esc(self.site)}" />'
            f'<meta property="article:published_time" content="{story.when.isoformat()}" />'
            f'<meta property="article:modified_time" content="{(story.when + timedelta(days=2)).isoformat()}" />'
            f'<meta name="author" content="{esc(author)}" />'
            f'<script type="application/ld+json" class="yoast-schema-graph">{json.dumps(ld, ensure_ascii=False)}</script>'
        )
        main = f"""<nav class="yoast-breadcrumbs"><span><span><a href="/">Trang chủ</a></span> » <span><a href="/category/{_slug(category)}/">{esc(category)}</a></span> » <span class="breadcrumb_last" aria-current="page">{esc(story.title)}</span></span></nav>
<article id="post-{story.number}" class="post type-post status-publish format-standard hentry">
<header class="entry-header"><div class="entry-meta"><span class="cat-links"><a href="/category/{_slug(category)}/" rel="category tag">{esc(category)}</a></span></div>
<h1 class="entry-title">{esc(story.title)}</h1>
<div class="entry-meta"><span class="posted-on"><a href="{url}" rel="bookmark"><time class="entry-date published" datetime="{story.when.isoformat()}">{story.when:%d/%m/%Y}</time></a></span>
<span class="byline"> bởi <span class="author vcard"><a class="url fn n" href="/author/admin/">{esc(author)}</a></span></span></div></header>
<div class="entry-content">
{_paras(story.paragraphs)}
<div class="sharedaddy"><h3 class="sd-title">Chia sẻ:</h3><ul><li><a href="#">Facebook</a></li><li><a href="#">Zalo</a></li></ul></div>
<div id="jp-relatedposts" class="jp-relatedposts"><h3 class="jp-relatedposts-headline"><em>Bài viết liên quan</em></h3>
{"".join(f'<div class="jp-relatedposts-post"><h4><a href="/r{i}/">{esc(t)}</a></h4></div>' for i, t in enumerate(related))}</div>
</div>
<footer class="entry-footer"><span class="tags-links">Thẻ: <a href="/tag/cong-doan/" rel="tag">công đoàn</a></span></footer>
</article>
<nav class="navigation post-navigation"><div class="nav-links"><div class="nav-previous"><a href="/p/">Bài trước</a></div></div></nav>"""
        return Page(
            self.name,
            "article",
            f"{story.when:%Y/%m}/{story.slug}/index.html",
            self.frame(f"{story.title} - {self.site}", head, "single single-post", main),
            {
                "id": url,
                "title": story.title,
                "body": "\n".join(story.paragraphs),
                "date": story.when.isoformat(),
                "category": category,
                "url": url,
                "author": author,
            },
            self.boilerplate(related) + ["Bài viết mới", "Chia sẻ:", "Bài trước"],
        )

    def listing(self, rng: random.Random, stories: list[Story], category: str) -> str:
        head = (
            f'<link rel="canonical" href="https://{self.host}/category/{_slug(category)}/" />'
            f'<meta property="og:type" content="website" />'
            f'<meta property="og:title" content="{esc(category)} - {esc(self.site)}" />'
        )
        items = "".join(
            f'<article class="post type-post"><h2 class="entry-title"><a href="{self.url(s)}">{esc(s.title)}</a></h2>'
            f'<div class="entry-meta"><time class="entry-date published" datetime="{s.when.isoformat()}">{s.when:%d/%m/%Y}</time></div>'
            f'<div class="entry-summary"><p>{esc(s.lead)} […]</p></div></article>'
            for s in stories
        )
        main = f'<header class="page-header"><h1 class="page-title">Chuyên mục: <span>{esc(category)}</span></h1></header>{items}'
        return self.frame(f"{category} - {self.site}", head, "archive category", main)

    def home(self, rng: random.Random, stories: list[Story]) -> str:
        head = '<meta property="og:type" content="website" />'
        items = "".join(
            f'<article class="post"><h2 class="entry-title"><a href="{self.url(s)}">{esc(s.title)}</a></h2>'
            f'<div class="entry-summary"><p>{esc(s.lead)}</p></div></article>'
            for s in stories
        )
        return self.frame(f"{self.site} - Trang tin công đoàn", head, "home blog", items)


class JoomlaPortal(Layout):
    """A Joomla portal: title in an h2, "Thứ hai, 13/4/2020 - 15:00", byline in italics."""

    name = "joomla"
    site = "Công đoàn ngành Y tế Lạng Sơn"
    host = "congdoanyte-ls.example"
    categories = ["Tin tức", "Hoạt động công đoàn cơ sở", "Văn bản hướng dẫn"]
    footer = "CÔNG ĐOÀN NGÀNH Y TẾ LẠNG SƠN - Số 2 đường Bà Triệu. Email: congdoanyte@example.vn"
    slides = ["Thầy thuốc Việt Nam 27/2", "Hiến máu tình nguyện"]

    def url(self, story: Story) -> str:
        return f"https://{self.host}/index.php/tin-tuc/{story.number}-{story.slug}"

    def frame(self, title: str, head: str, main: str) -> str:
        menu = "".join(
            f'<li class="item-{i}"><a href="/index.php/{_slug(m)}">{esc(m)}</a></li>'
            for i, m in enumerate(["Trang chủ", *self.categories, "Liên hệ"])
        )
        slides = "".join(f'<li><img src="/images/slide{i}.jpg" alt="{esc(s)}"><p class="caption">{esc(s)}</p></li>' for i, s in enumerate(self.slides))
        return f"""<!DOCTYPE html>
<html lang="vi-vn" dir="ltr"><head><meta charset="utf-8"><base href="https://{self.host}/">
<meta name="generator" content="Joomla! - Open Source Content Management"><title>{esc(title)}</title>{head}</head>
<body class="site com_content">
<div class="header"><div class="logo"><img src="/images/logo.png" alt="{esc(self.site)}"></div></div>
<div class="navigation"><ul class="nav menu mod-list">{menu}</ul></div>
<div class="moduletable slideshow"><ul class="slides">{slides}</ul></div>
<div class="row-fluid"><main id="content" role="main" class="span9">{main}</main>
<div id="aside" class="span3"><div class="moduletable"><h3>Thăm dò ý kiến</h3><p>Bạn biết đến trang qua đâu?</p></div></div></div>
<footer class="footer" role="contentinfo"><p>{esc(self.footer)}</p><p class="pull-right"><a href="#top" id="back-top">Lên đầu trang</a></p></footer>
</body></html>"""

    def breadcrumb(self, items: list[str], last: str | None) -> str:
        parts = '<li class="active"><span class="divider icon-location"></span></li><li>Bạn đang ở: &#160;</li>'
        parts += "".join(f'<li><a href="/{_slug(i)}" class="pathway">{esc(i)}</a><span class="divider"> / </span></li>' for i in items)
        if last:
            parts += f'<li class="active"><span>{esc(last)}</span></li>'
        return f'<div class="moduletable"><ul class="breadcrumb">{parts}</ul></div>'

    def article(self, rng: random.Random, story: Story) -> Page:
        category = rng.choice(self.categories)
        related = _related(rng, 4)
        url = self.url(story)
        weekday = WEEKDAYS[story.when.weekday()]
        utc = story.when.astimezone(UTC)
        head = f'<link href="{url}" rel="canonical">'
        main = f"""{self.breadcrumb(["Trang chủ", category], story.title)}
<div class="item-page" itemscope itemtype="https://schema.org/Article">
<div class="page-header"><h2 itemprop="headline">{esc(story.title)}</h2></div>
<dl class="article-info muted"><dt class="article-info-term">Chi tiết</dt>
<dd class="category-name">Chuyên mục: <a href="/{_slug(category)}" itemprop="genre">{esc(category)}</a></dd>
<dd class="published"><span class="icon-calendar"></span><time datetime="{utc:%Y-%m-%dT%H:%M:%S}+00:00" itemprop="datePublished">{weekday}, {story.when.day}/{story.when.month}/{story.when.year} - {story.when:%H:%M}</time></dd>
<dd class="hits"><meta itemprop="interactionCount" content="UserPageVisits:{rng.randint(10, 999)}">Lượt xem: {rng.randint(10, 999)}</dd></dl>
<div itemprop="articleBody">
{_paras(story.paragraphs)}
<p style="text-align: right;"><strong><em>{esc(story.writer)}</em></strong></p>
</div>
<div class="relateditems"><h3>Bài viết liên quan</h3><ul class="relateditems">{"".join(f'<li><a href="/r{i}">{esc(t)}</a></li>' for i, t in enumerate(related))}</ul></div>
<ul class="pager pagenav"><li class="previous"><a href="/p" rel="prev">Trước</a></li><li class="next"><a href="/n" rel="next">Tiếp theo</a></li></ul>
</div>"""
        return Page(
            self.name,
            "article",
            f"index.php/tin-tuc/{story.number}-{story.slug}.html",
            self.frame(f"{story.title} - {self.site}", head, main),
            {
                "id": url,
                "title": story.title,
                "body": "\n".join(story.paragraphs),
                "date": story.when.isoformat(),
                "category": category,
                "url": url,
                "author": story.writer,
            },
            self.boilerplate(related) + ["Thăm dò ý kiến", "Lên đầu trang", "Lượt xem", "Tiếp theo"],
        )

    def listing(self, rng: random.Random, stories: list[Story], category: str) -> str:
        items = "".join(
            f'<div class="item column-1"><div class="page-header"><h2><a href="{self.url(s)}">{esc(s.title)}</a></h2></div>'
            f'<dl class="article-info"><dd class="published"><time datetime="{s.when.isoformat()}">'
            f"{WEEKDAYS[s.when.weekday()]}, {s.when.day}/{s.when.month}/{s.when.year} - {s.when:%H:%M}</time></dd></dl>"
            f'<p>{esc(s.lead)}</p><p class="readmore"><a class="btn" href="{self.url(s)}">Xem thêm: {esc(s.title)}</a></p></div>'
            for s in stories
        )
        main = f'{self.breadcrumb(["Trang chủ"], category)}<div class="blog"><div class="items-leading">{items}</div>' \
            '<div class="pagination"><p class="counter pull-right">Trang 1 / 5</p></div></div>'
        return self.frame(f"{category} - {self.site}", "", main)

    def home(self, rng: random.Random, stories: list[Story]) -> str:
        return self.listing(rng, stories, "Trang chủ").replace(
            f"<title>Trang chủ - {esc(self.site)}</title>", f"<title>{esc(self.site)}</title>"
        )


class DnnPortal(Layout):
    """A DotNetNuke (ASP.NET) department portal: one <form> around the page, CamelCase ids,
    title in a span, an unlabeled date, a lead in bold and "Các tin đã đưa"."""

    name = "dotnetnuke"
    site = "Sở Lao động - Thương binh và Xã hội tỉnh Tuyên Quang"
    host = "sldtbxh.tuyenquang.example"
    categories = ["Tin hoạt động", "Việc làm", "An toàn lao động"]
    footer = "Bản quyền © Sở Lao động - Thương binh và Xã hội tỉnh Tuyên Quang. Số 5 đường 17/8"
    slides = ["Sàn giao dịch việc làm tháng 4", "Tháng hành động về an toàn, vệ sinh lao động"]

    def url(self, story: Story) -> str:
        return f"https://{self.host}/tin-tuc/tid/{_slug(story.title)[:40]}/newsid/{story.number}/default.aspx"

    def frame(self, title: str, crumbs: list[str], main: str) -> str:
        menu = "".join(
            f'<li class="dnnmega"><a href="/{_slug(m)}.aspx">{esc(m)}</a></li>'
            for m in ["Trang chủ", "Giới thiệu", *self.categories, "Thủ tục hành chính", "Hỏi đáp"]
        )
        links = " › ".join(f'<a href="/{_slug(c)}.aspx" class="Breadcrumb">{esc(c)}</a>' for c in crumbs)
        marquee = " ".join(f"<span>{esc(s)}</span>" for s in self.slides)
        return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" lang="vi-VN"><head id="Head"><meta content="text/html; charset=UTF-8" http-equiv="Content-Type" />
<title>{esc(title)}</title><meta id="MetaDescription" name="DESCRIPTION" content="{esc(self.site)}" /></head>
<body id="Body"><form method="post" action="/default.aspx" id="Form" enctype="multipart/form-data">
<div class="aspNetHidden"><input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="/wEPDwULLTEy" /></div>
<div id="dnn_HeaderPane" class="HeaderPane"><img src="/Portals/0/banner.jpg" alt="{esc(self.site)}" /></div>
<div id="dnn_pnlNav" class="pnlNav"><ul class="topLevel">{menu}</ul></div>
<div id="dnn_MarqueePane" class="MarqueePane"><marquee>{marquee}</marquee></div>
<div id="dnn_BreadcrumbPane"><span id="dnn_dnnBreadcrumb_lblBreadCrumb">{links}</span></div>
<table width="100%"><tr><td id="dnn_ContentPane" class="ContentPane" valign="top">{main}</td>
<td id="dnn_RightPane" class="RightPane" width="250"><div class="Weblink"><span class="Head">Liên kết website</span><select><option>Chính phủ</option></select></div>
<div class="Counter">Số lượt truy cập: 1.234.567</div></td></tr></table>
<div id="dnn_FooterPane" class="FooterPane"><p>{esc(self.footer)}</p><p>Điện thoại: 0207.3822.456</p></div>
</form></body></html>"""

    def article(self, rng: random.Random, story: Story) -> Page:
        category = rng.choice(self.categories)
        related = _related(rng, 5)
        byline = f"{story.writer} - Phòng Lao động, Việc làm"
        path = f"tin-tuc/newsid/{story.number}/default.aspx.html"  # no canonical URL: the id
        main = f"""<div class="DnnModule DnnModule-News"><div id="dnn_ctr412_ContentPane">
<div class="NewsDetail"><span id="dnn_ctr412_ViewNews_lblTitle" class="NewsTitle">{esc(story.title)}</span><br />
<span id="dnn_ctr412_ViewNews_lblDate" class="NewsDate">Ngày {story.when:%d/%m/%Y} - {story.when:%H:%M}</span>
<div class="NewsSummary"><b>{esc(story.paragraphs[0])}</b></div>
<div id="dnn_ctr412_ViewNews_pnlContent" class="NewsContent">
{_paras(story.paragraphs[1:], ' style="text-align: justify;"')}
<p align="right"><b>{esc(byline)}</b></p></div>
<div class="NewsTools"><a href="#">Bản in</a> | <a href="#">Gửi cho bạn bè</a> | <a href="#">Về đầu trang</a></div>
<div class="OtherNews"><div class="OtherNewsHead">Các tin đã đưa</div><ul>{"".join(f'<li><a href="/n/{i}.aspx">{esc(t)}</a> <span class="OtherNewsDate">({rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2019)</span></li>' for i, t in enumerate(related))}</ul></div>
</div></div></div>"""
        return Page(
            self.name,
            "article",
            path,
            self.frame(f"{story.title} > {self.site}", ["Trang chủ", "Tin tức", category], main),
            {
                "id": path,
                "title": story.title,
                "body": "\n".join(story.paragraphs),
                "date": story.when.isoformat(),
                "category": category,
                "url": None,
                "author": byline,
            },
            self.boilerplate(related) + ["Số lượt truy cập", "Bản in", "Liên kết website", "Hỏi đáp"],
        )

    def listing(self, rng: random.Random, stories: list[Story], category: str) -> str:
        items = "".join(
            f'<div class="NewsItem"><a class="NewsItemTitle" href="{self.url(s)}">{esc(s.title)}</a>'
            f'<span class="NewsDate">Ngày {s.when:%d/%m/%Y}</span><div class="NewsItemSummary">{esc(s.lead)}</div></div>'
            for s in stories
        )
        main = f'<div class="DnnModule"><span class="Head">{esc(category)}</span>{items}<div class="Pager">Trang: 1 2 3</div></div>'
        return self.frame(f"{category} > {self.site}", ["Trang chủ", category], main)

    def home(self, rng: random.Random, stories: list[Story]) -> str:
        items = "".join(
            f'<div class="NewsItem"><a class="NewsItemTitle" href="{self.url(s)}">{esc(s.title)}</a>'
            f'<div class="NewsItemSummary">{esc(s.lead)}</div></div>'
            for s in stories
        )
        return self.frame(self.site, ["Trang chủ"], f'<div class="DnnModule">{items}</div>')


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        UnionPortal(), NewsPaper(), GovPortal(), WordPressNews(), JoomlaPortal(), DnnPortal()
    )
}


def generate(per_layout: int = 30, seed: int = 13, layouts: list[str] | None = None) -> list[Page]:
    """``per_layout`` article pages and a few list pages of each layout."""
    rng = random.Random(seed)
    pages: list[Page] = []
    number = 1
    for name in layouts or list(LAYOUTS):
        layout = LAYOUTS[name]
        for _ in range(per_layout):
            story = make_story(rng, number)
            number += 1
            pages.append(layout.article(rng, story))
        for n, category in enumerate(layout.categories):
            stories = [make_story(rng, 9000 + i) for i in range(rng.randint(8, 15))]
            text = layout.listing(rng, stories, category)
            pages.append(Page(name, "category", f"chuyen-muc/{_slug(category)}-{n}.html", text))
        stories = [make_story(rng, 9500 + i) for i in range(16)]
        pages.append(Page(name, "home", "index.html", layout.home(rng, stories)))
    return pages


def write_site(root: Path, pages: list[Page]) -> None:
    """Write each layout's pages under ``root/LAYOUT/`` and the expectations to
    ``root/expected.jsonl`` (one line per page: layout, kind, path, record, boilerplate)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "expected.jsonl", "w", encoding="utf-8") as manifest:
        for page in pages:
            target = root / page.layout / page.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(page.html, encoding="utf-8")
            line = {
                "layout": page.layout,
                "kind": page.kind,
                "path": f"{page.layout}/{page.path}",
                "expected": page.expected,
                "boilerplate": page.boilerplate,
            }
            manifest.write(json.dumps(line, ensure_ascii=False) + "\n")


# -- a whole site, to crawl -------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


class CrawlSite:
    """The labor-union portal as a live site, for :class:`timkiem.testing.SiteServer`.

    Article pages under their category's folder, a paginated listing per
    category (``/chuyen-muc/SLUG.html``, ``SLUG-trang-2.html``...), a home page, a PDF, a
    section robots.txt forbids (``/noi-bo/``), a link to a page that is gone
    (``/tin-da-go.html``) and, with ``sitemap``, a sitemap index of two
    sitemaps with each page's ``lastmod``. Every link leads to a page of the
    site (menus and related lists point home). ``slow`` is the path of an
    article whose first request waits ``slow_first`` seconds.
    """

    BROKEN = "/tin-da-go.html"
    PDF_PATH = "/tai-lieu/ke-hoach-nam.pdf"
    PRIVATE = "/noi-bo/danh-ba-can-bo.html"

    def __init__(
        self,
        articles: int = 30,
        *,
        seed: int = 13,
        sitemap: bool = True,
        per_list: int = 10,
        slow_first: float = 0.0,
    ) -> None:
        rng = random.Random(seed)
        self.layout = UnionPortal()
        self.sitemap = sitemap
        self.per_list = per_list
        self.slow_first = slow_first
        self.articles: dict[str, tuple[Story, Page, float]] = {}
        for number in range(1, articles + 1):
            story = make_story(rng, number)
            page = self.layout.article(rng, story)
            self.articles["/" + page.path] = (story, page, story.when.timestamp())
        paths = list(self.articles)
        self.slow = paths[min(3, len(paths) - 1)]
        self.private = self.layout.article(rng, make_story(rng, articles + 1))

    def revise(self, path: str, sentence: str) -> None:
        """Add ``sentence`` to the article at ``path``, an hour later than it was."""
        story, page, when = self.articles[path]
        last = esc(story.paragraphs[-1])
        changed = page.html.replace(f">{last}</p>", f">{last} {esc(sentence)}</p>", 1)
        assert changed != page.html
        page = Page(page.layout, page.kind, page.path, changed, page.expected)
        self.articles[path] = (story, page, when + 3600)

    def categories(self) -> dict[str, list[str]]:
        """Each category's list page path and the article paths it lists, newest first."""
        found: dict[str, list[str]] = {}
        for path, (_, page, _) in self.articles.items():
            assert page.expected is not None
            found.setdefault(page.expected["category"], []).append(path)
        for paths in found.values():
            paths.sort(key=lambda p: -self.articles[p][0].when.timestamp())
        return found

    def list_pages(self) -> list[str]:
        """The path of every list page (home, each category's pages)."""
        pages = ["/"]
        for category, paths in self.categories().items():
            for number in range(1, len(self._chunks(paths)) + 1):
                pages.append(self._list_path(category, number))
        return pages

    def _chunks(self, paths: list[str]) -> list[list[str]]:
        """``paths`` in list pages of at most ``per_list``, evenly filled (a page listing
        one or two articles would read as an article)."""
        count = -(-len(paths) // self.per_list)
        size = -(-len(paths) // count)
        return [paths[i : i + size] for i in range(0, len(paths), size)]

    def _list_path(self, category: str, number: int) -> str:
        path = f"/chuyen-muc/{_slug(category)}"
        return f"{path}.html" if number == 1 else f"{path}-trang-{number}.html"

    def render(self, base: str) -> dict[str, Any]:
        """Every resource of the site by path: ``timkiem.testing.SitePage`` objects."""
        import re

        from timkiem.testing import SitePage

        # listed under their own paths: the layout links "/SLUG.html"
        stories = {
            path: replace(story, slug=path[1 : -len(".html")])
            for path, (story, _, _) in self.articles.items()
        }
        served: dict[str, SitePage] = {}
        newest = max(when for _, _, when in self.articles.values())
        lists: dict[str, tuple[str, float]] = {}
        categories = self.categories()
        for category, paths in categories.items():
            chunks = self._chunks(paths)
            for number, chunk in enumerate(chunks, 1):
                text = self.layout.listing(random.Random(0), [stories[p] for p in chunk], category)
                pager = " ".join(
                    f'<a href="{self._list_path(category, n)}">{n}</a>'
                    for n in range(1, len(chunks) + 1)
                )
                text = re.sub(
                    r'<div class="paging">.*?</div>', f'<div class="paging">{pager}</div>', text
                )
                modified = max(self.articles[p][2] for p in chunk)
                lists[self._list_path(category, number)] = (text, modified)
        home_stories = [s for s in stories.values()][:16]
        while len(home_stories) < 16:
            home_stories.append(home_stories[-1])
        home = self.layout.home(random.Random(0), home_stories)
        for n, category in enumerate(self.layout.categories):
            target = self._list_path(category, 1) if category in categories else "/"
            home = home.replace(f'href="/c{n}"', f'href="{target}"')
        extra = (
            f'<div class="links"><a href="{self.PDF_PATH}">Kế hoạch năm (PDF)</a> '
            f'<a href="{self.BROKEN}">Tin đã gỡ</a> <a href="{self.PRIVATE}">Danh bạ</a></div>'
        )
        home = home.replace("</body>", extra + "</body>")
        lists["/"] = (home, newest)
        pages = {path: (page.html, when) for path, (_, page, when) in self.articles.items()}
        pages.update(lists)
        keep = set(pages) | {self.BROKEN, self.PDF_PATH, self.PRIVATE}

        def fix(match: re.Match[str]) -> str:
            href = match.group(1)
            return f'<a href="{href if href in keep else "/"}"'

        for path, (text, when) in pages.items():
            text = re.sub(r'<a href="([^"]*)"', fix, text)
            slow = self.slow_first if path == self.slow else 0.0
            served[path] = SitePage(text.encode("utf-8"), modified=when, slow_first=slow)
        served[self.PRIVATE] = SitePage(self.private.html.encode("utf-8"), modified=newest)
        served[self.PDF_PATH] = SitePage(PDF, "application/pdf", modified=newest)
        rules = "User-agent: *\nDisallow: /noi-bo/\n"
        if self.sitemap:
            rules += f"Sitemap: {base}/sitemap.xml\n"
            served.update(self._sitemaps(base, served))
        served["/robots.txt"] = SitePage(rules.encode(), "text/plain", modified=newest)
        return served

    def _sitemaps(self, base: str, served: dict[str, Any]) -> dict[str, Any]:
        from timkiem.testing import SitePage

        def urlset(paths: list[str]) -> bytes:
            rows = "".join(
                f"<url><loc>{esc(base + p)}</loc><lastmod>"
                f"{datetime.fromtimestamp(served[p].modified, UTC).isoformat()}</lastmod></url>"
                for p in paths
            )
            return (
                '<?xml version="1.0" encoding="UTF-8"?>'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}</urlset>'
            ).encode()

        articles = list(self.articles)
        others = [*self.list_pages(), self.PDF_PATH, self.PRIVATE]
        index = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{base}/sitemap-bai-viet.xml</loc></sitemap>"
            f"<sitemap><loc>{base}/sitemap-trang.xml</loc></sitemap></sitemapindex>"
        ).encode()
        kind = "application/xml"
        return {
            "/sitemap.xml": SitePage(index, kind),
            "/sitemap-bai-viet.xml": SitePage(urlset(articles), kind),
            "/sitemap-trang.xml": SitePage(urlset(others), kind),
        }


def write_crawl_site(root: Path, site: CrawlSite, base: str) -> None:
    """Write ``site`` as files a static web server at ``base`` serves (``/`` is
    ``index.html``)."""
    import os

    for path, page in site.render(base).items():
        target = root / (path.lstrip("/") or "index.html")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(page.body)
        os.utime(target, (page.modified, page.modified))


if __name__ == "__main__":
    if sys.argv[1] == "--crawl-site":  # --crawl-site DIR ARTICLES BASE_URL
        write_crawl_site(Path(sys.argv[2]), CrawlSite(int(sys.argv[3])), sys.argv[4].rstrip("/"))
        sys.exit()
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    write_site(Path(sys.argv[1]), generate(count))
