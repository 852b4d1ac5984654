"""Missing, unreadable and damaged indexes: clear reasons, 503s, and a way back."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import EXAMPLES, Engines
from timkiem.cli import cli
from timkiem.config import Settings
from timkiem.indexer import Indexer


def _garbage_current(index: Path) -> None:
    (index / "CURRENT").write_bytes(b"\x00\xff\xfe")


def _wrong_current(index: Path) -> None:
    (index / "CURRENT").write_text("../../etc\n")


def _missing_generation(index: Path) -> None:
    shutil.rmtree(index / "gen-000001")


def _missing_toc(index: Path) -> None:
    for toc in (index / "gen-000001").glob("*.toc"):
        toc.unlink()


def _garbage_toc(index: Path) -> None:
    for toc in (index / "gen-000001").glob("*.toc"):
        toc.write_bytes(random.Random(1).randbytes(toc.stat().st_size))


def _segment_files(index: Path) -> list[Path]:
    """A segment's files: one compound ``.seg``, or terms, postings and columns."""
    found = [
        p for p in (index / "gen-000001").iterdir() if p.suffix in (".seg", ".trm", ".pst", ".col")
    ]
    assert found
    return found


def _empty_segment(index: Path) -> None:
    for segment in _segment_files(index):
        segment.write_bytes(b"")


def _missing_segment(index: Path) -> None:
    for segment in _segment_files(index):
        segment.unlink()


DAMAGES: dict[str, Callable[[Path], None]] = {
    "garbage CURRENT": _garbage_current,
    "CURRENT naming no generation": _wrong_current,
    "live generation deleted": _missing_generation,
    "table of contents deleted": _missing_toc,
    "table of contents overwritten": _garbage_toc,
    "segment emptied": _empty_segment,
    "segment deleted": _missing_segment,
}


@pytest.fixture
def built(settings: Settings) -> Path:
    Indexer(settings).ingest([str(EXAMPLES)])
    return Path(settings.index)


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damage_is_reported_everywhere_and_reindex_repairs_it(
    settings: Settings, built: Path, damage: str, engines: Engines
) -> None:
    DAMAGES[damage](built)
    client = engines.client(settings)
    health = client.simulate_get("/health")
    assert health.status_code == 503
    assert health.json["status"] == "unavailable"
    reason = health.json["reason"]
    assert "timkiem reindex" in reason and str(built) in reason
    for path in ("/search", "/stats", "/articles/bk-0001"):
        result = client.simulate_get(path, params={"q": "công đoàn"})
        assert result.status_code == 503
        assert result.json["error"] == {
            "status": 503,
            "code": "index_unavailable",
            "message": reason,
        }
    runner = CliRunner()
    stats = runner.invoke(cli, ["stats", "--index", str(built)])
    assert stats.exit_code == 1
    assert "timkiem reindex" in stats.output and "Traceback" not in stats.output
    assert stats.exception is None or isinstance(stats.exception, SystemExit)

    rebuilt = runner.invoke(cli, ["reindex", "--index", str(built), str(EXAMPLES)])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert client.simulate_get("/health").json["status"] == "ok"  # no restart needed
    assert client.simulate_get("/search", params={"q": "cong doan"}).json["total"] > 0


def test_stats_without_an_index_says_how_to_create_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["stats", "--index", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "no index at" in result.output and "timkiem ingest FILE" in result.output


def test_random_corruption_never_gives_a_server_error(
    settings: Settings, built: Path, engines: Engines
) -> None:
    """Bytes overwritten anywhere in the segment: answers are 200, 404 or 503."""
    pristine = built.parent / "pristine"
    shutil.copytree(built, pristine)
    rng = random.Random(5)
    paths = [
        "/search?q=công đoàn",
        "/search?q=bac kan&sort=newest",
        "/search?q=&from=2020&to=2021",
        "/search?q=lao động -tỉnh&page=2",
        "/search?category=Tin tức - Sự kiện",
        "/articles/bk-0001",
        "/articles/bk-0030",
        "/stats",
        "/health",
    ]
    statuses: set[int] = set()
    for _ in range(25):
        shutil.rmtree(built)
        shutil.copytree(pristine, built)
        segment = rng.choice(sorted(_segment_files(built)))
        size = segment.stat().st_size
        with open(segment, "r+b") as handle:
            handle.seek(rng.randrange(size))
            handle.write(rng.randbytes(rng.choice([1, 64, 4096])))
        client = engines.client(settings)
        for path in paths:
            result = client.simulate_get(path.split("?")[0], query_string=path.partition("?")[2])
            assert result.status_code in (200, 404, 503), (path, result.text)
            statuses.add(result.status_code)
            if result.status_code == 503 and path != "/health":
                health = client.simulate_get("/health")
                assert health.status_code == 503  # health reports what requests found
    assert 200 in statuses
