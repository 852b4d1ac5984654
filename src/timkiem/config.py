"""Settings: each declared once (type, default, bounds, help), read from options,
``TIMKIEM_*`` environment variables and a TOML file.

Precedence: option > environment variable > config file > default. The file is
given by ``--config FILE`` or ``TIMKIEM_CONFIG``; its keys are the setting names::

    index = "/srv/timkiem/index"
    port = 8080
    query_time_limit = 1.5
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

from timkiem.errors import ConfigError

ENV_PREFIX = "TIMKIEM_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"
DEFAULT = "default"
"""The source of a setting nobody set."""

T = TypeVar("T", int, float, str, bool)
LOG_FORMATS = ("text", "json")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Setting:
    """The declaration of one setting: its name, type, default, bounds and help."""

    name: str
    type: type
    default: int | float | str | bool
    help: str
    min: int | float | None = None
    max: int | float | None = None
    choices: tuple[str, ...] | None = None

    @property
    def env(self) -> str:
        """Its environment variable, ``TIMKIEM_NAME``."""
        return ENV_PREFIX + self.name.upper()

    @property
    def option(self) -> str:
        """Its command-line option, ``--name``."""
        return "--" + self.name.replace("_", "-")

    @property
    def negative_option(self) -> str:
        """The option turning a true/false setting off, ``--no-name``."""
        return "--no-" + self.name.replace("_", "-")

    @property
    def bounds(self) -> str:
        """The accepted range in words, or "" if any value goes."""
        if self.choices:
            return ", ".join(self.choices)
        if self.type is bool:
            return "true, false"
        if self.min is not None and self.max is not None:
            return f"{self.min}..{self.max}"
        if self.min is not None:
            return f">= {self.min}"
        return ""

    def shown_default(self) -> str:
        """The default as help and documentation show it."""
        if isinstance(self.default, bool):  # as TOML and the variables write it
            return "true" if self.default else "false"
        return str(self.default) if self.default != "" else "none"

    def parse(self, raw: str, label: str) -> int | float | str | bool:
        """``raw`` text (an environment variable) as this setting's type."""
        if self.type is bool:
            if raw.strip().lower() in _TRUE + _FALSE:
                return raw.strip().lower() in _TRUE
            raise ConfigError(f"{label}={raw!r} is not a valid bool (use true or false)")
        try:
            if self.type is int:
                return int(raw)
            if self.type is float:
                return float(raw)
        except ValueError:
            raise ConfigError(f"{label}={raw!r} is not a valid {self.type.__name__}") from None
        return raw

    def accept(self, value: object, label: str) -> int | float | str | bool:
        """``value`` (from a TOML file) if it has this setting's type; ints pass as floats."""
        if self.type is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{label} = {value!r} is not a valid bool (true or false)")
            return value
        if isinstance(value, bool) or not isinstance(value, self.type | _WIDER[self.type]):
            raise ConfigError(f"{label} = {value!r} is not a valid {self.type.__name__}")
        return self.type(value)  # type: ignore[no-any-return]

    def check(self, value: Any, label: str) -> None:
        """Raise ``ConfigError`` naming ``label`` and the bound if ``value`` is out of range."""
        if self.choices and value not in self.choices:
            raise ConfigError(f"{label} must be one of {', '.join(self.choices)}, not {value!r}")
        if self.min is not None and value < self.min:
            bound = "must not be negative" if self.min == 0 else f"must be at least {self.min}"
            raise ConfigError(f"{label} {bound}")
        if self.max is not None and value > self.max:
            raise ConfigError(f"{label} must be at most {self.max}")


_WIDER: dict[type, type] = {int: int, float: int, str: str, bool: bool}


