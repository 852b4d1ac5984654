"""The bulk writer: the same terms as the analyzers, the same index as Whoosh's writer."""

from __future__ import annotations

import gzip
import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import SegmentWriter

from conftest import EXAMPLES, corpus_file
from timkiem.analysis import accented_analyzer, analyze, bigram_analyzer, folded_analyzer
from timkiem.engine.segwriter import (
    BulkMpWriter,
    BulkWriter,
    accented_terms,
    fast_kind,
    folded_terms,
    numeric_terms,
    pair_terms,
)
from timkiem.errors import WriterFailed
from timkiem.indexer import article_document
from timkiem.records import parse_article
from timkiem.schema import build_schema
from timkiem.storage import INDEX_NAME


def fast_all(text: str) -> tuple[list[str], list[str], list[str]]:
    accented = accented_terms(text)
    folded = folded_terms(accented)
    return accented, folded, pair_terms(folded)


def slow_all(text: str) -> tuple[list[str], list[str], list[str]]:
    return (
        analyze(accented_analyzer(), text),
        analyze(folded_analyzer(), text),
        analyze(bigram_analyzer(), text),
    )


def example_texts() -> list[str]:
    texts = []
    for line in EXAMPLES.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        texts += [record.get("title") or "", record.get("body") or ""]
    return [t for t in texts if t]


def test_schema_text_fields_all_have_a_fast_path() -> None:
    """A changed analyzer must get a matching fast path (or indexing gets slow)."""
    schema = build_schema()
    text_fields = [n for n, f in schema.items() if f.analyzer is not None and f.scorable]
    assert text_fields
    missing = [n for n in text_fields if fast_kind(schema[n]) is None]
    assert not missing, f"no fast path in timkiem.engine.segwriter for the analyzers of {missing}"


@pytest.mark.parametrize("text", example_texts()[:60])
def test_fast_terms_equal_the_analyzers_on_examples(text: str) -> None:
    assert fast_all(text) == slow_all(text)
    nfd = unicodedata.normalize("NFD", text)
    assert fast_all(nfd) == slow_all(nfd)


def test_fast_terms_equal_the_analyzers_on_real_variants() -> None:
    path = corpus_file("analysis/variant-examples.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(rows) > 100
    for row in rows:
        text = row["snippet"]
        for form in (text, unicodedata.normalize("NFD", text), text.upper()):
            assert fast_all(form) == slow_all(form), row["id"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40))
def test_fast_terms_equal_the_analyzers_on_any_text(text: str) -> None:
    slow = slow_all(text) if analyze(accented_analyzer(), text) else ([], [], [])
    assert fast_all(text) == slow


def test_text_without_syllables_indexes_as_nothing() -> None:
    assert fast_all("!!! — …") == ([], [], [])


def _documents(path: Path, limit: int) -> list[dict[str, Any]]:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    docs = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if number >= limit:
                break
            docs.append(article_document(parse_article(json.loads(line))))
    return docs


def _build(folder: Path, docs: list[dict[str, Any]], writer_class: Any) -> Any:
    folder.mkdir()
    index = FileStorage(str(folder)).create_index(build_schema(), INDEX_NAME)
    writer = writer_class(index)
    for doc in docs:
        writer.add_document(**doc)
    writer.commit()
    return index


def _contents(index: Any) -> Any:
    """Everything a search reads: terms, postings, statistics, lengths, stored."""
    with index.reader() as reader:
        fields = sorted(reader.indexed_field_names())
        postings = {}
        for name in fields:
            for btext in reader.lexicon(name):
                info = reader.term_info(name, btext)
                matcher = reader.postings(name, btext)
                items = []
                while matcher.is_active():
                    items.append((matcher.id(), matcher.weight(), matcher.value()))
                    matcher.next()
                stats = (info.weight(), info.doc_frequency(), info.min_length())
                stats += (info.max_length(), info.max_weight(), info.min_id(), info.max_id())
                postings[(name, btext)] = (stats, items)
        docs = [
            (reader.stored_fields(n), [reader.doc_field_length(n, f) for f in fields])
            for n in range(reader.doc_count_all())
        ]
        columns = {c: list(reader.column_reader(c)) for c in ("timestamp", "category")}
        totals = {f: reader.field_length(f) for f in fields}
    return postings, docs, columns, totals


