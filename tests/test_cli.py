"""The ``timkiem`` command line, through click's CliRunner."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import signal
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import EXAMPLES, write_jsonl
from timkiem.cli import cli
from timkiem.config import SETTINGS

SUMMARY = r"^(\d+) added, (\d+) replaced, (\d+) rejected in \d+\.\d s$"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in [n for n in os.environ if n.startswith("TIMKIEM_")]:
        monkeypatch.delenv(name)
    return CliRunner()


@pytest.fixture
def index(tmp_path: Path) -> str:
    return str(tmp_path / "index")


def run(runner: CliRunner, *args: str, input: str | None = None) -> Result:
    return runner.invoke(cli, list(args), input=input, catch_exceptions=False)


def summary(result: Result) -> tuple[int, int, int]:
    match = re.match(SUMMARY, result.stdout.strip().splitlines()[-1])
    assert match, result.stdout
    return int(match[1]), int(match[2]), int(match[3])


def test_ingest_prints_the_summary_line(runner: CliRunner, index: str) -> None:
    result = run(runner, "ingest", str(EXAMPLES), "--index", index)
    assert result.exit_code == 0, result.output
    assert summary(result) == (47, 0, 0)
    result = run(runner, "ingest", str(EXAMPLES), "--index", index)
    assert summary(result) == (0, 47, 0)


def test_ingest_rejects_a_bad_batch_cleanly(runner: CliRunner, index: str, tmp_path: Path) -> None:
    bad = write_jsonl(
        tmp_path / "bad.jsonl",
        [{"id": "a", "title": "Một"}, {"title": "không có id"}, {"id": "c", "date": "x"}],
    )
    result = run(runner, "ingest", str(bad), "--index", index)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"{bad}:2: id=?: id is missing"
    assert lines[1].startswith(f"{bad}:3: id=c: ")
    assert lines[-1] == (
        "Error: 2 invalid record(s); nothing was written (use --skip-invalid to commit the "
        "valid ones)"
    )
    assert "Traceback" not in result.output
    assert not Path(index, "CURRENT").exists()


def test_skip_invalid_commits_and_reports(runner: CliRunner, index: str, tmp_path: Path) -> None:
    bad = write_jsonl(
        tmp_path / "bad.jsonl", [{"id": "a", "title": "Một"}, {"id": "b", "tags": "x"}]
    )
    result = run(runner, "ingest", "--skip-invalid", str(bad), "--index", index)
    assert result.exit_code == 0
    assert summary(result) == (1, 0, 1)
    assert f"{bad}:2: id=b: title and body are both empty" in result.stderr
    found = json.loads(run(runner, "search", "mot", "--json", "--index", index).stdout)
    assert [h["id"] for h in found["hits"]] == ["a"]


def test_ingest_reads_standard_input(runner: CliRunner, index: str) -> None:
    text = '{"id": "s1", "title": "Đoàn viên công đoàn"}\n'
    result = run(runner, "ingest", "-", "--index", index, input=text)
    assert result.exit_code == 0, result.output
    assert summary(result) == (1, 0, 0)
    piped = gzip.compress(text.replace("s1", "s2").encode())  # zcat-less: gzip on stdin
    result = runner.invoke(cli, ["ingest", "-", "--index", index], input=piped)
    assert summary(result) == (1, 0, 0)


def test_ingest_gzipped_csv(runner: CliRunner, index: str, tmp_path: Path) -> None:
    path = tmp_path / "a.csv.gz"
    path.write_bytes(gzip.compress("\ufeffid,title,tags\nc1,Thủy điện,a;b\n".encode()))
    result = run(runner, "ingest", str(path), "--index", index)
    assert summary(result) == (1, 0, 0)
    found = json.loads(run(runner, "search", "thuy dien", "--json", "--index", index).stdout)
    assert found["total"] == 1


def test_missing_file_is_a_clean_error(runner: CliRunner, index: str, tmp_path: Path) -> None:
    result = run(runner, "ingest", str(tmp_path / "nope.jsonl"), "--index", index)
    assert result.exit_code == 1
    assert f"{tmp_path / 'nope.jsonl'}: cannot open" in result.stderr
    assert "Traceback" not in result.output


def test_index_env_var_is_the_default(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "from-env"
    monkeypatch.setenv("TIMKIEM_INDEX", str(target))
    monkeypatch.chdir(tmp_path)
    result = run(runner, "ingest", str(EXAMPLES))
    assert result.exit_code == 0
    assert (target / "CURRENT").exists()
    assert not (tmp_path / "index").exists()
    stats = json.loads(run(runner, "stats", "--json").stdout)
    assert stats["articles"] == 47
    assert stats["index"] == str(target)
    # --index wins over the variable.
    other = tmp_path / "other"
    run(runner, "ingest", str(EXAMPLES), "--index", str(other))
    assert (other / "CURRENT").exists()


def test_default_index_is_the_working_directory(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run(runner, "ingest", str(EXAMPLES))
    assert (tmp_path / "index" / "CURRENT").exists()


def test_bad_setting_is_a_clean_error(
    runner: CliRunner, index: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIMKIEM_LOCK_TIMEOUT", "soon")
    result = run(runner, "stats", "--index", index)
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: TIMKIEM_LOCK_TIMEOUT='soon' is not a valid float"


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample articles, ingested once per module through the CLI."""
    path = tmp_path_factory.mktemp("sample") / "index"
    result = CliRunner().invoke(cli, ["ingest", str(EXAMPLES), "--index", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def loaded(sample_index: Path, index: str) -> str:
    """A private copy of the sample index, free to change."""
    shutil.copytree(sample_index, index)
    return index


def test_stats(runner: CliRunner, loaded: str) -> None:
    result = run(runner, "stats", "--index", loaded)
    assert result.exit_code == 0
    assert "articles:   47" in result.stdout
    data = json.loads(run(runner, "stats", "--json", "--index", loaded).stdout)
    assert data["articles"] == 47
    assert sum(data["categories"].values()) == 47
    assert data["first_date"] < data["last_date"]
    assert data["size_bytes"] > 0


def test_stats_without_an_index(runner: CliRunner, index: str) -> None:
    result = run(runner, "stats", "--index", index)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no index at ")


def test_search_text_and_json(runner: CliRunner, loaded: str) -> None:
    result = run(runner, "search", "cong doan bac kan", "--index", loaded)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[1:3] == ["result(s)", "in"]
    assert any("[bk-0001]" in line for line in lines[1:])
    data = json.loads(
        run(runner, "search", "05-CT/TW", "--json", "--per-page", "3", "--index", loaded).stdout
    )
    assert data["hits"][0]["id"] == "bk-0001"
    assert data["per_page"] == 3


def test_search_match_all_or_any(runner: CliRunner, loaded: str) -> None:
    def total(*args: str) -> int:
        result = run(runner, "search", *args, "--json", "--index", loaded)
        return int(json.loads(result.stdout)["total"])

    assert 0 < total("bão số 3") < total("bão số 3", "--match", "any")
    dropped = run(runner, "search", "công đoàn xyzzy", "--index", loaded).stdout
    assert "(with all words but: xyzzy)" in dropped.splitlines()[1]


def test_search_date_range_category_and_sort(runner: CliRunner, loaded: str) -> None:
    args = ["search", "--from", "2020", "--to", "2020-12-31", "--json", "--per-page", "100"]
    newest = json.loads(run(runner, *args, "--index", loaded).stdout)
    dates = [h["date"] for h in newest["hits"]]
    assert dates and all(d.startswith("2020-") for d in dates)
    assert dates == sorted(dates, reverse=True)
    assert newest["total"] == len(dates)
    oldest = json.loads(run(runner, *args, "--sort", "oldest", "--index", loaded).stdout)
    assert [h["date"] for h in oldest["hits"]] == sorted(dates)
    category = next(iter(newest["facets"]["category"]))
    only = json.loads(run(runner, *args, "--category", category, "--index", loaded).stdout)
    assert only["total"] == newest["facets"]["category"][category]
    assert {h["category"] for h in only["hits"]} == {category}


def test_search_several_categories_and_facets(runner: CliRunner, loaded: str) -> None:
    args = ["search", "--category", "hoat dong cong doan", "--category", "TIN TUC - SU KIEN"]
    result = run(runner, *args, "--from", "2020", "--index", loaded)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("18 result(s)")
    assert lines[-1] == "category: Hoạt động công đoàn: 11  Tin tức - Sự kiện: 7"
    assert lines[-2].startswith("month:    2025-01: 2  2024-11: 1")
    assert lines[-3].startswith("year:     2025: 2  2024: 5")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2020-13"], "Error: from: '2020-13' is not a valid date"),
        (["--from", "2021", "--to", "2020"], "Error: from: is after 'to'"),
        (["--sort", "best"], "Invalid value for '--sort'"),
        (["--per-page", "101"], "Invalid value for '--per-page'"),
        (["--page", "1000"], "Error: page: page x per_page must be at most 1000"),
    ],
)
def test_search_errors_name_the_option(
    runner: CliRunner, loaded: str, args: list[str], message: str
) -> None:
    result = run(runner, "search", "x", *args, "--index", loaded)
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_delete_all_or_none(runner: CliRunner, loaded: str) -> None:
    result = run(runner, "delete", "bk-0001", "nope", "--index", loaded)
    assert result.exit_code == 1
    assert "nope" in result.stderr
    assert json.loads(run(runner, "stats", "--json", "--index", loaded).stdout)["articles"] == 47
    result = run(runner, "delete", "bk-0001", "bk-0002", "--index", loaded)
    assert result.exit_code == 0
    assert result.stdout.strip() == "2 deleted"
    assert json.loads(run(runner, "stats", "--json", "--index", loaded).stdout)["articles"] == 45


