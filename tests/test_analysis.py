"""The Vietnamese analyzers, as token lists."""

from __future__ import annotations

import unicodedata

import pytest

from conftest import analyze
from timkiem.analysis import (
    accented_analyzer,
    bigram_analyzer,
    canonical_tones,
    fold,
    folded_analyzer,
    has_accents,
)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_accented_keeps_every_syllable() -> None:
    assert analyze(accented_analyzer(), "Y tế MAY mặc") == ["y", "tế", "may", "mặc"]


def test_folded_strips_diacritics_and_d_stroke() -> None:
    assert analyze(folded_analyzer(), "Công đoàn Bắc Kạn, ĐƯỜNG") == [
        "cong",
        "doan",
        "bac",
        "kan",
        "duong",
    ]


@pytest.mark.parametrize("analyzer", [accented_analyzer, folded_analyzer, bigram_analyzer])
def test_nfd_input_gives_the_same_tokens(analyzer) -> None:  # type: ignore[no-untyped-def]
    text = "Thực hiện chỉ thị 05-CT/TW trong các cấp công đoàn, CNVCLĐ tỉnh Bắc Kạn"
    assert analyze(analyzer(), nfd(text)) == analyze(analyzer(), text)
    assert len(analyze(analyzer(), nfd(text))) > 5


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("hoà", "hòa"),
        ("thuỷ", "thủy"),
        ("khoẻ", "khỏe"),
        ("HOÀ BÌNH", "hòa bình"),
        ("Thuý", "thúy"),
    ],
)
def test_old_and_new_tone_placement_index_alike(old: str, new: str) -> None:
    assert analyze(accented_analyzer(), old) == analyze(accented_analyzer(), new)
    assert analyze(accented_analyzer(), nfd(old)) == analyze(accented_analyzer(), new)


def test_tone_placement_left_alone_where_unambiguous() -> None:
    assert canonical_tones("hoàng quý thuyết hoạch") == "hoàng quý thuyết hoạch"


def test_document_codes_split_into_searchable_parts() -> None:
    assert analyze(accented_analyzer(), "05-CT/TW") == ["05", "ct", "tw"]
    assert analyze(bigram_analyzer(), "05-CT/TW") == ["05_ct", "ct_tw"]


def test_bigrams_pair_adjacent_folded_syllables() -> None:
    assert analyze(bigram_analyzer(), "Công đoàn Bắc Kạn") == ["cong_doan", "doan_bac", "bac_kan"]


def test_token_offsets_point_into_nfc_text() -> None:
    text = nfd("Liên đoàn Lao động")
    nfc = unicodedata.normalize("NFC", text)
    tokens = [(t.text, t.startchar, t.endchar) for t in folded_analyzer()(text, chars=True)]
    assert [nfc[s:e] for _, s, e in tokens] == ["Liên", "đoàn", "Lao", "động"]


def test_fold_helpers() -> None:
    assert fold("đường Dương") == "duong Duong"
    assert has_accents("bắc") and not has_accents("bac")


@pytest.mark.parametrize("size", [10, 1000])  # short texts and long ones take two paths
def test_fold_keeps_every_character_in_place(size: int) -> None:
    text = ("Đường Bắc Kạn \ud83d 😀 𝔸 Ωmega ǅ " * size)[: size * 3]
    folded = fold(text)
    assert len(folded) == len(text)
    assert folded == "".join(fold(c) for c in text)
    assert fold("Đường Bắc Kạn " * 100) == "Duong Bac Kan " * 100
