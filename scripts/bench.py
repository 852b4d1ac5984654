"""Speed and memory of timkiem at scale, next to a naive Whoosh baseline.

Measures on the shared news corpus (see README, "Performance"): full-build
ingest rate and peak memory (``timkiem reindex`` in a subprocess, resident
memory of its whole process tree), query latency in-process and over HTTP
against a real ``timkiem serve`` on 127.0.0.1, throughput with concurrent
clients, server memory and time to ready; the same for the baseline in
scripts/bench_baseline.py. Then related articles over HTTP (timkiem only), warm
and while committing. Prints one table: figure, target, PASS/FAIL and the
ratio to the baseline (above 1 means timkiem is better).

    .venv/bin/python scripts/bench.py            # full run (about 20 minutes)
    .venv/bin/python scripts/bench.py --quick    # subsets, a few minutes
    .venv/bin/python scripts/bench.py --related-only   # related articles only
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

from bench_baseline import NaiveSearch
from timkiem.analysis import fold
from timkiem.config import Settings
from timkiem.search import SearchEngine, SearchRequest
from timkiem.testing import (
    LOOPBACK,
    ServerProcess,
    corpus_dir,
    corpus_missing,
    free_port,
    percentile,
    read_lines,
    tree_rss_bytes,
)

SCRIPTS = Path(__file__).resolve().parent
NAIVE = SCRIPTS / "bench_baseline.py"
ROOT = SCRIPTS.parent

RSS = "news-rss-2025-2026.jsonl.gz"
FULL = "news-fulltext-2017.jsonl.gz"
MB = 1_000_000
WORD = re.compile(r"[^\W\d_]+")
Params = dict[str, str]


# -- a measured build --------------------------------------------------------


@dataclass
class Measured:
    seconds: float
    cpu_seconds: float
    peak_bytes: int
    output: str


def run_measured(
    cmd: list[str], log: Path, timeout: float, env: dict[str, str] | None = None
) -> Measured:
    """Run ``cmd`` to completion; wall and CPU time, peak memory of its process tree."""
    with open(log, "w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, **(env or {})}
        )
        peak = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                proc.kill()
                proc.wait()
                raise SystemExit(f"{' '.join(cmd)} took longer than {timeout:.0f} s; see {log}")
            peak = max(peak, tree_rss_bytes(proc.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{text[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime  # includes the children it waited for
    return Measured(seconds, cpu, max(peak, usage.ru_maxrss * 1024), text)


# -- the query mix --------------------------------------------------------------


@dataclass
class Corpus:
    titles: list[str]
    months: list[str]


def load_corpus(path: Path) -> Corpus:
    titles, months = [], set()
    for line in read_lines(path, None):
        rec = json.loads(line)
        if rec.get("title"):
            titles.append(unicodedata.normalize("NFC", rec["title"]))
        if rec.get("date"):
            months.add(rec["date"][:7])
    return Corpus(titles, sorted(months))


def title_span(rng: random.Random, corpus: Corpus, most: int) -> list[str]:
    """1 to ``most`` consecutive words of a random corpus title, lower-cased."""
    words: list[str] = []
    while not words:
        words = WORD.findall(rng.choice(corpus.titles).lower())
    count = min(rng.randint(1, most), len(words))
    first = rng.randint(0, len(words) - count)
    return words[first : first + count]


class QueryMix:
    """Queries from corpus titles: 1-6 words, half without accents, some with a
    date range, some sorted by date, pages 1-5. Same seed, same queries."""

    def __init__(self, corpus: Corpus, seed: int) -> None:
        self.corpus = corpus
        self.rng = random.Random(seed)

    def next(self) -> Params:
        rng = self.rng
        text = " ".join(title_span(rng, self.corpus, 6))
        params = {"q": text if rng.random() < 0.5 else fold(text)}
        months = self.corpus.months
        if months and rng.random() < 0.3:
            start = rng.randrange(len(months))
            end = min(len(months) - 1, start + rng.randint(0, 2))
            params["from"], params["to"] = months[start], months[end]
        if rng.random() < 0.3:
            params["sort"] = "newest" if rng.random() < 0.8 else "oldest"
        params["page"] = str(rng.randint(1, 5))
        return params

    def take(self, count: int) -> list[Params]:
        return [self.next() for _ in range(count)]


def kind(params: Params) -> str:
    if "from" in params:
        return "date_range"
    if params.get("sort", "relevance") != "relevance":
        return "date_sort"
    return "plain"


# -- latency --------------------------------------------------------------------


@dataclass
class Latency:
    """Milliseconds per query of several runs, summarized as medians of runs."""

    runs: list[list[tuple[str, float]]] = field(default_factory=list)

    def figure(self, pct: float, only: str | None = None) -> float:
        per_run = [
            percentile([ms for k, ms in run if only is None or k == only], pct) for run in self.runs
        ]
        return statistics.median(per_run)


def time_queries(queries: list[Params], ask: Callable[[Params], None]) -> list[tuple[str, float]]:
    timings = []
    for params in queries:
        began = time.perf_counter()
        ask(params)
        timings.append((kind(params), (time.perf_counter() - began) * 1000))
    return timings


def engine_ask(engine: SearchEngine) -> Callable[[Params], None]:
    def ask(params: Params) -> None:
        engine.search(
            SearchRequest(
                q=params["q"],
                date_from=params.get("from"),
                date_to=params.get("to"),
                sort=params.get("sort", "relevance"),
                page=int(params["page"]),
            )
        )

    return ask


class Client:
    """One keep-alive HTTP connection to the server under test."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection(LOOPBACK, port, timeout=30)

    def get(self, params: Params, path: str = "/search") -> int:
        return self.fetch(f"{path}?" + urlencode(params))

    def fetch(self, path: str) -> int:
        """GET ``path``; its status (0: the connection failed and was reopened)."""
        try:
            self.conn.request("GET", path)
            resp = self.conn.getresponse()
            resp.read()
            return resp.status
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=30)
            return 0

    def ask(self, params: Params) -> None:
        status = self.get(params)
        if status != 200:
            raise SystemExit(f"HTTP {status} for {params}")

    def suggest(self, params: Params) -> None:
        status = self.get(params, "/suggest")
        if status != 200:
            raise SystemExit(f"HTTP {status} for /suggest {params}")


