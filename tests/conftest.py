"""Shared fixtures: indexes built from articles written for the tests, engines closed
by the fixture that opened them, and the one falcon.testing client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from falcon.testing import TestClient

from timkiem.api import create_app
from timkiem.config import Settings
from timkiem.engine import lookup
from timkiem.indexer import Indexer
from timkiem.search import SearchEngine, SearchRequest
from timkiem.testing import PROJECT_ROOT, corpus_dir, corpus_missing, nginx_binary

ROOT = PROJECT_ROOT
EXAMPLES = ROOT / "examples" / "articles.jsonl"
CORPUS = corpus_dir()


FILLER = "Buổi làm việc diễn ra sáng qua với sự tham gia của đại diện các phòng chuyên môn."
"""A body that holds none of the words the tests' titles are searched by."""


def ranked_ids(engine: SearchEngine, q: str) -> list[str]:
    """The ids of the first 100 hits of ``q``, in rank order."""
    return [h["id"] for h in engine.search(SearchRequest(q=q, per_page=100))["hits"]]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return path


def analyze(analyzer: Any, text: str) -> list[str]:
    """The term texts ``analyzer`` makes of ``text``: analyzers are tested as token lists."""
    return [token.text for token in analyzer(text)]


def make_settings(index: Path | str, **overrides: Any) -> Settings:
    """Settings for ``index``, whatever the environment of the test run says."""
    return Settings.load({"index": str(index), **overrides}, environ={})


def index_records(folder: Path, records: list[dict[str, Any]], **overrides: Any) -> Settings:
    """Settings of a new index in ``folder`` holding ``records``."""
    settings = make_settings(folder / "index", **overrides)
    Indexer(settings).reindex([str(write_jsonl(folder / "records.jsonl", records))])
    return settings


def corpus_file(name: str) -> Path:
    """A file of the shared corpus, or skip the test saying where it is expected."""
    reason = corpus_missing(name, CORPUS)
    if reason is not None:
        pytest.skip(reason)
    return CORPUS / name


def nginx_or_skip() -> str:
    """The nginx program, or skip the test saying how to get it."""
    found = nginx_binary()
    if found is None:
        pytest.skip(
            "nginx is not installed (Debian's nginx-light; .ci/run installs it with "
            "apt-get when it can)"
        )
    return found


class Engines:
    """Search engines and API clients opened for a test or a module; all closed after it."""

    def __init__(self) -> None:
        self.opened: list[SearchEngine] = []

    def open(self, settings: Settings, **options: Any) -> SearchEngine:
        engine = SearchEngine(settings, **options)
        self.opened.append(engine)
        return engine

    def client(self, settings: Settings) -> TestClient:
        """A falcon.testing client of the API over a new engine on ``settings``."""
        return TestClient(create_app(self.open(settings), settings))

    def close(self) -> None:
        for engine in self.opened:
            engine.close()
        self.opened.clear()


@pytest.fixture
def engines() -> Iterator[Engines]:
    opened = Engines()
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def module_engines() -> Iterator[Engines]:
    opened = Engines()
    yield opened
    opened.close()


@pytest.fixture
def clock_after_each_term(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read the clock after the first term scored, as on a large index (a small one
    is scored in one chunk, before the time limit is looked at)."""
    monkeypatch.setattr(lookup, "_FIRST_CHUNK", 1)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "index")


@pytest.fixture
def engine_of(settings: Settings, engines: Engines, tmp_path: Path) -> Any:
    """Build an index of the records given and open an engine on it."""

    def build(records: list[dict[str, Any]]) -> SearchEngine:
        return engines.open(index_records(tmp_path, records))

    return build


@pytest.fixture
def sample_engine(settings: Settings, engines: Engines) -> SearchEngine:
    """An engine over the project's own sample articles."""
    Indexer(settings).ingest([str(EXAMPLES)])
    return engines.open(settings)


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The index ``client`` answers from: the sample articles, built once per module.

    A module overrides this fixture to serve other articles.
    """
    settings = make_settings(tmp_path_factory.mktemp("api") / "index")
    Indexer(settings).ingest([str(EXAMPLES)])
    return settings


@pytest.fixture(scope="module")
def client(app_settings: Settings, module_engines: Engines) -> TestClient:
    """The API over ``app_settings``, through falcon.testing."""
    return module_engines.client(app_settings)
