"""Saved pages written by hand in shapes the generator does not make: an old table
layout with "Tin tức :: TITLE :: Site", a text breadcrumb, a <br>-separated body and
related list and a "Theo Báo ..." credit; its category page; a page with a figure
caption and a "Xem thêm:" line. They were written after the extraction's rules, to
check them on pages those rules were not tuned on (three fixes followed)."""

from __future__ import annotations

from timkiem.pages import extract_page

# ruff: noqa: E501

OLD_TABLE_ARTICLE = """<html><head><meta charset="utf-8"><title>Tin tức - Sự kiện :: Hội thi an toàn vệ sinh viên giỏi năm 2024 :: LĐLĐ tỉnh Hà Giang</title></head>
<body><table width="980"><tr><td colspan="2"><img src="banner.jpg"></td></tr>
<tr><td width="200" valign="top"><a href="/">Trang chủ</a><br><a href="/gt">Giới thiệu</a><br><a href="/tt">Tin tức - Sự kiện</a><br><a href="/vb">Văn bản</a></td>
<td valign="top">
<div class="path">Trang chủ &gt; Tin tức - Sự kiện</div>
<div class="tieude">Hội thi an toàn vệ sinh viên giỏi năm 2024</div>
<div class="ngay">15:30 | 02/05/2024</div>
<div class="noidung">Sáng 2/5, Liên đoàn Lao động tỉnh phối hợp với Sở Lao động tổ chức Hội thi an toàn vệ sinh viên giỏi năm 2024 với 12 đội thi đến từ các doanh nghiệp.<br><br>Các đội thi phần chào hỏi, kiến thức và xử lý tình huống về phòng chống cháy nổ, sơ cứu người bị tai nạn lao động.<br><br>Kết quả, Ban tổ chức trao 1 giải nhất, 2 giải nhì, 3 giải ba và 6 giải khuyến khích.<br><br><div align="right"><b>Theo Báo Hà Giang</b></div></div>
<b>Các tin khác:</b><br><a href="/t1">Công đoàn ngành Y tế tổ chức hội nghị cán bộ công chức năm 2024</a><br><a href="/t2">Liên đoàn Lao động huyện Vị Xuyên thăm công nhân lao động</a><br><a href="/t3">Hội nghị Ban Chấp hành Liên đoàn Lao động tỉnh lần thứ 12</a>
</td></tr><tr><td colspan="2" align="center">Bản quyền © Liên đoàn Lao động tỉnh Hà Giang - Đường Nguyễn Trãi, TP Hà Giang</td></tr></table></body></html>
"""

OLD_TABLE_LIST = """<html><head><meta charset="utf-8"><title>Tin tức - Sự kiện :: LĐLĐ tỉnh Hà Giang</title></head>
<body><table width="980"><tr><td colspan="2"><img src="banner.jpg"></td></tr>
<tr><td width="200" valign="top"><a href="/">Trang chủ</a><br><a href="/gt">Giới thiệu</a><br><a href="/tt">Tin tức - Sự kiện</a></td>
<td valign="top"><div class="path">Trang chủ &gt; Tin tức - Sự kiện</div>
<table><tr><td><img src="a.jpg"></td><td><a href="/a1" class="tieude">Hội thi an toàn vệ sinh viên giỏi năm 2024</a> (02/05/2024)<br>Sáng 2/5, Liên đoàn Lao động tỉnh phối hợp với Sở Lao động tổ chức Hội thi...</td></tr>
<tr><td><img src="b.jpg"></td><td><a href="/a2" class="tieude">Công đoàn ngành Y tế tổ chức hội nghị cán bộ công chức năm 2024</a> (28/04/2024)<br>Chiều 28/4, Công đoàn ngành Y tế tổ chức hội nghị cán bộ công chức...</td></tr>
<tr><td><img src="c.jpg"></td><td><a href="/a3" class="tieude">Liên đoàn Lao động huyện Vị Xuyên thăm công nhân lao động</a> (20/04/2024)<br>Nhân dịp Tháng Công nhân, Liên đoàn Lao động huyện Vị Xuyên đã đến thăm...</td></tr>
<tr><td><img src="d.jpg"></td><td><a href="/a4" class="tieude">Hội nghị Ban Chấp hành Liên đoàn Lao động tỉnh lần thứ 12</a> (15/04/2024)<br>Ngày 15/4, Ban Chấp hành Liên đoàn Lao động tỉnh họp hội nghị lần thứ 12...</td></tr>
</table></td></tr><tr><td colspan="2" align="center">Bản quyền © Liên đoàn Lao động tỉnh Hà Giang</td></tr></table></body></html>
"""

