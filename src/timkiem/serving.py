"""What ``timkiem serve`` does around the HTTP server: signals, metrics port, messages.

Signals: SIGTERM and SIGINT stop the server cleanly. Both handlers are
installed explicitly, because a shell starts a background job with SIGINT
ignored and Python then keeps ignoring it. SIGHUP reopens the log file when
the server writes to one (``--log-file``), after log rotation moved it away.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from timkiem.logs import JsonFormatter, ReopenableFileHandler, reopen_log_files

log = logging.getLogger("timkiem.server")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # waitress closes its sockets and threads on SystemExit


def _reopen_logs(signum: int, frame: FrameType | None) -> None:
    # Not in the signal handler itself: it may interrupt this thread while it
    # holds the log handler's lock, in the middle of writing a line.
    def reopen() -> None:
        for path in reopen_log_files():
            log.info("reopened the log file %s (SIGHUP)", path)

    threading.Thread(target=reopen, name="timkiem-log-reopen", daemon=True).start()


@contextmanager
def signal_handlers(reopen_logs: bool) -> Iterator[None]:
    """Stop on SIGTERM and SIGINT (even if inherited ignored); reopen logs on SIGHUP.

    The previous handlers are restored on leaving.
    """
    previous: dict[int, Any] = {}
    wanted: dict[int, Callable[[int, FrameType | None], None]] = dict.fromkeys(STOP_SIGNALS, _stop)
    if reopen_logs:
        wanted[signal.SIGHUP] = _reopen_logs
    try:
        for signum, handler in wanted.items():
            previous[signum] = signal.signal(signum, handler)
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def logs_to_file() -> bool:
    """Whether the log goes to a file (``--log-file``)."""
    return any(isinstance(h, ReopenableFileHandler) for h in logging.getLogger().handlers)


def _structured() -> bool:
    return logs_to_file() or any(
        isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers
    )


def announce(message: str, warning: bool = False) -> None:
    """A message of the server to its operator.

    Plain text on standard error by default (``serving ...``, ``stopped``);
    a log record when the log is JSON or goes to a file, so that it has the
    log's format and place.
    """
    if _structured():
        log.log(logging.WARNING if warning else logging.INFO, message)
    else:
        print(f"warning: {message}" if warning else message, file=sys.stderr, flush=True)
