"""How well saved pages are turned into records, on the project's generated sites.

Generates pages of five Vietnamese CMS layouts (``tests/sitegen.py``; or reads a
site written earlier with ``--pages DIR``), runs timkiem's page extraction over
each and prints, per layout and overall, the share of article pages whose
title, date and body came out exactly as written, how many bodies hold menu,
footer or related-article text, and whether every list page was skipped.
Exit status 1 when a target is missed: title, date and body >= 95% each, no
boilerplate in any body, every list page skipped.

    .venv/bin/python scripts/extraction_quality.py [--per-layout 40] [--seed 13] [--pages DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from timkiem.pages import extract_page  # noqa: E402

TARGET = 0.95


@dataclass
class Tally:
    """Counts of one layout."""

    articles: int = 0
    title: int = 0
    date: int = 0
    body: int = 0
    author: int = 0
    category: int = 0
    polluted: int = 0
    lists: int = 0
    lists_skipped: int = 0
    articles_skipped: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in (
            "articles", "title", "date", "body", "author", "category", "polluted", "lists",
            "lists_skipped", "articles_skipped",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failures.extend(other.failures)

    def share(self, name: str) -> float:
        return getattr(self, name) / self.articles if self.articles else 1.0

    def passed(self) -> bool:
        return (
            all(self.share(n) >= TARGET for n in ("title", "date", "body"))
            and self.polluted == 0
            and self.lists_skipped == self.lists
        )


def _same_date(found: str | None, wanted: str | None) -> bool:
    if not found or not wanted:
        return found == wanted
    return datetime.fromisoformat(found) == datetime.fromisoformat(wanted)


def measure(site: Path) -> dict[str, Tally]:
    """Run the extraction over a site written by ``sitegen.write_site``."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    for line in (site / "expected.jsonl").read_text(encoding="utf-8").splitlines():
        page: dict[str, Any] = json.loads(line)
        tally = tallies[page["layout"]]
        path = site / page["path"]
        relative = page["path"].split("/", 1)[1]
        result = extract_page(path.read_bytes(), str(path), relative)
        expected = page["expected"]
        if expected is None:
            tally.lists += 1
            if result.skipped:
                tally.lists_skipped += 1
            else:
                tally.failures.append(f"{page['path']}: list page not skipped")
            continue
        tally.articles += 1
        record = result.record
        if record is None:
            tally.articles_skipped += 1
            tally.failures.append(f"{page['path']}: article skipped: {result.skipped}")
            continue
        checks = {
            "title": record.get("title") == expected["title"],
            "date": _same_date(record.get("date"), expected["date"]),
            "body": record.get("body") == expected["body"],
            "author": record.get("author") == expected["author"],
            "category": record.get("category") == expected["category"],
        }
        for name, ok in checks.items():
            if ok:
                setattr(tally, name, getattr(tally, name) + 1)
            else:
                tally.failures.append(
                    f"{page['path']}: {name} {record.get(name)!r} != {expected[name]!r}"
                )
        body = record.get("body", "")
        junk = [b for b in page["boilerplate"] if b and b in body]
        if junk:
            tally.polluted += 1
            tally.failures.append(f"{page['path']}: body holds {junk[:3]}")
    return dict(tallies)


def report(tallies: dict[str, Tally]) -> tuple[str, bool]:
    """The printed table and whether every target is met."""
    total = Tally()
    for tally in tallies.values():
        total.add(tally)
    columns = (("title", 8), ("date", 8), ("body", 8), ("author", 8), ("category", 10))
    head = (
        f"{'layout':<14}{'articles':>9}{'title':>8}{'date':>8}{'body':>8}{'author':>8}"
        f"{'category':>10}{'polluted':>10}{'lists skipped':>15}"
    )
    rows = [head, "-" * len(head)]
    for name, tally in [*sorted(tallies.items()), ("overall", total)]:
        rows.append(
            f"{name:<14}{tally.articles:>9}"
            + "".join(
                f"{tally.share(n):>{w}.1%}"
                for n, w in columns
            )
            + f"{tally.polluted:>10}{f'{tally.lists_skipped}/{tally.lists}':>15}"
        )
    ok = total.passed() and all(t.passed() for t in tallies.values())
    rows.append("")
    rows.append(
        f"targets: title, date, body >= {TARGET:.0%} per layout; no polluted body; "
        f"every list page skipped: {'PASS' if ok else 'FAIL'}"
    )
    return "\n".join(rows), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=Path, help="a site written by tests/sitegen.py")
    parser.add_argument("--per-layout", type=int, default=40, help="article pages per layout")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--show", type=int, default=10, help="failures to print")
    args = parser.parse_args(argv)
    if args.pages:
        tallies = measure(args.pages)
    else:
        import sitegen

        with tempfile.TemporaryDirectory() as folder:
            site = Path(folder)
            sitegen.write_site(site, sitegen.generate(args.per_layout, args.seed))
            tallies = measure(site)
    text, ok = report(tallies)
    print(text)
    failures = [f for t in tallies.values() for f in t.failures]
    for failure in failures[: args.show]:
        print("  " + failure)
    if len(failures) > args.show:
        print(f"  ... and {len(failures) - args.show} more")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
