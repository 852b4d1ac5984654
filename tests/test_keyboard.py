"""Telex and VNI typed with the Vietnamese keyboard off, read back as syllables."""

from __future__ import annotations

import pytest

from timkiem.keyboard import TELEX, VNI, decode, decode_text

TELEX_WORDS = [
    ("coong", "công"),
    ("ddoanf", "đoàn"),
    ("hoaf", "hoà"),  # new tone placement: on the second vowel of an open "oa"
    ("thuyr", "thuỷ"),
    ("khoer", "khoẻ"),
    ("nguwowif", "người"),  # "uw" + "ow"
    ("nguoiwf", "người"),  # "uo" + "w" at the end: "ươ"
    ("dduwowngf", "đường"),
    ("tieengs", "tiếng"),
    ("vieetj", "việt"),
    ("hoafng", "hoàng"),  # the tone key typed before the final consonant
    ("toanf", "toàn"),  # a closed "oa": the tone on the last vowel either way
    ("quys", "quý"),  # the "u" of "qu" is not a vowel of the group
    ("quaan", "quân"),
    ("gif", "gì"),
    ("giaf", "già"),
    ("muwaf", "mừa"),
    ("bawcs", "bắc"),
    ("kanj", "kạn"),
    ("w", "ư"),
    ("ddi", "đi"),
    ("Coong", "Công"),
    ("chaos", "cháo"),  # a syllable: whether to take it is the caller's judgement
]

NOT_TELEX = ["cong", "hoa", "search", "system", "for", "2025", "xyz", "thanks", "viet-nam", "ô"]

VNI_WORDS = [
    ("co6ng", "công"),
    ("d9oa2n", "đoàn"),
    ("hoa2", "hoà"),
    ("nguo72i", "người"),
    ("d9uo72ng", "đường"),
    ("vie65t", "việt"),
    ("tie61ng", "tiếng"),
    ("Vie65t", "Việt"),
    ("ba81c", "bắc"),
    ("ka5n", "kạn"),
]

NOT_VNI = ["cong", "2025", "g7", "covid19", "u2x", "d9"]


@pytest.mark.parametrize(("typed", "meant"), TELEX_WORDS)
def test_telex_words_decode(typed: str, meant: str) -> None:
    assert decode(typed, TELEX) == meant


@pytest.mark.parametrize(("typed", "meant"), VNI_WORDS)
def test_vni_words_decode(typed: str, meant: str) -> None:
    assert decode(typed, VNI) == meant


@pytest.mark.parametrize("typed", NOT_TELEX)
def test_words_without_telex_keys_or_not_syllables_decode_to_nothing(typed: str) -> None:
    assert decode(typed, TELEX) is None


@pytest.mark.parametrize("typed", NOT_VNI)
def test_words_without_vni_keys_or_not_syllables_decode_to_nothing(typed: str) -> None:
    assert decode(typed, VNI) is None


def test_old_tone_placement_on_request() -> None:
    assert [decode(w, TELEX, old_style=True) for w in ("hoaf", "thuyr", "khoer", "toanf")] == [
        "hòa",
        "thủy",
        "khỏe",
        "toàn",
    ]


def test_stops_take_only_sac_or_nang() -> None:
    assert decode("vieetf", TELEX) is None
    assert decode("vieetj", TELEX) == "việt"


def test_a_text_decodes_word_by_word_keeping_the_rest() -> None:
    assert decode_text("coong ddoanf Bawcs Kanj, 2025", TELEX) == "công đoàn Bắc Kạn, 2025"
    assert decode_text("co6ng d9oa2n", VNI) == "công đoàn"


def test_an_unknown_method_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown input method"):
        decode("coong", "viqr")
