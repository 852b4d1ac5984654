"""One server against read replicas behind nginx, on the shared news corpus.

Builds (or reuses, ``--reuse``) an index of the news items, publishes it,
pulls it into ``--replicas`` replica directories (timing the copy), then runs
``--clients`` concurrent keep-alive clients for ``--duration`` seconds each
against: one ``timkiem serve`` directly (and with one client, for the
latency of a query alone), the same through nginx, and the
replicas behind nginx (the project's site, ``deploy/nginx-timkiem.conf``,
without its per-client rate limit). Prints queries per second, p50/p99
latency (nearest rank), errors and each server's resident memory. The query
mix is ``scripts/bench.py``'s (titles' words, half unaccented, date ranges,
sorts, pages 1-5).

    .venv/bin/python scripts/bench_replicas.py [--limit N] [--replicas 2] [--duration 20]

Everything runs on this machine: the clients, nginx and every server share
its cores, so on a small machine the figures say what the proxy and the
extra processes cost, not what more machines would add (see docs/scale.md).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench import RSS, Corpus, load_corpus, throughput
from timkiem.config import Settings
from timkiem.indexer import Indexer
from timkiem.replication import publish, pull
from timkiem.testing import (
    NginxProcess,
    ServerProcess,
    corpus_dir,
    corpus_missing,
    free_port,
    nginx_binary,
    nginx_config,
    nginx_site,
    read_lines,
)

MB = 1_000_000


def settings(index: Path) -> Settings:
    return Settings.load({"index": str(index)}, environ={})


def build(work: Path, limit: int | None, reuse: bool) -> Path:
    writer = work / "writer"
    if reuse and (writer / "CURRENT").exists():
        return writer
    source = corpus_dir() / RSS
    data = work / "items.jsonl"
    with open(data, "w", encoding="utf-8") as out:
        for line in read_lines(source, limit):
            out.write(line if line.endswith("\n") else line + "\n")
    began = time.monotonic()
    report = Indexer(settings(writer)).reindex([str(data)])
    print(f"built {report.added} items in {time.monotonic() - began:.0f} s", flush=True)
    return writer


def resident_split(pid: int) -> tuple[int, int]:
    """Resident bytes of ``pid``: its own (anonymous) and mapped files' pages."""
    found = {"RssAnon:": 0, "RssFile:": 0, "RssShmem:": 0}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            key = line.split(maxsplit=1)[0]
            if key in found:
                found[key] = int(line.split()[1]) * 1024
    return found["RssAnon:"], found["RssFile:"] + found["RssShmem:"]


def measure(
    label: str, port: int, corpus: Corpus, args: argparse.Namespace, clients: int | None = None
) -> None:
    figures = throughput(port, corpus, clients or args.clients, args.duration)
    print(
        f"{label:<28} {figures['qps']:>7.0f} q/s   p50 {figures['p50']:>6.1f} ms   "
        f"p99 {figures['p99']:>6.1f} ms   errors {figures['errors']:.0f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, help="first N news items (default: all)")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=2, help="request threads per server")
    parser.add_argument("--work", type=Path, help="scratch directory (default: a new temp dir)")
    parser.add_argument("--reuse", action="store_true", help="reuse the index in --work")
    args = parser.parse_args()
    missing = corpus_missing(RSS)
    if missing:
        sys.exit(missing)
    nginx = nginx_binary()
    if nginx is None:
        sys.exit("nginx is not installed (apt-get install nginx-light)")
    work = args.work or Path(tempfile.mkdtemp(prefix="timkiem-replicas-"))
    work.mkdir(parents=True, exist_ok=True)
    writer = build(work, args.limit, args.reuse)
    print(publish(settings(writer)).summary(), flush=True)
    replicas = [work / f"replica-{n}" for n in range(1, args.replicas + 1)]
    for replica in replicas:
        shutil.rmtree(replica, ignore_errors=True)
        print(pull(settings(replica), str(writer)).summary(), flush=True)
    corpus = load_corpus(corpus_dir() / RSS)
    serve_args = ["--no-access-log", "--threads", str(args.threads)]
    print(f"{args.clients} clients, {args.duration:g} s each, {args.threads} threads per server")
    with ExitStack() as stack:
        one = stack.enter_context(ServerProcess(replicas[0], clean=True, args=serve_args))
        measure("one server, 1 client", one.port, corpus, args, clients=1)
        measure("one server, direct", one.port, corpus, args)
        folder = work / "nginx-one"
        folder.mkdir(exist_ok=True)
        port = free_port()
        config = nginx_config(folder, nginx_site(folder, port, [one.port], rate_limit=False))
        with NginxProcess(nginx, config, port):
            measure("one server, through nginx", port, corpus, args)
        others = [
            stack.enter_context(ServerProcess(r, clean=True, args=serve_args))
            for r in replicas[1:]
        ]
        servers = [one, *others]
        folder = work / "nginx-many"
        folder.mkdir(exist_ok=True)
        port = free_port()
        site = nginx_site(folder, port, [s.port for s in servers], rate_limit=False)
        with NginxProcess(nginx, nginx_config(folder, site), port):
            measure(f"{len(servers)} replicas, through nginx", port, corpus, args)
        for server in servers:
            anon, files = resident_split(server.pid)
            print(
                f"server {server.port}: {server.rss_bytes() / MB:.0f} MB resident: "
                f"{anon / MB:.0f} MB its own, {files / MB:.0f} MB file pages (index, libraries; "
                "shared with other processes)"
            )
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
