"""The engine ranks as Whoosh's own searcher does: the same hits, scores and tie order."""

from __future__ import annotations

import json
import random
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from whoosh import query as wq

from conftest import EXAMPLES, Engines, write_jsonl
from timkiem.analysis import fold
from timkiem.config import Settings
from timkiem.engine import lookup as lookup_module
from timkiem.engine import topk
from timkiem.engine.executor import Filters, QueryPlan, execute
from timkiem.engine.lookup import Lookup
from timkiem.indexer import Indexer
from timkiem.request import validate
from timkiem.search import SearchEngine, SearchRequest


def queries(count: int, seed: int = 7) -> list[SearchRequest]:
    """Words of the sample titles: 1-4 of them or a question of up to 10, with
    and without accents, matching all or any, pages 1-3."""
    rng = random.Random(seed)
    titles = [json.loads(line)["title"] for line in EXAMPLES.read_text("utf-8").splitlines()]
    found = []
    for _ in range(count):
        words = rng.choice(titles).split()
        size = min(len(words), rng.randint(1, 4) if rng.random() < 0.8 else 10)
        first = rng.randint(0, len(words) - size)
        text = " ".join(words[first : first + size]) + ("?" if rng.random() < 0.15 else "")
        found.append(
            SearchRequest(
                q=text if rng.random() < 0.5 else fold(text),
                date_from="2020" if rng.random() < 0.3 else None,
                page=rng.randint(1, 3),
                per_page=5,
                match="any" if rng.random() < 0.25 else "all",
            )
        )
    found.append(SearchRequest(q='"công đoàn" -lao', per_page=20))
    return found


def whoosh_page(engine: SearchEngine, request: SearchRequest) -> list[tuple[str, float]]:
    """The same page ranked by Whoosh's own searcher over the same matches, with
    the plan's weights: the documents holding all words first, then the others."""
    snap = engine.snapshot()
    valid = validate(request, engine.settings)
    plan = engine.plan(valid.parsed, request.match)
    first = engine.search(request)
    if not plan.scored or request.sort != "relevance":
        return [(h["id"], h["score"]) for h in first["hits"]]
    window = request.page * request.per_page

    def matches(plan: QueryPlan) -> set[int]:
        filters = Filters(valid.start, valid.end, valid.categories)
        found = execute(snap, plan, filters, True, True, window, time_limit=0)
        return set(found.members.tolist())

    everything = matches(replace(plan, all_of=(), all_also=()))
    counted = matches(plan)
    tiers = [counted, everything - counted]
    query = wq.Or([wq.Term(f, t, boost=w) for f, t, w in plan.scored])
    index = engine.directory.open_current()
    with index.searcher(weighting=plan.params.weighting()) as searcher:
        found: list[tuple[str, float]] = []
        for allowed in tiers:
            if allowed and len(found) < window:
                hits = searcher.search(query, filter=allowed, limit=window - len(found))
                found += [(hit["id"], round(hit.score, 4)) for hit in hits]
        return found[(request.page - 1) * request.per_page : window]


@pytest.fixture
def exact(tmp_path: Path) -> Settings:
    """No result cache and no time limit: every answer is complete."""
    return Settings.load(
        {"index": str(tmp_path / "index"), "cache_size": 0, "query_time_limit": 0}, environ={}
    )


def _same_pages(engine: SearchEngine, requests: list[SearchRequest]) -> int:
    compared = 0
    for request in requests:
        ours = [(h["id"], h["score"]) for h in engine.search(request)["hits"]]
        assert ours == whoosh_page(engine, request), request
        compared += bool(ours) and request.q != ""
    return compared


def test_same_hits_scores_and_order_as_whoosh(exact: Settings, engines: Engines) -> None:
    Indexer(exact).ingest([str(EXAMPLES)])
    engine = engines.open(exact)
    assert _same_pages(engine, queries(120)) > 60


def test_same_as_whoosh_over_segments_with_deletions(
    exact: Settings, tmp_path: Path, engines: Engines
) -> None:
    records = [json.loads(line) for line in EXAMPLES.read_text("utf-8").splitlines()]
    indexer = Indexer(exact)
    for part in range(3):
        chunk = write_jsonl(tmp_path / f"{part}.jsonl", records[part::3])
        indexer.ingest([str(chunk)])
    indexer.delete([records[0]["id"], records[4]["id"]])
    engine = engines.open(exact)
    assert len(engine.snapshot().segments) > 1
    assert _same_pages(engine, queries(60, seed=11)) > 20


