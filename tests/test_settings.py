"""Settings: declared once, documented in the README, read from options, TIMKIEM_*
variables and a TOML file."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from conftest import ROOT
from timkiem.config import BY_NAME, ENV_PREFIX, SETTINGS, Settings, load_settings
from timkiem.errors import ConfigError

NAMES = [f.name for f in fields(Settings)]


def readme_table() -> dict[str, list[str]]:
    """key -> [variable, default, range, meaning], from the README's settings table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| (.+) \|$", section, re.M)
    return {key: [cell.strip() for cell in rest.split(" | ")] for key, rest in rows}


def test_every_setting_is_declared_once_with_help() -> None:
    assert [s.name for s in SETTINGS] == NAMES
    defaults = Settings()
    for declared in SETTINGS:
        assert declared.default == getattr(defaults, declared.name)
        assert isinstance(declared.default, declared.type)
        assert declared.help.strip().endswith((".", ")")), declared.name
        assert declared.env == ENV_PREFIX + declared.name.upper()


def test_the_readme_table_lists_exactly_the_declared_settings() -> None:
    table = readme_table()
    assert list(table) == NAMES
    for declared in SETTINGS:
        variable, default, bounds, meaning = table[declared.name]
        assert variable == f"`{declared.env}`"
        expected = "(none)" if declared.default == "" else f"`{declared.shown_default()}`"
        assert default == expected, declared.name
        assert bounds == (declared.bounds or "-"), declared.name
        assert meaning == declared.help, declared.name


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
        declared = BY_NAME[f.name]
        if isinstance(default, bool):
            value = "false" if default else "true"
        elif declared.choices:
            value = next(c for c in declared.choices if c != default)
        else:
            value = "7" if isinstance(default, int | float) else "x"
        loaded, sources = load_settings(environ={ENV_PREFIX + f.name.upper(): value})
        assert str(getattr(loaded, f.name)).lower() in ("7", "7.0", "x", value), f.name
        assert getattr(loaded, f.name) != default, f.name  # not the default by chance
        assert type(getattr(loaded, f.name)) is type(default), f.name
        assert sources[f.name] == ENV_PREFIX + f.name.upper()


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


# -- the config file ----------------------------------------------------------------


def write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "timkiem.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_option_beats_variable_beats_file_beats_default(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'port = 9001\nthreads = 3\nhost = "0.0.0.0"\n')
    environ = {"TIMKIEM_PORT": "9002", "TIMKIEM_THREADS": "4"}
    settings, sources = load_settings({"port": 9003, "host": None}, environ, config)
    assert (settings.port, settings.threads, settings.host) == (9003, 4, "0.0.0.0")
    assert settings.cache_size == Settings().cache_size
    assert sources["port"] == "--port"
    assert sources["threads"] == "TIMKIEM_THREADS"
    assert sources["host"] == config
    assert sources["cache_size"] == "default"


def test_the_file_can_come_from_timkiem_config(tmp_path: Path) -> None:
    config = write_config(tmp_path, "query_time_limit = 1\nmax_query_length = 80\n")
    settings, sources = load_settings(environ={"TIMKIEM_CONFIG": config})
    assert settings.query_time_limit == 1.0 and isinstance(settings.query_time_limit, float)
    assert settings.max_query_length == 80
    assert sources["max_query_length"] == config
    # the option names another file, which wins over the variable
    other = str(tmp_path / "other.toml")
    Path(other).write_text("max_query_length = 90\n", encoding="utf-8")
    assert (
        Settings.load(environ={"TIMKIEM_CONFIG": config}, config_file=other).max_query_length == 90
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 'red'\n", "unknown setting 'colour'"),
        ("port = 70000\n", "port must be at most 65535"),
        ("threads = 0\n", "threads must be at least 1"),
        ("lock_timeout = -1.5\n", "lock_timeout must not be negative"),
        ("port = '8000'\n", "port = '8000' is not a valid int"),
        ("port = 80.5\n", "port = 80.5 is not a valid int"),
        ("cache_size = true\n", "cache_size = True is not a valid int"),
        ("index = 3\n", "index = 3 is not a valid str"),
        ("port = \n", "not valid TOML"),
    ],
)
def test_bad_files_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    config = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        Settings.load(environ={}, config_file=config)
    assert str(caught.value).startswith(f"{config}: {message}")


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.toml: cannot read the config file"):
        Settings.load(environ={"TIMKIEM_CONFIG": str(tmp_path / "nope.toml")})


def test_true_false_settings_and_choices(tmp_path: Path) -> None:
    """A true/false setting reads true/false words from the environment and TOML
    booleans from a file; a setting with choices takes only those."""
    for word, value in (("yes", True), ("0", False), ("On", True), ("false", False)):
        assert (
            Settings.load(environ={"TIMKIEM_LOG_CLIENT_ADDRESS": word}).log_client_address is value
        )
    with pytest.raises(ConfigError, match="TIMKIEM_ACCESS_LOG='maybe' is not a valid bool"):
        Settings.load(environ={"TIMKIEM_ACCESS_LOG": "maybe"})
    with pytest.raises(
        ConfigError, match="TIMKIEM_LOG_FORMAT must be one of text, json, not 'xml'"
    ):
        Settings.load(environ={"TIMKIEM_LOG_FORMAT": "xml"})
    config = tmp_path / "timkiem.toml"
    config.write_text('access_log = false\nlog_format = "json"\nmetrics_port = 9108\n')
    loaded = Settings.load(environ={}, config_file=str(config))
    assert (loaded.access_log, loaded.log_format, loaded.metrics_port) == (False, "json", 9108)
    config.write_text('access_log = "no"\n')
    with pytest.raises(ConfigError, match="access_log = 'no' is not a valid bool"):
        Settings.load(environ={}, config_file=str(config))
    config.write_text('log_format = "xml"\n')
    with pytest.raises(ConfigError, match="log_format must be one of text, json"):
        Settings.load(environ={}, config_file=str(config))
