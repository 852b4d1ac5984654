#!/usr/bin/env python3
"""Exact accents of quoted phrases: is ``total`` the true count of accent-exact matches?

Indexes the news corpus (``../shared/corpus/news-rss-2025-2026.jsonl.gz``, the
first ``--limit`` items; all with ``--limit 0``) in a temporary folder, draws
``--phrases`` quoted phrases typed with accents (1 to 3 adjacent syllables of
a random item's title or body, with at least one accent; fixed ``--seed``),
each with a date range around its item's day, and runs each through
``SearchEngine.search`` as the API does. The true count comes from scanning
the corpus text: the items of the range whose title or body holds the
phrase's syllables, adjacent, with these accents (case and tone placement
aside, as the analyzer normalizes them). Prints the share of phrases whose
``total`` is exact; exits 1 below ``--target`` percent.

    .venv/bin/python scripts/exact_accents.py [--limit 40000] [--phrases 200] [--seed 11]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from timkiem.analysis import has_accents, syllables
from timkiem.config import Settings
from timkiem.indexer import Indexer
from timkiem.search import SearchEngine, SearchRequest
from timkiem.testing import corpus_dir, corpus_missing, read_jsonl_gz

NEWS = "news-rss-2025-2026.jsonl.gz"


class Item:
    """One corpus item as the scan sees it: its day and its texts' syllables."""

    def __init__(self, record: dict[str, object]) -> None:
        stamp = record.get("date")
        self.day: date | None = None
        if isinstance(stamp, str) and stamp:
            moment = datetime.fromisoformat(stamp)
            if moment.tzinfo is not None:
                moment = moment.astimezone(_VIETNAM)
            self.day = moment.date()
        self.texts = [syllables(str(record.get(name) or "")) for name in ("title", "body")]
        # " a b c " per text: a phrase is in it when " x y " is a substring
        self.joined = [" " + " ".join(text) + " " for text in self.texts]


_VIETNAM = datetime.fromisoformat("2000-01-01T00:00:00+07:00").tzinfo


def load_items(path: Path, limit: int | None, workdir: Path) -> tuple[Path, list[Item]]:
    """The first ``limit`` records (the last of each id), written to a file to
    index, and scanned."""
    records: dict[str, dict[str, object]] = {}
    for record in read_jsonl_gz(path, limit):
        records.pop(str(record["id"]), None)
        records[str(record["id"])] = record
    source = workdir / "items.jsonl"
    with source.open("w", encoding="utf-8") as out:
        for record in records.values():
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return source, [Item(r) for r in records.values()]


def draw_phrases(items: list[Item], count: int, seed: int) -> list[tuple[str, date, date]]:
    """``count`` accented phrases, each with a date range holding its item's day."""
    rng = random.Random(seed)
    dated = [item for item in items if item.day is not None]
    drawn: list[tuple[str, date, date]] = []
    while len(drawn) < count:
        item = rng.choice(dated)
        text = rng.choice([t for t in item.texts if t] or [[]])
        size = rng.choice((1, 2, 2, 3, 3))
        if len(text) < size:
            continue
        start = rng.randrange(len(text) - size + 1)
        words = text[start : start + size]
        if not any(has_accents(w) for w in words) or any(w.isdigit() for w in words):
            continue
        span = rng.choice((0, 6, 29, 90))
        assert item.day is not None
        first = item.day - timedelta(days=rng.randint(0, span))
        drawn.append((" ".join(words), first, first + timedelta(days=span)))
    return drawn


def true_count(items: list[Item], phrase: str, first: date, last: date) -> int:
    """Items of the range holding ``phrase`` exactly, in the title or the body."""
    needle = f" {phrase} "
    return sum(
        1
        for item in items
        if item.day is not None
        and first <= item.day <= last
        and any(needle in text for text in item.joined)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=corpus_dir())
    parser.add_argument("--limit", type=int, default=40000, help="corpus items (0: all)")
    parser.add_argument("--phrases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--target", type=float, default=90.0, help="percent exact")
    parser.add_argument("--show", type=int, default=5, help="wrong totals to print")
    args = parser.parse_args(argv)
    missing = corpus_missing(NEWS, args.corpus)
    if missing:
        parser.error(f"--corpus: {missing}")
    with tempfile.TemporaryDirectory(prefix="timkiem-exact-") as tmp:
        workdir = Path(tmp)
        source, items = load_items(args.corpus / NEWS, args.limit or None, workdir)
        settings = Settings.load({"index": str(workdir / "index"), "cache_size": 0}, environ={})
        began = time.perf_counter()
        Indexer(settings).reindex([str(source)])
        print(f"{len(items)} items indexed in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        phrases = draw_phrases(items, args.phrases, args.seed)
        engine = SearchEngine(settings)
        exact, times, wrong = 0, [], []
        try:
            for phrase, first, last in phrases:
                request = SearchRequest(
                    q=f'"{phrase}"', date_from=first.isoformat(), date_to=last.isoformat()
                )
                began = time.perf_counter()
                total = engine.search(request)["total"]
                times.append((time.perf_counter() - began) * 1000)
                truth = true_count(items, phrase, first, last)
                if total == truth:
                    exact += 1
                else:
                    wrong.append(f'  "{phrase}" {first}..{last}: total {total}, true {truth}')
        finally:
            engine.close()
    share = 100 * exact / len(phrases)
    verdict = "PASS" if share >= args.target else "FAIL"
    for line in wrong[: args.show]:
        print(line)
    print(
        f"quoted accented phrases with a date range: total exact in {exact}/{len(phrases)} "
        f"= {share:.1f}% (target >= {args.target:g}%) {verdict}; "
        f"median {statistics.median(times):.2f} ms, max {max(times):.1f} ms"
    )
    return 0 if share >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
