"""Soak test: a real `timkiem serve` under 8 clients of normal and hostile queries.

Builds (once, cached in --index) an index of the news corpus, starts the server,
runs the clients for --minutes and samples the server's resident memory every
second. Prints requests, status codes, latency percentiles of normal searches
and memory growth after warm-up; exits 1 on any 5xx, failed request or memory
growth above --max-growth (10%).

Usage:
    python scripts/soak.py                                  # 10 minutes, full corpus
    python scripts/soak.py --minutes 1 --limit 20000        # short, on a subset
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from timkiem.analysis import fold
from timkiem.testing import (
    LOOPBACK,
    ServerProcess,
    corpus_dir,
    corpus_missing,
    percentile,
    read_lines,
    request,
)

CORPUS_NAME = "news-rss-2025-2026.jsonl.gz"
MB = 1 << 20


# -- queries ---------------------------------------------------------------------

SYNTAX = [
    "*", "?", "~", "^", "~2", "^3", '"', "(", ")", "((", "))", "AND", "OR", "NOT", "-", "+",
    "title:", "body:", "id:*", "category:", "[a TO z]", "{", "}", ":", "\\", "/", "''", "*:*",
]  # fmt: skip
HOSTILE_PATHS = [
    "/articles/..%2f..%2fetc%2fpasswd",
    "/articles/%2e%2e/%2e%2e/etc/passwd",
    "/articles/%00",
    "/articles/%C0%AE%C0%AE%C0%AF",
    "/articles/%ED%A0%80",
    "/articles/" + "x" * 3000,
    "/search/../../etc/passwd",
    "/search?q=%FF%FE%00",
    "/search?page=-1",
    "/search?page=99999999999999999999",
    "/search?per_page=0",
    "/search?per_page=101",
    "/search?per_page=1e3",
    "/search?sort=random",
    "/search?from=2025-02-30",
    "/search?from=9999",
    "/search?from=2026&to=2025",
    "/search?category=" + "%00" * 50,
    "/nope",
]


def _random_text(rng: random.Random, size: int) -> str:
    pools = [
        (0x20, 0x7E),
        (0x00, 0x1F),
        (0xC0, 0x24F),
        (0x1EA0, 0x1EF9),
        (0x300, 0x36F),
        (0x4E00, 0x4FFF),
        (0x1F600, 0x1F64F),
        (0xFFF0, 0xFFFF),
    ]
    chars = []
    for _ in range(size):
        lo, hi = rng.choice(pools)
        chars.append(chr(rng.randint(lo, hi)))
    return "".join(chars)


@dataclass
class Workload:
    """What the clients ask for."""

    titles: list[str]
    ids: list[str]
    categories: list[str]
    rng: random.Random = field(default_factory=random.Random)

    def normal(self, rng: random.Random) -> str:
        words = rng.choice(self.titles).split()
        start = rng.randrange(len(words))
        q = " ".join(words[start : start + rng.randint(1, 4)])
        if rng.random() < 0.4:
            q = fold(q)
        if rng.random() < 0.1:
            q = f'"{q}"'
        params: dict[str, str] = {"q": q}
        roll = rng.random()
        if roll < 0.15:
            params["sort"] = "newest"
        elif roll < 0.25:
            params["from"], params["to"] = "2025-09", "2026-03"
        elif roll < 0.35 and self.categories:
            params["category"] = rng.choice(self.categories)
        elif roll < 0.45:
            params["page"] = str(rng.randint(2, 5))
        elif roll < 0.5:
            return "/articles/" + urllib.parse.quote(rng.choice(self.ids), safe="")
        elif roll < 0.53:
            params = {"from": "2026-01-01", "to": "2026-01-31", "sort": "newest"}
        return "/search?" + urllib.parse.urlencode(params)

    def hostile(self, rng: random.Random) -> tuple[str, str]:
        roll = rng.random()
        if roll < 0.15:
            return "GET", rng.choice(HOSTILE_PATHS)
        if roll < 0.2:
            return rng.choice(["POST", "PUT", "DELETE", "PATCH"]), rng.choice(
                ["/search", "/articles/x", "/health"]
            )
        if roll < 0.45:
            q = " ".join(
                rng.choice(SYNTAX) + rng.choice(["", "cong", "đoàn", "x"]) for _ in range(8)
            )
        elif roll < 0.65:
            q = _random_text(rng, rng.randint(1, 60))
        elif roll < 0.75:
            q = _random_text(rng, rng.randint(480, 2000))  # around and over the length limit
        elif roll < 0.85:
            q = " AND ".join(fold(w) for w in rng.choice(self.titles).split()) + " OR NOT"
        else:
            q = " ".join(rng.choice(self.titles).split()[:3]) * 40  # many terms
        params = {"q": q}
        if rng.random() < 0.3:
            params["page"] = rng.choice(["0", "-5", "abc", "1" * 30, "50", "1.5"])
            params["per_page"] = rng.choice(["0", "100", "1000", "x", "20"])
        if rng.random() < 0.2:
            params["from"] = rng.choice(["2020", "2020-02-31", "20-01", "'; drop", "１２３４"])
        if rng.random() < 0.1:
            params["category"] = _random_text(rng, 20)
        return "GET", "/search?" + urllib.parse.urlencode(params, errors="surrogatepass")


# -- the run -----------------------------------------------------------------------


@dataclass
class Results:
    """Counts and timings gathered by the clients."""

    statuses: Counter[int] = field(default_factory=Counter)
    normal_ms: list[float] = field(default_factory=list)
    hostile_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    bad_bodies: list[str] = field(default_factory=list)
    partial: int = 0
    hostile: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def client(
    port: int, workload: Workload, seed: int, stop: float, share: float, results: Results
) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=60)
    while time.monotonic() < stop:
        hostile = rng.random() < share
        method, path = workload.hostile(rng) if hostile else ("GET", workload.normal(rng))
        began = time.perf_counter()
        try:
            status, body, headers = request(conn, path, method)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            conn = http.client.HTTPConnection(LOOPBACK, port, timeout=60)
            with results.lock:
                results.failures.append(f"{method} {path[:200]}: {exc!r}")
            continue
        ms = (time.perf_counter() - began) * 1000
        problem = None
        if method != "HEAD" and status != 204:
            if "application/json" not in headers.get("content-type", ""):
                problem = f"content-type {headers.get('content-type')}"
            elif b"<" in body:
                problem = "raw '<' in a JSON body"
            else:
                try:
                    data = json.loads(body)
                    partial = isinstance(data, dict) and data.get("partial") is True
                except ValueError:
                    problem = "body is not JSON"
                    partial = False
        with results.lock:
            results.statuses[status] += 1
            (results.hostile_ms if hostile else results.normal_ms).append(ms)
            results.hostile += hostile
            if status >= 500:
                results.server_errors.append(f"{status} {method} {path[:200]}: {body[:300]!r}")
            if problem:
                results.bad_bodies.append(f"{method} {path[:200]}: {problem}")
            elif status == 200 and partial:
                results.partial += 1
    conn.close()


def load_workload(corpus: Path, limit: int | None, seed: int) -> tuple[Workload, list[str]]:
    """Titles, ids and categories to query, and the corpus lines (up to ``limit``)."""
    titles, ids, lines = [], [], []
    categories: Counter[str] = Counter()
    for line in read_lines(corpus, limit):
        record = json.loads(line)
        lines.append(line)
        ids.append(str(record["id"]))
        if record.get("title"):
            titles.append(record["title"])
        if record.get("category"):
            categories[record["category"]] += 1
    rng = random.Random(seed)
    workload = Workload(
        titles=rng.sample(titles, min(len(titles), 5000)),
        ids=rng.sample(ids, min(len(ids), 5000)),
        categories=[c for c, _ in categories.most_common(20)],
    )
    return workload, lines


def build_index(index: Path, lines: list[str]) -> float:
    """Reindex ``lines`` into ``index`` unless it already holds that many; seconds."""
    marker = index / "soak-source.txt"
    wanted = f"{len(lines)} records\n"
    if marker.exists() and marker.read_text() == wanted:
        return 0.0
    index.mkdir(parents=True, exist_ok=True)
    source = index.parent / f"{index.name}-source.jsonl"
    source.write_text("".join(lines), encoding="utf-8")
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "timkiem", "reindex", "--index", str(index), str(source)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    source.unlink()
    marker.write_text(wanted)
    return time.monotonic() - started


def soak(args: argparse.Namespace) -> int:
    corpus = Path(args.corpus)
    missing = corpus_missing(corpus.name, corpus.parent)
    if missing:
        print(missing, file=sys.stderr)
        return 2
    workload, lines = load_workload(corpus, args.limit, args.seed)
    index = Path(args.index)
    built = build_index(index, lines)
    if built:
        print(f"indexed {len(lines)} articles in {built:.0f} s")
    del lines
    seconds = args.minutes * 60
    warmup = args.warmup if args.warmup is not None else min(60.0, seconds * 0.2)
    results = Results()
    samples: list[tuple[float, int]] = []
    env = {"TIMKIEM_QUERY_TIME_LIMIT": str(args.time_limit)}
    threads = ["--threads", str(args.threads)] if args.threads else []
    with ServerProcess(index, env=env, args=threads) as server:
        warm = server.wait_warm()
        if warm is not None:
            print(f"server warm (/health) {warm:.1f} s after it started")
        started = time.monotonic()
        stop = started + seconds
        workers = [
            threading.Thread(
                target=client,
                args=(server.port, workload, args.seed + n, stop, args.hostile, results),
            )
            for n in range(args.clients)
        ]
        for worker in workers:
            worker.start()
        while any(w.is_alive() for w in workers):
            samples.append((time.monotonic() - started, server.rss_bytes()))
            time.sleep(1.0)
        for worker in workers:
            worker.join()
        alive = server.poll() is None
    after = [rss for t, rss in samples if t >= warmup]
    base = after[0] if after else samples[-1][1]
    final = after[-1] if after else base
    peak = max(after) if after else base
    growth = (final - base) / base * 100
    total = sum(results.statuses.values())
    normal = results.normal_ms
    print(
        f"duration: {seconds:.0f} s at {args.clients} clients ({warmup:.0f} s warm-up); "
        f"index: {index}\n"
        f"requests served: {total} ({total / seconds:.0f}/s); hostile: {results.hostile}; "
        f"statuses: {dict(sorted(results.statuses.items()))}\n"
        f"5xx: {len(results.server_errors)}; failed requests: {len(results.failures)}; "
        f"bad bodies: {len(results.bad_bodies)}; partial results: {results.partial}\n"
        f"normal latency ms: p50 {percentile(normal, 50):.1f}, p95 {percentile(normal, 95):.1f}, "
        f"p99 {percentile(normal, 99):.1f}, max {max(normal, default=0):.1f} "
        f"(mean {statistics.fmean(normal) if normal else 0:.1f})\n"
        f"hostile latency ms: p50 {percentile(results.hostile_ms, 50):.1f}, "
        f"p99 {percentile(results.hostile_ms, 99):.1f}\n"
        f"server RSS: {samples[0][1] / MB:.0f} MB at start, {base / MB:.0f} MB after warm-up, "
        f"{final / MB:.0f} MB at the end (peak {peak / MB:.0f} MB): growth {growth:+.1f}%"
    )
    for line in (results.server_errors + results.failures + results.bad_bodies)[:20]:
        print("  " + line)
    p99 = percentile(normal, 99)
    failed = [
        reason
        for reason, bad in (
            ("the server died", not alive),
            ("5xx answers", bool(results.server_errors)),
            ("failed requests", bool(results.failures)),
            ("bad bodies", bool(results.bad_bodies)),
            (f"memory growth above {args.max_growth:g}%", growth > args.max_growth),
            (f"p99 above {args.p99_target:g} ms", 0 < args.p99_target < p99),
        )
        if bad
    ]
    print("PASS" if not failed else "FAIL: " + ", ".join(failed))
    return 0 if not failed else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--threads", type=int, help="server request threads (default: the server's own)"
    )
    parser.add_argument(
        "--corpus",
        default=str(corpus_dir() / CORPUS_NAME),
        help="JSON Lines (.gz) of news items (default: the shared corpus, $TIMKIEM_CORPUS)",
    )
    parser.add_argument("--limit", type=int, help="index only the first N articles")
    parser.add_argument(
        "--index",
        default=str(Path(tempfile.gettempdir()) / "timkiem-soak-index"),
        help="index directory, built once and reused",
    )
    parser.add_argument("--hostile", type=float, default=0.25, help="share of hostile requests")
    parser.add_argument("--warmup", type=float, help="seconds before memory is the baseline")
    parser.add_argument("--max-growth", type=float, default=10.0, help="percent")
    parser.add_argument(
        "--p99-target",
        type=float,
        default=60.0,
        help="ms; p99 of normal searches over HTTP must stay within it (0: not checked)",
    )
    parser.add_argument("--time-limit", type=float, default=2.0, help="TIMKIEM_QUERY_TIME_LIMIT")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return soak(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
