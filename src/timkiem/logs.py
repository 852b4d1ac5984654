"""Logging of the server and the writers, with the standard ``logging`` module.

Two formats: ``text`` (the default, one human-readable line per message) and
``json`` (one JSON object per line: ``time``, ``level``, ``logger``,
``message`` and any structured fields). Messages go to standard error, or to
a file (``--log-file``) that :func:`reopen_log_files` reopens after the file
was rotated (the server calls it on SIGHUP).

The access log (:class:`AccessLog`) writes one structured line per request
through the ``timkiem.access`` logger: its fields are JSON in either format.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from timkiem.config import LOG_FORMATS

FORMATS = LOG_FORMATS
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_QUERY_CHARS = 100  # longest query text written to the access log
MAX_PATH_CHARS = 200
FIELDS = "fields"  # the LogRecord attribute holding a structured record's fields
_OURS = "timkiem_handler"  # marks the handlers configure_logging installed

access_logger = logging.getLogger("timkiem.access")


class TextFormatter(logging.Formatter):
    """The text format; a structured record's fields follow as one JSON object."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, FIELDS, None)
        if fields is None:
            return super().format(record)
        saved = record.msg, record.args
        record.msg, record.args = json.dumps(fields, ensure_ascii=False), None
        try:
            return super().format(record)
        finally:
            record.msg, record.args = saved


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, fields."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC)
        data: dict[str, Any] = {
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, FIELDS, None)
        if fields:
            data.update(fields)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class ReopenableFileHandler(logging.FileHandler):
    """A log file that can be reopened after it was moved away (log rotation)."""

    def reopen(self) -> None:
        """Close the file and open ``baseFilename`` again (created if it was moved)."""
        with self.lock or threading.RLock():
            if self.stream is not None:
                self.stream.close()
            self.stream = self._open()


def configure_logging(
    log_format: str = "text", log_file: str | None = None, level: int = logging.INFO
) -> logging.Handler:
    """Send every log message to standard error or ``log_file``, in ``log_format``.

    Replaces the handler installed by an earlier call (others, such as a test
    runner's, stay). An unwritable ``log_file`` raises ``OSError`` naming it.
    """
    if log_format not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {log_format!r}")
    handler: logging.Handler
    if log_file:
        handler = ReopenableFileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    setattr(handler, _OURS, True)
    root = logging.getLogger()
    for old in root.handlers[:]:
        if getattr(old, _OURS, False):
            root.removeHandler(old)
            old.close()
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def default_logging() -> None:
    """Text lines on standard error, unless logging was set up already (as ``basicConfig``)."""
    if not logging.getLogger().handlers:
        configure_logging()


def reopen_log_files() -> list[str]:
    """Reopen every log file (after rotation); the paths reopened."""
    reopened = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, ReopenableFileHandler):
            handler.reopen()
            reopened.append(handler.baseFilename)
    return reopened


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[:limit] + "\u2026"


class AccessLog:
    """One structured log line per answered request.

    The query text is cut to ``MAX_QUERY_CHARS``; the client's address is
    left out unless ``client_address`` is set.
    """

    def __init__(self, client_address: bool = False, logger: logging.Logger | None = None) -> None:
        self.client_address = client_address
        self.logger = logger or access_logger

    def record(
        self,
        *,
        method: str,
        path: str,
        status: int,
        took_ms: float,
        query: str | None = None,
        results: int | None = None,
        partial: bool = False,
        generation: str | None = None,
        client: str | None = None,
    ) -> dict[str, Any]:
        """Log one request; the fields logged."""
        fields: dict[str, Any] = {
            "method": method,
            "path": truncate(path, MAX_PATH_CHARS),
            "status": status,
            "took_ms": round(took_ms, 2),
        }
        if query:
            fields["q"] = truncate(query, MAX_QUERY_CHARS)
        if results is not None:
            fields["results"] = results
        if partial:
            fields["partial"] = True
        if generation:
            fields["generation"] = generation
        if self.client_address and client:
            fields["client"] = client
        if self.logger.isEnabledFor(logging.INFO):
            self.logger.info("%s %s %s", method, fields["path"], status, extra={FIELDS: fields})
        return fields
