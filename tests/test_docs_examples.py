"""The examples of docs/api.md, docs/adding-an-agent.md (and README.md's Python blocks, if it
has any) run as printed.

Each file's ```python blocks run in order in one namespace, as a user pasting them into one
session would, in an empty temporary folder (so runs/ lands there). The blocks carry their own
asserts; a block that raises fails the test with the block's number and first line.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(path: Path) -> list[str]:
    """The bodies of the ```python fenced blocks of a markdown file, in order."""
    return PYTHON_BLOCK.findall(path.read_text(encoding="utf-8"))


def run_blocks(path: Path, workdir: Path, monkeypatch) -> int:
    """Run the page's blocks in one module (importable by name while the test runs, so a
    class the page defines can be named "module:Class" as the runner names its learners)."""
    monkeypatch.chdir(workdir)
    module = types.ModuleType("docs_example")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    blocks = python_blocks(path)
    for number, source in enumerate(blocks, 1):
        try:
            exec(compile(source, f"{path.name} block {number}", "exec"), namespace)
        except Exception as err:  # noqa: BLE001 - name the failing block, whatever it raised
            first = source.strip().splitlines()[0]
            raise AssertionError(f"{path.name} block {number} ({first!r}) raised "
                                 f"{type(err).__name__}: {err}") from err
    return len(blocks)


def test_block_extraction_finds_fenced_python_only():
    text = "intro\n```python\nx = 1\n```\n```bash\nls\n```\n```python\ny = 2\nz = 3\n```\n"
    assert PYTHON_BLOCK.findall(text) == ["x = 1\n", "y = 2\nz = 3\n"]


def test_api_page_examples_run(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    count = run_blocks(ROOT / "docs" / "api.md", tmp_path, monkeypatch)
    assert count >= 8, f"docs/api.md has {count} python blocks; its sections lost their examples"
    assert (tmp_path / "runs" / "blackjack-tiny" / "eval.json").is_file()
    assert list((tmp_path / "runs" / "blackjack-tiny").glob("eval-s1-n200-best.json"))
    assert (tmp_path / "runs" / "ch55" / "results.json").is_file()


def test_readme_python_examples_run(tmp_path, monkeypatch):
    readme = ROOT / "README.md"
    if not readme.is_file() or not python_blocks(readme):
        pytest.skip("README.md has no ```python blocks")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    assert run_blocks(readme, tmp_path, monkeypatch) >= 1


def test_adding_an_agent_page_builds_and_trains_its_learner(tmp_path, monkeypatch):
    """The page's SARSA learner is registered, trained by the engine and solves the lake."""
    from agents import config, runner

    monkeypatch.setattr(config, "AGENT_SECTIONS", dict(config.AGENT_SECTIONS))
    monkeypatch.setattr(runner, "LEARNERS", dict(runner.LEARNERS))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert run_blocks(ROOT / "docs" / "adding-an-agent.md", tmp_path, monkeypatch) == 3
    run = tmp_path / "runs" / "frozenlake-sarsa"
    assert (run / "eval.json").is_file() and (run / "checkpoints" / "best" / "model.safetensors").is_file()
    assert (run / "plots" / "q_table.png").is_file() and (run / "plots" / "policy_map.png").is_file()
