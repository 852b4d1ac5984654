"""Settings: each declared once with its default and help, read from options
and ``TIMKIEM_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from timkiem.errors import ConfigError

ENV_PREFIX = "TIMKIEM_"


@dataclass(frozen=True)
class Settings:
    """Everything an operator can tune; see ``SETTINGS_HELP`` for each."""

    index: str = "index"
    host: str = "127.0.0.1"
    port: int = 8000
    threads: int = 2
    cors_origins: str = ""
    max_query_length: int = 500
    max_query_terms: int = 32
    max_result_window: int = 1000
    query_time_limit: float = 2.0
    cache_size: int = 1024
    lock_timeout: float = 10.0
    max_text_length: int = 1_000_000
    ingest_procs: int = 0

    @classmethod
    def load(
        cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Defaults, then ``TIMKIEM_*`` variables, then explicit ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _convert(f.name, raw, type(getattr(cls(), f.name)))
        for name, value in (overrides or {}).items():
            if value is None:
                continue
            if name not in SETTINGS_HELP:
                raise ConfigError(f"unknown setting {name!r}")
            values[name] = value
        settings = replace(cls(), **values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Reject values that cannot work, naming the setting."""
        positive = (
            "port",
            "threads",
            "max_query_length",
            "max_query_terms",
            "max_result_window",
            "max_text_length",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be at least 1")
        if self.port > 65535:
            raise ConfigError(f"{ENV_PREFIX}PORT must be at most 65535")
        for name in ("query_time_limit", "lock_timeout"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{ENV_PREFIX}{name.upper()} must not be negative")
        for name in ("cache_size", "ingest_procs"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{ENV_PREFIX}{name.upper()} must not be negative")

    @property
    def allowed_origins(self) -> list[str]:
        """The CORS origins, from the comma-separated ``cors_origins``."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


def _convert(name: str, raw: str, kind: type) -> Any:
    try:
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError:
        raise ConfigError(
            f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind.__name__}"
        ) from None
    return raw


SETTINGS_HELP: dict[str, str] = {
    "index": "Directory holding the index.",
    "host": "Address the HTTP server listens on.",
    "port": "Port the HTTP server listens on.",
    "threads": "Request threads of the HTTP server (searches hold Python's global lock, "
    "so more threads mostly wait for it).",
    "cors_origins": "Comma-separated origins allowed to call the API from a browser "
    '("*" for any); none by default.',
    "max_query_length": "Longest accepted query string, in characters.",
    "max_query_terms": "Most words and phrases used from one query; the rest are ignored.",
    "max_result_window": "Deepest result reachable by paging (page x per_page).",
    "query_time_limit": "Seconds a query may spend ranking before it returns the "
    "partial results found so far, flagged as such (0 = no limit).",
    "cache_size": "Queries whose results are kept in memory per index generation (0 = off).",
    "lock_timeout": "Seconds a writer waits for another writer to finish.",
    "max_text_length": "Longest accepted title or body of an article, in characters.",
    "ingest_procs": "Processes used to index a large batch (0 = one per CPU core, at most 4, "
    "for input files of 4 MB or more).",
}
