"""The ``timkiem`` command line: staff ingest, reindex, inspect and serve."""

from __future__ import annotations

import ctypes
import functools
import gc
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from timkiem import __version__, replication
from timkiem.check import DEFAULT_SAMPLE, check_index
from timkiem.cms_columns import ColumnMap, parse_mapping
from timkiem.config import BY_NAME, CONFIG_ENV, SETTINGS, Settings, load_settings
from timkiem.errors import InvalidInput, InvalidParameter, TimkiemError
from timkiem.export import export_line, stored_records
from timkiem.indexer import FORMATS as INPUT_FORMATS
from timkiem.indexer import Indexer, IngestReport
from timkiem.limits import (
    DEFAULT_PER_PAGE,
    DEFAULT_SORT,
    DEFAULT_SUGGESTIONS,
    FIRST_PAGE,
    MATCHES,
    MAX_PER_PAGE,
    MAX_SUGGESTIONS,
    SORTS,
)
from timkiem.logs import configure_logging, default_logging
from timkiem.related import DEFAULT_LIMIT as RELATED_DEFAULT
from timkiem.related import MAX_LIMIT as RELATED_MAX
from timkiem.search import RelatedRequest, SearchEngine, SearchRequest
from timkiem.sources import count_records

if TYPE_CHECKING:  # crawling pulls in HTML extraction: imported by the commands using it
    from timkiem.crawl import CrawlReport

F = TypeVar("F", bound=Callable[..., Any])

WRITING = ("index", "lock_timeout", "max_text_length", "ingest_procs")
SEARCHING = (
    "index",
    "max_query_length",
    "max_query_terms",
    "max_result_window",
    "query_time_limit",
    "cache_size",
    "synonyms_file",
)
SERVING = (
    *SEARCHING,
    "host",
    "port",
    "threads",
    "cors_origins",
    "cache_control",
    "metrics_port",
    "access_log",
    "log_client_address",
)
CRAWLING = (
    *WRITING[:3],
    "crawl_delay",
    "crawl_concurrency",
    "crawl_timeout",
    "crawl_retries",
    "crawl_batch_size",
    "crawl_commit_seconds",
    "crawl_max_pages",
)
_METAVARS = {
    "index": "DIR",
    "host": "ADDRESS",
    "cors_origins": "ORIGINS",
    "synonyms_file": "FILE",
    "metrics_port": "PORT",
    "log_file": "PATH",
}


def setting_option(name: str) -> Callable[[F], F]:
    """The option of one declared setting, its help and default taken from the declaration."""
    declared = BY_NAME[name]
    bounds = f"; {declared.bounds}" if declared.bounds else ""
    help = f"{declared.help} [default: {declared.shown_default()}, or ${declared.env}{bounds}]"
    if declared.type is bool:
        flags = f"{declared.option}/{declared.negative_option}"
        return click.option(flags, name, default=None, help=help)
    kind = click.Choice(declared.choices) if declared.choices else declared.type
    return click.option(
        declared.option, name, type=kind, default=None, metavar=_METAVARS.get(name), help=help
    )


def log_options(func: F) -> F:
    """``--log-format`` and ``--log-file`` (or their settings), applied before the command
    runs; put it below ``with_settings``, whose settings give the values not set here."""

    @functools.wraps(func)
    def configured(
        *args: Any, log_format: str | None, log_file: str | None, **kwargs: Any
    ) -> Any:
        settings = kwargs.get("settings")
        if settings is not None:
            log_format = log_format or settings.log_format
            log_file = log_file or settings.log_file or None
        log_format = log_format or "text"
        if log_format != "text" or log_file:
            try:
                configure_logging(log_format, log_file)
            except OSError as exc:
                raise click.ClickException(
                    f"--log-file {log_file}: cannot open it ({exc.strerror or exc}); "
                    "choose a file in a directory the server's user can write"
                ) from None
        return func(*args, **kwargs)

    configured = setting_option("log_file")(configured)
    configured = setting_option("log_format")(configured)
    return configured  # type: ignore[return-value]


