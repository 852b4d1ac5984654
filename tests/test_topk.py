"""The fast top-k scorer returns Whoosh's own ranking, scores and tie order."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from whoosh import query as wq

from conftest import EXAMPLES, write_jsonl
from timkiem.analysis import fold
from timkiem.config import Settings
from timkiem.indexer import Indexer
from timkiem.search import SearchEngine, SearchRequest
from timkiem.topk import flatten


def queries(count: int, seed: int = 7) -> list[SearchRequest]:
    """Words of the sample titles: 1-4 of them, with and without accents, pages 1-3."""
    rng = random.Random(seed)
    titles = [json.loads(line)["title"] for line in EXAMPLES.read_text("utf-8").splitlines()]
    found = []
    for _ in range(count):
        words = rng.choice(titles).split()
        size = min(len(words), rng.randint(1, 4))
        first = rng.randint(0, len(words) - size)
        text = " ".join(words[first : first + size])
        found.append(
            SearchRequest(
                q=text if rng.random() < 0.5 else fold(text),
                date_from="2020" if rng.random() < 0.3 else None,
                page=rng.randint(1, 3),
                per_page=5,
            )
        )
    found.append(SearchRequest(q='"công đoàn" -lao', per_page=20))
    return found


def both(engine: SearchEngine, request: SearchRequest) -> tuple[Any, Any]:
    snap = engine.snapshot()
    fast = engine.search(request)
    snap.scorer.usable = False
    try:
        slow = engine.search(request)
    finally:
        snap.scorer.usable = True
    return fast, slow


@pytest.fixture
def exact(tmp_path: Path) -> Settings:
    """No result cache and no time limit: Whoosh's answer is always complete."""
    return Settings.load(
        {"index": str(tmp_path / "index"), "cache_size": 0, "query_time_limit": 0}, environ={}
    )


def test_same_hits_scores_and_order_as_whoosh(exact: Settings) -> None:
    Indexer(exact).ingest([str(EXAMPLES)])
    engine = SearchEngine(exact)
    compared = 0
    for request in queries(120):
        fast, slow = both(engine, request)
        assert fast["total"] == slow["total"], request
        assert [(h["id"], h["score"]) for h in fast["hits"]] == [
            (h["id"], h["score"]) for h in slow["hits"]
        ], request
        compared += bool(fast["hits"])
    assert compared > 60
    assert engine.snapshot().scorer.cache  # the fast path was taken


def test_same_as_whoosh_over_segments_with_deletions(exact: Settings, tmp_path: Path) -> None:
    records = [json.loads(line) for line in EXAMPLES.read_text("utf-8").splitlines()]
    indexer = Indexer(exact)
    for part in range(3):
        chunk = write_jsonl(tmp_path / f"{part}.jsonl", records[part::3])
        indexer.ingest([str(chunk)])
    indexer.delete([records[0]["id"], records[4]["id"]])
    engine = SearchEngine(exact)
    for request in queries(60, seed=11):
        fast, slow = both(engine, request)
        assert fast["total"] == slow["total"], request
        assert [(h["id"], h["score"]) for h in fast["hits"]] == [
            (h["id"], h["score"]) for h in slow["hits"]
        ], request


def test_only_or_of_terms_takes_the_fast_path() -> None:
    assert flatten(wq.Or([wq.Term("body_f", "a", boost=2.0), wq.Term("title_f", "b")])) == [
        ("body_f", "a", 2.0),
        ("title_f", "b", 1.0),
    ]
    assert flatten(wq.And([wq.Term("body_f", "a"), wq.Term("title_f", "b")])) is None
    assert flatten(wq.Or([wq.Term("body_f", "a"), wq.Phrase("body_f", ["a", "b"])])) is None
