"""Did-you-mean: misspellings, and queries typed with the Vietnamese keyboard off
(Telex, VNI), on the sample articles and on small written sets. A suggested
or rewritten query's total is always what searching it gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Engines, make_settings, write_jsonl
from timkiem.indexer import Indexer
from timkiem.search import SearchEngine, SearchRequest


def _search(engine: SearchEngine, q: str, **options: object) -> dict[str, object]:
    return engine.search(SearchRequest(q=q, **options))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("typed", "meant", "reason"),
    [
        ("coong ddoanf", "công đoàn", "telex"),
        ("nguwowif lao ddoongj", "người lao động", "telex"),
        ("Bawcs Kanj", "bắc kạn", "telex"),
        ("co6ng d9oa2n", "công đoàn", "vni"),
    ],
)
def test_keyboard_off_queries_are_searched_as_meant(
    sample_engine: SearchEngine, typed: str, meant: str, reason: str
) -> None:
    result = _search(sample_engine, typed)
    assert result["rewritten"] == {"from": typed, "to": meant, "reason": reason}
    assert result["query"] == typed
    direct = _search(sample_engine, meant)
    assert result["total"] == direct["total"] > 0
    assert result["hits"] == direct["hits"]
    assert "suggestion" not in result


def test_a_misspelling_is_suggested_with_the_total_it_finds(sample_engine: SearchEngine) -> None:
    result = _search(sample_engine, "cong doan bac kna")
    suggestion = result["suggestion"]
    assert suggestion["q"] == "công đoàn bắc kạn"  # type: ignore[index]
    assert suggestion["total"] == _search(sample_engine, "công đoàn bắc kạn")["total"]  # type: ignore[index]
    assert suggestion["total"] > 0  # type: ignore[index]
    assert "rewritten" not in result
    # with a date range, the suggestion's total is counted with it too
    ranged = _search(sample_engine, "cong doan bac kna", date_from="2025")
    if "suggestion" in ranged:
        assert ranged["suggestion"]["total"] == _search(  # type: ignore[index]
            sample_engine, ranged["suggestion"]["q"], date_from="2025"  # type: ignore[index]
        )["total"]


def test_known_words_are_left_alone(sample_engine: SearchEngine) -> None:
    for q in ("cong doan bac kan", "công đoàn", "hòa"):
        result = _search(sample_engine, q)
        assert "suggestion" not in result and "rewritten" not in result
    nothing = _search(sample_engine, "xyzzyq")
    assert nothing["total"] == 0
    assert "suggestion" not in nothing and "rewritten" not in nothing


@pytest.fixture
def written(tmp_path: Path, engines: Engines) -> SearchEngine:
    records = [
        {"id": "1", "title": "Chaos in the markets", "body": "Chaos theory, English text"},
        {"id": "2", "title": "Nồi cháo gà ngày đông", "body": "Cháo gà nóng hổi"},
        {"id": "3", "title": "Thoả ước lao động tập thể", "body": "Ký kết thoả ước"},
        {"id": "4", "title": "Thoả ước lao động mới", "body": "Người lao động"},
        {"id": "5", "title": "Hoà giải tranh chấp", "body": "Hoà giải viên"},
    ]
    settings = make_settings(tmp_path / "index")
    Indexer(settings).ingest([str(write_jsonl(tmp_path / "w.jsonl", records))])
    return engines.open(settings)


def test_an_english_word_the_index_holds_is_not_read_as_telex(written: SearchEngine) -> None:
    result = _search(written, "chaos")
    assert "rewritten" not in result and "suggestion" not in result
    assert [h["id"] for h in result["hits"]] == ["1"]  # type: ignore[index]


def test_a_query_that_finds_nothing_is_corrected_and_searched(written: SearchEngine) -> None:
    result = _search(written, "thoa uoc lao dongg")
    # "dongg" is unknown but the other words find documents: only suggested
    assert "rewritten" not in result
    assert result["suggestion"] == {
        "q": "thỏa ước lao động",
        "total": _search(written, "thỏa ước lao động")["total"],
    }
    nothing = _search(written, "laoo dongg")  # no word is known: the correction is searched
    assert nothing["rewritten"] == {"from": "laoo dongg", "to": "lao động", "reason": "spelling"}
    assert nothing["total"] == _search(written, "lao động")["total"] > 0


def test_telex_hoa_with_the_index_holding_it(written: SearchEngine) -> None:
    result = _search(written, "hoaf giair")
    assert result["rewritten"]["to"] == "hoà giải"  # type: ignore[index]
    assert result["total"] == _search(written, "hoà giải")["total"] > 0


def test_a_misspelling_with_nothing_near_gets_no_suggestion(written: SearchEngine) -> None:
    result = _search(written, "qqqqqq")
    assert result["total"] == 0 and "suggestion" not in result and "rewritten" not in result


def test_http_response_carries_the_fields(client) -> None:  # type: ignore[no-untyped-def]
    body = client.simulate_get("/search", params={"q": "coong ddoanf"}).json
    assert body["rewritten"] == {"from": "coong ddoanf", "to": "công đoàn", "reason": "telex"}
    body = client.simulate_get("/search", params={"q": "cong doan bac kna"}).json
    assert body["suggestion"]["q"] == "công đoàn bắc kạn"
    direct = client.simulate_get("/search", params={"q": body["suggestion"]["q"]}).json
    assert body["suggestion"]["total"] == direct["total"]


def test_a_rare_word_changes_only_on_strong_evidence(tmp_path: Path, engines: Engines) -> None:
    records = [{"id": "k", "title": "Công đoàn Bắc Kạn", "body": "Bài viết có một lỗi: lao dongg"}]
    records += [
        {"id": f"b{n}", "title": f"Ban chấp hành: người lao động số {n}", "body": "Ký kết"}
        for n in range(25)
    ]
    settings = make_settings(tmp_path / "index")
    Indexer(settings).ingest([str(write_jsonl(tmp_path / "r.jsonl", records))])
    engine = engines.open(settings)
    # "kan" is in one document only, "ban" in many but never after "bac": left alone
    kept = _search(engine, "bac kan")
    assert "suggestion" not in kept and "rewritten" not in kept
    # "dongg" is in one document, "lao dong" in 25: suggested
    slip = _search(engine, "lao dongg")
    assert slip["suggestion"] == {"q": "lao động", "total": _search(engine, "lao động")["total"]}


def test_the_search_command_says_what_it_searched(sample_engine: SearchEngine) -> None:
    from click.testing import CliRunner

    from timkiem.cli import cli

    index = str(sample_engine.settings.index)
    runner = CliRunner()
    typed = runner.invoke(cli, ["search", "coong ddoanf", "--per-page", "1", "--index", index])
    assert typed.exit_code == 0, typed.output
    assert "searched for: công đoàn (telex; typed: coong ddoanf)" in typed.output
    slip = runner.invoke(cli, ["search", "cong doan bac kna", "--index", index])
    total = _search(sample_engine, "công đoàn bắc kạn")["total"]
    assert f"did you mean: công đoàn bắc kạn ({total} result(s))" in slip.output