def with_settings(*names: str, sources: bool = False) -> Callable[[F], F]:
    """Options for the settings ``names`` and ``--config``; the command gets ``settings``.

    With ``sources`` it also gets ``sources``: where each value came from.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def run(*args: Any, config_file: str | None, **kwargs: Any) -> Any:
            overrides = {name: kwargs.pop(name) for name in names}
            try:
                settings, origin = load_settings(overrides, config_file=config_file)
            except TimkiemError as exc:
                raise click.ClickException(str(exc)) from None
            if sources:
                kwargs["sources"] = origin
            return func(*args, settings=settings, **kwargs)

        for name in reversed(names):
            run = setting_option(name)(run)
        config = click.option(
            "--config",
            "config_file",
            default=None,
            metavar="FILE",
            help=f"TOML file of settings (see 'timkiem config'). [default: ${CONFIG_ENV}]",
        )
        return config(run)  # type: ignore[return-value]

    return decorate


@contextmanager
def _reported() -> Iterator[None]:
    """Turn timkiem's errors into clean command-line errors."""
    try:
        yield
    except InvalidInput as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(
            f"{len(exc.problems)} invalid record(s); nothing was written "
            "(use --skip-invalid to commit the valid ones)"
        ) from None
    except TimkiemError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.version_option(__version__, prog_name="timkiem")
def cli() -> None:
    """timkiem: search and indexing for Vietnamese news articles."""
    default_logging()


def _write_batch(
    indexer: Indexer,
    action: Callable[..., IngestReport],
    paths: tuple[str, ...],
    skip_invalid: bool,
    format: str,
    mapping: tuple[str, ...],
) -> None:
    columns = _columns(mapping, format)
    counted = format == "records" and "-" not in paths
    total = sum(count_records(p) for p in paths) if counted else None
    show = total is not None and total > 200 and sys.stderr.isatty()
    try:
        with (
            click.progressbar(
                length=total or 0, label="indexing", file=sys.stderr, hidden=not show
            ) as bar,
            _reported(),
        ):
            report = action(
                list(paths),
                skip_invalid=skip_invalid,
                progress=bar.update,
                format=format,
                columns=columns,
            )
    except click.ClickException:
        for notice in indexer.notices:  # e.g. why each page was skipped
            click.echo(str(notice), err=True)
        raise
    _echo_messages(report)
    click.echo(report.summary())


def _echo_messages(report: IngestReport) -> None:
    """The batch's notices, then its problems, on standard error."""
    for message in [*report.notices, *report.problems]:
        click.echo(str(message), err=True)


def _columns(mapping: tuple[str, ...], format: str = "records") -> ColumnMap:
    if mapping and format != "records":
        raise click.BadParameter(
            "names the columns of CSV or JSON records; saved pages (--format html) have none",
            param_hint="'--map'",
        )
    try:
        return ColumnMap(parse_mapping(mapping))
    except InvalidParameter as exc:
        raise click.BadParameter(exc.message, param_hint="'--map'") from None


def _dry_run(
    settings: Settings,
    paths: tuple[str, ...],
    skip_invalid: bool,
    format: str,
    mapping: tuple[str, ...],
) -> None:
    """Print the records a write would make, as JSON Lines; write nothing."""
    columns = _columns(mapping, format)
    with _reported():
        articles, report = Indexer(settings).check(list(paths), format=format, columns=columns)
    for article in articles:
        click.echo(export_line(article.to_json()))
    _echo_messages(report)
    click.echo(
        f"dry run: {len(articles)} record(s) would be written, {report.rejected} rejected; "
        "nothing was written",
        err=True,
    )
    if report.problems and not skip_invalid:
        raise click.ClickException(
            f"{len(report.problems)} invalid record(s): the batch would be rejected "
            "(use --skip-invalid to commit the valid ones)"
        )


def batch_options(func: F) -> F:
    """The options ingest and reindex share: input format, column names, dry run."""
    return _batch_options(func, "Print the records as JSON Lines to stdout and write nothing.")


def _sync_options(func: F) -> F:
    """The options of ingest and reindex, for sync."""
    return _batch_options(func, "Print the counts a sync would give and write nothing.")


def _batch_options(func: F, dry_run_help: str) -> F:
    func = click.option("--dry-run", is_flag=True, help=dry_run_help)(func)
    func = click.option(
        "--map",
        "mapping",
        multiple=True,
        metavar="FIELD=COLUMN",
        help="Read FIELD (id, title, body, date, category, url, author, tags, summary) from "
        "the export's COLUMN; repeatable. Common Vietnamese column names "
        "(Mã bài, Tiêu đề, Nội dung, Ngày đăng...) are recognised without it.",
    )(func)
    func = click.option(
        "--format",
        "format",
        type=click.Choice(INPUT_FORMATS),
        default="records",
        show_default=True,
        help="records: JSON Lines, JSON or CSV files; html: saved article pages "
        "(files, folders searched for *.html/*.htm, .zip archives).",
    )(func)
    return func


