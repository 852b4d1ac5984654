"""The one exception hierarchy of timkiem."""

from __future__ import annotations

from dataclasses import dataclass


class TimkiemError(Exception):
    """Base class of every error timkiem reports to a user."""


class ConfigError(TimkiemError):
    """A setting has a value timkiem cannot use."""


class InvalidParameter(TimkiemError):
    """A request or command parameter is malformed or out of range."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


class ArticleNotFound(TimkiemError):
    """No article with the requested id is in the index."""

    def __init__(self, article_id: str) -> None:
        super().__init__(f"no article with id {article_id!r}")
        self.article_id = article_id


@dataclass(frozen=True)
class Problem:
    """One bad input record: where it is and what is wrong with it."""

    source: str
    line: int | None
    record_id: str | None
    message: str

    def __str__(self) -> str:
        if self.line is None:  # the whole file, not one record
            return f"{self.source}: {self.message}"
        return f"{self.source}:{self.line}: id={self.record_id or '?'}: {self.message}"


class InvalidInput(TimkiemError):
    """Input records were rejected; nothing from the batch was written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:50])
        more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} invalid record(s); nothing was written:\n{shown}{more}")


class RecordError(TimkiemError, ValueError):
    """One input record is invalid; the message says which field and why."""


class SourceError(TimkiemError):
    """A whole input file cannot be read (missing, truncated, not UTF-8...)."""

    def __init__(self, source: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.line = line
        self.message = message


class NothingToIndex(TimkiemError):
    """A rebuild was asked for with no article to build from."""


class IndexUnavailable(TimkiemError):
    """The index is missing, unreadable or corrupt."""


class IndexLocked(TimkiemError):
    """Another writer holds the index lock."""


class WriterFailed(TimkiemError):
    """A process of a multi-process writer failed; nothing was committed."""


class StorageError(TimkiemError):
    """The index cannot be written (disk full, read-only, permissions); the last commit stays."""

    def __init__(self, message: str, path: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.errno = errno


class CrawlError(TimkiemError):
    """A site cannot be crawled at all (a bad URL, robots.txt unreadable or forbidding)."""


class SyncRefused(TimkiemError):
    """A sync would delete more of the index than allowed; nothing was deleted."""


class NotASitemap(TimkiemError):
    """A document a site lists pages in is neither a sitemap, a sitemap index nor a feed."""


class ReplicationError(TimkiemError):
    """A generation cannot be published or pulled; the replica keeps what it had."""