@pytest.mark.parametrize("way", ["sparse", "dense"])
def test_same_as_whoosh_whichever_way_documents_are_scored(
    way: str, exact: Settings, tmp_path: Path, engines: Engines, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scores of a few documents searched for in each term's postings, and of
    every document from all postings, give Whoosh's hits, scores and order."""
    cost = 0 if way == "sparse" else 10**9
    monkeypatch.setattr(topk, "_PER_DOCUMENT", cost)
    monkeypatch.setattr(topk, "_PER_CALL", cost)
    records = [json.loads(line) for line in EXAMPLES.read_text("utf-8").splitlines()]
    indexer = Indexer(exact)
    for part in range(2):
        indexer.ingest([str(write_jsonl(tmp_path / f"{part}.jsonl", records[part::2]))])
    indexer.delete([records[1]["id"]])
    engine = engines.open(exact)
    assert len(engine.snapshot().segments) > 1
    used = {"sparse": 0, "dense": 0}
    scores_of, scores = Lookup.scores_of, Lookup.scores

    def counted_sparse(self: Lookup, *args: Any, **kwargs: Any) -> Any:
        used["sparse"] += 1
        return scores_of(self, *args, **kwargs)

    def counted_dense(self: Lookup, *args: Any, **kwargs: Any) -> Any:
        used["dense"] += 1
        return scores(self, *args, **kwargs)

    monkeypatch.setattr(Lookup, "scores_of", counted_sparse)
    monkeypatch.setattr(Lookup, "scores", counted_dense)
    assert _same_pages(engine, queries(80, seed=5)) > 30
    assert used[way] > 30 and used["sparse" if way == "dense" else "dense"] == 0


@pytest.mark.parametrize("big_term", [1, 10**9])
def test_scores_of_a_few_documents_are_those_of_every_document_bit_for_bit(
    big_term: int,
    exact: Settings,
    tmp_path: Path,
    engines: Engines,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three ways to the same floats: a few documents searched for in each
    term's postings, every term's postings on their own (through a table of
    its scores or posting by posting), all terms' postings together; in one
    go or chunk by chunk."""
    records = [json.loads(line) for line in EXAMPLES.read_text("utf-8").splitlines()]
    indexer = Indexer(exact)
    for part in range(3):
        indexer.ingest([str(write_jsonl(tmp_path / f"{part}.jsonl", records[part::3]))])
    engine = engines.open(exact)
    snap = engine.snapshot()
    rng = random.Random(3)
    compared = 0
    for request in queries(40, seed=9):
        plan = engine.plan(validate(request, engine.settings).parsed, request.match)
        if not plan.scored:
            continue
        lookup = Lookup(snap, plan.keys())
        with monkeypatch.context() as patch:
            patch.setattr(lookup_module, "_BIG_TERM", big_term)
            every, _ = lookup.scores(list(plan.scored), plan.params)
            # with a deadline, in chunks of a term or a few
            patch.setattr(lookup_module, "_FIRST_CHUNK", 1)
            chunked, partial = lookup.scores(list(plan.scored), plan.params, time.monotonic() + 60)
        assert not partial
        assert chunked.tobytes() == every.tobytes(), request
        docs = np.array(sorted(rng.sample(range(snap.size), min(snap.size, 25))), dtype=np.int64)
        few, partial = lookup.scores_of(docs, list(plan.scored), plan.params)
        assert not partial
        assert few.tobytes() == every[docs].tobytes(), request
        compared += bool(every[docs].any())
    assert compared > 10


@pytest.mark.parametrize(
    ("postings", "first", "ends"),
    [
        ([5, 5, 5, 5], 10, [2, 4]),
        ([50, 1, 1], 10, [1, 3]),
        ([1] * 30, 2, [2, 10, 30]),
        ([], 10, []),
    ],
)
def test_chunks_of_terms_grow_fourfold_and_hold_a_term_at_least(
    postings: list[int], first: int, ends: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lookup_module, "_FIRST_CHUNK", first)
    assert lookup_module._chunks(postings) == ends