def _batch_command(name: str, summary: str, detail: str, skip_help: str) -> None:
    """Register ``ingest`` or ``reindex``: PATH... written in one commit by ``Indexer.<name>``."""

    @click.argument("paths", nargs=-1, required=True, metavar="PATH...")
    @click.option("--skip-invalid", is_flag=True, help=skip_help)
    @batch_options
    @with_settings(*WRITING)
    @log_options
    def command(
        paths: tuple[str, ...],
        skip_invalid: bool,
        format: str,
        mapping: tuple[str, ...],
        dry_run: bool,
        settings: Settings,
    ) -> None:
        if dry_run:
            _dry_run(settings, paths, skip_invalid, format, mapping)
            return
        indexer = Indexer(settings)
        _write_batch(indexer, getattr(indexer, name), paths, skip_invalid, format, mapping)

    command.__doc__ = f"{summary}\n\n{detail}"
    cli.command(name, short_help=summary)(command)


_batch_command(
    "ingest",
    "Add or replace articles in one commit.",
    "Reads JSON Lines, JSON or CSV files ('-' = stdin), or saved pages (--format html). "
    "The whole batch is one commit: by default any bad record writes nothing. When an id "
    "comes twice, the later record wins.",
    "Commit the valid records and report the bad ones.",
)
_batch_command(
    "reindex",
    "Rebuild the index and switch to it.",
    "Builds a new index from scratch from PATH... beside the live one and switches to it "
    "in one step; a running server follows without a restart.",
    "Build from the valid records and report the bad ones.",
)


@cli.command(short_help="Delete articles by id, all or none.")
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@click.option("--missing-ok", is_flag=True, help="An id that is not in the index is no error.")
@with_settings("index", "lock_timeout")
@log_options
def delete(ids: tuple[str, ...], missing_ok: bool, settings: Settings) -> None:
    """Delete articles by id, all or none: an unknown id deletes nothing, unless
    --missing-ok."""
    with _reported():
        count = Indexer(settings).delete(ids, missing_ok=missing_ok)
    absent = len(dict.fromkeys(ids)) - count
    click.echo(f"{count} deleted" + (f", {absent} not found" if absent else ""))


@cli.command(short_help="Write every stored article as JSON Lines.")
@click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    metavar="FILE|-",
    help="Where to write the JSON Lines ('-' = standard output).",
)
@with_settings("index")
@log_options
def export(output: str, settings: Settings) -> None:
    """Write every stored article as JSON Lines that 'timkiem reindex' accepts unchanged."""
    with _reported():
        if output == "-":
            count = 0
            for record in stored_records(settings):
                click.echo(export_line(record))
                count += 1
        else:
            count = _export_to_file(settings, output)
    click.echo(f"{count} exported", err=True)


def _export_to_file(settings: Settings, output: str) -> int:
    """Write the export next to ``output`` and rename it into place when complete."""
    partial = f"{output}.partial"
    count = 0
    try:
        with open(partial, "w", encoding="utf-8") as handle:
            for record in stored_records(settings):
                handle.write(export_line(record) + "\n")
                count += 1
        os.replace(partial, output)
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return count


class _CrawlProgress:
    """A progress line on standard error while a crawl runs (only on a terminal)."""

    def __init__(self) -> None:
        self.shown = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, report: CrawlReport, queued: int) -> None:
        now = time.monotonic()
        if self.shown and now - self.last >= 0.5:
            self.last = now
            click.echo(
                f"\rcrawl: {report.fetched} fetched, {report.added + report.replaced} written, "
                f"{queued} queued ",
                nl=False,
                err=True,
            )

    def done(self) -> None:
        if self.shown and self.last:
            click.echo("", err=True)


def _echo_crawl(report: CrawlReport) -> None:
    """A crawl's skipped pages, missing fields, broken links and failures, on stderr."""
    for message in [*report.notices, *report.problems]:
        click.echo(str(message), err=True)
    for line in report.broken:
        click.echo(f"broken link: {line}", err=True)
    for line in report.failed:
        click.echo(f"failed: {line}", err=True)