def test_reindex_replaces_everything(runner: CliRunner, loaded: str, tmp_path: Path) -> None:
    small = write_jsonl(tmp_path / "small.jsonl", [{"id": "only", "title": "Bài duy nhất"}])
    result = run(runner, "reindex", str(small), "--index", loaded)
    assert result.exit_code == 0
    assert summary(result) == (1, 0, 0)
    data = json.loads(run(runner, "stats", "--json", "--index", loaded).stdout)
    assert (data["articles"], data["generation"]) == (1, "gen-000002")


def test_a_bad_reindex_keeps_the_live_index(runner: CliRunner, loaded: str, tmp_path: Path) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "only", "title": "x"}, {"id": ""}])
    result = run(runner, "reindex", str(bad), "--index", loaded)
    assert result.exit_code == 1
    assert f"{bad}:2: id=?: id is empty" in result.stderr
    data = json.loads(run(runner, "stats", "--json", "--index", loaded).stdout)
    assert (data["articles"], data["generation"]) == (47, "gen-000001")


def test_serve_rejects_a_bad_port(runner: CliRunner, index: str) -> None:
    result = run(runner, "serve", "--port", "70000", "--index", index)
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: TIMKIEM_PORT must be at most 65535"


def test_serve_on_a_taken_port_is_a_clean_error(runner: CliRunner, loaded: str) -> None:
    previous = signal.getsignal(signal.SIGTERM)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        try:
            result = run(runner, "serve", "--port", port, "--index", loaded)
        finally:
            signal.signal(signal.SIGTERM, previous)
    assert result.exit_code == 1
    assert f"Error: cannot listen on 127.0.0.1:{port}: " in result.stderr


