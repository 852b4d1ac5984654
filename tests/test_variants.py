"""Spelling variants: i/y, place names and document codes find each other."""

from __future__ import annotations

import unicodedata

import pytest

from conftest import FILLER, Engines, analyze, index_records, ranked_ids
from timkiem.analysis import bigram_analyzer, folded_analyzer
from timkiem.query import Word
from timkiem.search import SearchEngine
from timkiem.variants import glued_code, iy_variant, split_code

RECORDS = [
    {"id": "ky-y", "title": "Kỹ thuật nuôi cá lồng", "body": FILLER},
    {"id": "ky-i", "title": "Kĩ thuật trồng lúa", "body": FILLER},
    {"id": "ly-y", "title": "Lý do nghỉ học", "body": FILLER},
    {"id": "ly-i", "title": "Lí do xin nghỉ", "body": FILLER},
    {"id": "hy", "title": "Hy sinh anh dũng", "body": FILLER},
    {"id": "quy-i", "title": "Quí vị đại biểu", "body": FILLER},
    {"id": "yte", "title": "Y tế cơ sở", "body": FILLER},
    {"id": "ct-dash", "title": "Chỉ thị 05-CT/TW về học tập", "body": FILLER},
    {"id": "ct-slash", "title": "Thực hiện Chỉ thị số 05/CT-TW", "body": FILLER},
    {"id": "ct-glued", "title": "Quán triệt Chỉ thị 05CT/TW", "body": FILLER},
    {"id": "ct-other", "title": "Chỉ thị 06-CT/TW", "body": FILLER},
    {"id": "daklak", "title": "Mưa lớn ở Đắc Lắc", "body": FILLER},
    {"id": "li-other", "title": "Lì xì đầu năm", "body": FILLER},
]


@pytest.mark.parametrize(
    ("syllable", "other"),
    [
        ("kỹ", "kĩ"),
        ("kĩ", "kỹ"),
        ("lý", "lí"),
        ("mỹ", "mĩ"),
        ("hy", "hi"),
        ("tỷ", "tỉ"),
        ("sĩ", "sỹ"),
        ("quý", "quí"),
        ("qui", "quy"),
        ("ky", "ki"),
    ],
)
def test_a_lone_i_or_y_after_a_consonant_swaps(syllable: str, other: str) -> None:
    assert iy_variant(syllable) == other


@pytest.mark.parametrize(
    "syllable",
    ["y", "ý", "yêu", "máy", "thủy", "tuyên", "kinh", "lịch", "gì", "vy", "thy", "khi", "mai"],
)
def test_i_and_y_elsewhere_stay_as_written(syllable: str) -> None:
    assert iy_variant(syllable) is None


def test_codes_split_and_glue() -> None:
    assert split_code("05ct") == ("05", "ct")
    assert split_code("ct05") is None and split_code("05") is None
    assert glued_code(Word("05", "05"), Word("ct", "ct")) == "05ct"
    assert glued_code(Word("ct", "ct"), Word("tw", "tw")) is None


@pytest.mark.parametrize("code", ["05-CT/TW", "05/CT-TW", "05 CT/TW", "05-CT-TW", "05 - CT / TW"])
def test_every_writing_of_a_code_gives_the_same_tokens(code: str) -> None:
    nfd = unicodedata.normalize("NFD", f"Chỉ thị {code} đã")
    assert analyze(folded_analyzer(), nfd) == ["chi", "thi", "05", "ct", "tw", "da"]
    assert analyze(bigram_analyzer(), nfd) == ["chi_thi", "thi_05", "05_ct", "ct_tw", "tw_da"]


def test_a_code_glued_to_its_number_is_one_token() -> None:
    assert analyze(folded_analyzer(), "05CT/TW") == ["05ct", "tw"]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, module_engines: Engines) -> SearchEngine:
    folder = tmp_path_factory.mktemp("variants")
    return module_engines.open(index_records(folder, RECORDS, cache_size=0))


@pytest.mark.parametrize(
    ("q", "first", "also"),
    [
        ("kỹ thuật", "ky-y", "ky-i"),
        ("kĩ thuật", "ky-i", "ky-y"),
        ("ky thuat", "ky-y", "ky-i"),
        ("lí do", "ly-i", "ly-y"),
        ("lý do", "ly-y", "ly-i"),
    ],
)
def test_both_spellings_are_found_the_typed_one_first(
    engine: SearchEngine, q: str, first: str, also: str
) -> None:
    found = ranked_ids(engine, q)
    assert found[0] == first
    assert also in found[:2]


def test_the_variant_of_a_word_typed_with_accents_keeps_its_accents(
    engine: SearchEngine,
) -> None:
    assert set(ranked_ids(engine, "lý")) == {"ly-y", "ly-i"}  # "lí", never "lì"
    assert "li-other" in ranked_ids(engine, "ly")  # typed without accents: every li


def test_i_y_variants_of_single_words(engine: SearchEngine) -> None:
    assert "hy" in ranked_ids(engine, "hi sinh")
    assert "quy-i" in ranked_ids(engine, "quý vị")
    assert ranked_ids(engine, "i") == []  # "y" starting a syllable never swaps
    assert ranked_ids(engine, "y") == ["yte"]


def test_every_writing_of_a_code_finds_the_others(engine: SearchEngine) -> None:
    for q in ("05-CT/TW", "05/CT-TW", "05 CT/TW", "05-CT-TW", "05CT/TW"):
        found = ranked_ids(engine, q)
        assert {"ct-dash", "ct-slash", "ct-glued"} <= set(found[:3]), q
        assert found.index("ct-other") > 2, q
    assert set(ranked_ids(engine, '"05-CT/TW"')) == {"ct-dash", "ct-slash"}  # quoted: as typed


def test_built_in_place_name_variants(engine: SearchEngine) -> None:
    assert "daklak" in ranked_ids(engine, "Đắk Lắk")
    assert "daklak" in ranked_ids(engine, "dak lak")


def test_only_code_like_letters_glue_or_split() -> None:
    assert split_code("200mg") == ("200", "mg")
    assert split_code("1thang") is None
    assert glued_code(Word("1", "1"), Word("tuan", "tuan")) is None
    assert glued_code(Word("100", "100"), Word("nđ", "nd")) == "100nđ"