def setting(
    default: T,
    help: str,
    *,
    min: int | float | None = None,
    max: int | float | None = None,
    choices: tuple[str, ...] | None = None,
) -> T:
    """Declare a field of ``Settings``: its default, help, bounds or choices."""
    meta = {"help": help, "min": min, "max": max, "choices": choices}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    """Everything an operator can tune, each declared once below."""

    index: str = setting("index", "Directory holding the index.")
    host: str = setting("127.0.0.1", "Address the HTTP server listens on.")
    port: int = setting(8000, "Port the HTTP server listens on.", min=1, max=65535)
    threads: int = setting(
        2,
        "Request threads of the HTTP server (searches hold Python's global lock, so more "
        "threads mostly wait for it; see Performance).",
        min=1,
    )
    cors_origins: str = setting(
        "",
        "Comma-separated origins allowed to call the API from a browser (`*` for any).",
    )
    cache_control: str = setting(
        "no-cache",
        "Cache-Control of the answers that carry an ETag (searches, articles, the OpenAPI "
        "document): `no-cache` lets caches keep them but ask each time (a 304 while the index "
        "is unchanged); `public, max-age=60` lets them serve an answer up to 60 s after a commit.",
    )
    metrics_port: int = setting(
        0,
        "Port of 127.0.0.1 serving /metrics apart from the API (0 = /metrics on the API's port).",
        min=0,
        max=65535,
    )
    access_log: bool = setting(
        True, "Log one line per request (method, path, status, time, results, generation)."
    )
    log_client_address: bool = setting(
        False, "Write the client's address in the access log (left out by default)."
    )
    log_format: str = setting(
        "text",
        "Log messages as text lines or as one JSON object per line.",
        choices=LOG_FORMATS,
    )
    log_file: str = setting(
        "",
        "File the log messages are appended to instead of standard error (reopened on "
        "SIGHUP, for log rotation).",
    )
    max_query_length: int = setting(500, "Longest accepted query string, in characters.", min=1)
    max_query_terms: int = setting(
        32, "Most words and phrases used from one query; the rest are ignored.", min=1
    )
    max_result_window: int = setting(
        1000, "Deepest result reachable by paging (page x per_page).", min=1
    )
    query_time_limit: float = setting(
        2.0,
        "Seconds a query may spend ranking before it returns partial results (0 = no limit).",
        min=0,
    )
    synonyms_file: str = setting(
        "",
        "A UTF-8 file of synonym groups added to the built-in abbreviations, one group a "
        "line (`UBND = Ủy ban nhân dân`; see How search works); read at start and when "
        "the index changes generation.",
    )
    cache_size: int = setting(
        1024, "Queries whose results are kept in memory per index generation (0 = off).", min=0
    )
    lock_timeout: float = setting(
        10.0, "Seconds a writer waits for another writer to finish.", min=0
    )
    max_text_length: int = setting(
        1_000_000, "Longest accepted title or body, in characters.", min=1
    )
    ingest_procs: int = setting(
        0,
        "Processes used to index a large batch: 0 = one per CPU core (at most 4) when the "
        "input files add up to 4 MB or more, else one.",
        min=0,
    )
    pull_interval: float = setting(
        0.0,
        "Seconds between two looks at the source by 'timkiem pull', which then keeps "
        "running (0 = pull once and exit).",
        min=0,
    )

    crawl_delay: float = setting(
        0.1,
        "Seconds between the starts of two requests of a crawl to the site (a longer "
        "Crawl-delay in the site's robots.txt wins).",
        min=0,
    )
    crawl_concurrency: int = setting(
        2, "Requests a crawl has in flight at once.", min=1, max=16
    )
    crawl_timeout: float = setting(
        10.0, "Seconds a crawl waits for a page before trying it again.", min=0.1
    )
    crawl_retries: int = setting(
        2,
        "Times a crawl tries a page again after a timeout, a lost connection or a 5xx "
        "status, waiting twice as long each time (from 0.5 s).",
        min=0,
        max=10,
    )
    crawl_batch_size: int = setting(
        200, "Articles a crawl commits to the index at once.", min=1
    )
    crawl_commit_seconds: float = setting(
        30.0,
        "Seconds after which a crawl commits the articles it has, however few.",
        min=0.1,
    )
    crawl_max_pages: int = setting(100_000, "Most pages one crawl fetches.", min=1)
    sync_max_delete_percent: float = setting(
        20.0,
        "Largest share of the index's articles, in percent, a sync may delete without --force.",
        min=0,
        max=100,
    )

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        config_file: str | None = None,
    ) -> Settings:
        """Defaults, then the config file, then ``TIMKIEM_*`` variables, then ``overrides``."""
        return load_settings(overrides, environ, config_file)[0]

    def validate(self) -> None:
        """Reject values that cannot work, naming the setting's variable and bound."""
        for declared in SETTINGS:
            declared.check(getattr(self, declared.name), declared.env)

    @property
    def allowed_origins(self) -> list[str]:
        """The CORS origins, from the comma-separated ``cors_origins``."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name, type(f.default), f.default, **f.metadata)  # type: ignore[arg-type]
    for f in fields(Settings)
)
"""Every setting, in the order of ``Settings``."""
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def config_path(config_file: str | None, environ: Mapping[str, str]) -> str | None:
    """The config file to read: ``config_file`` (the option), else ``$TIMKIEM_CONFIG``."""
    return config_file or environ.get(CONFIG_ENV) or None


def read_config_file(path: str) -> dict[str, int | float | str]:
    """The settings of a TOML file, checked; errors name the file and the key."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    values: dict[str, int | float | str] = {}
    for key, value in data.items():
        declared = BY_NAME.get(key)
        if declared is None:
            known = ", ".join(BY_NAME)
            raise ConfigError(f"{path}: unknown setting {key!r} (known: {known})")
        values[key] = declared.accept(value, f"{path}: {key}")
        declared.check(values[key], f"{path}: {key}")
    return values


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: str | None = None,
) -> tuple[Settings, dict[str, str]]:
    """The settings and where each came from: ``default``, a file path, a variable or
    an option (``--name``, for ``overrides`` that are not None)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources = {s.name: DEFAULT for s in SETTINGS}
    path = config_path(config_file, env)
    if path is not None:
        for name, value in read_config_file(path).items():
            values[name], sources[name] = value, path
    for declared in SETTINGS:
        raw = env.get(declared.env)
        if raw:
            values[declared.name] = declared.parse(raw, declared.env)
            sources[declared.name] = declared.env
    for name, value in (overrides or {}).items():
        if value is None:
            continue
        if name not in BY_NAME:
            raise ConfigError(f"unknown setting {name!r}")
        values[name], sources[name] = value, BY_NAME[name].option
    settings = replace(Settings(), **values)
    for declared in SETTINGS:
        source = sources[declared.name]
        if source != path:  # a file's values were checked as they were read
            declared.check(getattr(settings, declared.name), declared.env)
    return settings, sources
