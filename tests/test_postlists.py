"""Postings read in one piece equal Whoosh's matchers; the term cache keeps its budget."""

from __future__ import annotations

import random
import threading
from typing import Any

import numpy as np
import pytest
from whoosh import fields
from whoosh.filedb.filestore import RamStorage

from conftest import EXAMPLES
from timkiem.config import Settings
from timkiem.indexer import Indexer
from timkiem.postlists import read_postings
from timkiem.search import SearchEngine
from timkiem.topk import MIN_CACHED, TermScorer, _score_codes

FIELDS = ["title_f", "body_f", "title_a", "body_a", "title_b", "body_b"]


def _matcher(reader: Any, field: str, btext: bytes) -> tuple[list[int], list[float]]:
    if (field, btext) not in reader:
        return [], []
    matcher = reader._terms.matcher(field, btext, reader.schema[field].format)
    ids, weights = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return ids, weights


@pytest.fixture
def ram_index() -> Any:
    """Three segments; terms with one posting (inlined), one block and many blocks."""
    schema = fields.Schema(body=fields.TEXT(phrase=False))
    index = RamStorage().create_index(schema)
    rng = random.Random(3)
    words = ["common", "half", "rare", "repeat"]
    for _segment in range(3):
        with index.writer() as writer:
            for number in range(700):
                text = ["common"] * rng.randint(1, 3)
                if number % 2:
                    text.append("half")
                if number == 5:
                    text.append("rare")
                text.extend(["repeat"] * rng.randint(0, 1))
                writer.add_document(body=" ".join(text))
    with index.writer() as writer:
        writer.delete_by_term("body", "rare")
    return index, words


def test_read_postings_equals_the_matcher(ram_index: Any) -> None:
    index, words = ram_index
    with index.reader() as reader:
        leaves = [leaf for leaf, _ in reader.leaf_readers()]
        assert len(leaves) == 3
        for leaf in leaves:
            for word in [*words, "absent"]:
                ids, weights = read_postings(leaf, "body", word.encode())
                assert (ids.tolist(), weights.tolist()) == _matcher(leaf, "body", word.encode())
        big = read_postings(leaves[0], "body", b"common")[0]
        assert len(big) == 700  # several blocks of 128


def test_cache_stays_within_its_budget(settings: Settings) -> None:
    Indexer(settings).ingest([str(EXAMPLES)])
    engine = SearchEngine(settings)
    searcher = engine.snapshot().searcher
    scorer = TermScorer(searcher, budget=3_000)
    terms = [(t, info.doc_frequency()) for t, info in searcher.reader().iter_field("body_f")]
    for text, _df in terms:
        scorer.term("body_f", text)
        assert scorer.held <= scorer.budget or len(scorer.cache) == 1
    assert all(len(found) >= MIN_CACHED for found in scorer.cache.values())
    kept = {text for _field, text in scorer.cache}
    worth = [t for t, df in terms if df >= MIN_CACHED]
    assert worth and kept <= set(worth)
    assert worth[-1] in kept  # the least recently used go first
    engine.close()


def test_prefetch_reads_the_most_frequent_terms_first(settings: Settings) -> None:
    Indexer(settings).ingest([str(EXAMPLES)])
    engine = SearchEngine(settings)
    snap = engine.snapshot()
    reader = snap.searcher.reader()
    frequent = sorted(
        (
            (info.doc_frequency(), name, text)
            for name in ("title_f", "body_f", "title_a", "body_a", "title_b", "body_b")
            for text, info in reader.iter_field(name)
        ),
        reverse=True,
    )
    top_df = frequent[0][0]
    assert top_df >= MIN_CACHED
    scorer = TermScorer(snap.searcher, budget=3 * (top_df * 14 + 600))
    with engine.directory.open_current().reader() as lexicon:
        loaded = scorer.prefetch(lexicon, [(FIELDS, 0)], threading.Event())
    assert 1 <= loaded <= 3
    assert scorer.held <= scorer.budget
    cached_df = sorted((len(found) for found in scorer.cache.values()), reverse=True)
    assert cached_df[0] == top_df
    stopped = TermScorer(snap.searcher, budget=10**9)
    halt = threading.Event()
    halt.set()
    with engine.directory.open_current().reader() as lexicon:
        assert stopped.prefetch(lexicon, [(FIELDS, 0)], halt) == 0
    engine.close()


def test_score_codes_stand_for_each_frequency_and_length() -> None:
    tf = np.array([1.0, 2.0, 1.0, 3.0, 2.0])
    lengths = np.array([5, 5, 7, 5, 5], dtype=np.uint8)
    codes, tf_of, byte_of = _score_codes(tf, lengths)
    assert codes is not None and len(tf_of) == 4
    assert tf_of[codes].tolist() == tf.tolist()
    assert byte_of[codes].tolist() == lengths.tolist()
    assert _score_codes(np.array([1.5, 1.0]), lengths[:2])[0] is None  # boosted weights
