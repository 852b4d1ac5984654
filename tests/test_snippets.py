"""Snippets: escaped excerpts with folded matches marked in the original spelling."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from timkiem.analysis import canonical, fold
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


_SYLLABLES = ["an", "ban", "toan", "cong", "doan", "đoàn", "Bắc", "bac", "x_an", "an1", "1an"]


@given(
    words=st.lists(st.sampled_from(_SYLLABLES), max_size=30),
    seps=st.lists(st.sampled_from([" ", ", ", "-", "_", "/", ""]), min_size=30, max_size=30),
    terms=st.sets(st.sampled_from(["an", "ban", "doan", "bac", "1an"]), min_size=1),
)
def test_matches_are_the_whole_syllables_a_lookaround_pattern_finds(
    words: list[str], seps: list[str], terms: set[str]
) -> None:
    text = "".join(w + s for w, s in zip(words, seps))
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    reference = re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])")
    folded = fold(canonical(text))
    expected = [(m.start(), m.end(), m.group()) for m in reference.finditer(folded)]
    assert find_matches(text, frozenset(terms)) == expected
