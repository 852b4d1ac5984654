"""Snippets: escaped excerpts with folded matches marked in the original spelling."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from timkiem import snippets
from timkiem.analysis import TOKEN_PATTERN, canonical, fold, folded_syllables
from timkiem.snippets import MAX_STARTS, SNIPPET_CHARS, Span, excerpt, find_matches, make_snippet


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


def test_terms_of_several_syllables_are_marked_whole() -> None:
    assert make_snippet("Ủy ban nhân dân tỉnh, ủy viên", ["uy ban nhan dan", "uy"]) == (
        "<mark>Ủy ban nhân dân</mark> tỉnh, <mark>ủy</mark> viên"
    )


def test_a_shorter_term_is_found_where_a_longer_one_is_not_whole() -> None:
    assert find_matches("an anh", frozenset({"an", "an an"})) == [(0, 2, "an")]


def test_offsets_are_those_of_the_text_when_folding_changes_lengths() -> None:
    def marked(text: str) -> list[str]:
        spans = find_matches(text, frozenset({"uy ban", "nhan dan", "ha"}))
        return [fold(canonical(text[start:end])) for start, end, _ in spans]

    # "İ" lower-cases to two characters
    assert marked("İstanbul: Ủy ban nhân dân") == ["uy ban", "nhan dan"]
    # NFD spells "ủ" in two characters; a syllable ends at a combining mark, as it did
    nfd = unicodedata.normalize("NFD", "Ủy ban, uy ban hà ha")
    assert marked(nfd) == ["uy ban", "ha", "ha"]


def test_control_characters_of_the_text_stay_escaped_around_the_marks() -> None:
    text = "a\0b\1 <công> đoàn"
    assert make_snippet(text, ["cong", "doan"]) == (
        "a\0b\1 &lt;<mark>công</mark>&gt; <mark>đoàn</mark>"
    )


def test_the_fold_table_knows_every_letter_folded_otherwise_in_its_syllable() -> None:
    # over every code point, as this Python's Unicode data has them (a new version may
    # add some): letters and digits whose lower case or NFC depends on their neighbours
    everything = np.arange(0x110000, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    decomposed = unicodedata.normalize("NFD", "\0".join(everything)).split("\0")
    tails = {c for part in decomposed for c in part[1:]}
    expected = {0x130, 0x3A3} | {
        ord(c)
        for run in TOKEN_PATTERN.finditer(everything)
        for c in run.group()
        if c in tails or unicodedata.combining(c) or unicodedata.normalize("NFC", c) != c
    }
    table, _ = snippets._fold_tables()
    assert set(np.flatnonzero(table == 0xFFFF).tolist()) - {0xFFFF} == expected
    beyond = everything[len(table) :]
    assert beyond.lower() == beyond and unicodedata.normalize("NFD", beyond) == beyond


def _reference(text: str, terms: frozenset[str]) -> list[Span]:
    """The plain way: fold each syllable; a term of n words matches n syllables in a
    row that fold to them, with single spaces between; the longest at a start wins,
    none starts inside another, and the snippet's bound on matches applies."""
    syllables = [
        (m.start(), m.end(), fold(canonical(m.group()))) for m in TOKEN_PATTERN.finditer(text)
    ]
    found: list[Span] = []
    for i, (start, _, _) in enumerate(syllables):
        if found and start < found[-1][1]:
            continue
        best: Span | None = None
        for term in terms:
            words = term.split(" ")
            run = syllables[i : i + len(words)]
            if [w for _, _, w in run] == words and all(
                text[a[1] : b[0]] == " " for a, b in zip(run, run[1:])
            ):
                if best is None or run[-1][1] > best[1]:
                    best = (start, run[-1][1], term)
        if best is not None:
            if len(found) >= MAX_STARTS and start > found[MAX_STARTS - 1][0] + SNIPPET_CHARS:
                break
            found.append(best)
    return found


# accents, old and new tone placement, "đ", case, digits, a syllable that is a prefix
# of another, and a few letters folded syllable by syllable ("İ", "Σ", a Hangul jamo)
_WORDS = (
    "công đoàn Đoàn ĐOÀN doan hoà hòa HOÀ thuỷ thủy Uỷ ủy ban Ban nhân dân an anh "
    "Bắc bac Kạn 12 2024 a Á ha hà quý qúy İstanbul ΟΔΟΣ 가 ᄀ"
).split()
_SEPARATORS = [" ", " ", " ", ", ", ". ", "-", "_", "/", "\n", "  ", "", "…", "("]
_FOLDED = sorted({s for w in _WORDS for s in folded_syllables(w)})  # terms as queries give
_TERM = st.one_of(
    st.sampled_from(_FOLDED),
    st.lists(st.sampled_from(_FOLDED), min_size=2, max_size=4).map(" ".join),
    st.sampled_from(["uy ban", "uy ban nhan dan", "cong doan", "an an", "ha ha", "bac kan"]),
)


def test_a_term_found_very_often_inside_another_does_not_hide_its_own_matches() -> None:
    # each block: one match of the long term, then one of "an" of its own; "an" is
    # found 11 times a block, so its first matches sought end long before the snippet's
    # MAX_STARTS matches do
    text = ("an " * 10 + "x an x ") * 300
    terms = frozenset({"an", " ".join(["an"] * 10)})
    assert find_matches(text, terms) == _reference(text, terms)
    assert len(find_matches(text, terms)) > MAX_STARTS


def test_a_term_may_overlap_itself() -> None:
    snippets._PATTERNS.clear()
    for times in (1, 10):  # sought with str.find, then with a compiled pattern
        text = "x ha ha ha " * times
        terms = frozenset({"x ha", "ha ha"})
        assert find_matches(text, terms)[:2] == [(0, 4, "x ha"), (5, 10, "ha ha")]
        assert find_matches(text, terms) == _reference(text, terms)


def test_letters_folded_otherwise_in_context_are_folded_syllable_by_syllable() -> None:
    # the index lower-cases "ΟΔΟΣ" alone (a final "ς"), and "İ" to "i" and a combining
    # dot ("i̇stanbul" is one term of the index, neither "istanbul" nor "stanbul")
    text = "ΟΔΟΣ.Α İstanbul uy-ban, uy ban"
    terms = frozenset({"οδος", "istanbul", "stanbul", "uy ban"})
    assert find_matches(text, terms) == [(0, 4, "οδος"), (24, 30, "uy ban")]


@settings(max_examples=150, deadline=None)
@given(
    words=st.lists(st.sampled_from(_WORDS), min_size=1, max_size=40),
    seps=st.lists(st.sampled_from(_SEPARATORS), min_size=40, max_size=40),
    repeat=st.sampled_from([1, 1, 2, 30, 120]),
    form=st.sampled_from(["as is", "NFD", "upper"]),
    terms=st.sets(_TERM, min_size=1, max_size=6),
)
def test_matches_and_snippets_are_those_of_folding_every_syllable(
    words: list[str], seps: list[str], repeat: int, form: str, terms: set[str]
) -> None:
    text = "".join(w + s for w, s in zip(words, seps)) * repeat
    text = {"as is": text, "NFD": unicodedata.normalize("NFD", text), "upper": text.upper()}[form]
    snippets._PATTERNS.clear()  # terms found often are compiled, the others are not
    expected = _reference(text, frozenset(terms))
    assert find_matches(text, frozenset(terms)) == expected
    assert make_snippet(text, terms) == excerpt(text, expected)