@cli.command(short_help="Crawl a site and index its article pages.")
@click.argument("url")
@with_settings(*CRAWLING)
@log_options
def crawl(url: str, settings: Settings) -> None:
    """Crawl the site of URL: the pages its sitemap lists (robots.txt's Sitemap
    lines, /sitemap.xml, or URL itself when it is a sitemap or feed), else those
    linked from URL within the site. Obeys robots.txt; a rerun fetches only what
    changed. Articles are committed in batches; list pages are skipped."""
    from timkiem.crawl import Crawler

    progress = _CrawlProgress()
    try:
        with _reported():
            report = Crawler(settings, progress=progress).crawl(url)
    finally:
        progress.done()
    _echo_crawl(report)
    click.echo(f"{report.site} ({report.mode}): {report.summary()}")


@cli.command(short_help="Make the index match a full export or a site exactly.")
@click.argument("sources", nargs=-1, required=True, metavar="PATH...|URL")
@click.option(
    "--force",
    is_flag=True,
    help="Delete however many articles the source lacks (see --sync-max-delete-percent).",
)
@_sync_options
@with_settings(*CRAWLING, "sync_max_delete_percent")
@log_options
def sync(
    sources: tuple[str, ...],
    force: bool,
    format: str,
    mapping: tuple[str, ...],
    dry_run: bool,
    settings: Settings,
) -> None:
    """Make the index hold exactly the articles of a full export (PATH...: records,
    or saved pages with --format html) or of a crawl of a site (URL): adds the new,
    replaces the changed, deletes those no longer there. From files it is one commit.
    --dry-run prints the counts and writes nothing."""
    from timkiem.sync import is_url, sync_files, sync_site

    if any(is_url(s) for s in sources):
        if len(sources) != 1 or mapping or format != "records":
            raise click.UsageError("a site is synced from one URL, without --map or --format")
        progress = _CrawlProgress()
        try:
            with _reported():
                report = sync_site(
                    settings, sources[0], force=force, dry_run=dry_run, progress=progress
                )
        finally:
            progress.done()
        assert report.crawl is not None
        _echo_crawl(report.crawl)
        click.echo(f"{report.crawl.site} ({report.crawl.mode}): {report.crawl.summary()}", err=True)
    else:
        columns = _columns(mapping, format)
        with _reported():
            report = sync_files(
                settings, sources, format=format, columns=columns, force=force, dry_run=dry_run
            )
        for notice in report.notices:
            click.echo(str(notice), err=True)
    click.echo(report.summary())


@cli.command(short_help="Verify the index against itself.")
@click.option(
    "--full",
    is_flag=True,
    help=f"Analyse every article again, not up to {DEFAULT_SAMPLE} per segment.",
)
@with_settings("index")
def check(full: bool, settings: Settings) -> None:
    """Verify the live index: every segment readable (with its term data's checksum),
    stored articles and indexed terms in agreement, ids unique, dates and categories
    as stored. Prints one line per problem and exits 1 if any, else "ok"."""
    report = check_index(settings, full=full)
    for problem in report.problems:
        click.echo(problem)
    click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_settings("index")
def stats(as_json: bool, settings: Settings) -> None:
    """Articles, date span, categories and size on disk."""
    with _reported(), closing(SearchEngine(settings)) as engine:
        data = engine.stats()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"index:      {data['index']} ({data['generation']}, {data['segments']} segment(s))")
    click.echo(f"articles:   {data['articles']}")
    click.echo(f"dates:      {data['first_date'] or '-'} .. {data['last_date'] or '-'}")
    click.echo(f"size:       {data['size_bytes'] / 1e6:.1f} MB")
    click.echo("categories:")
    for name, count in data["categories"].items():
        click.echo(f"  {count:>7}  {name}")