# -- servers --------------------------------------------------------------------

READY_PROBE = "/search?" + urlencode({"q": "việt nam", "page": "1"})


def start_server(cmd: Callable[[int], list[str]], log: Path) -> ServerProcess:
    """A server on a free loopback port, once it answers a search (``ready_seconds``)."""
    port = free_port()
    server = ServerProcess(port=port, command=cmd(port), log=log, cwd=ROOT).start()
    try:
        server.wait_ready(READY_PROBE, timeout=120, status=200, interval=0.005)
    except (RuntimeError, TimeoutError) as exc:
        server.stop()
        raise SystemExit(f"server not ready: {exc}; see {log}") from None
    return server


def throughput(port: int, corpus: Corpus, clients: int, seconds: float) -> dict[str, float]:
    """Queries per second with ``clients`` concurrent keep-alive clients."""
    done = [0] * clients
    errors = [0] * clients
    latencies: list[list[float]] = [[] for _ in range(clients)]
    deadline = time.perf_counter() + seconds

    def work(number: int) -> None:
        client = Client(port)
        mix = QueryMix(corpus, 10_000 + number)
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            status = client.get(mix.next())
            latencies[number].append((time.perf_counter() - began) * 1000)
            if status == 200:
                done[number] += 1
            else:
                errors[number] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    elapsed = time.perf_counter() - started
    merged = [ms for part in latencies for ms in part]
    return {
        "qps": sum(done) / elapsed,
        "errors": float(sum(errors)),
        "p50": percentile(merged, 50),
        "p99": percentile(merged, 99),
    }


# -- one system, measured ---------------------------------------------------------


@dataclass
class System:
    """How to build, serve and query one system under test."""

    name: str
    build: Callable[[Path, Path], list[str]]
    build_env: Callable[[argparse.Namespace], dict[str, str]]
    serve: Callable[[Path, int], list[str]]
    open: Callable[[Path], tuple[Callable[[Params], None], Callable[[], None]]]


def _timkiem_open(dest: Path) -> tuple[Callable[[Params], None], Callable[[], None]]:
    """An engine as a server has it: the index open before measuring."""
    engine = SearchEngine(Settings.load({"index": str(dest)}))
    began = time.perf_counter()
    engine.health()
    engine.snapshot()
    say(f"timkiem: in-process engine warm after {time.perf_counter() - began:.1f} s")
    return engine_ask(engine), engine.close


def _naive_open(dest: Path) -> tuple[Callable[[Params], None], Callable[[], None]]:
    naive = NaiveSearch(str(dest))

    def ask(params: Params) -> None:
        naive.search(params)

    return ask, naive.ix.close


