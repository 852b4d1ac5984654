#!/usr/bin/env python3
"""Ranking quality of timkiem: Recall@10 and MRR@10 per relevance set and query form.

Each set's passages go into a fresh temporary index built by timkiem's own
``Indexer``; each query runs through ``SearchEngine.search`` exactly as the HTTP
API calls it (first page, 10 hits, result cache off). Every figure is printed
next to its target (issue 3) with PASS or FAIL; the exit status is 1 when any
target fails.

    .venv/bin/python scripts/evaluate.py [--sets vimedaqa,alqac,...] [--limit N]

The shared corpus is read from ``../shared/corpus`` (``--corpus`` to change);
nothing of it is copied anywhere but the temporary index.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from timkiem.evaluation import (
    ALL_SETS,
    DEFAULT_CORPUS,
    FORMS,
    MEDIAN_MS_TARGET,
    SAME_AS_ACCENTED,
    evaluate,
    parse_ranking,
    print_table,
    strip_accents,
    swap_tones,
)
from timkiem.limits import MATCHES
from timkiem.testing import corpus_missing

# tests/test_ranking.py still reaches these through this script
__all__ = ["FORMS", "SAME_AS_ACCENTED", "evaluate", "main", "strip_accents", "swap_tones"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--sets",
        default=",".join(ALL_SETS),
        help=f"comma-separated, from {', '.join(ALL_SETS)} (default: all)",
    )
    parser.add_argument("--limit", type=int, default=None, help="first N queries of each set")
    parser.add_argument(
        "--forms", default=",".join(FORMS), help=f"comma-separated, from {', '.join(FORMS)}"
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--pool", type=int, default=6000, help="articles of the known-item and news-questions pools"
    )
    parser.add_argument(
        "--items", type=int, default=300, help="queries of the known-item and news-questions sets"
    )
    parser.add_argument("--seed", type=int, default=20170101)
    parser.add_argument(
        "--match",
        choices=MATCHES,
        default=None,
        help="the API's match parameter for every query (default: none, as the API)",
    )
    parser.add_argument(
        "--ranking",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one Ranking parameter (for experiments)",
    )
    args = parser.parse_args(argv)
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    forms = [f.strip() for f in args.forms.split(",") if f.strip()]
    for s in sets:
        if s not in ALL_SETS:
            parser.error(f"--sets: unknown set {s!r}; choose from {', '.join(ALL_SETS)}")
    for f in forms:
        if f not in FORMS:
            parser.error(f"--forms: unknown form {f!r}; choose from {', '.join(FORMS)}")
    if "accented" not in forms:
        forms.insert(0, "accented")
    missing = corpus_missing("relevance", args.corpus)
    if missing:
        parser.error(f"--corpus: {missing}")
    try:
        ranking = parse_ranking(args.ranking)
    except ValueError as exc:
        parser.error(f"--ranking: {exc}")
    began = time.perf_counter()
    rows, times = evaluate(
        sets,
        args.corpus,
        args.limit,
        forms,
        args.pool,
        args.items,
        args.seed,
        ranking,
        log=lambda line: print(line, file=sys.stderr, flush=True),
        match=args.match,
    )
    print_table(rows)
    median = statistics.median(times) if times else 0.0
    fast = median <= MEDIAN_MS_TARGET
    print(
        f"\nmedian query time {median:.2f} ms over {len(times)} queries "
        f"(target <= {MEDIAN_MS_TARGET:g} ms) {'PASS' if fast else 'FAIL'}"
    )
    failed = sum(r.passed is False for r in rows) + (not fast)
    print(f"{failed} target(s) failed; {time.perf_counter() - began:.0f} s in all")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