@cli.command()
@click.argument("query", default="")
@click.option(
    "--from", "date_from", metavar="DATE", help="First day (YYYY-MM-DD, YYYY-MM or YYYY)."
)
@click.option("--to", "date_to", metavar="DATE", help="Last day, inclusive.")
@click.option(
    "--category",
    multiple=True,
    help="Only this category, in any case and accents; repeat it for several.",
)
@click.option(
    "--sort",
    type=click.Choice(SORTS),
    default=DEFAULT_SORT,
    help=f"Order of the hits. [default: {DEFAULT_SORT}, which lists the newest first "
    "when there is no QUERY]",
)
@click.option("--page", type=click.IntRange(min=FIRST_PAGE), default=FIRST_PAGE, show_default=True)
@click.option(
    "--per-page",
    type=click.IntRange(1, MAX_PER_PAGE),
    default=DEFAULT_PER_PAGE,
    show_default=True,
)
@click.option(
    "--match",
    type=click.Choice(MATCHES),
    default=None,
    help="Count and list first the hits holding all the words (the least telling "
    "dropped when too few do), or count any. [default: all, any for a question]",
)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON response.")
@with_settings(*SEARCHING)
def search(
    query: str,
    date_from: str | None,
    date_to: str | None,
    category: tuple[str, ...],
    sort: str,
    page: int,
    per_page: int,
    match: str | None,
    as_json: bool,
    settings: Settings,
) -> None:
    """Search the index as the website does."""
    request = SearchRequest(
        q=query,
        date_from=date_from,
        date_to=date_to,
        category=category,
        sort=sort,
        page=page,
        per_page=per_page,
        match=match,
    )
    with _reported(), closing(SearchEngine(settings)) as engine:
        result = engine.search(request)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"{result['total']} result(s) in {result['took_ms']} ms")
    dropped = result["applied"]["dropped"]
    if dropped:
        click.echo(f"(with all words but: {', '.join(dropped)})")
    if "rewritten" in result:
        done = result["rewritten"]
        click.echo(f"searched for: {done['to']} ({done['reason']}; typed: {done['from']})")
    if "suggestion" in result:
        other = result["suggestion"]
        click.echo(f"did you mean: {other['q']} ({other['total']} result(s))")
    for number, hit in enumerate(result["hits"], (page - 1) * per_page + 1):
        date = (hit["date"] or "")[:10]
        click.echo(f"{number:>4}. [{hit['id']}] {hit['title']}  {date}  {hit['category'] or ''}")
    for facet, counts in result["facets"].items():
        if counts:
            click.echo(f"{facet + ':':<9} " + "  ".join(f"{k}: {n}" for k, n in counts.items()))


@cli.command(short_help="Complete a partial query from the titles.")
@click.argument("prefix")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_SUGGESTIONS),
    default=DEFAULT_SUGGESTIONS,
    show_default=True,
    help="Most suggestions.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON response.")
@with_settings(*SEARCHING)
def suggest(prefix: str, limit: int, as_json: bool, settings: Settings) -> None:
    """Suggest completions of PREFIX as the search box does (GET /suggest)."""
    with _reported(), closing(SearchEngine(settings)) as engine:
        result = engine.suggest(prefix, limit)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    for item in result["suggestions"]:
        click.echo(f"{item['count']:>7}  {item['text']}")


@cli.command(short_help="The articles most related to one article.")
@click.argument("article_id", metavar="ID")
@click.option(
    "--limit",
    type=click.IntRange(1, RELATED_MAX),
    default=RELATED_DEFAULT,
    show_default=True,
    help="How many related articles.",
)
@click.option(
    "--from", "date_from", metavar="DATE", help="First day (YYYY-MM-DD, YYYY-MM or YYYY)."
)
@click.option("--to", "date_to", metavar="DATE", help="Last day, inclusive.")
@click.option(
    "--category",
    multiple=True,
    help="Only this category, in any case and accents; repeat it for several.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON response.")
@with_settings(*SEARCHING)
def related(
    article_id: str,
    limit: int,
    date_from: str | None,
    date_to: str | None,
    category: tuple[str, ...],
    as_json: bool,
    settings: Settings,
) -> None:
    """The articles most related to article ID, as /articles/ID/related gives them."""
    request = RelatedRequest(article_id, limit, date_from, date_to, category)
    with _reported(), closing(SearchEngine(settings)) as engine:
        result = engine.related(request)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"{len(result['hits'])} related article(s) in {result['took_ms']} ms")
    for number, hit in enumerate(result["hits"], 1):
        date = (hit["date"] or "")[:10]
        click.echo(f"{number:>4}. [{hit['id']}] {hit['title']}  {date}  {hit['category'] or ''}")


