"""Shared fixtures: a small index built from articles written for the tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from timkiem.config import Settings
from timkiem.indexer import Indexer
from timkiem.search import SearchEngine

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "articles.jsonl"
CORPUS = ROOT.parent / "shared" / "corpus"


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load({"index": str(tmp_path / "index")}, environ={})


@pytest.fixture
def sample_engine(settings: Settings) -> Iterator[SearchEngine]:
    """An engine over the project's own sample articles."""
    Indexer(settings).ingest([str(EXAMPLES)])
    engine = SearchEngine(settings)
    yield engine
    engine.close()


def corpus_file(name: str) -> Path:
    """A file of the shared corpus, or skip the test when it is absent."""
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"shared corpus file {path} is not present")
    return path
