"""The short soak: a real server, 8 clients, normal and hostile queries, 60 s."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, corpus_file


def test_soak_60_seconds(tmp_path: Path) -> None:
    corpus = corpus_file("news-rss-2025-2026.jsonl.gz")
    # latency is measured by the script on a quiet machine, not under the test suite
    argv = ["--minutes", "1", "--limit", "3000", "--warmup", "20", "--p99-target", "0"]
    argv += ["--corpus", str(corpus), "--index", str(tmp_path / "index")]
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "soak.py"), *argv],
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = done.stdout
    print(out, done.stderr)
    assert "5xx: 0; failed requests: 0; bad bodies: 0" in out
    served = re.search(r"requests served: (\d+)", out)
    assert served and int(served.group(1)) > 500
    hostile = re.search(r"hostile: (\d+)", out)
    assert hostile and int(hostile.group(1)) > 100
    assert done.returncode == 0, out
