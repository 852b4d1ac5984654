"""Presentation: the API's hits, snippets and facets from the engine's documents."""

from __future__ import annotations

from typing import Any

import numpy as np

from timkiem.engine.snapshot import Members, Snapshot
from timkiem.snippets import make_snippet


def hit(snap: Snapshot, docnum: int, score: float | None, terms: set[str]) -> dict[str, Any]:
    """One result: the record's fields, its score and a snippet marking ``terms``."""
    record = snap.record(docnum)
    found = summary(record, score)
    found["snippet"] = make_snippet(record.get("body") or record.get("title") or "", terms)
    return found


def summary(record: dict[str, Any], score: float | None) -> dict[str, Any]:
    """A hit without its snippet: the record's fields and its score."""
    return {
        "id": record["id"],
        "title": record.get("title") or "",
        "url": record.get("url"),
        "date": record.get("date"),
        "category": record.get("category"),
        "author": record.get("author"),
        "score": None if score is None else round(score, 4),
    }


def facets(
    snap: Snapshot, members: Members, every_month: bool = True
) -> dict[str, dict[str, int]]:
    """Counts of the matches per year and per month (newest first), and per category
    (most first). Months are those of every match with ``every_month``, else those of
    the newest year with a match."""
    names = snap.category_names
    if not names:  # an empty index
        return {"year": {}, "month": {}, "category": {}}
    pairs = np.bincount(
        snap.facet_codes[members], minlength=(len(snap.month_names) + 1) * len(names)
    ).reshape(-1, len(names))
    cats = pairs.sum(axis=0).tolist()
    months = pairs[1:].sum(axis=1).tolist()
    by_month = [(m, n) for m, n in zip(snap.month_names, months) if n][::-1]
    by_year: dict[str, int] = {}
    for month, count in by_month:
        by_year[month[:4]] = by_year.get(month[:4], 0) + count
    if not every_month and by_month:
        newest = by_month[0][0][:4]
        by_month = [(m, n) for m, n in by_month if m.startswith(newest)]
    return {"year": by_year, "month": dict(by_month), "category": by_count(names, cats)}


def applied_categories(snap: Snapshot, requested: tuple[str, ...]) -> list[str]:
    """Each requested category as the index spells it (all the names it matches), or as
    given when it matches none."""
    found: list[str] = []
    for name in requested:
        found.extend(snap.matching([name]) or [name])
    return list(dict.fromkeys(found))


def by_count(names: list[str], counts: list[int]) -> dict[str, int]:
    """Named counts, most first (then by name), leaving out zeros and the unnamed."""
    found = sorted(((c, n) for c, n in zip(names, counts) if n and c), key=lambda i: (-i[1], i[0]))
    return dict(found)
