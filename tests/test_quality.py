"""Code quality gates: ruff, mypy, the import layering and the one error hierarchy."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "src" / "timkiem"


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_ruff_passes() -> None:
    result = run_tool("ruff", "check", "src", "tests", "scripts")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_passes() -> None:
    result = run_tool("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file (top-level names resolved)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                found.add("timkiem." + node.module)
            else:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = {p.stem: imports_of(p) for p in PACKAGE.glob("*.py")}


def importers_of(top: str) -> set[str]:
    return {
        name
        for name, imported in MODULES.items()
        if any(i == top or i.startswith(top + ".") for i in imported)
    }


def own_imports(name: str) -> set[str]:
    return {
        i.split(".")[1]
        for i in MODULES[name]
        if i.startswith("timkiem.") and i.split(".")[1] in MODULES
    }


def test_the_modules_are_found() -> None:
    assert {"analysis", "api", "cli", "indexer", "search", "errors", "config"} <= set(MODULES)


def test_only_cli_imports_click() -> None:
    assert importers_of("click") == {"cli"}


def test_only_api_imports_falcon() -> None:
    assert importers_of("falcon") == {"api"}


@pytest.mark.parametrize("name", ["search", "indexer"])
def test_search_and_indexer_never_import_api_or_cli(name: str) -> None:
    assert not own_imports(name) & {"api", "cli"}


def test_only_cli_imports_api_and_nothing_imports_cli() -> None:
    assert {n for n in MODULES if "api" in own_imports(n)} <= {"cli"}
    assert {n for n in MODULES if "cli" in own_imports(n)} <= {"__main__"}


def test_analysis_imports_no_other_timkiem_module() -> None:
    assert own_imports("analysis") == set()


def test_errors_and_config_sit_at_the_bottom() -> None:
    assert own_imports("errors") == set()
    assert own_imports("config") <= {"errors"}
    assert own_imports("limits") == set()


def test_the_request_limits_are_read_from_one_place() -> None:
    for name in ("api", "cli", "request"):
        assert "limits" in own_imports(name), name


def test_the_harness_is_for_tests_and_scripts_only() -> None:
    assert {n for n in MODULES if "testing" in own_imports(n)} <= {"evaluation"}
    assert not own_imports("testing") - {"config"}


def test_exceptions_are_all_in_errors_py_with_one_line_docstrings() -> None:
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = {ast.unparse(b) for b in node.bases}
            if any(b.endswith(("Error", "Exception")) or b.startswith("Timkiem") for b in bases):
                assert path.name == "errors.py", f"{path.name}: {node.name} belongs in errors.py"
            if path.name == "errors.py":
                doc = ast.get_docstring(node)
                assert doc and "\n" not in doc.strip(), f"{node.name} needs a one-line docstring"