TIMKIEM = System(
    "timkiem",
    lambda src, dest: [sys.executable, "-m", "timkiem", "reindex", "--index", str(dest), str(src)],
    lambda args: (
        {} if args.ingest_procs is None else {"TIMKIEM_INGEST_PROCS": str(args.ingest_procs)}
    ),
    lambda dest, port: [
        sys.executable,
        "-m",
        "timkiem",
        "serve",
        "--index",
        str(dest),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ],
    _timkiem_open,
)
BASELINE = System(
    "baseline",
    lambda src, dest: [sys.executable, str(NAIVE), "build", str(src), str(dest)],
    lambda args: {},
    lambda dest, port: [sys.executable, str(NAIVE), "serve", str(dest), str(port)],
    _naive_open,
)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def ingest(
    system: System,
    sources: dict[str, tuple[Path, int]],
    args: argparse.Namespace,
    work: Path,
    figures: dict[str, float],
) -> None:
    for label, (src, count) in sources.items():
        dest = work / f"{system.name}-{label}"
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        say(f"{system.name}: building {label} ({count:,} records)")
        log = work / f"{system.name}-{label}.log"
        done = run_measured(system.build(src, dest), log, 3600, system.build_env(args))
        figures[f"ingest_{label}_s"] = done.seconds
        figures[f"ingest_{label}_cpu"] = done.cpu_seconds
        figures[f"ingest_{label}_rate"] = count / done.seconds
        figures[f"ingest_{label}_peak"] = done.peak_bytes / MB
        say(f"{system.name}: {label} in {done.seconds:.1f} s, peak {done.peak_bytes / MB:.0f} MB")


def latency_figures(prefix: str, latency: Latency, figures: dict[str, float]) -> None:
    for pct in (50, 95, 99):
        figures[f"{prefix}_p{pct}"] = latency.figure(pct)
    for only in ("date_range", "date_sort"):
        for pct in (50, 99):
            figures[f"{prefix}_{only}_p{pct}"] = latency.figure(pct, only)


def search(
    system: System, corpus: Corpus, args: argparse.Namespace, work: Path, figures: dict[str, float]
) -> None:
    dest = work / f"{system.name}-rss"
    ask, close = system.open(dest)
    latency = Latency()
    for run in range(args.runs):
        say(f"{system.name}: in-process run {run + 1}/{args.runs}")
        latency.runs.append(time_queries(QueryMix(corpus, 1000 + run).take(args.queries), ask))
    close()
    latency_figures("inproc", latency, figures)

    ready: list[float] = []
    server: ServerProcess | None = None
    try:
        for _ in range(args.runs):
            if server is not None:
                server.stop()
            server = start_server(
                lambda port: system.serve(dest, port), work / f"{system.name}-serve.log"
            )
            ready.append(server.ready_seconds)
        assert server is not None
        figures["ready_s"] = statistics.median(ready)
        warm = server.wait_warm()
        if warm is not None:
            figures["warm_s"] = warm
            say(f"{system.name}: server warm {warm:.1f} s after start")
        client = Client(server.port)
        latency = Latency()
        for run in range(args.runs):
            say(f"{system.name}: HTTP run {run + 1}/{args.runs}")
            mix = QueryMix(corpus, 2000 + run).take(args.queries)
            latency.runs.append(time_queries(mix, client.ask))
        latency_figures("http", latency, figures)
        say(f"{system.name}: {args.clients} clients for {args.duration:g} s")
        load = throughput(server.port, corpus, args.clients, args.duration)
        figures.update({f"load_{k}": v for k, v in load.items()})
        figures["server_rss"] = server.peak_rss_bytes() / MB
    finally:
        if server is not None:
            server.stop()


# -- freshness, cold start and long questions (timkiem only) -----------------------


def _new_article(number: int) -> dict[str, str]:
    """An article whose title holds a word no corpus text has, to find it by."""
    marker = f"tkfresh{number:03d}x"
    return {
        "id": f"bench-fresh-{number}-{time.time_ns()}",
        "title": f"Công đoàn tỉnh tổ chức hội nghị {marker}",
        "body": f"Bài viết số {number} về hoạt động công đoàn cơ sở {marker}.",
        "date": "2026-01-15T09:00:00+07:00",
        "category": "Bench",
    }


