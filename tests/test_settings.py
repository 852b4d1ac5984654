"""Settings: declared once, documented in the README, read from TIMKIEM_* variables."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from conftest import ROOT
from timkiem.config import ENV_PREFIX, SETTINGS_HELP, Settings
from timkiem.errors import ConfigError

NAMES = [f.name for f in fields(Settings)]


def readme_table() -> dict[str, str]:
    """``TIMKIEM_X`` -> default, from the README's settings table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(TIMKIEM_[A-Z_]+)` \| (.+?) \| .+ \|$", section, re.M)
    return {name: default.strip() for name, default in rows}


def test_every_setting_has_help() -> None:
    assert sorted(SETTINGS_HELP) == sorted(NAMES)
    assert all(text.strip().endswith((".", ")")) for text in SETTINGS_HELP.values())


def test_every_setting_is_in_the_readme_table_with_its_default() -> None:
    table = readme_table()
    assert sorted(table) == sorted(ENV_PREFIX + n.upper() for n in NAMES)
    defaults = Settings()
    for name in NAMES:
        value = getattr(defaults, name)
        documented = table[ENV_PREFIX + name.upper()]
        expected = "(none)" if value == "" else f"`{value}`"
        assert documented == expected, name


def test_environment_variables_are_read() -> None:
    environ = {
        "TIMKIEM_INDEX": "/srv/index",
        "TIMKIEM_PORT": "9000",
        "TIMKIEM_QUERY_TIME_LIMIT": "0.5",
        "TIMKIEM_CORS_ORIGINS": "https://a.example, https://b.example",
        "TIMKIEM_CACHE_SIZE": "",  # empty means default
        "OTHER": "ignored",
    }
    settings = Settings.load(environ=environ)
    assert settings.index == "/srv/index"
    assert settings.port == 9000
    assert settings.query_time_limit == 0.5
    assert settings.cache_size == Settings().cache_size
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]


def test_every_field_reads_its_variable() -> None:
    for f in fields(Settings):
        default = getattr(Settings(), f.name)
        value = "7" if isinstance(default, int | float) else "x"
        loaded = Settings.load(environ={ENV_PREFIX + f.name.upper(): value})
        assert str(getattr(loaded, f.name)) in ("7", "7.0", "x"), f.name


def test_overrides_win_and_none_means_unset() -> None:
    environ = {"TIMKIEM_PORT": "9000", "TIMKIEM_HOST": "0.0.0.0"}
    settings = Settings.load({"port": 9100, "host": None}, environ=environ)
    assert (settings.port, settings.host) == (9100, "0.0.0.0")


def test_default_cors_is_none() -> None:
    assert Settings.load(environ={}).allowed_origins == []


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TIMKIEM_PORT", "http", "TIMKIEM_PORT='http' is not a valid int"),
        ("TIMKIEM_PORT", "0", "TIMKIEM_PORT must be at least 1"),
        ("TIMKIEM_PORT", "70000", "TIMKIEM_PORT must be at most 65535"),
        ("TIMKIEM_THREADS", "-1", "TIMKIEM_THREADS must be at least 1"),
        ("TIMKIEM_MAX_QUERY_LENGTH", "1e3", "TIMKIEM_MAX_QUERY_LENGTH='1e3' is not a valid int"),
        ("TIMKIEM_QUERY_TIME_LIMIT", "fast", "TIMKIEM_QUERY_TIME_LIMIT='fast' is not a valid"),
        ("TIMKIEM_LOCK_TIMEOUT", "-2", "TIMKIEM_LOCK_TIMEOUT must not be negative"),
        ("TIMKIEM_CACHE_SIZE", "-1", "TIMKIEM_CACHE_SIZE must not be negative"),
        ("TIMKIEM_MAX_RESULT_WINDOW", "0", "TIMKIEM_MAX_RESULT_WINDOW must be at least 1"),
        ("TIMKIEM_INGEST_PROCS", "two", "TIMKIEM_INGEST_PROCS='two' is not a valid int"),
        ("TIMKIEM_INGEST_PROCS", "-1", "TIMKIEM_INGEST_PROCS must not be negative"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(environ={variable: value})
    assert str(caught.value).startswith(message)


def test_unknown_override_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        Settings.load({"colour": "red"}, environ={})