def test_bulk_writer_writes_what_whoosh_writes(tmp_path: Path) -> None:
    docs = _documents(EXAMPLES, 1000)
    expected = _contents(_build(tmp_path / "whoosh", docs, SegmentWriter))
    found = _contents(_build(tmp_path / "bulk", docs, BulkWriter))
    assert len(expected[0]) > 1000
    assert found == expected


@pytest.mark.parametrize("name", ["news-rss-2025-2026.jsonl.gz", "news-fulltext-2017.jsonl.gz"])
def test_bulk_writer_writes_what_whoosh_writes_on_real_news(tmp_path: Path, name: str) -> None:
    docs = _documents(corpus_file(name), 150)
    expected = _contents(_build(tmp_path / "whoosh", docs, SegmentWriter))
    found = _contents(_build(tmp_path / "bulk", docs, BulkWriter))
    assert found == expected


def test_bulk_writer_takes_a_title_without_syllables(tmp_path: Path) -> None:
    doc = article_document(parse_article({"id": "x", "title": "…", "body": "Công đoàn"}))
    index = _build(tmp_path / "bulk", [doc], BulkWriter)
    with index.searcher() as searcher:
        assert searcher.document_number(body_f="cong") == 0


def _by_id(index: Any) -> Any:
    """``_contents`` with documents named by id: the same whatever the segments and numbers."""
    postings, docs, _columns, totals = _contents(index)
    ids = [stored["id"] for stored, _lengths in docs]
    with index.reader() as reader:
        # segment by segment: Whoosh's reader of several segments skips a
        # segment without a column file (no value), a segment's own reader does not
        leaves = [reader] if reader.is_atomic() else [leaf for leaf, _ in reader.leaf_readers()]
        columns = {
            name: [value for leaf in leaves for value in leaf.column_reader(name)]
            for name in ("timestamp", "category")
        }
    named = {
        key: (stats[:5], sorted((ids[n], weight, value) for n, weight, value in items))
        for key, (stats, items) in postings.items()
    }
    columns = {name: sorted(zip(ids, values)) for name, values in columns.items()}
    return named, sorted(zip(ids, docs)), columns, totals


def _build_mp(folder: Path, docs: list[dict[str, Any]], procs: int = 2) -> Any:
    folder.mkdir()
    index = FileStorage(str(folder)).create_index(build_schema(), INDEX_NAME)
    writer = BulkMpWriter(index, procs=procs)
    for doc in docs:
        writer.add_document(**doc)
    writer.commit()
    return index


def test_multiprocess_writer_writes_what_one_process_writes(tmp_path: Path) -> None:
    docs = _long_postings_documents(700)  # batches of 256: both processes get some
    single = _build(tmp_path / "one", docs, BulkWriter)
    multi = _build_mp(tmp_path / "two", docs)
    assert len(multi.reader().leaf_readers()) == 2
    assert _by_id(multi) == _by_id(single)


def test_multiprocess_writer_makes_the_same_index_every_time(tmp_path: Path) -> None:
    docs = _long_postings_documents(600)
    first = _contents(_build_mp(tmp_path / "a", docs))
    assert _contents(_build_mp(tmp_path / "b", docs)) == first
    with _build_mp(tmp_path / "c", docs).searcher() as searcher:
        order = [searcher.stored_fields(n)["id"] for n in range(searcher.doc_count_all())]
    # batches of 256 in turn: the first and third to the first process
    assert order[:3] == ["n0", "n1", "n2"]
    assert order[256:259] == ["n512", "n513", "n514"]
    assert sorted(order) == sorted(d["id"] for d in docs)


def test_multiprocess_writer_fails_when_a_process_fails(tmp_path: Path) -> None:
    docs = _long_postings_documents(300)
    docs[280]["timestamp"] = "not a number"  # fails in the process that indexes it
    folder = tmp_path / "mp"
    folder.mkdir()
    index = FileStorage(str(folder)).create_index(build_schema(), INDEX_NAME)
    writer = BulkMpWriter(index, procs=2)
    for doc in docs:
        writer.add_document(**doc)
    with pytest.raises(WriterFailed, match="indexing process stopped"):
        writer.commit()
    writer.cancel()
    assert not any(task.is_alive() for task in writer.tasks)
    assert index.doc_count_all() == 0


