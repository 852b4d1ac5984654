"""The naive Whoosh setup that scripts/bench.py compares timkiem with.

StandardAnalyzer over title and body, the default writer in one process, and a
fresh searcher for every query (OR of the words, as timkiem matches any word).
Run by bench.py in subprocesses: ``build SRC DEST`` and ``serve DEST PORT``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from whoosh import index as windex
from whoosh.analysis import StandardAnalyzer
from whoosh.fields import ID, NUMERIC, TEXT, Schema
from whoosh.qparser import MultifieldParser, OrGroup
from whoosh.query import NumericRange

from timkiem.dates import parse_article_date, parse_range_bound, to_timestamp
from timkiem.testing import LOOPBACK, read_jsonl_gz


def _schema() -> Schema:
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=StandardAnalyzer(), stored=True),
        body=TEXT(analyzer=StandardAnalyzer()),
        timestamp=NUMERIC(bits=64, signed=True, sortable=True),
    )


def build(src: str, dest: str) -> int:
    """Index ``src`` into a new index in ``dest``; the number of documents."""
    ix = windex.create_in(dest, _schema())
    writer = ix.writer()
    count = 0
    for rec in read_jsonl_gz(Path(src)):
        doc: dict[str, Any] = {
            "id": str(rec["id"]),
            "title": rec.get("title") or "",
            "body": rec.get("body") or "",
        }
        if rec.get("date"):
            doc["timestamp"] = to_timestamp(parse_article_date(rec["date"]))
        writer.add_document(**doc)
        count += 1
    writer.commit()
    return count


class NaiveSearch:
    """One query = one new searcher, a parsed OR query, a page of stored fields."""

    def __init__(self, dest: str) -> None:
        self.ix = windex.open_dir(dest)
        self.parser = MultifieldParser(["title", "body"], self.ix.schema, group=OrGroup)

    def search(self, params: dict[str, str]) -> dict[str, Any]:
        query = self.parser.parse(params.get("q", ""))
        start = params.get("from")
        end = params.get("to")
        filt = None
        if start or end:
            filt = NumericRange(
                "timestamp",
                parse_range_bound(start, end=False) if start else None,
                parse_range_bound(end, end=True) if end else None,
            )
        sort = params.get("sort", "relevance")
        kwargs: dict[str, Any] = {"filter": filt, "pagelen": 10}
        if sort != "relevance":
            kwargs.update(sortedby="timestamp", reverse=sort == "newest")
        with self.ix.searcher() as searcher:
            page = searcher.search_page(query, int(params.get("page", "1")), **kwargs)
            hits = [{"id": hit["id"], "title": hit["title"]} for hit in page]
            return {"total": page.total, "hits": hits}


def serve(dest: str, port: int, threads: int = 8) -> None:
    """Serve ``GET /search`` over the naive index with waitress on loopback."""
    import waitress

    engine = NaiveSearch(dest)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        qs = parse_qs(environ.get("QUERY_STRING", ""))
        params = {k: v[0] for k, v in qs.items()}
        try:
            body = json.dumps(engine.search(params), ensure_ascii=False).encode("utf-8")
            status = "200 OK"
        except Exception as exc:  # report, never crash the benchmark server
            body = json.dumps({"error": repr(exc)}).encode("utf-8")
            status = "500 Internal Server Error"
        start_response(status, [("Content-Type", "application/json")])
        return [body]

    waitress.serve(app, host=LOOPBACK, port=port, threads=threads, _quiet=True)


def main(argv: list[str]) -> None:
    if argv[:1] == ["build"] and len(argv) == 3:
        started = time.perf_counter()
        count = build(argv[1], argv[2])
        print(json.dumps({"docs": count, "seconds": time.perf_counter() - started}))
    elif argv[:1] == ["serve"] and len(argv) == 3:
        serve(argv[1], int(argv[2]))
    else:
        sys.exit("usage: bench_baseline.py build SRC DEST | serve DEST PORT")


if __name__ == "__main__":
    main(sys.argv[1:])
