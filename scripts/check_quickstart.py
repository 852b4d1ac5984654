"""Run the README's quick start on a fresh clone and query the server it starts.

    python3 scripts/check_quickstart.py [--repo PATH] [--port N] [--tests]

Clones the repository into a temporary directory, runs the quick start's first
command there (install, load the sample articles, serve) in the background,
waits for ``/search`` to answer, prints what it answered and stops the server.
``--port`` serves on another port through ``TIMKIEM_PORT`` (the command itself
is run unchanged); ``--tests`` also runs the second command (the test suite).
Exits non-zero if anything fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start_commands(readme: str) -> list[str]:
    """The indented command lines of the README's "Quick start" section."""
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [m.group(1).strip() for m in re.finditer(r"^ {4}(\S.*)$", section, re.M)]


def wait_for(url: str, server: subprocess.Popen[bytes], timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the quick start command exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body: dict[str, object] = json.load(response)
                return body
        except (urllib.error.URLError, ConnectionError):
            time.sleep(1)
    raise SystemExit(f"no answer from {url} within {timeout:g} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", default=str(ROOT), help="repository to clone")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--tests", action="store_true", help="also run the test command")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="timkiem-quickstart-") as tmp:
        clone = Path(tmp) / "c"
        subprocess.run(["git", "clone", "-q", args.repo, str(clone)], check=True)
        commands = quick_start_commands((clone / "README.md").read_text(encoding="utf-8"))
        serve, test = commands[0], commands[1]
        print(f"$ {serve}", flush=True)
        env = dict(os.environ, TIMKIEM_PORT=str(args.port))
        log = open(Path(tmp) / "serve.log", "wb")
        server = subprocess.Popen(
            ["bash", "-c", serve],
            cwd=clone,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{args.port}/search?q=cong+doan+bac+kan&per_page=3"
            body = wait_for(url, server, args.timeout)
            print(json.dumps(body, ensure_ascii=False)[:600])
            if not body.get("total"):
                raise SystemExit("the search found nothing")
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
            log.close()
            print((Path(tmp) / "serve.log").read_text(errors="replace")[-2000:])
        if args.tests:
            print(f"$ {test}", flush=True)
            subprocess.run(["bash", "-c", test], cwd=clone, check=True)
    print("quick start OK")


if __name__ == "__main__":
    sys.exit(main())