@cli.command()
@with_settings(*SERVING)
@click.option(
    "--demo",
    is_flag=True,
    help="Also serve the search box page (examples/search-box/) at /demo/.",
)
@log_options
def serve(settings: Settings, demo: bool) -> None:
    """Serve the HTTP API with waitress.

    Ctrl-C (SIGINT) or SIGTERM stops it, also when started in the background.
    """
    import waitress

    from timkiem.api import create_app
    from timkiem.logs import AccessLog
    from timkiem.metrics import Metrics
    from timkiem.serving import announce, logs_to_file, signal_handlers

    _fewer_malloc_arenas(2)
    with _reported():
        engine = SearchEngine(settings)
    health = engine.prepare()
    if health["status"] != "ok":
        announce(health["reason"], warning=True)
    # What is loaded by now lives as long as the server: out of the garbage
    # collector's sight, a full collection no longer walks it (tens of ms).
    gc.freeze()
    metrics = Metrics(engine.health, settings.index)
    metrics_port = settings.metrics_port or None
    try:
        app = create_app(
            engine,
            settings,
            metrics=metrics,
            metrics_route=metrics_port is None,
            access_log=(
                AccessLog(client_address=settings.log_client_address)
                if settings.access_log
                else None
            ),
            demo=demo,
        )
    except TimkiemError as exc:
        engine.close()
        raise click.ClickException(str(exc)) from None
    metrics_server = None
    if metrics_port is not None:
        try:
            metrics_server = metrics.serve("127.0.0.1", metrics_port)
        except OSError as exc:
            engine.close()
            raise click.ClickException(
                f"--metrics-port {metrics_port}: cannot listen on 127.0.0.1:{metrics_port} "
                f"({exc.strerror or exc}); choose a free port"
            ) from None
    where = f"http://{settings.host}:{settings.port}"
    if metrics_server is not None:
        where += f" (metrics on http://127.0.0.1:{metrics_server.port}/metrics)"
    announce(f"serving {settings.index} on {where}")
    if demo:
        announce(f"search box demo on http://{settings.host}:{settings.port}/demo/")
    try:
        with signal_handlers(reopen_logs=logs_to_file()):
            waitress.serve(
                app,
                host=settings.host,
                port=settings.port,
                threads=settings.threads,
                ident="timkiem",
            )
    except OSError as exc:  # the address is taken or cannot be bound
        raise click.ClickException(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}"
        ) from None
    finally:
        if metrics_server is not None:
            metrics_server.close()
        engine.close()
    announce("stopped")


@cli.command(short_help="Publish the live commit for replicas to pull.")
@with_settings("index", "lock_timeout")
@log_options
def publish(settings: Settings) -> None:
    """Publish the live commit as a new, immutable generation in INDEX/published/.

    Replicas copy it with 'timkiem pull'. Publishing a commit already
    published does nothing.
    """
    with _reported():
        click.echo(replication.publish(settings).summary())


@cli.command(short_help="Copy the writer's published generation and switch to it.")
@click.argument("source", metavar="SOURCE")
@with_settings("index", "lock_timeout", "pull_interval")
@log_options
def pull(source: str, settings: Settings) -> None:
    """Make SOURCE's published generation this replica's live index.

    SOURCE is the writer's index directory, or the http(s):// URL serving its
    published/ folder. The copy is checked (sizes, SHA-256, the index opens)
    before CURRENT switches; a running 'timkiem serve' on --index follows.
    With --pull-interval it keeps running, pulling each new generation (SIGINT
    or SIGTERM stops it).
    """
    from timkiem.serving import announce, logs_to_file, signal_handlers

    if not settings.pull_interval:
        with _reported():
            click.echo(replication.pull(settings, source).summary())
        return

    def report(pulled: replication.Pulled | None, error: TimkiemError | None) -> None:
        if error is not None:
            announce(f"pull from {source} failed: {error}", warning=True)
        elif pulled is not None:
            announce(pulled.summary())

    announce(f"following {source} every {settings.pull_interval:g} s into {settings.index}")
    with _reported(), signal_handlers(reopen_logs=logs_to_file()):
        replication.follow(settings, source, settings.pull_interval, report)


@cli.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_settings(*(s.name for s in SETTINGS), sources=True)
def show_config(as_json: bool, settings: Settings, sources: dict[str, str]) -> None:
    """Each setting's value and where it came from.

    The source is 'default', the config file, the environment variable or the option.
    """
    rows = {
        s.name: {"value": getattr(settings, s.name), "source": sources[s.name], "env": s.env}
        for s in SETTINGS
    }
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    width = max(len(name) for name in rows)
    for name, row in rows.items():
        click.echo(f"{name:<{width}}  {row['value']!s:<12}  {row['source']}")


def _fewer_malloc_arenas(count: int) -> None:
    """Cap glibc's malloc arenas before the request threads start.

    By default glibc gives each thread its own arena (up to 8 per core), and
    each keeps the memory its thread's arrays once used: with 8 request
    threads the server held about 150 MB more on the 153,825-item index.
    Elsewhere than glibc this does nothing.
    """
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(ctypes.c_int(_M_ARENA_MAX), ctypes.c_int(count))
    except (OSError, AttributeError):
        pass


_M_ARENA_MAX = -8  # glibc's malloc.h


def main() -> None:
    cli(prog_name="timkiem")
