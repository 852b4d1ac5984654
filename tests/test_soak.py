"""The short soak: a real server, 8 clients, normal and hostile queries, 60 s."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import corpus_file
from test_crash_safety import load_script


def test_soak_60_seconds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = corpus_file("news-rss-2025-2026.jsonl.gz")
    soak = load_script("soak")
    # latency is measured by the script on a quiet machine, not under the test suite
    argv = ["--minutes", "1", "--limit", "3000", "--warmup", "20", "--p99-target", "0"]
    status = soak.main([*argv, "--corpus", str(corpus), "--index", str(tmp_path / "index")])
    out = capsys.readouterr().out
    print(out)
    assert "5xx: 0; failed requests: 0; bad bodies: 0" in out
    served = re.search(r"requests served: (\d+)", out)
    assert served and int(served.group(1)) > 500
    hostile = re.search(r"hostile: (\d+)", out)
    assert hostile and int(hostile.group(1)) > 100
    assert status == 0, out
