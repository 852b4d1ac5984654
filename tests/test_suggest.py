"""Suggestions as a reader types (GET /suggest, ``timkiem suggest``), and the
per-segment title phrases they come from."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from falcon.testing import TestClient

from conftest import EXAMPLES, Engines, make_settings, write_jsonl
from timkiem.cli import cli
from timkiem.config import Settings
from timkiem.engine import phrases
from timkiem.indexer import Indexer
from timkiem.search import SearchEngine

TITLES = [
    "Công đoàn cơ sở chăm lo đoàn viên",
    "Hà Giang: Công đoàn cơ sở ký thoả ước",
    "Công đoàn cơ sở tổ chức hội thao",
    "Bắc Kạn: công đoàn ngành giáo dục",
    "Liên đoàn Lao động tỉnh Bắc Kạn",
    "Cộng đồng người Việt tại Bắc Kinh",
]


def _texts(result: dict[str, object]) -> list[str]:
    return [s["text"] for s in result["suggestions"]]  # type: ignore[attr-defined, index]


@pytest.fixture
def written(tmp_path: Path, engines: Engines) -> SearchEngine:
    records = [
        {"id": f"a{n}", "title": t, "body": "nội dung", "date": f"2025-01-{n + 1:02d}"}
        for n, t in enumerate(TITLES)
    ]
    settings = make_settings(tmp_path / "index")
    Indexer(settings).ingest([str(write_jsonl(tmp_path / "a.jsonl", records))])
    return engines.open(settings)


def test_phrases_of_titles_are_counted_under_folded_keys() -> None:
    data = phrases.PhraseData(phrases.build([(t, 1_700_000_000) for t in TITLES]))
    places = data.find([("cong", "doan"), ("cong", "doan", "co", "so"), ("giang", "cong")])
    assert places[2] == -1  # punctuation ends a phrase
    assert [int(data.counts[p]) for p in places[:2]] == [4, 3]
    # the commonest spelling; a title's first word counts in lower case
    assert data.spelling(int(places[0])) == "công đoàn"
    assert data.spelling(int(data.find([("bac", "kan")])[0])) == "Bắc Kạn"
    top = data.top(["bac"], "k", 10)
    assert sorted(data.keys(top)) == [("bac", "kan"), ("bac", "kinh")]
    assert len(data.top([], "", 10)) == 0


def test_prefix_completions_in_their_accented_spelling(written: SearchEngine) -> None:
    result = written.suggest("cong do", 8)
    assert result["query"] == "cong do"
    texts = _texts(result)
    assert texts[:2] == ["công đoàn", "công đoàn cơ sở"]
    assert "công đoàn cơ" not in texts  # a fragment of "công đoàn cơ sở"
    assert result["suggestions"][0]["count"] == 4
    assert _texts(written.suggest("bac k", 8))[0] == "Bắc Kạn"
    assert _texts(written.suggest("BẮC K", 8))[0] == "Bắc Kạn"
    # a trailing space: the word is whole, only longer phrases follow
    assert "công đoàn" not in _texts(written.suggest("cong doan ", 8))
    assert "công đoàn cơ sở" in _texts(written.suggest("cong doan ", 8))


def test_long_prefixes_keep_the_typed_head_and_limits_hold(written: SearchEngine) -> None:
    texts = _texts(written.suggest("tin moi cong doan co s", 3))
    assert texts and all(t.startswith("tin moi ") for t in texts)
    assert texts[0] == "tin moi công đoàn cơ sở"
    assert len(written.suggest("c", 2)["suggestions"]) == 2
    assert written.suggest("", 8)["suggestions"] == []
    assert written.suggest("   ", 8)["suggestions"] == []
    assert written.suggest("zzzq", 8)["suggestions"] == []


def test_counts_add_up_over_segments_and_a_commit_adds_one_file(
    tmp_path: Path, written: SearchEngine
) -> None:
    before = written.suggest("cong doan co", 8)["suggestions"][0]
    folder = written.directory.path / (written.directory.current_name() or "")
    kept = written.snapshot().phrases()
    settings = written.settings
    more = [{"id": "b1", "title": "Công đoàn cơ sở mới", "body": "x", "date": "2025-02-01"}]
    Indexer(settings).ingest([str(write_jsonl(tmp_path / "b.jsonl", more))])
    after = written.suggest("cong doan co", 8)["suggestions"][0]
    assert (before["text"], after["text"]) == ("công đoàn cơ sở", "công đoàn cơ sở")
    assert after["count"] == before["count"] + 1
    now = written.snapshot().phrases()
    assert len(list(folder.glob("*.tkphr"))) == len(now) == 2
    assert any(a is b for a in now for b in kept)  # the old segment's data is shared


def test_a_missing_phrase_file_is_rebuilt_from_the_records(
    written: SearchEngine, engines: Engines, caplog: pytest.LogCaptureFixture
) -> None:
    expected = written.suggest("cong do", 8)
    folder = written.directory.path / (written.directory.current_name() or "")
    for path in folder.glob("*.tkphr"):
        path.write_bytes(path.read_bytes()[:-8] + b"damaged!")
    with caplog.at_level(logging.WARNING, logger="timkiem.engine"):
        again = engines.open(written.settings).suggest("cong do", 8)
    assert again == expected
    assert "fails its checksum" in caplog.text


def test_limit_is_validated_in_the_projects_words(written: SearchEngine) -> None:
    from timkiem.errors import InvalidParameter

    for bad in (0, 21):
        with pytest.raises(InvalidParameter) as caught:
            written.suggest("cong", bad)
        assert (caught.value.param, str(caught.value.message)) == (
            "limit",
            "must be between 1 and 20",
        )


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("suggest") / "index")
    Indexer(settings).ingest([str(EXAMPLES)])
    return settings


def test_http_suggest_shape_and_errors(client: TestClient) -> None:
    got = client.simulate_get("/suggest", params={"q": "cong do", "limit": "3"})
    assert got.status_code == 200
    body = got.json
    assert set(body) == {"query", "suggestions"} and body["query"] == "cong do"
    assert 0 < len(body["suggestions"]) <= 3
    first = body["suggestions"][0]
    assert set(first) == {"text", "count"} and first["text"] == "công đoàn"
    assert isinstance(first["count"], int) and first["count"] > 0
    counts = [s["count"] for s in body["suggestions"]]
    assert counts[0] == max(counts)
    assert client.simulate_get("/suggest").json == {"query": "", "suggestions": []}
    bad = client.simulate_get("/suggest", params={"q": "x", "limit": "50"})
    assert bad.status_code == 400
    assert bad.json["error"]["param"] == "limit"
    assert bad.json["error"]["message"] == "must be between 1 and 20"


def test_suggest_command(app_settings: Settings) -> None:
    runner = CliRunner()
    args = ["suggest", "bac k", "--limit", "2", "--index", str(app_settings.index)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2 and lines[0].split(None, 1)[1] == "Bắc Kạn"
    as_json = runner.invoke(cli, [*args, "--json"])
    assert '"text": "Bắc Kạn"' in as_json.output


def test_phrase_arrays_are_sorted_as_their_text() -> None:
    data = phrases.PhraseData(phrases.build([(t, None) for t in TITLES]))
    keys = [" ".join(k) for k in data.keys(np.arange(len(data)))]
    assert keys == sorted(keys, key=lambda k: k.encode("utf-8"))
    assert (np.diff(data.grams.astype(np.float64)) > 0).all()


def test_merged_segments_write_their_phrases_with_them(
    tmp_path: Path, engines: Engines, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path / "index")
    indexer = Indexer(settings)
    for n in range(12):  # small commits: Whoosh merges the small segments as it goes
        record = {"id": f"m{n}", "title": f"Công đoàn cơ sở số {n}", "body": "x"}
        indexer.ingest([str(write_jsonl(tmp_path / f"m{n}.jsonl", [record]))])
    engine = engines.open(settings)
    with caplog.at_level(logging.WARNING, logger="timkiem.engine"):
        found = engine.suggest("cong doan co", 1)["suggestions"]
        segments = engine.snapshot().phrases()
    assert "rebuilding" not in caplog.text
    assert len(segments) < 12  # merged
    assert found == [{"text": "công đoàn cơ sở", "count": 12}]
