"""Crash loop: SIGKILL `timkiem ingest` (and now and then `reindex`) at random moments.

Each round writes a batch (new articles plus replacements of existing ones,
every record tagged with the round number in an extra field ``crash_rev``),
starts ``timkiem ingest`` on it and kills the process group with SIGKILL after
a random delay. After each kill it checks, in a fresh reader, that:

- the index opens and answers a search;
- it holds exactly the articles of the last completed commit: the state before
  the killed command, or the state after it if its commit finished (never a
  mix; and "after" whenever the command had reported success);
- a lock left by the killed writer is reported by the next writer;
- the next ingest works (a small uninterrupted ingest, then checked too).

Usage:
    python scripts/crash_loop.py                       # 50 kills, generated records
    python scripts/crash_loop.py --kills 100 \
        --corpus ../shared/corpus/news-rss-2025-2026.jsonl.gz

Exits 1 at the first broken promise, 0 after printing the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from timkiem.config import Settings
from timkiem.search import SearchEngine, SearchRequest
from timkiem.storage import LOCK, IndexDirectory
from timkiem.testing import read_jsonl_gz

STALE_MESSAGE = "stopped without finishing"
PROBE_ID = "crash-probe"
_WORDS = (
    "công đoàn lao động việc làm tiền lương bảo hiểm xã hội người lao động hội nghị "
    "tỉnh Bắc Kạn công nhân viên chức doanh nghiệp an toàn vệ sinh nhà ở phúc lợi "
    "thỏa ước đối thoại tuyên truyền pháp luật chăm lo đời sống đoàn viên Tết sum vầy"
).split()


class CrashCheckFailed(Exception):
    """A promise of crash safety did not hold."""


@dataclass
class Figures:
    """What the loop did, for the final report."""

    kills: int = 0
    kills_holding_lock: int = 0
    kills_in_reindex: int = 0
    kills_while_writing: int = 0
    finished_before_kill: int = 0
    state_before: int = 0
    state_after: int = 0
    stale_lock_reports: int = 0
    probe_ingests: int = 0
    articles: int = 0
    seconds: float = 0.0
    durations: list[float] = field(default_factory=list)


def _generated(rng: random.Random) -> Iterator[dict[str, Any]]:
    number = 0
    while True:
        number += 1
        yield {
            "id": f"gen-{number}",
            "title": " ".join(rng.choices(_WORDS, k=8)),
            "body": " ".join(rng.choices(_WORDS, k=rng.randint(20, 200))),
            "date": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(2015, 2026)}",
        }


def _from_corpus(path: Path) -> Iterator[dict[str, Any]]:
    for record in read_jsonl_gz(path):
        record["id"] = str(record["id"])
        yield record


def read_state(index: Path) -> dict[str, int]:
    """Every article id in the live index with its ``crash_rev``; checks a search runs."""
    directory = IndexDirectory(index)
    if directory.current_name() is None:
        return {}
    state: dict[str, int] = {}
    ix = directory.open_current()
    with ix.searcher() as searcher:
        for stored in searcher.reader().all_stored_fields():
            record = json.loads(stored["record"])
            if record["id"] in state:
                raise CrashCheckFailed(f"article {record['id']} is in the index twice")
            state[record["id"]] = int(record["crash_rev"])
        if searcher.doc_count() != len(state):
            raise CrashCheckFailed(f"doc_count {searcher.doc_count()} != {len(state)} stored")
    engine = SearchEngine(Settings.load({"index": str(index)}, environ={}))
    try:
        engine.search(SearchRequest(q="công đoàn lao động"))
        engine.search(SearchRequest(sort="newest", per_page=5))
    finally:
        engine.close()
    return state


def _index_files(index: Path) -> set[str]:
    """Files that a commit writes (not locks, not a new generation's empty index)."""
    if not index.exists():
        return set()
    return {
        str(p) for p in index.rglob("*") if p.is_file() and not p.name.endswith(("LOCK", "_0.toc"))
    }


def _write_batch(path: Path, records: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _command(args: list[str], index: Path) -> list[str]:
    return [sys.executable, "-m", "timkiem", args[0], "--index", str(index), *args[1:]]


def _env(procs: int) -> dict[str, str]:
    env = dict(os.environ)
    env["TIMKIEM_INGEST_PROCS"] = str(procs)
    env["TIMKIEM_LOCK_TIMEOUT"] = "30"
    return env


def _describe(expected: dict[str, int], found: dict[str, int]) -> str:
    missing = sorted(set(expected) - set(found))[:5]
    extra = sorted(set(found) - set(expected))[:5]
    changed = sorted(i for i in set(expected) & set(found) if expected[i] != found[i])[:5]
    return (
        f"{len(found)} articles, expected {len(expected)}; missing {missing}, "
        f"unexpected {extra}, wrong revision {changed}"
    )


class CrashLoop:
    """One run of the loop over one index directory."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.index = work / "index"
        self.rng = random.Random(args.seed)
        self.source = _from_corpus(Path(args.corpus)) if args.corpus else _generated(self.rng)
        self.records: dict[str, dict[str, Any]] = {}  # committed content, by id
        self.figures = Figures()
        self.estimate = 1.0  # seconds an uninterrupted ingest takes, updated as we go

    def log(self, message: str) -> None:
        if not self.args.quiet:
            print(message, flush=True)

    def _batch(self, rev: int, replacements: bool = True) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        for _ in range(self.args.batch):
            record = dict(next(self.source))
            if record["id"] in self.records or record["id"] == PROBE_ID:
                continue
            record["crash_rev"] = rev
            batch.append(record)
        if self.records and replacements:
            ids = self.rng.sample(
                sorted(self.records), min(len(self.records), self.args.batch // 10)
            )
            for rid in ids:
                record = dict(self.records[rid])
                record["crash_rev"] = rev
                record["title"] = f"{record.get('title') or ''} (sửa lần {rev})"
                batch.append(record)
        self.rng.shuffle(batch)
        return batch

    def _run_killed(self, command: list[str]) -> tuple[bool, float, str, str]:
        """Start ``command``, SIGKILL it after a random delay: (finished, delay, out, err).

        A third of the kills land anywhere, a third late in the run, and a third
        while the commit writes its files (just after the first new file shows).
        """
        roll = self.rng.random()
        if roll < 1 / 3:
            delay = self.rng.uniform(0.0, self.estimate * 1.1)
        else:
            delay = self.rng.uniform(self.estimate * 0.6, self.estimate * 1.05)
        known = _index_files(self.index)
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(self.args.procs),
            start_new_session=True,
        )
        started = time.monotonic()
        try:
            if roll >= 2 / 3:
                delay = self._until_writing(proc, known, started)
            proc.wait(timeout=max(0.0, delay - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            # only the writer itself, as the OOM killer or `kill -9 PID` would: its
            # worker processes (TIMKIEM_INGEST_PROCS > 1) must not outlive it
            os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        self._reap_workers(proc.pid)
        finished = proc.returncode == 0
        if finished:
            self.estimate = 0.7 * self.estimate + 0.3 * (time.monotonic() - started)
        else:
            self.estimate *= 1.05  # the index grows: aim a little later each time
        if not finished and proc.returncode != -signal.SIGKILL:
            raise CrashCheckFailed(f"{command} failed by itself: {err.decode()[-2000:]}")
        return finished, delay, out.decode(), err.decode()

    def _until_writing(
        self, proc: subprocess.Popen[bytes], known: set[str], started: float
    ) -> float:
        """Wait for the writer's first new index file; a kill time just after it."""
        limit = started + self.estimate * 3 + 5
        while proc.poll() is None and time.monotonic() < limit:
            if _index_files(self.index) - known:
                self.figures.kills_while_writing += 1
                return time.monotonic() - started + self.rng.uniform(0.0, 0.05)
            time.sleep(0.003)
        return time.monotonic() - started

    def _reap_workers(self, group: int) -> None:
        """Fail if workers of the killed writer are still alive a moment later."""
        deadline = time.monotonic() + 5
        while True:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            if time.monotonic() > deadline:
                os.killpg(group, signal.SIGKILL)
                raise CrashCheckFailed("worker processes outlived the killed writer")
            time.sleep(0.05)

    def _check(self, before: dict[str, int], after: dict[str, int], reported: bool) -> str:
        found = read_state(self.index)
        if found == after:
            return "after"
        if found == before and not reported:
            return "before"
        if reported:
            raise CrashCheckFailed(f"a reported commit is not all there: {_describe(after, found)}")
        raise CrashCheckFailed(
            "the index is neither the state before nor after the killed commit: "
            f"{_describe(before, found)}"
        )

    def _probe(self, rev: int, expect_stale: bool) -> None:
        """The next ingest after a kill must work (and report a stale lock)."""
        record = {
            "id": PROBE_ID,
            "title": "kiểm tra sau sự cố",
            "body": "công đoàn",
            "crash_rev": rev,
        }
        path = self.work / "probe.jsonl"
        _write_batch(path, [record])
        result = subprocess.run(
            _command(["ingest", str(path)], self.index),
            capture_output=True,
            text=True,
            env=_env(1),
        )
        if result.returncode != 0:
            raise CrashCheckFailed(f"the ingest after a kill failed: {result.stderr[-2000:]}")
        if STALE_MESSAGE in result.stderr:
            self.figures.stale_lock_reports += 1
        elif expect_stale:
            raise CrashCheckFailed(
                f"the killed writer's lock was not reported; stderr: {result.stderr[-2000:]}"
            )
        self.records[PROBE_ID] = record
        self.figures.probe_ingests += 1

    def state(self) -> dict[str, int]:
        return {rid: int(r["crash_rev"]) for rid, r in self.records.items()}

    def round(self, rev: int) -> None:
        reindex = self.args.reindex_every > 0 and rev % self.args.reindex_every == 0
        before = self.state()
        if reindex and self.records:
            batch = [dict(r, crash_rev=rev) for r in self.records.values()]
            batch.extend(self._batch(rev, replacements=False))
            after_records = {r["id"]: r for r in batch}
        else:
            reindex = False
            batch = self._batch(rev)
            after_records = dict(self.records)
            after_records.update((r["id"], r) for r in batch)
        path = self.work / f"batch-{rev}.jsonl"
        _write_batch(path, batch)
        command = _command(["reindex" if reindex else "ingest", str(path)], self.index)
        finished, delay, out, err = self._run_killed(command)
        after = {rid: int(r["crash_rev"]) for rid, r in after_records.items()}
        if finished:
            self.figures.finished_before_kill += 1
            outcome = self._check(before, after, reported=True)
        else:
            self.figures.kills += 1
            self.figures.kills_in_reindex += reindex
            outcome = self._check(before, after, reported="added" in out)
        if outcome == "after":
            self.records = after_records
            self.figures.state_after += not finished
        else:
            self.figures.state_before += 1
        lock_text = (self.index / LOCK).read_text() if (self.index / LOCK).exists() else ""
        holding = not finished and bool(lock_text.strip())
        self.figures.kills_holding_lock += holding
        if not finished:
            self._probe(rev, expect_stale=holding)
            found = read_state(self.index)
            if found != self.state():
                raise CrashCheckFailed(f"after the next ingest: {_describe(self.state(), found)}")
        path.unlink()
        what = "reindex" if reindex else "ingest"
        self.log(
            f"round {rev:3d}: {what} of {len(batch):5d} "
            f"{'finished' if finished else f'killed at {delay:5.2f} s'}"
            f"{' (lock held)' if holding else ''}: index = {outcome} state, "
            f"{len(self.records)} articles"
        )

    def run(self) -> Figures:
        started = time.monotonic()
        rev = 0
        while self.figures.kills < self.args.kills:
            rev += 1
            self.round(rev)
        self.figures.articles = len(self.records)
        self.figures.seconds = time.monotonic() - started
        return self.figures


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=50, help="SIGKILLs to survive (50)")
    parser.add_argument("--batch", type=int, default=400, help="new articles per round (400)")
    parser.add_argument("--corpus", help="JSON Lines .gz to take articles from (else generated)")
    parser.add_argument("--reindex-every", type=int, default=8, help="every Nth round reindexes")
    parser.add_argument("--procs", type=int, default=1, help="TIMKIEM_INGEST_PROCS of the writers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", help="working directory (default: a new temporary one)")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="timkiem-crash-"))
    work.mkdir(parents=True, exist_ok=True)
    loop = CrashLoop(args, work)
    try:
        figures = loop.run()
    except CrashCheckFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        print(f"the index is kept in {loop.index}", file=sys.stderr)
        return 1
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"kills survived: {figures.kills} ({figures.kills_holding_lock} holding the lock, "
        f"{figures.kills_in_reindex} during reindex, up to {figures.kills_while_writing} "
        "aimed at index files being written); commits that finished before the kill: "
        f"{figures.finished_before_kill}\n"
        f"after a kill the index held the state before the command {figures.state_before} "
        f"times, after it {figures.state_after} times; never anything else\n"
        f"stale locks reported: {figures.stale_lock_reports}; "
        f"ingests after a kill that worked: {figures.probe_ingests}\n"
        f"final index: {figures.articles} articles; {figures.seconds:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
