"""The layering of DESIGN.md, checked by a maintained tool (import-linter) and by reading the
sources: scripts -> agents | supervised -> envs | nets -> lab, no RL library in nets, no import
circles inside a package, no module importing another module's private name."""

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
    assert "3 kept, 0 broken" in result.stdout


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