def ingest_one(dest: Path, path: Path, record: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``timkiem ingest`` of one ``record`` (written to ``path``) into the index ``dest``."""
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "timkiem", "ingest", str(path)],
        env={**os.environ, "TIMKIEM_INDEX": str(dest)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _windows(
    samples: list[tuple[float, float]], started: float, seconds: float, width: float
) -> list[tuple[float, float, int]]:
    """(p50, p99, count) of the latencies in each ``width``-second window."""
    found = []
    for n in range(int(seconds // width)):
        lo, hi = started + n * width, started + (n + 1) * width
        values = [ms for at, ms in samples if lo <= at < hi]
        found.append((percentile(values, 50), percentile(values, 99), len(values)))
    return found


def freshness(
    label: str,
    dest: Path,
    corpus: Corpus,
    args: argparse.Namespace,
    work: Path,
    figures: dict[str, float],
) -> None:
    """A warm server under ``args.clients`` clients while one article is ingested
    every 10 s for ``args.fresh_seconds``: latency per 10-s window against the warm
    figures of the same server, and how long each article took to be found."""
    server = start_server(
        lambda port: TIMKIEM.serve(dest, port), work / f"timkiem-fresh-{label}.log"
    )
    try:
        server.wait_warm()
        client = Client(server.port)
        mix = QueryMix(corpus, 50_000).take(args.queries)
        timings = [ms for _, ms in time_queries(mix, client.ask)]
        figures[f"{label}_http_p50"] = percentile(timings, 50)
        figures[f"{label}_http_p99"] = percentile(timings, 99)
        warm = throughput(server.port, corpus, args.clients, args.warm_seconds)
        figures[f"{label}_fresh_warm_p50"] = warm["p50"]
        figures[f"{label}_fresh_warm_p99"] = warm["p99"]
        samples: list[tuple[float, float]] = []
        stop = threading.Event()

        def load(number: int) -> None:
            client = Client(server.port)
            mix = QueryMix(corpus, 30_000 + number)
            while not stop.is_set():
                began = time.perf_counter()
                client.get(mix.next())
                samples.append((began, (time.perf_counter() - began) * 1000))

        threads = [threading.Thread(target=load, args=(n,)) for n in range(args.clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        searchable: list[float] = []
        probe = Client(server.port)
        number = 0
        while time.perf_counter() - started < args.fresh_seconds:
            due = started + number * 10
            time.sleep(max(0.0, due - time.perf_counter()))
            record = _new_article(number)
            done = ingest_one(dest, work / f"fresh-{label}-{number}.jsonl", record)
            if done.returncode:
                raise SystemExit(f"ingest failed: {done.stderr}")
            committed = time.perf_counter()
            marker = record["title"].split()[-1]
            while time.perf_counter() - committed < 30:
                probe.conn.request("GET", "/search?" + urlencode({"q": marker}))
                resp = probe.conn.getresponse()
                body = json.loads(resp.read())
                if body.get("total"):
                    break
                time.sleep(0.005)
            searchable.append(time.perf_counter() - committed)
            number += 1
        stop.set()
        for thread in threads:
            thread.join(30)
        windows = _windows(samples, started, args.fresh_seconds, 10.0)
        for n, (p50, p99, count) in enumerate(windows):
            say(f"{label} window {n:2d}: p50 {p50:6.2f} ms, p99 {p99:6.2f} ms ({count} queries)")
        figures[f"{label}_fresh_worst_p50"] = max(w[0] for w in windows)
        figures[f"{label}_fresh_worst_p99"] = max(w[1] for w in windows)
        figures[f"{label}_fresh_p50_ratio"] = figures[f"{label}_fresh_worst_p50"] / warm["p50"]
        figures[f"{label}_fresh_p99_ratio"] = figures[f"{label}_fresh_worst_p99"] / warm["p99"]
        figures[f"{label}_fresh_searchable_max_s"] = max(searchable)
        figures[f"{label}_fresh_searchable_median_s"] = statistics.median(searchable)
        say(f"articles searchable after commit: {', '.join(f'{s:.3f}' for s in searchable)} s")
    finally:
        server.stop()


def cold_start(
    dest: Path, corpus: Corpus, args: argparse.Namespace, work: Path, figures: dict[str, float]
) -> None:
    """Latency of the first 5 seconds after ``timkiem serve`` starts (one client)."""
    server = start_server(lambda port: TIMKIEM.serve(dest, port), work / "timkiem-cold.log")
    try:
        client = Client(server.port)
        mix = QueryMix(corpus, 40_000)
        timings: list[float] = []
        while time.perf_counter() - server.started < 5.0:
            params = mix.next()
            began = time.perf_counter()
            client.ask(params)
            timings.append((time.perf_counter() - began) * 1000)
        figures["cold_p50"] = percentile(timings, 50)
        figures["cold_p99"] = percentile(timings, 99)
        say(f"first 5 s after start: {len(timings)} queries")
    finally:
        server.stop()


class PrefixMix:
    """What a reader has typed so far: 1-4 words of a corpus title, the last one
    cut after 1 or more letters (or followed by a space), half without accents.
    Same seed, same prefixes."""

    def __init__(self, corpus: Corpus, seed: int) -> None:
        self.corpus = corpus
        self.rng = random.Random(seed)

    def next(self) -> Params:
        rng = self.rng
        typed = title_span(rng, self.corpus, 4)
        last = typed[-1]
        cut = rng.randint(1, len(last) + 1)
        text = " ".join([*typed[:-1], last[:cut]]) if cut <= len(last) else " ".join(typed) + " "
        return {"q": text if rng.random() < 0.5 else fold(text)}

    def take(self, count: int) -> list[Params]:
        return [self.next() for _ in range(count)]


def suggestions(
    dest: Path, corpus: Corpus, args: argparse.Namespace, work: Path, figures: dict[str, float]
) -> None:
    """``/suggest`` over HTTP (one client): the first request after start, warm
    p50/p99, then the same right after a one-article commit; and the CPU time of
    the same prefixes in-process (what a loaded machine adds to HTTP times aside)."""
    engine = SearchEngine(Settings.load({"index": str(dest)}))
    cpu: list[float] = []
    for params in PrefixMix(corpus, 60_000).take(args.queries * args.runs):
        began = time.thread_time()
        engine.suggest(params["q"], 8)
        cpu.append((time.thread_time() - began) * 1000)
    engine.close()
    figures["suggest_cpu_p50"] = percentile(cpu, 50)
    figures["suggest_cpu_p99"] = percentile(cpu, 99)
    server = start_server(lambda port: TIMKIEM.serve(dest, port), work / "timkiem-suggest.log")
    try:
        client = Client(server.port)
        began = time.perf_counter()
        client.suggest({"q": "cong do"})
        figures["suggest_first_ms"] = (time.perf_counter() - began) * 1000
        latency = Latency()
        for run in range(args.runs):
            say(f"timkiem: /suggest run {run + 1}/{args.runs}")
            mix = PrefixMix(corpus, 60_000 + run).take(args.queries)
            latency.runs.append(time_queries(mix, client.suggest))
        figures["suggest_p50"] = latency.figure(50)
        figures["suggest_p99"] = latency.figure(99)
        done = ingest_one(dest, work / "suggest-article.jsonl", _new_article(999))
        if done.returncode:
            raise SystemExit(f"ingest failed: {done.stderr}")
        began = time.perf_counter()
        client.suggest({"q": "tkfresh"})
        figures["suggest_commit_first_ms"] = (time.perf_counter() - began) * 1000
        mix = PrefixMix(corpus, 61_000).take(args.queries)
        after = [ms for _, ms in time_queries(mix, client.suggest)]
        figures["suggest_commit_p50"] = percentile(after, 50)
        figures["suggest_commit_p99"] = percentile(after, 99)
        say(
            f"/suggest p50/p99 {figures['suggest_p50']:.2f}/{figures['suggest_p99']:.2f} ms; "
            f"after a commit {figures['suggest_commit_p50']:.2f}/"
            f"{figures['suggest_commit_p99']:.2f} ms"
        )
    finally:
        server.stop()


def long_questions(args: argparse.Namespace, work: Path, figures: dict[str, float]) -> None:
    """20-word questions over an index of 1,000 passages, over HTTP."""
    passages = args.corpus / "relevance" / "ViMedAQA_v2-passages.jsonl.gz"
    queries = args.corpus / "relevance" / "ViMedAQA_v2-queries.jsonl.gz"
    if not passages.exists() or not queries.exists():
        say(f"skipping long questions: {passages} is not present")
        return
    src = work / "passages.jsonl"
    with open(src, "w", encoding="utf-8") as out:
        for line in read_lines(passages, 1000):
            out.write(line)
    dest = work / "timkiem-passages"
    shutil.rmtree(dest, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "timkiem", "reindex", str(src), "--index", str(dest)],
        check=True,
        capture_output=True,
    )
    questions = []
    for line in read_lines(queries, None):
        words = json.loads(line)["query"].split()
        if len(words) >= 20:
            questions.append(" ".join(words[:20]))
    server = start_server(lambda port: TIMKIEM.serve(dest, port), work / "timkiem-passages.log")
    try:
        client = Client(server.port)
        timings = time_queries([{"q": q, "page": "1"} for q in questions[:300]], client.ask)
        ms = [t for _, t in timings]
        figures["long_q_p50"] = percentile(ms, 50)
        figures["long_q_p99"] = percentile(ms, 99)
        say(f"long questions: {len(ms)} of 20 words")
    finally:
        server.stop()


# -- related articles (timkiem only) ------------------------------------------------


def load_ids(path: Path) -> list[str]:
    return [str(json.loads(line)["id"]) for line in read_lines(path, None)]


def related(
    dest: Path, ids: list[str], args: argparse.Namespace, work: Path, figures: dict[str, float]
) -> None:
    """``GET /articles/{id}/related`` of random articles, one client: on a warm
    server, then for ``args.fresh_seconds`` while an article is ingested (one
    commit) every 2 s. Every id is asked once, so no answer comes from the cache."""
    server = start_server(lambda port: TIMKIEM.serve(dest, port), work / "timkiem-related.log")
    order = random.Random(60_000).sample(ids, len(ids))
    asked = itertools.cycle(order)

    def ask(client: Client) -> float:
        path = f"/articles/{quote(next(asked), safe='')}/related"
        began = time.perf_counter()
        status = client.fetch(path)
        if status != 200:
            raise SystemExit(f"HTTP {status} for {path}")
        return (time.perf_counter() - began) * 1000

    try:
        server.wait_warm()
        client = Client(server.port)
        latency = Latency()
        for run in range(args.runs):
            say(f"timkiem: related HTTP run {run + 1}/{args.runs}")
            latency.runs.append([("plain", ask(client)) for _ in range(args.queries)])
        figures["related_http_p50"] = latency.figure(50)
        figures["related_http_p99"] = latency.figure(99)
        stop = threading.Event()
        commits = [0]

        def commit_every_2s() -> None:
            number = 0
            while not stop.is_set():
                done = ingest_one(dest, work / f"related-{number}.jsonl", _new_article(number))
                if done.returncode:
                    say(f"ingest failed: {done.stderr}")
                    return
                commits[0] += 1
                number += 1
                stop.wait(2.0)

        writer = threading.Thread(target=commit_every_2s)
        say(f"timkiem: related HTTP for {args.fresh_seconds:g} s, one commit every 2 s")
        writer.start()
        started = time.perf_counter()
        timings: list[float] = []
        try:
            while time.perf_counter() - started < args.fresh_seconds:
                timings.append(ask(client))
        finally:
            stop.set()
            writer.join(60)
        figures["related_commits_p50"] = percentile(timings, 50)
        figures["related_commits_p99"] = percentile(timings, 99)
        figures["related_commits"] = float(commits[0])
        say(f"related while ingesting: {len(timings)} requests, {commits[0]} commits")
    finally:
        server.stop()


# -- the table ------------------------------------------------------------------


@dataclass
class Row:
    label: str
    key: str
    unit: str
    target: float | None = None
    higher_is_better: bool = False


def rows(rss_count: int, full_count: int) -> list[Row]:
    ms = "ms"
    table = [
        Row(f"ingest news-rss, {rss_count:,} items", "ingest_rss_rate", "/s", 153_825 / 90, True),
        Row("  seconds", "ingest_rss_s", "s"),
        Row("  CPU seconds (process tree)", "ingest_rss_cpu", "s"),
        Row("  peak memory (process tree)", "ingest_rss_peak", "MB", 1500),
        Row(
            f"ingest news-fulltext, {full_count:,} articles",
            "ingest_full_rate",
            "/s",
            35_439 / 60,
            True,
        ),
        Row("  seconds", "ingest_full_s", "s"),
        Row("  CPU seconds (process tree)", "ingest_full_cpu", "s"),
        Row("  peak memory (process tree)", "ingest_full_peak", "MB", 1500),
    ]
    for prefix, title, p50 in (("inproc", "search in-process", 5.0), ("http", "search HTTP", 10.0)):
        table += [
            Row(f"{title} p50", f"{prefix}_p50", ms, p50),
            Row(f"{title} p95", f"{prefix}_p95", ms),
            Row(f"{title} p99", f"{prefix}_p99", ms, 60.0),
            Row("  date-range p50", f"{prefix}_date_range_p50", ms, p50),
            Row("  date-range p99", f"{prefix}_date_range_p99", ms, 60.0),
            Row("  date-sorted p50", f"{prefix}_date_sort_p50", ms, p50),
            Row("  date-sorted p99", f"{prefix}_date_sort_p99", ms, 60.0),
        ]
    table += [
        Row("throughput, 8 clients", "load_qps", "q/s", 150.0, True),
        Row("  errors", "load_errors", "", 0.0),
        Row("  latency under load p50", "load_p50", ms),
        Row("  latency under load p99", "load_p99", ms),
        Row("server peak resident memory", "server_rss", "MB", 400.0),
        Row("server ready after start", "ready_s", "s", 1.0),
        Row("  warm (/health) after start", "warm_s", "s"),
    ]
    corpora = (("rss", "news items", 3.0, 15.0), ("full", "full articles", 5.0, 25.0))
    for label, title, p50, p99 in corpora:
        table += [
            Row(f"{title}: warm HTTP p50 (1 client)", f"{label}_http_p50", ms, p50),
            Row(f"{title}: warm HTTP p99 (1 client)", f"{label}_http_p99", ms, p99),
            Row("  warm under load p50", f"{label}_fresh_warm_p50", ms),
            Row("  warm under load p99", f"{label}_fresh_warm_p99", ms),
            Row("  ingesting every 10 s: worst window p50", f"{label}_fresh_worst_p50", ms),
            Row("  ingesting every 10 s: worst window p99", f"{label}_fresh_worst_p99", ms),
            Row("  worst window / warm, p50", f"{label}_fresh_p50_ratio", "x", 1.25),
            Row("  worst window / warm, p99", f"{label}_fresh_p99_ratio", "x", 1.25),
            Row("  searchable after commit, max", f"{label}_fresh_searchable_max_s", "s", 1.0),
            Row("  new article searchable, median", f"{label}_fresh_searchable_median_s", "s"),
        ]
    table += [
        Row("first 5 s after start p50 (news items)", "cold_p50", ms, 3.0),
        Row("first 5 s after start p99 (news items)", "cold_p99", ms, 15.0),
        Row("20-word questions, 1,000 passages, p50", "long_q_p50", ms, 3.0),
        Row("20-word questions, 1,000 passages, p99", "long_q_p99", ms),
        Row("/suggest HTTP p50 (news items)", "suggest_p50", ms, 3.0),
        Row("/suggest HTTP p99 (news items)", "suggest_p99", ms, 15.0),
        Row("  in-process CPU time p50", "suggest_cpu_p50", ms),
        Row("  in-process CPU time p99", "suggest_cpu_p99", ms),
        Row("  first /suggest after start", "suggest_first_ms", ms),
        Row("  after a one-article commit: first", "suggest_commit_first_ms", ms),
        Row("  after a one-article commit: p50", "suggest_commit_p50", ms, 3.0),
        Row("  after a one-article commit: p99", "suggest_commit_p99", ms, 15.0),
        Row("related articles HTTP p50 (news items)", "related_http_p50", ms, 10.0),
        Row("related articles HTTP p99 (news items)", "related_http_p99", ms, 30.0),
        Row("  committing every 2 s: p50", "related_commits_p50", ms, 10.0),
        Row("  committing every 2 s: p99", "related_commits_p99", ms, 30.0),
        Row("  commits meanwhile", "related_commits", ""),
    ]
    return table


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.2f}x"
    if unit in ("/s", "q/s", "MB", ""):
        return f"{value:,.0f}{' ' + unit if unit else ''}"
    return f"{value:,.2f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def table(
    ours: dict[str, float],
    base: dict[str, float],
    rss_count: int,
    full_count: int,
    measured_only: bool = False,
) -> str:
    lines = [
        f"{'figure':<38} {'timkiem':>11} {'target':>12} {'':>4} {'baseline':>11} {'ratio':>7}",
        "-" * 88,
    ]
    for row in rows(rss_count, full_count):
        value = ours.get(row.key)
        if measured_only and value is None:
            continue
        target = verdict = ""
        if row.target is not None:
            sign = ">=" if row.higher_is_better else "<="
            target = f"{sign} {_fmt(row.target, row.unit)}"
            if value is not None:
                ok = value >= row.target if row.higher_is_better else value <= row.target
                verdict = "PASS" if ok else "FAIL"
        other = base.get(row.key)
        ratio = "-"
        if value is not None and other is not None and value > 0 and other > 0:
            ratio = f"{(value / other if row.higher_is_better else other / value):.1f}x"
        lines.append(
            f"{row.label:<38} {_fmt(value, row.unit):>11} {target:>12} {verdict:>4} "
            f"{_fmt(other, row.unit):>11} {ratio:>7}"
        )
    return "\n".join(lines)


def subset(src: Path, limit: int | None, dest: Path) -> tuple[Path, int]:
    """``src`` itself (counted) or its first ``limit`` records as plain JSON Lines."""
    if limit is None:
        return src, sum(1 for _ in read_lines(src, None))
    count = 0
    with open(dest, "w", encoding="utf-8") as out:
        for line in read_lines(src, limit):
            out.write(line)
            count += 1
    return dest, count


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=corpus_dir(),
        help="directory of the shared corpus (default: ../shared/corpus, or $TIMKIEM_CORPUS)",
    )
    parser.add_argument("--work", type=Path, help="scratch directory (default: a new temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="20,000 items, 3,000 articles, 1 run of 100 queries, 10 s load",
    )
    parser.add_argument("--rss-limit", type=int, help="use only the first N news-rss items")
    parser.add_argument("--full-limit", type=int, help="use only the first N full articles")
    parser.add_argument("--runs", type=int, help="latency runs, medians reported (default 3)")
    parser.add_argument("--queries", type=int, help="queries per latency run (default 300)")
    parser.add_argument("--duration", type=float, help="seconds of load (default 60)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument(
        "--ingest-procs",
        type=int,
        help="TIMKIEM_INGEST_PROCS of the builds (default: timkiem's own default)",
    )
    parser.add_argument("--skip-baseline", action="store_true", help="measure timkiem only")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the indexes already built in --work (no ingest figures)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--fresh-seconds",
        type=float,
        help="length of each freshness run, one ingest every 10 s (default 120)",
    )
    parser.add_argument(
        "--warm-seconds", type=float, help="load before each freshness run (default 20)"
    )
    parser.add_argument("--skip-related", action="store_true", help="skip the related-articles run")
    parser.add_argument(
        "--related-only",
        action="store_true",
        help="build the news-items index (unless --reuse) and measure related articles only",
    )
    parser.add_argument(
        "--suggest-only",
        action="store_true",
        help="only build the news items (unless --reuse) and measure /suggest",
    )
    parser.add_argument(
        "--skip-freshness",
        action="store_true",
        help="skip the freshness, cold-start and long-question runs",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.rss_limit = args.rss_limit or (20_000 if quick else None)
    args.full_limit = args.full_limit or (3_000 if quick else None)
    args.runs = args.runs or (1 if quick else 3)
    args.queries = args.queries or (100 if quick else 300)
    args.duration = args.duration or (10.0 if quick else 60.0)
    args.fresh_seconds = args.fresh_seconds or (30.0 if quick else 120.0)
    args.warm_seconds = args.warm_seconds or (10.0 if quick else 20.0)
    if args.reuse and args.work is None:
        parser.error("--reuse needs --work")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    for name in (RSS, FULL):
        missing = corpus_missing(name, args.corpus)
        if missing:
            raise SystemExit(missing)
    work = args.work or Path(tempfile.mkdtemp(prefix="timkiem-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        rss, rss_count = subset(args.corpus / RSS, args.rss_limit, work / "rss.jsonl")
        full, full_count = subset(args.corpus / FULL, args.full_limit, work / "full.jsonl")
        corpus = load_corpus(rss)
        sources = {"rss": (rss, rss_count), "full": (full, full_count)}
        only_one = args.suggest_only or args.related_only
        if only_one:
            sources = {"rss": sources["rss"]}
        systems = [TIMKIEM] if args.skip_baseline or only_one else [TIMKIEM, BASELINE]
        figures: dict[str, dict[str, float]] = {s.name: {} for s in systems}
        for system in systems:
            if not args.reuse:
                ingest(system, sources, args, work, figures[system.name])
        if not only_one:
            for system in systems:
                search(system, corpus, args, work, figures[system.name])
        ours = figures["timkiem"]
        if not args.related_only:
            suggestions(work / "timkiem-rss", corpus, args, work, ours)
        if not args.skip_freshness and not only_one:
            freshness("rss", work / "timkiem-rss", corpus, args, work, ours)
            freshness("full", work / "timkiem-full", load_corpus(full), args, work, ours)
            cold_start(work / "timkiem-rss", corpus, args, work, ours)
            long_questions(args, work, ours)
        if args.related_only or not (args.skip_related or args.suggest_only):
            related(work / "timkiem-rss", load_ids(rss), args, work, ours)
    finally:
        if args.work is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    ours, base = figures["timkiem"], figures.get("baseline", {})
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    limited = args.rss_limit is not None or args.full_limit is not None
    scope = "subsets: the targets are for the full corpus" if limited else "full corpus"
    print(
        f"\ntimkiem benchmark ({scope}; {args.runs} run(s) x {args.queries} queries, "
        f"{args.clients} clients x {args.duration:g} s; TIMKIEM_INGEST_PROCS="
        f"{'default' if args.ingest_procs is None else args.ingest_procs}; "
        "ratio > 1: timkiem better)"
    )
    print(table(ours, base, rss_count, full_count, measured_only=only_one))


if __name__ == "__main__":
    main()