def test_version_and_help(runner: CliRunner) -> None:
    assert run(runner, "--version").stdout.startswith("timkiem, version ")
    help_text = run(runner, "--help").stdout
    listed = help_text.split("Commands:\n", 1)[1].splitlines()
    names = [line.split()[0] for line in listed if line.strip()]
    assert names == sorted(cli.commands) == [
        "check", "config", "crawl", "delete", "export", "ingest", "publish", "pull", "reindex",
        "related", "search", "serve", "stats", "suggest", "sync",
    ]  # fmt: skip
    for line in listed:
        assert not line.rstrip().endswith("..."), f"cut short: {line.strip()}"
        assert line.rstrip().endswith("."), line


def test_search_help_says_what_an_empty_query_sorts_by(runner: CliRunner) -> None:
    help_text = " ".join(run(runner, "search", "--help").stdout.split())
    assert "[default: relevance, which lists the newest first when there is no QUERY]" in help_text
    assert "[default: 10; 1<=x<=100]" in help_text


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_setting_options_show_their_declared_default(runner: CliRunner, command: str) -> None:
    help_text = " ".join(run(runner, command, "--help").stdout.split())
    assert "--config FILE" in help_text
    shown = 0
    for declared in SETTINGS:
        if declared.option + " " in help_text:
            bounds = f"; {declared.bounds}" if declared.bounds else ""
            default = f"[default: {declared.shown_default()}, or ${declared.env}{bounds}]"
            assert default in help_text, (command, declared.name)
            shown += 1
    assert shown >= 1  # every command has --index at least
    if command == "config":
        assert shown == len(SETTINGS)


