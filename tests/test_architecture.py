"""The layering of docs/design.md, checked by a maintained tool (import-linter) and by reading
the sources: scripts -> agents | supervised -> envs | nets -> lab, the rooms of agents/ in layers,
no RL library in nets, no import circles inside a package, no module importing another module's
private name, no import inside a function of agents/ reaching into another package."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agents", "supervised", "envs", "nets", "lab")


def test_import_linter_contracts_are_kept():
    result = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                             "sys.exit(lint_imports())"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "4 kept, 0 broken" in result.stdout


def _sources():
    for package in (*PACKAGES, "scripts"):
        yield from sorted((ROOT / package).rglob("*.py"))


def test_no_module_imports_a_private_name_of_another_module():
    offences = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                offences += [f"{path.relative_to(ROOT)}: from {node.module} import {alias.name}"
                             for alias in node.names if alias.name.startswith("_") and alias.name != "__version__"]
    assert not offences, offences


def test_every_module_of_agents_is_under_400_lines():
    lengths = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in (ROOT / "agents").rglob("*.py")}
    assert max(lengths.values()) < 400, {k: v for k, v in lengths.items() if v >= 400}


def _package_of(module: str) -> str:
    """agents.watch.views -> agents.watch; agents.engine -> agents; envs.blackjack -> envs."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 and (ROOT / parts[0] / parts[1]).is_dir() else parts[0]


def _imported_modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = ROOT.joinpath(*node.module.split("."))
    return [f"{node.module}.{alias.name}" if (base / f"{alias.name}.py").is_file() or (base / alias.name).is_dir()
            else node.module for alias in node.names]


def test_no_import_inside_a_function_of_agents_crosses_a_package():
    """A dependency on another package is declared at the top, where import-linter and a
    reader see it; imports inside functions stay for the package's own modules and for heavy
    third-party libraries loaded only when used."""
    offences = []
    for path in sorted((ROOT / "agents").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        here = ".".join(parts[:-1]) if parts[-1] == "__init__" else _package_of(".".join(parts))
        for function in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0):
                    offences += [f"{path.relative_to(ROOT)}:{node.lineno}: {here} -> {module}"
                                 for module in _imported_modules(node)
                                 if module.split(".")[0] in PACKAGES and _package_of(module) != here]
    assert not offences, offences


def test_agents_top_level_is_the_core_only():
    """agents/ shows its architecture: the core and its small parts at the top, everything
    else in a room (algorithms, learners, sb3, watch, bench, sweeps, replay)."""
    top = sorted(p.name for p in (ROOT / "agents").glob("*.py"))
    assert len(top) <= 10, top
