"""Writing the index: ingest (upsert), delete and reindex, each one atomic commit."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from whoosh.index import FileIndex
from whoosh.writing import IndexWriter

from timkiem.cms_columns import ColumnMap, explain_missing
from timkiem.config import Settings
from timkiem.engine.segwriter import BulkMpWriter, BulkWriter
from timkiem.errors import (
    ArticleNotFound,
    InvalidInput,
    InvalidParameter,
    NothingToIndex,
    Problem,
    RecordError,
    SourceError,
)
from timkiem.records import Article, parse_article, record_id
from timkiem.schema import FIELD_KINDS, TEXT_FIELDS
from timkiem.sources import RawRecord, read_records
from timkiem.storage import (
    IndexDirectory,
    remove_new_files,
    remove_uncommitted_files,
    storage_errors,
)

Progress = Callable[[int], None]
LARGE_BATCH_BYTES = 4 << 20  # input files from which an automatic writer uses every core
MAX_AUTO_PROCS = 4


@dataclass
class IngestReport:
    """What one ingest or reindex did."""

    added: int = 0
    replaced: int = 0
    rejected: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    notices: list[Problem] = field(default_factory=list)  # warnings that write nothing less
    generation: str | None = None

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.replaced} replaced, {self.rejected} rejected "
            f"in {self.seconds:.1f} s"
        )


def article_document(article: Article) -> dict[str, Any]:
    """The Whoosh fields of one article."""
    doc: dict[str, Any] = {
        "id": article.id,
        "record": json.dumps(article.to_json(), ensure_ascii=False),
    }
    if article.timestamp is not None:
        doc["timestamp"] = article.timestamp
    if article.category:
        doc["category"] = article.category
    for name in TEXT_FIELDS:
        text = getattr(article, name)
        if text:
            for kind in FIELD_KINDS:
                doc[kind(name)] = text
    return doc


def writer_procs(setting: int, paths: list[str]) -> int:
    """Processes to index ``paths`` with: ``setting``, or for 0 one per core for a large batch.

    A batch is large when its files (as stored, compressed or not) add up to
    ``LARGE_BATCH_BYTES``; standard input counts as small.
    """
    if setting:
        return setting
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    if cores < 2:
        return 1
    size = 0
    for path in paths:
        try:
            size += os.path.getsize(path) if path != "-" else 0
        except OSError:
            continue  # reported when read
    return min(cores, MAX_AUTO_PROCS) if size >= LARGE_BATCH_BYTES else 1


FORMATS = ("records", "html")


@dataclass
class Batch:
    """What to read: the paths, their format and the column names of exports."""

    paths: list[str]
    format: str = "records"
    columns: ColumnMap = field(default_factory=ColumnMap)
    _stdin: bytes | None = None
    _page_items: list[RawRecord | Problem] | None = None
    _page_notices: list[Problem] = field(default_factory=list)

    def raw_records(self, notices: list[Problem]) -> Iterator[RawRecord | Problem]:
        """Every record of the batch in order; ``notices`` gets what a reader warns about.

        Can be called again (standard input is kept from the first reading).
        """
        if self.format == "html":
            yield from self._pages(notices)
            return
        for path in self.paths:
            try:
                if path == "-":
                    if self._stdin is None:
                        self._stdin = sys.stdin.buffer.read()
                    records = read_records(path, content=self._stdin)
                else:
                    records = read_records(path)
                for record in records:
                    if record.error is None:
                        data = self.columns.apply(record.data)
                        if data is not record.data:
                            record = RawRecord(record.source, record.line, data)
                    yield record
            except SourceError as exc:
                yield Problem(exc.source, exc.line, None, exc.message)

    def _pages(self, notices: list[Problem]) -> Iterator[RawRecord | Problem]:
        if self._page_items is None:  # extract once: a second reading replays the results
            from timkiem.pages import read_pages

            items: list[RawRecord | Problem] = []
            self._page_notices = []
            for result in read_pages(self.paths):
                if isinstance(result, tuple):
                    items.append(Problem(result[0], None, None, result[1]))
                elif result.record is None:
                    note = f"skipped: {result.skipped}"
                    self._page_notices.append(Problem(result.source, None, None, note))
                else:
                    for name in result.missing:
                        note = f"no {name} found"
                        self._page_notices.append(Problem(result.source, None, None, note))
                    items.append(RawRecord(result.source, 1, result.record))
            self._page_items = items
        notices.extend(self._page_notices)
        yield from self._page_items


def _batch(paths: Iterable[str], format: str, columns: ColumnMap | None) -> Batch:
    if format not in FORMATS:
        raise InvalidParameter("format", f"{format!r} is not one of {', '.join(FORMATS)}")
    return Batch(list(paths), format, columns or ColumnMap())


def _start_writer(index: FileIndex, make: Callable[[], IndexWriter]) -> IndexWriter:
    """``make()`` a writer of ``index``; if it fails to start (a full disk...), unlock.

    Whoosh's writer takes the index's lock first, then creates its files: when
    that fails, nothing else would release the lock.
    """
    taken: list[Any] = []
    real_lock = index.lock

    def lock(name: str) -> Any:
        taken.append(real_lock(name))
        return taken[-1]

    index.lock = lock
    try:
        return make()
    except BaseException:
        for held in taken:
            if getattr(held, "fd", None) is not None:
                held.release()
        raise
    finally:
        del index.lock


def _commit_or_clean_up(writer: IndexWriter, folder: str, before: set[str]) -> None:
    """Commit; if that fails (a full disk...), unlock and remove what it left.

    A commit that failed before its table of contents went live leaves new
    segment files no reader sees: they are removed, so the generation is again
    byte for byte its last commit.
    """
    try:
        writer.commit()
    except BaseException:
        try:
            _cancel(writer)
        finally:
            remove_uncommitted_files(folder, before)
        raise


def _abandon(writer: IndexWriter | None, folder: str, before: set[str]) -> None:
    """Cancel ``writer`` (if one was opened) and remove the files it left in
    ``folder`` (Whoosh leaves a cancelled segment's files): the generation is
    again what it was when ``before`` was listed."""
    try:
        if writer is not None:
            _cancel(writer)
    finally:
        remove_new_files(folder, before)


def _cancel(writer: IndexWriter) -> None:
    """Cancel ``writer``; if it fails half closed (a full disk...), still release its lock."""
    try:
        writer.cancel()
    except Exception:
        lock = getattr(writer, "writelock", None)
        if lock is not None and getattr(lock, "fd", None) is not None:
            lock.release()


class Indexer:
    """Adds, replaces and deletes articles; rebuilds the index."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.directory = IndexDirectory(settings.index)
        self.notices: list[Problem] = []  # of the last batch that wrote nothing

    def _open_writer(self, index: FileIndex, procs: int) -> IndexWriter:
        """A writer of ``index`` using ``procs`` processes."""
        # Holding our lock, Whoosh's own can only be held by a killed writer's
        # worker that is still exiting: wait for it rather than fail.
        timeout = self.settings.lock_timeout
        if procs > 1:
            return _start_writer(index, lambda: BulkMpWriter(index, procs=procs, timeout=timeout))
        return _start_writer(index, lambda: BulkWriter(index, timeout=timeout))

    def _articles(
        self, batch: Batch, report: IngestReport, seen: dict[str, str]
    ) -> Iterator[tuple[str, Article, bool]]:
        """The batch's valid articles with where each is (``FILE:LINE``) and whether its
        id came before; problems and notices go to ``report``, the position of each
        id's latest record to ``seen``."""
        max_text = self.settings.max_text_length
        for item in batch.raw_records(report.notices):
            if isinstance(item, Problem):
                report.problems.append(item)
                continue
            rid = record_id(item.data)
            if item.error is not None:
                report.problems.append(Problem(item.source, item.line, rid, item.error))
                continue
            try:
                article = parse_article(item.data, max_text)
            except RecordError as exc:
                message = explain_missing(str(exc), item.data, batch.columns)
                report.problems.append(Problem(item.source, item.line, rid, message))
                continue
            where = f"{item.source}:{item.line}"
            again = article.id in seen
            if again:
                report.notices.append(
                    Problem(
                        item.source,
                        item.line,
                        article.id,
                        f"replaces the record of the same id at {seen[article.id]} "
                        "(the later record is taken as the newer revision)",
                    )
                )
            seen[article.id] = where
            yield where, article, again

    def _add_records(
        self,
        writer: IndexWriter,
        index: FileIndex,
        batch: Batch,
        skip_invalid: bool,
        progress: Progress | None,
        fresh: bool,
        winners: dict[str, str] | None = None,
    ) -> tuple[IngestReport, dict[str, str] | None]:
        """Check every record of the batch and hand the valid ones to ``writer``; the later
        of two records with one id wins.

        Without ``winners`` (the first pass) a repeated id stops the writing (the
        earlier record is already in the writer) and the position of each id's
        last record is returned, for a second pass that writes only those.
        """
        report = IngestReport()
        seen: dict[str, str] = {}
        repeated = False
        with index.searcher() as searcher:
            for where, article, again in self._articles(batch, report, seen):
                repeated = repeated or again
                if winners is not None and winners.get(article.id, where) != where:
                    continue  # a later record of this id follows
                if repeated and winners is None:
                    continue  # an id came twice: a second pass writes; keep validating
                if report.problems and not skip_invalid:
                    continue  # keep validating to report every problem
                doc = article_document(article)
                if not fresh and searcher.document_number(id=article.id) is not None:
                    writer.update_document(**doc)
                    report.replaced += 1
                else:
                    writer.add_document(**doc)
                    report.added += 1
                if progress is not None:
                    progress(1)
        report.rejected = len(report.problems)
        return report, (seen if repeated and winners is None else None)

    def check(
        self,
        paths: Iterable[str],
        *,
        format: str = "records",
        columns: ColumnMap | None = None,
    ) -> tuple[list[Article], IngestReport]:
        """What an ingest of ``paths`` would write (the latest record of each id, in
        order) and its problems and notices; nothing is written."""
        batch = _batch(paths, format, columns)
        report = IngestReport()
        chosen: dict[str, Article] = {}
        started = time.monotonic()
        for _, article, _ in self._articles(batch, report, {}):
            chosen.pop(article.id, None)
            chosen[article.id] = article
        report.added = len(chosen)
        report.rejected = len(report.problems)
        report.seconds = time.monotonic() - started
        return list(chosen.values()), report

    def ingest(
        self,
        paths: Iterable[str],
        *,
        skip_invalid: bool = False,
        progress: Progress | None = None,
        format: str = "records",
        columns: ColumnMap | None = None,
    ) -> IngestReport:
        """Add or replace the articles of ``paths`` in one atomic commit.

        Without ``skip_invalid`` any bad record rejects the whole batch
        (``InvalidInput``); with it the good records are committed and the bad
        ones reported. ``format`` is ``records`` (JSON Lines, JSON, CSV) or
        ``html`` (saved article pages, see :mod:`timkiem.pages`).
        """
        batch = _batch(paths, format, columns)
        return self._write_locked(batch, skip_invalid, progress, rebuild=False)

    def reindex(
        self,
        paths: Iterable[str],
        *,
        skip_invalid: bool = False,
        progress: Progress | None = None,
        format: str = "records",
        columns: ColumnMap | None = None,
    ) -> IngestReport:
        """Build a new index from ``paths`` and switch to it in one step.

        The live index keeps serving until the switch; on any failure it stays
        live and the partial build is removed.
        """
        batch = _batch(paths, format, columns)
        return self._write_locked(batch, skip_invalid, progress, rebuild=True)

    def _write_locked(
        self,
        batch: Batch,
        skip_invalid: bool,
        progress: Progress | None,
        rebuild: bool,
    ) -> IngestReport:
        """Holding the writer lock, commit ``batch`` to the live generation, or to a new
        one (``rebuild``, or no index yet) that goes live only if it holds articles."""
        started = time.monotonic()
        doing = "reindexing" if rebuild else "ingesting"
        with (
            storage_errors(self.directory.path, doing),
            self.directory.writer_lock(self.settings.lock_timeout),
        ):
            name = None if rebuild else self.directory.current_name()
            fresh = name is None
            if name is None:
                name, index = self.directory.new_generation()
            else:
                index = self.directory.open_generation(name)
            try:
                report = self._write_and_commit(index, batch, skip_invalid, progress, fresh)
                if rebuild and report.added == 0:
                    self.notices = report.notices
                    raise NothingToIndex(
                        "no valid article to build the new index from; the live index is unchanged"
                    )
            except BaseException:
                if fresh:  # the generation never went live: leave no trace of it
                    self.directory.remove_generation(name)
                raise
            if fresh:
                if report.added == 0:
                    self.directory.remove_generation(name)
                else:
                    self.directory.switch_to(name)
            if rebuild:
                self.directory.remove_old_generations(keep=2)
            report.generation = name
        report.seconds = time.monotonic() - started
        return report

    def _write_and_commit(
        self,
        index: FileIndex,
        batch: Batch,
        skip_invalid: bool,
        progress: Progress | None,
        fresh: bool,
    ) -> IngestReport:
        """Write the records of ``batch`` to ``index`` and commit them, or cancel the
        write and leave ``index`` as it was (``InvalidInput`` for bad records)."""
        folder = index.storage.folder
        before = set(os.listdir(folder))
        procs = writer_procs(self.settings.ingest_procs, batch.paths)
        writer: IndexWriter | None = None

        def cancel() -> None:
            _abandon(writer, folder, before)

        try:
            writer = self._open_writer(index, procs)
            report, winners = self._add_records(
                writer, index, batch, skip_invalid, progress, fresh
            )
            if winners is not None and not (report.problems and not skip_invalid):
                # an id came twice: write again, each id from its last record only
                cancel()
                writer = None
                writer = self._open_writer(index, procs)
                report, _ = self._add_records(
                    writer, index, batch, skip_invalid, progress, fresh, winners
                )
        except BaseException:
            cancel()
            raise
        nothing_valid = not (report.added or report.replaced)
        if report.problems and (not skip_invalid or nothing_valid):
            cancel()
            self.notices = report.notices
            raise InvalidInput(report.problems)
        if report.added or report.replaced:
            _commit_or_clean_up(writer, folder, before)
        else:
            cancel()
        return report

    def delete(self, ids: Iterable[str], *, missing_ok: bool = False) -> int:
        """Delete articles by id, all or none: an unknown id deletes nothing, unless
        ``missing_ok``, when unknown ids are passed over. Returns the number deleted."""
        wanted = list(dict.fromkeys(ids))
        with (
            storage_errors(self.directory.path, "deleting"),
            self.directory.writer_lock(self.settings.lock_timeout),
        ):
            index = self.directory.open_current()
            with index.searcher() as searcher:
                missing = [i for i in wanted if searcher.document_number(id=i) is None]
            if missing and not missing_ok:
                raise ArticleNotFound(", ".join(missing))
            wanted = [i for i in wanted if i not in missing]
            if not wanted:
                return 0
            folder = index.storage.folder
            before = set(os.listdir(folder))
            writer: IndexWriter | None = None
            timeout = self.settings.lock_timeout
            try:
                # The bulk writer: a merge it makes writes its segment's data file.
                writer = _start_writer(index, lambda: BulkWriter(index, timeout=timeout))
                for article_id in wanted:
                    writer.delete_by_term("id", article_id)
            except BaseException:
                _abandon(writer, folder, before)
                raise
            _commit_or_clean_up(writer, folder, before)
        return len(wanted)

    def apply(self, articles: Iterable[Article], delete_ids: Iterable[str] = ()) -> ApplyReport:
        """Write ``articles`` (added, or replacing the same id) and delete ``delete_ids``
        in one atomic commit; the later of two articles with one id wins.

        An id to delete that is not in the index is passed over. For a crawl's
        batches and a sync, whose records are already validated.
        """
        chosen: dict[str, Article] = {}
        for article in articles:
            chosen.pop(article.id, None)
            chosen[article.id] = article
        doomed = [i for i in dict.fromkeys(delete_ids) if i not in chosen]
        report = ApplyReport()
        if not chosen and not doomed:
            return report
        with (
            storage_errors(self.directory.path, "writing"),
            self.directory.writer_lock(self.settings.lock_timeout),
        ):
            name = self.directory.current_name()
            fresh = name is None
            if name is None:
                if not chosen:
                    return report
                name, index = self.directory.new_generation()
            else:
                index = self.directory.open_generation(name)
            try:
                self._apply_and_commit(index, chosen, doomed, fresh, report)
            except BaseException:
                if fresh:
                    self.directory.remove_generation(name)
                raise
            if fresh:
                self.directory.switch_to(name)
        return report

    def _apply_and_commit(
        self,
        index: FileIndex,
        chosen: dict[str, Article],
        doomed: list[str],
        fresh: bool,
        report: ApplyReport,
    ) -> None:
        folder = index.storage.folder
        before = set(os.listdir(folder))
        writer: IndexWriter | None = None
        timeout = self.settings.lock_timeout
        try:
            with index.searcher() as searcher:
                present = {
                    i for i in [*chosen, *doomed] if searcher.document_number(id=i) is not None
                }
            writer = _start_writer(index, lambda: BulkWriter(index, timeout=timeout))
            for article_id in doomed:
                if article_id in present:
                    writer.delete_by_term("id", article_id)
                    report.deleted += 1
            for article in chosen.values():
                doc = article_document(article)
                if not fresh and article.id in present:
                    writer.update_document(**doc)
                    report.replaced += 1
                else:
                    writer.add_document(**doc)
                    report.added += 1
        except BaseException:
            _abandon(writer, folder, before)
            raise
        if report.added or report.replaced or report.deleted:
            _commit_or_clean_up(writer, folder, before)
        else:
            _abandon(writer, folder, before)


@dataclass
class ApplyReport:
    """What one :meth:`Indexer.apply` commit wrote."""

    added: int = 0
    replaced: int = 0
    deleted: int = 0