def test_config_lists_values_and_their_sources(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "timkiem.toml"
    config.write_text('port = 9001\nthreads = 3\ncors_origins = "*"\n', encoding="utf-8")
    monkeypatch.setenv("TIMKIEM_THREADS", "4")
    monkeypatch.delenv("TIMKIEM_CONFIG", raising=False)
    args = ["config", "--json", "--config", str(config), "--cors-origins", "https://a.example"]
    rows = json.loads(run(runner, *args).stdout)
    assert list(rows) == [s.name for s in SETTINGS]
    assert rows["port"] == {"value": 9001, "source": str(config), "env": "TIMKIEM_PORT"}
    assert rows["threads"]["value"] == 4 and rows["threads"]["source"] == "TIMKIEM_THREADS"
    assert rows["cors_origins"]["value"] == "https://a.example"
    assert rows["cors_origins"]["source"] == "--cors-origins"
    assert rows["cache_size"]["source"] == "default"
    monkeypatch.setenv("TIMKIEM_CONFIG", str(config))
    text = run(runner, "config").stdout.splitlines()
    assert len(text) == len(SETTINGS)
    assert text[2].split() == ["port", "9001", str(config)]


def test_every_command_reads_the_config_file(runner: CliRunner, tmp_path: Path) -> None:
    index = tmp_path / "from-config"
    config = tmp_path / "timkiem.toml"
    config.write_text(f"index = {json.dumps(str(index))}\n", encoding="utf-8")
    assert run(runner, "ingest", str(EXAMPLES), "--config", str(config)).exit_code == 0
    assert (index / "CURRENT").exists()
    stats = json.loads(run(runner, "stats", "--json", "--config", str(config)).stdout)
    assert stats["articles"] == 47 and stats["index"] == str(index)
    found = json.loads(run(runner, "search", "cong doan", "--json", "--config", str(config)).stdout)
    assert found["total"] > 0
    assert run(runner, "delete", "bk-0001", "--config", str(config)).stdout == "1 deleted\n"


def test_a_bad_config_file_is_a_clean_error(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "timkiem.toml"
    config.write_text("port = 0\n", encoding="utf-8")
    result = run(runner, "serve", "--config", str(config))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {config}: port must be at least 1"
    config.write_text("colour = 'red'\n", encoding="utf-8")
    result = run(runner, "stats", "--config", str(config))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {config}: unknown setting 'colour'")
