"""Read replicas: publishing immutable generations, pulling them, and switching
replicas behind a real nginx while clients query through it."""

from __future__ import annotations

import functools
import hashlib
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from falcon.testing import TestClient

from conftest import EXAMPLES, Engines, make_settings, nginx_or_skip, write_jsonl
from timkiem.cli import cli
from timkiem.errors import ReplicationError
from timkiem.indexer import Indexer
from timkiem.replication import MANIFEST, publish, publish_directory, pull, read_manifest
from timkiem.search import SearchRequest
from timkiem.storage import IndexDirectory
from timkiem.testing import (
    LOOPBACK,
    NginxProcess,
    ServerProcess,
    free_port,
    nginx_config,
    nginx_site,
)

MARK = "kiemthu"  # a word only the new article set holds
SWITCH_BOUND = 10.0  # seconds for both replicas to serve a new publication


def articles() -> list[dict[str, Any]]:
    return [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]


def changed(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The article set after an edit: the last 7 gone, 6 titles with the word MARK."""
    kept = [dict(r) for r in records[:-7]]
    for record in kept[:6]:
        record["title"] = f"{record['title']} {MARK}"
    return kept


def writer_with(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    index = tmp_path / "writer"
    Indexer(make_settings(index)).ingest([str(write_jsonl(tmp_path / "a.jsonl", records))])
    return index


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_publish_snapshots_the_live_commit(tmp_path: Path) -> None:
    writer = writer_with(tmp_path, articles())
    first = publish(make_settings(writer))
    assert first.new and first.manifest.generation == "gen-000001"
    assert first.manifest.articles == 47 and first.manifest.source_generation == "gen-000001"
    area = publish_directory(writer)
    assert IndexDirectory(area).current_name() == "gen-000001"
    published = area / "gen-000001"
    names = {p.name for p in published.iterdir()}
    assert names == set(first.manifest.files) | {MANIFEST}
    assert any(n.endswith(".toc") for n in names) and any(n.endswith(".tkseg") for n in names)
    before = digests(published)

    again = publish(make_settings(writer))  # nothing committed since: nothing new
    assert not again.new and again.manifest.id == first.manifest.id
    assert "nothing published" in again.summary()

    # an ingest commits into the writer's live folder; the published copy stays as it was
    extra = {**articles()[0], "id": "them-1", "title": "Bài mới"}
    Indexer(make_settings(writer)).ingest([str(write_jsonl(tmp_path / "b.jsonl", [extra]))])
    Indexer(make_settings(writer)).delete(["bk-0001"])
    assert digests(published) == before
    second = publish(make_settings(writer))
    assert second.new and second.manifest.generation == "gen-000002"
    assert second.manifest.articles == 47 and second.manifest.commit == 3
    assert (area / "gen-000001").is_dir()  # the one before stays
    assert not publish(make_settings(writer)).new  # unchanged: still two
    Indexer(make_settings(writer)).reindex([str(EXAMPLES)])
    assert publish(make_settings(writer)).manifest.generation == "gen-000003"
    assert IndexDirectory(area).generations() == ["gen-000002", "gen-000003"]


def test_pull_copies_checks_and_switches(tmp_path: Path) -> None:
    writer = writer_with(tmp_path, articles())
    publish(make_settings(writer))
    replica = make_settings(tmp_path / "replica")
    pulled = pull(replica, str(writer))
    assert pulled.new and pulled.manifest.generation == "gen-000001"
    live = IndexDirectory(replica.index)
    assert live.current_name() == "gen-000001"
    assert read_manifest(Path(replica.index) / "gen-000001") == pulled.manifest
    assert "up to date" in pull(replica, str(publish_directory(writer))).summary()

    for _ in range(2):
        Indexer(make_settings(writer)).reindex(
            [str(write_jsonl(tmp_path / "c.jsonl", changed(articles())))]
        )
        publish(make_settings(writer))
        assert pull(replica, str(writer)).new
    assert live.current_name() == "gen-000003"
    assert live.generations() == ["gen-000002", "gen-000003"]  # the previous one stays
    assert not [p for p in Path(replica.index).iterdir() if p.name.endswith(".tmp")]
    result = CliRunner().invoke(cli, ["search", MARK, "--index", replica.index, "--json"])
    assert json.loads(result.output)["total"] == 6


def test_a_damaged_copy_is_refused_and_nothing_switches(tmp_path: Path) -> None:
    writer = writer_with(tmp_path, articles())
    publish(make_settings(writer))
    replica = make_settings(tmp_path / "replica")
    pull(replica, str(writer))
    Indexer(make_settings(writer)).reindex([str(EXAMPLES)])
    published = publish(make_settings(writer)).manifest
    victim = publish_directory(writer) / published.generation / max(published.files)
    damaged = bytearray(victim.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    victim.unlink()  # a hard link of the writer's file: replace it, not write through it
    victim.write_bytes(bytes(damaged))
    with pytest.raises(ReplicationError, match=f"{victim.name}: a different SHA-256"):
        pull(replica, str(writer))
    assert IndexDirectory(replica.index).current_name() == "gen-000001"
    assert sorted(p.name for p in Path(replica.index).iterdir()) == [
        "CURRENT",
        "LOCK",
        "gen-000001",
    ]


def test_pulling_with_nothing_published_says_what_to_do(tmp_path: Path) -> None:
    writer = writer_with(tmp_path, articles())
    result = CliRunner().invoke(cli, ["pull", str(writer), "--index", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert "nothing has been published" in result.output and "timkiem publish" in result.output
    assert not (tmp_path / "r" / "CURRENT").exists()
    result = CliRunner().invoke(cli, ["publish", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1 and "no index at" in result.output
    assert not (tmp_path / "none").exists()
    result = CliRunner().invoke(cli, ["pull", "ftp://writer/x", "--index", str(tmp_path / "r")])
    assert result.exit_code == 1 and "unknown scheme 'ftp'" in result.output


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A writer whose published/ folder is served over HTTP on 127.0.0.1: (index, URL)."""
    writer = writer_with(tmp_path, articles())
    publish_directory(writer).mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(publish_directory(writer)))
    server = ThreadingHTTPServer((LOOPBACK, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield writer, f"http://{LOOPBACK}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_pull_over_http(served: tuple[Path, str], tmp_path: Path) -> None:
    writer, url = served
    replica = tmp_path / "replica"
    result = CliRunner().invoke(cli, ["pull", url, "--index", str(replica)])
    assert result.exit_code == 1 and "nothing has been published" in result.output
    assert "CURRENT" in result.output
    assert (
        "published gen-000001"
        in CliRunner().invoke(cli, ["publish", "--index", str(writer)]).output
    )
    result = CliRunner().invoke(cli, ["pull", url, "--index", str(replica)])
    assert result.exit_code == 0, result.output
    assert "pulled gen-000001" in result.output and "now live" in result.output
    assert IndexDirectory(replica).current_name() == "gen-000001"


def test_responses_name_the_generation_that_answered(client: TestClient) -> None:
    assert (
        client.simulate_get("/search", params={"q": "cong doan"}).headers["X-Timkiem-Generation"]
        == "gen-000001"
    )
    assert client.simulate_get("/health").headers["X-Timkiem-Generation"] == "gen-000001"
    assert "X-Timkiem-Generation" not in client.simulate_get("/nope").headers


def test_a_search_on_the_snapshot_before_a_switch_is_not_cached_for_the_new_one(
    tmp_path: Path, engines: Engines, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that took the old snapshot just before the switch must not leave its
    results in the new generation's cache."""
    writer = writer_with(tmp_path, articles())
    engine = engines.open(make_settings(writer))
    request = SearchRequest(q=MARK)
    old = engine.snapshot()
    assert engine.search(request)["total"] == 0
    Indexer(make_settings(writer)).reindex(
        [str(write_jsonl(tmp_path / "n.jsonl", changed(articles())))]
    )
    assert engine.snapshot() is not old  # the switch: a new snapshot with a new cache
    late = iter([old])  # this request took the old snapshot before the switch
    real = engine.snapshot
    monkeypatch.setattr(engine, "snapshot", lambda: next(late, None) or real())
    assert engine.search(request)["total"] == 0
    assert engine.search(request)["total"] == 6


# -- replicas behind nginx ---------------------------------------------------------


@dataclass
class Answer:
    started: float
    path: str
    status: int
    generation: str | None
    total: int | None
    ids: frozenset[str]


class Clients:
    """``count`` threads querying ``port`` until stopped; every answer and failure kept."""

    def __init__(self, port: int, count: int, paths: list[str]) -> None:
        self.port, self.paths = port, paths
        self.answers: list[Answer] = []
        self.failures: list[str] = []
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(n,)) for n in range(count)]

    def run(self, number: int) -> None:
        conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=15)
        sent = 0
        while not self.stopped.is_set():
            path = f"{self.paths[sent % len(self.paths)]}&n={number}-{sent}"  # never cached
            sent += 1
            started = time.monotonic()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.failures.append(f"{path}: {type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=15)
                continue
            if response.status != 200:
                self.failures.append(f"{path}: {response.status} {body[:200]!r}")
                continue
            try:
                data = json.loads(body)
            except ValueError:
                self.failures.append(f"{path}: not JSON: {body[:200]!r}")
                continue
            self.answers.append(
                Answer(
                    started,
                    path.split("&n=")[0],
                    response.status,
                    response.getheader("X-Timkiem-Generation"),
                    data["total"],
                    frozenset(hit["id"] for hit in data["hits"]),
                )
            )
        conn.close()

    def __enter__(self) -> Clients:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(30)


def wait_for_generation(server: ServerProcess, name: str, since: float) -> float:
    """Seconds from ``since`` until ``server`` answers from generation ``name``."""
    deadline = since + SWITCH_BOUND * 3
    while time.monotonic() < deadline:
        status, body = server.get("/health")
        if status == 200 and body.get("generation") == name:
            return time.monotonic() - since
        time.sleep(0.05)
    return float("inf")


def test_replicas_behind_nginx_switch_atomically(tmp_path: Path) -> None:
    """Two replicas behind nginx follow the writer's publications while 8 clients query
    through nginx; one replica stops mid-run. No request fails, and each answer is
    wholly the old or wholly the new article set, named by its generation header."""
    nginx = nginx_or_skip()
    old, new = articles(), changed(articles())
    writer = writer_with(tmp_path, old)
    publish(make_settings(writer))
    replicas = [tmp_path / "replica-1", tmp_path / "replica-2"]
    for replica in replicas:
        pull(make_settings(replica), str(writer))
    paths = ["/search?q=&per_page=100", f"/search?q={MARK}&per_page=100"]
    expected = {  # per generation: each path's total and ids
        "gen-000001": {
            paths[0]: (len(old), frozenset(r["id"] for r in old)),
            paths[1]: (0, frozenset()),
        },
        "gen-000002": {
            paths[0]: (len(new), frozenset(r["id"] for r in new)),
            paths[1]: (6, frozenset(r["id"] for r in new[:6])),
        },
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMKIEM_")}
    logs = [tmp_path / f"follow-{n}.log" for n in (1, 2)]
    port = free_port()
    # replica 1 pulls from the writer's directory, replica 2 over HTTP from nginx
    # serving the writer's published/ folder (as docs/deploy.md sets it up)
    sources = [str(writer), f"http://{LOOPBACK}:{port}/timkiem-published/"]
    followers: list[subprocess.Popen[bytes]] = []
    servers = [ServerProcess(r, clean=True, args=["--no-access-log"]) for r in replicas]
    try:
        with servers[0], servers[1]:
            site = nginx_site(tmp_path, port, [s.port for s in servers], rate_limit=False)
            published_files = (
                f"    location /timkiem-published/ {{\n"
                f"        alias {publish_directory(writer)}/;\n"
                "    }\n\n    location / {"
            )
            site = site.replace("    location / {", published_files, 1)
            config = nginx_config(tmp_path, site)
            with NginxProcess(nginx, config, port), Clients(port, 8, paths) as clients:
                for replica, source, log in zip(replicas, sources, logs, strict=True):
                    command = ["pull", source, "--index", str(replica), "--pull-interval", "0.2"]
                    followers.append(
                        subprocess.Popen(
                            [sys.executable, "-m", "timkiem", *command],
                            stdout=log.open("wb"),
                            stderr=subprocess.STDOUT,
                            env=env,
                        )
                    )
                began = time.monotonic()
                time.sleep(1.0)
                Indexer(make_settings(writer)).reindex(
                    [str(write_jsonl(tmp_path / "n.jsonl", new))]
                )
                done = subprocess.run(
                    [sys.executable, "-m", "timkiem", "publish", "--index", str(writer)],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=60,
                )
                published = time.monotonic()
                assert done.returncode == 0, done.stderr
                assert "published gen-000002" in done.stdout
                switched = [wait_for_generation(s, "gen-000002", published) for s in servers]
                both = published + max(switched)
                time.sleep(0.5)
                servers[0].stop()  # one replica goes away mid-run
                stopped = time.monotonic()
                time.sleep(1.5)
                for follower in followers:  # before nginx, which serves one of them
                    follower.terminate()
            ended = time.monotonic()
    finally:
        for follower in followers:
            follower.terminate()
            follower.wait(10)
    answers = clients.answers
    by_generation = {g: sum(a.generation == g for a in answers) for g in expected}
    after_stop = sum(a.started > stopped + 0.05 for a in answers)
    figures = (
        f"{len(answers) + len(clients.failures)} requests through nginx in "
        f"{ended - began:.1f} s ({len(answers) / (ended - began):.0f}/s), "
        f"{len(clients.failures)} failed; answers per generation {by_generation}; "
        f"reindex and publish {published - began - 1.0:.2f} s; replicas on "
        f"gen-000002 {switched[0]:.2f} s and {switched[1]:.2f} s after publish returned; "
        f"{after_stop} answers after one replica stopped"
    )
    print(figures)
    assert clients.failures == [], f"{figures}: {clients.failures[:5]}"
    assert max(switched) <= SWITCH_BOUND, figures
    for answer in answers:
        assert answer.generation in expected, f"{answer}: {figures}"
        total, ids = expected[answer.generation][answer.path]
        assert (answer.total, answer.ids) == (total, ids), f"mixed answer {answer}"
        if answer.started > both + 0.1:
            assert answer.generation == "gen-000002", f"old answer after the switch: {answer}"
    assert by_generation["gen-000001"] > 0 and by_generation["gen-000002"] > 0, figures
    assert after_stop > 0, figures
    shown = [str(publish_directory(writer)), sources[1]]  # how each follower names its source
    for log, source in zip(logs, shown, strict=True):
        assert f"pulled gen-000002 from {source}" in log.read_text(), log.read_text()