NEWS_WITH_FIGURE = """<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">
<title>Người lao động được hỗ trợ tiền thuê nhà từ tháng 4 | Báo Công Thương Miền Núi</title>
<meta property="og:type" content="article"><meta property="og:title" content="Người lao động được hỗ trợ tiền thuê nhà từ tháng 4">
<meta property="og:url" content="https://ctmn.example/nguoi-lao-dong-ho-tro-tien-thue-nha-123.html"></head>
<body><header><nav><a href="/">Trang chủ</a> <a href="/kt">Kinh tế</a> <a href="/xh">Xã hội</a></nav></header>
<main><div class="bread"><a href="/">Trang chủ</a> › <a href="/xh">Xã hội</a> › <a href="/ld">Lao động</a></div>
<h1>Người lao động được hỗ trợ tiền thuê nhà từ tháng 4</h1>
<div class="meta"><span>Thứ Năm, 02/05/2024 | 15:30</span> <span>Lượt xem: 1.203</span></div>
<div class="detail">
<p><b>Người lao động đang thuê trọ, làm việc trong doanh nghiệp tại khu công nghiệp được hỗ trợ 500.000 đồng mỗi tháng, tối đa ba tháng.</b></p>
<figure><img src="x.jpg"><figcaption>Công nhân tan ca tại khu công nghiệp. Ảnh: Hồng Nhung</figcaption></figure>
<p>Theo quyết định của Ủy ban nhân dân tỉnh, người lao động cần có hợp đồng lao động từ một tháng trở lên và đang thuê nhà ở.</p>
<p>Xem thêm: <a href="/x">Thủ tục nhận hỗ trợ tiền thuê nhà cho người lao động</a></p>
<p>Doanh nghiệp lập danh sách gửi cơ quan bảo hiểm xã hội trước ngày 15 hằng tháng để được xác nhận.</p>
<p style="text-align:right"><strong>Hồng Nhung</strong></p>
</div>
<section class="box-news"><h3>Tin cùng chuyên mục</h3><ul><li><a href="/1">Tăng lương tối thiểu vùng từ ngày 1/7/2024 đối với người lao động</a></li><li><a href="/2">Hơn 2.000 việc làm tại sàn giao dịch việc làm tháng 5</a></li></ul></section>
</main><footer>Báo Công Thương Miền Núi. Giấy phép số 12/GP-BTTTT</footer></body></html>
"""


def test_an_old_table_layout_article() -> None:
    result = extract_page(OLD_TABLE_ARTICLE.encode(), "p1.html", "tin/p1.html")
    assert result.record == {
        "id": "tin/p1.html",
        "title": "Hội thi an toàn vệ sinh viên giỏi năm 2024",
        "body": "Sáng 2/5, Liên đoàn Lao động tỉnh phối hợp với Sở Lao động tổ chức Hội thi an "
        "toàn vệ sinh viên giỏi năm 2024 với 12 đội thi đến từ các doanh nghiệp.\n"
        "Các đội thi phần chào hỏi, kiến thức và xử lý tình huống về phòng chống cháy nổ, "
        "sơ cứu người bị tai nạn lao động.\n"
        "Kết quả, Ban tổ chức trao 1 giải nhất, 2 giải nhì, 3 giải ba và 6 giải khuyến khích.",
        "date": "2024-05-02T15:30:00+07:00",
        "category": "Tin tức - Sự kiện",
        "author": "Báo Hà Giang",
    }


def test_its_category_page_is_skipped() -> None:
    result = extract_page(OLD_TABLE_LIST.encode(), "p2.html", "p2.html")
    assert result.skipped == "not an article (a list of 4 links to articles)"


def test_a_news_page_with_a_figure_and_see_also() -> None:
    result = extract_page(NEWS_WITH_FIGURE.encode(), "p3.html", "p3.html")
    assert result.record is not None
    record = result.record
    assert record["title"] == "Người lao động được hỗ trợ tiền thuê nhà từ tháng 4"
    assert record["date"] == "2024-05-02T15:30:00+07:00"
    assert (record["category"], record["author"]) == ("Lao động", "Hồng Nhung")
    assert record["id"] == record["url"] == "https://ctmn.example/nguoi-lao-dong-ho-tro-tien-thue-nha-123.html"
    lines = record["body"].split("\n")
    assert len(lines) == 3
    assert lines[0].startswith("Người lao động đang thuê trọ")
    assert not any(x in record["body"] for x in ("Ảnh:", "Xem thêm", "Tin cùng chuyên mục", "Giấy phép"))