def test_cancelled_multiprocess_writer_stops_its_processes(tmp_path: Path) -> None:
    folder = tmp_path / "mp"
    folder.mkdir()
    index = FileStorage(str(folder)).create_index(build_schema(), INDEX_NAME)
    writer = BulkMpWriter(index, procs=2)
    assert all(task.is_alive() for task in writer.tasks)  # started before any batch
    for doc in _long_postings_documents(600):
        writer.add_document(**doc)
    writer.cancel()
    assert not any(task.is_alive() for task in writer.tasks)
    assert index.doc_count_all() == 0


def _long_postings_documents(count: int) -> list[dict[str, Any]]:
    """Articles sharing their words, with varied counts: posting lists of several blocks."""
    words = [w for text in example_texts()[:6] for w in text.split()][:400]
    docs = []
    for i in range(count):
        title = " ".join(w for j, w in enumerate(words[:40]) if (i * (j + 1)) % 7 < 3)
        body = " ".join(
            " ".join([w] * (1 + (i + j) % 4)) for j, w in enumerate(words) if (i + j) % 5
        )
        record = {"id": f"n{i}", "title": title or "x", "body": body, "category": f"c{i % 3}"}
        docs.append(article_document(parse_article(record)))
    return docs


def test_bulk_writer_writes_long_posting_lists_as_whoosh(tmp_path: Path) -> None:
    """Terms in 128 to 300 documents: blocks of 128 postings, the last one shorter."""
    docs = _long_postings_documents(300)
    expected = _contents(_build(tmp_path / "whoosh", docs, SegmentWriter))
    found = _contents(_build(tmp_path / "bulk", docs, BulkWriter))
    counts = {info[1] for info, _items in expected[0].values()}
    assert {1, 128, 129, 257, 300} <= counts
    assert found == expected


def test_bulk_writer_with_a_field_boost_takes_the_general_path(tmp_path: Path) -> None:
    """A boosted field is not weighted one per use: written by the general path, still exact."""
    schema = build_schema()
    assert fast_kind(schema["title_f"]) == "folded"
    docs = _long_postings_documents(140)

    def build(folder: Path, writer_class: Any) -> Any:
        folder.mkdir()
        boosted = build_schema()
        boosted["title_f"].format.field_boost = 2.0
        boosted["body_b"].format.field_boost = 2.0
        index = FileStorage(str(folder)).create_index(boosted, INDEX_NAME)
        writer = writer_class(index)
        for doc in docs:
            writer.add_document(**doc)
        writer.commit()
        return index

    expected = _contents(build(tmp_path / "whoosh", SegmentWriter))
    found = _contents(build(tmp_path / "bulk", BulkWriter))
    for boosted_name in ("title_f", "body_b"):
        weights = [
            weight
            for (name, _), (_, items) in expected[0].items()
            if name == boosted_name
            for _, weight, _ in items
        ]
        assert max(weights) >= 4.0, boosted_name
    assert found == expected


@pytest.mark.parametrize("one_key", [True, False])
def test_bulk_writer_pairs_equal_whoosh_pairs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_key: bool
) -> None:
    """Values of one syllable (their own term), repeated pairs; both ways of counting."""
    if not one_key:
        monkeypatch.setattr("timkiem.engine.batch.PAIR_KEY_LIMIT", 0)
    texts = ["Đoàn", "công đoàn công đoàn công", "đoàn", "Công  Đoàn!", "a b a b a", "b"]
    docs = [
        article_document(parse_article({"id": f"p{i}", "title": title, "body": body}))
        for i, (title, body) in enumerate((t, u) for t in texts for u in texts)
    ]
    docs += _long_postings_documents(150)
    expected = _contents(_build(tmp_path / "whoosh", docs, SegmentWriter))
    found = _contents(_build(tmp_path / "bulk", docs, BulkWriter))
    assert (("title_b", b"doan") in expected[0]) and (("body_b", b"cong_doan") in expected[0])
    assert found == expected


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_numeric_terms_equal_whoosh_terms(value: int) -> None:
    field = build_schema()["timestamp"]
    assert numeric_terms(field, value) == list(field.index(value))
    assert len(numeric_terms(field, value)) == 16


def test_numeric_terms_leave_other_values_to_whoosh() -> None:
    schema = build_schema()
    assert numeric_terms(schema["timestamp"], 1.5) == []
    assert numeric_terms(schema["timestamp"], True) == []
    assert numeric_terms(schema["category"], 3) == []
