"""Synonyms: the built-in abbreviations, the staff file, and how a query uses them."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conftest import FILLER, analyze, index_records, make_settings, ranked_ids, write_jsonl
from timkiem.analysis import accented_analyzer, bigram_analyzer, folded_analyzer
from timkiem.cli import cli
from timkiem.errors import ConfigError
from timkiem.indexer import Indexer
from timkiem.query import parse_query
from timkiem.search import SearchEngine, SearchRequest
from timkiem.synonyms import ABBREVIATIONS, load_synonyms, make_form, parse_groups

RECORDS = [
    {"id": "typed", "title": "UBND tỉnh Bắc Kạn họp phiên thường kỳ", "body": FILLER},
    {"id": "long", "title": "Ủy ban nhân dân tỉnh Bắc Cạn ban hành kế hoạch", "body": FILLER},
    # every syllable of "ủy ban nhân dân", never two of them adjacent
    {"id": "scattered", "title": "Ban chỉ đạo ủy quyền cho nhân viên tổ dân phòng", "body": FILLER},
    {"id": "hcm-dot", "title": "TP.HCM mưa lớn chiều qua", "body": FILLER},
    {"id": "hcm-long", "title": "Thành phố Hồ Chí Minh mưa lớn chiều qua", "body": FILLER},
    {"id": "hcm-glued", "title": "Mưa lớn ở TPHCM", "body": FILLER},
    {"id": "hlv", "title": "Huấn luyện viên đội tuyển công bố danh sách", "body": FILLER},
    {"id": "ldld", "title": "LĐLĐ tỉnh tổ chức giải bóng đá", "body": FILLER},
    # as in real text, "ban", "nhân" and "dân" are common syllables
    *(
        {"id": f"common-{n}", "title": f"Nhân dân xã {n} góp ý", "body": "Ban công tác mặt trận."}
        for n in range(6)
    ),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synonyms")
    index_records(folder, RECORDS)
    return folder


@pytest.fixture
def engine(corpus: Path) -> Iterator[SearchEngine]:
    found = SearchEngine(make_settings(corpus / "index", cache_size=0))
    yield found
    found.close()


# -- the list and the file ------------------------------------------------------


@pytest.mark.parametrize("text", ["TP.HCM", "TP HCM", "TP. HCM", "tp-hcm"])
def test_the_analyzer_splits_abbreviations_at_punctuation(text: str) -> None:
    nfd = unicodedata.normalize("NFD", f"{text} và HĐND")
    assert analyze(folded_analyzer(), nfd) == ["tp", "hcm", "va", "hdnd"]
    assert analyze(accented_analyzer(), nfd) == ["tp", "hcm", "và", "hđnd"]
    assert analyze(bigram_analyzer(), nfd) == ["tp_hcm", "hcm_va", "va_hdnd"]
    assert analyze(folded_analyzer(), "TPHCM") == ["tphcm"]  # one syllable: a form of its own


def test_forms_are_their_syllables_whatever_the_punctuation() -> None:
    assert make_form("TP.HCM") == make_form("tp hcm") == make_form("TP. HCM")
    assert make_form("HĐND").folded == ("hdnd",)
    assert make_form("Ủy ban nhân dân").accented == ("ủy", "ban", "nhân", "dân")
    assert make_form("Uỷ ban").accented == ("ủy", "ban")  # old tone placement


def test_the_built_in_list_parses_and_is_of_a_useful_size() -> None:
    groups = parse_groups(ABBREVIATIONS, "built-in")
    assert 60 <= len(groups) <= 150
    spelled = {form.folded for group in groups for form in group}
    for abbreviation in ("ubnd", "hdnd", "bhxh", "csgt", "thpt", "dbscl", "cnvcld", "ldld"):
        assert (abbreviation,) in spelled


def test_a_group_maps_each_form_to_the_others() -> None:
    table = load_synonyms(None, ["UBND = Ủy ban nhân dân = UB nhân dân"])
    length, others = table.forms_at(parse_query("ubnd tinh").words, 0)
    assert length == 1
    assert [o.accented for o in others] == [("ủy", "ban", "nhân", "dân"), ("ub", "nhân", "dân")]
    length, others = table.forms_at(parse_query("tỉnh Ủy ban nhân dân").words, 1)
    assert length == 4 and ("ubnd",) in [o.folded for o in others]
    assert table.forms_at(parse_query("tỉnh").words, 0) == (0, [])


def test_typed_with_accents_a_form_must_have_its_accents() -> None:
    table = load_synonyms(None, ["Bắc Kạn = Bắc Cạn"])
    assert table.forms_at(parse_query("bac kan").words, 0)[0] == 2
    assert table.forms_at(parse_query("Bắc Kạn").words, 0)[0] == 2
    assert table.forms_at(parse_query("bác kạn").words, 0)[0] == 0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("UBND Ủy ban nhân dân", "has no '='"),
        ("UBND = ", "an empty form"),
        ("= Ủy ban", "an empty form"),
        ("UBND = ubnd", "names one form only"),
        ("A = " + "một " * 13, "a form has at most 12"),
    ],
)
def test_a_bad_line_names_the_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "synonyms.txt"
    path.write_text(f"# staff list\nHLV = huấn luyện viên\n\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_synonyms(str(path))
    assert str(caught.value).startswith(f"{path}:4: ")
    assert message in str(caught.value)


def test_an_unreadable_or_non_utf8_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the synonyms file"):
        load_synonyms(str(tmp_path / "missing.txt"))
    path = tmp_path / "latin1.txt"
    path.write_bytes("HLV = huấn luyện viên\n".encode("cp1258", errors="replace") + b"\xff\n")
    with pytest.raises(ConfigError, match=f"{path}: not UTF-8"):
        load_synonyms(str(path))


def test_comments_blank_lines_and_a_bom_are_allowed(tmp_path: Path) -> None:
    path = tmp_path / "synonyms.txt"
    path.write_text("\ufeff# comment\n\nHLV = huấn luyện viên  # trailing\n", encoding="utf-8")
    table = load_synonyms(str(path))
    assert len(table.groups) == 1 and table.source == str(path)


# -- searching ------------------------------------------------------------------


def test_an_abbreviation_finds_its_long_form_and_ranks_the_typed_form_first(
    engine: SearchEngine,
) -> None:
    for q in ("UBND", "ubnd"):
        found = ranked_ids(engine, q)
        assert found[:2] == ["typed", "long"], q
        assert "scattered" not in found  # the long form matches as a phrase


def test_the_long_form_finds_the_abbreviation(engine: SearchEngine) -> None:
    found = ranked_ids(engine, "Ủy ban nhân dân")
    assert found[0] == "long"
    assert "typed" in found
    assert found.index("typed") < found.index("scattered")
    assert "typed" in ranked_ids(engine, "uy ban nhan dan")


def test_every_spelling_of_ho_chi_minh_city_finds_the_others(engine: SearchEngine) -> None:
    for q in ("TP.HCM", "TP HCM", "TPHCM", "tphcm", "Thành phố Hồ Chí Minh"):
        assert {"hcm-dot", "hcm-long", "hcm-glued"} <= set(ranked_ids(engine, q)), q


def test_a_quoted_abbreviation_is_searched_as_typed(engine: SearchEngine) -> None:
    assert ranked_ids(engine, '"UBND"') == ["typed"]


def test_place_name_variants_find_each_other(engine: SearchEngine) -> None:
    for q in ("Bắc Kạn", "Bắc Cạn", "bac can", "bac kan"):
        found = ranked_ids(engine, q)
        assert {"typed", "long"} <= set(found[:2]), q
    assert ranked_ids(engine, "Bắc Cạn")[0] == "long"  # the spelling typed ranks first
    assert ranked_ids(engine, "Bắc Kạn")[0] == "typed"


def test_the_staff_file_adds_groups(corpus: Path, tmp_path: Path) -> None:
    path = tmp_path / "synonyms.txt"
    path.write_text("HLV = huấn luyện viên\n", encoding="utf-8")
    with_file = SearchEngine(make_settings(corpus / "index", synonyms_file=str(path)))
    without = SearchEngine(make_settings(corpus / "index"))
    try:
        assert ranked_ids(with_file, "HLV") == ["hlv"]
        assert ranked_ids(without, "HLV") == []
        assert ranked_ids(with_file, "LĐLĐ") == ["ldld"]  # the built-in list still applies
    finally:
        with_file.close()
        without.close()


def test_the_file_is_read_again_when_a_reindex_switches_generations(tmp_path: Path) -> None:
    path = tmp_path / "synonyms.txt"
    path.write_text("HLV = huấn luyện viên\n", encoding="utf-8")
    settings = make_settings(tmp_path / "index", synonyms_file=str(path), cache_size=0)
    source = write_jsonl(tmp_path / "records.jsonl", RECORDS)
    Indexer(settings).reindex([str(source)])
    engine = SearchEngine(settings)
    try:
        assert ranked_ids(engine, "HLV") == ["hlv"]
        path.write_text("HLV = huấn luyện viên\nGB = giải bóng đá\n", encoding="utf-8")
        assert ranked_ids(engine, "GB") == []  # not before the index changes
        Indexer(settings).reindex([str(source)])
        assert ranked_ids(engine, "GB") == ["ldld"]
        path.write_text("GB giải bóng đá\n", encoding="utf-8")  # broken: the last good list stays
        Indexer(settings).reindex([str(source)])
        assert ranked_ids(engine, "GB") == ["ldld"]
    finally:
        engine.close()


def _cli(*args: str) -> Any:
    env = {name: None for name in os.environ if name.startswith("TIMKIEM_")}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_the_cli_search_takes_the_setting_and_reports_a_bad_file(
    corpus: Path, tmp_path: Path
) -> None:
    path = tmp_path / "synonyms.txt"
    path.write_text("HLV = huấn luyện viên\n", encoding="utf-8")
    index = str(corpus / "index")
    result = _cli("search", "HLV", "--index", index, "--synonyms-file", str(path))
    assert result.exit_code == 0 and "[hlv]" in result.output
    path.write_text("HLV = huấn luyện viên\nHLV\n", encoding="utf-8")
    result = _cli("search", "HLV", "--index", index, "--synonyms-file", str(path))
    assert result.exit_code == 1
    assert f"{path}:2: 'HLV' has no '='" in result.output


def test_another_form_of_a_word_counts_as_holding_it(engine: SearchEngine) -> None:
    """With match=all, "Ủy ban nhân dân tỉnh" holds every word of "UBND tỉnh"."""
    result = engine.search(SearchRequest(q="UBND tỉnh", per_page=100))
    counted = {h["id"] for h in result["hits"][: result["total"]]}
    assert {"typed", "long"} <= counted and result["applied"]["dropped"] == []
    assert "scattered" not in counted


def test_snippets_mark_the_other_form_found(engine_of: Any) -> None:
    records = [{"id": "u", "title": "Họp phiên thường kỳ", "body": "Ủy ban nhân dân tỉnh họp."}]
    [found] = engine_of(records).search(SearchRequest(q="UBND tỉnh"))["hits"]
    assert found["snippet"].startswith("<mark>Ủy ban nhân dân</mark> <mark>tỉnh</mark>")
