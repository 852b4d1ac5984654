"""Snippets: escaped excerpts with folded matches marked in the original spelling."""

from __future__ import annotations

from timkiem.snippets import SNIPPET_CHARS, find_matches, make_snippet


def test_folded_terms_mark_the_accented_original() -> None:
    text = "Liên đoàn Lao động tỉnh Bắc Kạn; hoà giải tại THUỶ điện"
    assert make_snippet(text, ["doan", "bac", "hoa", "thuy"]) == (
        "Liên <mark>đoàn</mark> Lao động tỉnh <mark>Bắc</mark> Kạn; "
        "<mark>hoà</mark> giải tại <mark>THUỶ</mark> điện"
    )


def test_whole_syllables_only() -> None:
    assert find_matches("Hoàng hoà hoan", frozenset({"hoa"})) == [(6, 9, "hoa")]


def test_the_window_goes_where_most_query_words_are() -> None:
    text = "công " + "chữ " * 100 + "công đoàn Bắc Kạn " + "chữ " * 100
    snippet = make_snippet(text, ["cong", "doan", "bac"])
    assert "<mark>công</mark> <mark>đoàn</mark> <mark>Bắc</mark>" in snippet
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert len(snippet.replace("<mark>", "").replace("</mark>", "")) <= SNIPPET_CHARS + 4


def test_markup_in_the_text_is_escaped() -> None:
    snippet = make_snippet('<script>alert(1)</script> "><img onerror=x> công đoàn', ["cong"])
    assert "<script>" not in snippet and "<img" not in snippet
    assert "&lt;script&gt;" in snippet and "<mark>công</mark>" in snippet


def test_no_match_gives_the_start_of_the_text() -> None:
    text = "Đại hội " * 60
    snippet = make_snippet(text, ["khong"])
    assert snippet.startswith("Đại hội") and snippet.endswith("…") and "<mark>" not in snippet
