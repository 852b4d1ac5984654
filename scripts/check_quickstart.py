"""Run the README's quick start on a fresh clone and query the server it starts.

    .venv/bin/python scripts/check_quickstart.py [--repo PATH] [--port N] [--tests]

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
import re
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

from timkiem.testing import ServerProcess

ROOT = Path(__file__).resolve().parent.parent


def quick_start_commands(readme: str) -> list[str]:
    """The indented command lines of the README's "Quick start" section."""
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [m.group(1).strip() for m in re.finditer(r"^ {4}(\S.*)$", section, re.M)]


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
        server = ServerProcess(
            port=args.port,
            command=["bash", "-c", serve],
            cwd=clone,
            env={"TIMKIEM_PORT": str(args.port)},
            log=Path(tmp) / "serve.log",
            group=True,  # the command starts the server as a child: stop them all
        ).start()
        try:
            query = {"q": "cong doan bac kan", "per_page": "3"}
            path = "/search?" + urllib.parse.urlencode(query)
            try:
                server.wait_ready(path, timeout=args.timeout, status=200, interval=1.0)
            except RuntimeError:
                raise SystemExit(f"the quick start command exited with {server.poll()}") from None
            except TimeoutError as exc:
                raise SystemExit(str(exc)) from None
            body = server.get(path)[1]
            print(json.dumps(body, ensure_ascii=False)[:600])
            if not body.get("total"):
                raise SystemExit("the search found nothing")
        finally:
            server.stop(timeout=30)
            print(server.output[-2000:])
        if args.tests:
            print(f"$ {test}", flush=True)
            subprocess.run(["bash", "-c", test], cwd=clone, check=True)
    print("quick start OK")


if __name__ == "__main__":
    sys.exit(main())
