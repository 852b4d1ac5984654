"""Writing the index: upsert, atomic batches, delete and reindex."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES, Engines, make_settings, write_jsonl
from timkiem.config import Settings
from timkiem.errors import ArticleNotFound, IndexUnavailable, InvalidInput
from timkiem.indexer import LARGE_BATCH_BYTES, Indexer, writer_procs
from timkiem.search import SearchEngine, SearchRequest
from timkiem.storage import IndexDirectory


def article(rid: str, title: str, **more: Any) -> dict[str, Any]:
    return {"id": rid, "title": title, **more}


def ids(engine: SearchEngine, q: str = "") -> list[str]:
    result = engine.search(SearchRequest(q=q, per_page=100, sort="oldest"))
    return sorted(h["id"] for h in result["hits"])


@pytest.fixture
def engine(settings: Settings, engines: Engines) -> SearchEngine:
    return engines.open(settings)


def test_ingest_reports_added_and_replaced(settings: Settings, tmp_path: Path) -> None:
    first = write_jsonl(tmp_path / "1.jsonl", [article("a", "Một"), article("b", "Hai")])
    report = Indexer(settings).ingest([str(first)])
    assert (report.added, report.replaced, report.rejected) == (2, 0, 0)
    assert 0 < report.seconds < 60
    assert report.summary().startswith("2 added, 0 replaced, 0 rejected in ")

    second = write_jsonl(tmp_path / "2.jsonl", [article("b", "Hai mới"), article("c", "Ba")])
    report = Indexer(settings).ingest([str(second)])
    assert (report.added, report.replaced, report.rejected) == (1, 1, 0)


def test_upsert_replaces_the_article(
    settings: Settings, engine: SearchEngine, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [article("a", "thủy điện", category="Cũ")])
    Indexer(settings).ingest([str(path)])
    path = write_jsonl(tmp_path / "a.jsonl", [article("a", "công đoàn", category="Mới")])
    Indexer(settings).ingest([str(path)])
    assert engine.search(SearchRequest(q="thuy dien"))["total"] == 0
    result = engine.search(SearchRequest(q="cong doan"))
    assert result["total"] == 1
    assert result["facets"]["category"] == {"Mới": 1}
    assert engine.article("a")["title"] == "công đoàn"
    assert engine.stats()["articles"] == 1


def test_a_bad_record_writes_nothing(
    settings: Settings, engine: SearchEngine, tmp_path: Path
) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [article("a", "Một")])
    Indexer(settings).ingest([str(good)])
    batch = write_jsonl(
        tmp_path / "batch.jsonl",
        [article("a", "Đã sửa"), article("b", "Hai"), {"id": "c"}, article("d", "x", date="x")],
    )
    with pytest.raises(InvalidInput) as caught:
        Indexer(settings).ingest([str(batch)])
    assert [str(p) for p in caught.value.problems] == [
        f"{batch}:3: id=c: title and body are both empty; at least one is required",
        f"{batch}:4: id=d: date 'x' is not ISO 8601 (2020-04-13T09:30:00+07:00), "
        "DD/MM/YYYY or HH:MM - DD/MM/YYYY",
    ]
    assert ids(engine) == ["a"]
    assert engine.article("a")["title"] == "Một"


def test_a_rejected_first_batch_leaves_no_index_behind(settings: Settings, tmp_path: Path) -> None:
    batch = write_jsonl(tmp_path / "batch.jsonl", [article("a", "Một"), {"title": "no id"}])
    with pytest.raises(InvalidInput):
        Indexer(settings).ingest([str(batch)])
    directory = IndexDirectory(settings.index)
    assert directory.generations() == []
    assert directory.current_name() is None
    with pytest.raises(IndexUnavailable):
        directory.open_current()


def test_skip_invalid_commits_the_good_and_reports_the_bad(
    settings: Settings, engine: SearchEngine, tmp_path: Path
) -> None:
    batch = write_jsonl(
        tmp_path / "batch.jsonl",
        [article("a", "Một"), {"title": "no id"}, article("b", "Hai"), article("a", "again")],
    )
    report = Indexer(settings).ingest([str(batch)], skip_invalid=True)
    assert (report.added, report.replaced, report.rejected) == (2, 0, 1)
    assert [str(p) for p in report.problems] == [f"{batch}:2: id=?: id is missing"]
    assert [str(p) for p in report.notices] == [
        f"{batch}:4: id=a: replaces the record of the same id at {batch}:1 "
        "(the later record is taken as the newer revision)"
    ]
    assert ids(engine) == ["a", "b"]
    assert engine.article("a")["title"] == "again"


@pytest.mark.parametrize("procs", [1, 2])
@pytest.mark.parametrize("command", ["ingest", "reindex"])
def test_the_later_record_of_an_id_wins(
    settings: Settings, tmp_path: Path, command: str, procs: int, engines: Engines
) -> None:
    from dataclasses import replace

    settings = replace(settings, ingest_procs=procs)
    Indexer(settings).ingest([str(write_jsonl(tmp_path / "0.jsonl", [article("a", "cũ")]))])
    first = write_jsonl(
        tmp_path / "1.jsonl", [article("a", "bản 1"), article("b", "Hai"), article("c", "Ba")]
    )
    second = write_jsonl(tmp_path / "2.jsonl", [article("b", "Hai, sửa"), article("a", "bản 3")])
    report = getattr(Indexer(settings), command)([str(first), str(second)])
    assert report.rejected == 0
    assert [(n.source, n.line, n.record_id) for n in report.notices] == [
        (str(second), 1, "b"),
        (str(second), 2, "a"),
    ]
    expected = (2, 1) if command == "ingest" else (3, 0)
    assert (report.added, report.replaced) == expected
    engine = engines.open(settings)
    assert ids(engine) == ["a", "b", "c"]
    assert engine.article("a")["title"] == "bản 3"
    assert engine.article("b")["title"] == "Hai, sửa"
    assert engine.stats()["articles"] == 3


def test_a_repeated_id_in_a_rejected_batch_writes_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    batch = write_jsonl(
        tmp_path / "b.jsonl", [article("a", "Một"), article("a", "Hai"), {"id": "x"}]
    )
    with pytest.raises(InvalidInput) as caught:
        Indexer(settings).ingest([str(batch)])
    assert [p.line for p in caught.value.problems] == [3]
    assert IndexDirectory(settings.index).current_name() is None


def test_an_unreadable_file_rejects_the_batch(
    settings: Settings, engine: SearchEngine, tmp_path: Path
) -> None:
    Indexer(settings).ingest([str(write_jsonl(tmp_path / "a.jsonl", [article("a", "Một")]))])
    good = write_jsonl(tmp_path / "b.jsonl", [article("b", "Hai")])
    with pytest.raises(InvalidInput) as caught:
        Indexer(settings).ingest([str(good), str(tmp_path / "missing.jsonl")])
    assert [p.message for p in caught.value.problems] == ["cannot open: No such file or directory"]
    assert ids(engine) == ["a"]


def test_ingest_several_files_in_one_commit(
    settings: Settings, engine: SearchEngine, tmp_path: Path
) -> None:
    one = write_jsonl(tmp_path / "1.jsonl", [article("a", "Một")])
    two = tmp_path / "2.csv"
    two.write_text("id,title,date\nb,Hai,13/04/2020\n", encoding="utf-8")
    report = Indexer(settings).ingest([str(one), str(two)])
    assert report.added == 2
    assert ids(engine) == ["a", "b"]
    assert engine.article("b")["date"] == "2020-04-13T00:00:00+07:00"


def test_delete_is_all_or_none(settings: Settings, engine: SearchEngine, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [article(i, f"bài {i}") for i in "abc"])
    Indexer(settings).ingest([str(path)])
    with pytest.raises(ArticleNotFound, match="zz"):
        Indexer(settings).delete(["a", "zz"])
    assert ids(engine) == ["a", "b", "c"]
    assert Indexer(settings).delete(["a", "b", "a"]) == 2
    assert ids(engine) == ["c"]
    assert engine.stats()["articles"] == 1
    with pytest.raises(ArticleNotFound):
        engine.article("a")


def test_delete_without_an_index(settings: Settings) -> None:
    with pytest.raises(IndexUnavailable, match="no index"):
        Indexer(settings).delete(["a"])


def test_reindex_switches_generations(
    settings: Settings, engine: SearchEngine, tmp_path: Path
) -> None:
    old = write_jsonl(tmp_path / "old.jsonl", [article("old-1", "cũ"), article("old-2", "cũ")])
    Indexer(settings).ingest([str(old)])
    directory = IndexDirectory(settings.index)
    assert directory.current_name() == "gen-000001"
    assert ids(engine) == ["old-1", "old-2"]

    new = write_jsonl(tmp_path / "new.jsonl", [article("new-1", "mới")])
    seen_during_build: list[list[str]] = []

    def progress(step: int) -> None:
        # Mid-build the live index is still the old one, and fully searchable.
        seen_during_build.append(ids(engine))
        assert directory.current_name() == "gen-000001"

    report = Indexer(settings).reindex([str(new)], progress=progress)
    assert (report.added, report.replaced, report.rejected) == (1, 0, 0)
    assert report.generation == "gen-000002"
    assert seen_during_build == [["old-1", "old-2"]]
    assert directory.current_name() == "gen-000002"
    assert ids(engine) == ["new-1"]  # the same engine, no restart


def test_a_failed_reindex_keeps_the_live_index(
    settings: Settings, engine: SearchEngine, tmp_path: Path
) -> None:
    Indexer(settings).ingest([str(write_jsonl(tmp_path / "a.jsonl", [article("a", "Một")]))])
    bad = write_jsonl(tmp_path / "bad.jsonl", [article("b", "Hai"), {"id": "c"}])
    with pytest.raises(InvalidInput):
        Indexer(settings).reindex([str(bad)])
    directory = IndexDirectory(settings.index)
    assert directory.generations() == ["gen-000001"]
    assert ids(engine) == ["a"]


def test_reindex_keeps_only_the_two_newest_generations(settings: Settings, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [article("a", "Một")])
    for _ in range(4):
        Indexer(settings).reindex([str(path)])
    directory = IndexDirectory(settings.index)
    assert directory.generations() == ["gen-000003", "gen-000004"]
    assert directory.current_name() == "gen-000004"


def test_sample_articles_totals(settings: Settings, engine: SearchEngine) -> None:
    report = Indexer(settings).reindex([str(EXAMPLES)])
    assert (report.added, report.replaced, report.rejected) == (47, 0, 0)
    report = Indexer(settings).ingest([str(EXAMPLES)])
    assert (report.added, report.replaced, report.rejected) == (0, 47, 0)
    stats = engine.stats()
    assert stats["articles"] == 47
    assert sum(stats["categories"].values()) == 47
    assert engine.search(SearchRequest())["total"] == 47


def test_reindex_with_no_valid_article_keeps_the_live_index(
    settings: Settings, engine: SearchEngine, tmp_path: Path
) -> None:
    Indexer(settings).ingest([str(write_jsonl(tmp_path / "a.jsonl", [article("a", "Một")]))])
    live = IndexDirectory(settings.index).current_name()
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"title": "no id"}, {"id": "x"}])
    with pytest.raises(InvalidInput) as caught:
        Indexer(settings).reindex([str(bad)], skip_invalid=True)
    assert len(caught.value.problems) == 2
    assert IndexDirectory(settings.index).current_name() == live
    assert IndexDirectory(settings.index).generations() == [live]
    assert ids(engine) == ["a"]


def test_skip_invalid_with_every_record_bad_is_an_error(
    settings: Settings, engine: SearchEngine, tmp_path: Path
) -> None:
    Indexer(settings).ingest([str(write_jsonl(tmp_path / "a.jsonl", [article("a", "Một")]))])
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"title": "no id"}])
    with pytest.raises(InvalidInput):
        Indexer(settings).ingest([str(bad)], skip_invalid=True)
    assert ids(engine) == ["a"]


def test_automatic_writer_procs_use_the_cores_for_large_batches_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = tmp_path / "small.jsonl"
    small.write_bytes(EXAMPLES.read_bytes())
    large = tmp_path / "large.jsonl.gz"
    large.write_bytes(b"\0" * LARGE_BATCH_BYTES)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert writer_procs(0, [str(small)]) == 1
    assert writer_procs(0, [str(large)]) == 2
    assert writer_procs(0, [str(small), "-", str(tmp_path / "missing.jsonl")]) == 1
    assert writer_procs(3, [str(small)]) == 3  # an explicit setting is taken as it is
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert writer_procs(0, [str(large)]) == 4
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0}, raising=False)
    assert writer_procs(0, [str(large)]) == 1


def test_ingest_with_several_processes_keeps_every_article(
    tmp_path: Path, engines: Engines
) -> None:
    settings = make_settings(tmp_path / "index", ingest_procs=2)
    records = [
        {"id": f"a{i}", "title": f"Công đoàn số {i}", "body": "Người lao động " * (i % 7 + 1)}
        for i in range(600)
    ]
    batch = write_jsonl(tmp_path / "batch.jsonl", records)
    assert Indexer(settings).reindex([str(batch)]).added == 600
    assert Indexer(settings).ingest([str(batch)]).replaced == 600
    found = engines.open(settings).search(SearchRequest(q="cong doan", per_page=5))
    assert found["total"] == 600
