"""The command-line contract of docs/design.md: --help everywhere, --list, one-line errors, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ["train.py", "evaluate.py", "record.py", "demo.py", "bench.py"]


def run_script(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / args[0]), *args[1:]],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_has_help_with_defaults(script):
    result = run_script(script, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and "--" in result.stdout
    if script in {"train.py", "demo.py"}:
        assert "--seed" in result.stdout and "(default: 0)" in result.stdout


def test_unknown_preset_is_one_line_exit_2_naming_choices():
    result = run_script("train.py", "no-such-preset")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-preset" in lines[0] and "available:" in lines[0]


def test_unknown_demo_is_one_line_exit_2_suggesting_the_nearest():
    result = run_script("demo.py", "ch999")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ch999" in lines[0] and "did you mean ch90?" in lines[0] and "--list" in lines[0]


def test_list_shows_every_preset_with_its_description_in_one_column():
    from agents import presets

    result = run_script("train.py", "--list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    listed = presets.available()
    assert [line.split()[0] for line in lines] == list(listed)
    assert {"cartpole-novel-lstm", "cartpole-novel-gru", "cartpole-novel-transformer", "popgym-higher-lower",
            "boxing-r2d2"} <= set(listed)
    # the longest name no longer pushes its description out of line with the others
    columns = {line.index(description) for line, description in zip(lines, listed.values())}
    assert len(columns) == 1
    # each line says which budget key the preset counts (what --set total_... must change)
    assert "100,000 episodes" in lines[list(listed).index("blackjack-dqn")]
    assert "50,000 steps" in lines[list(listed).index("cartpole-dqn")]


def test_bad_flag_value_is_exit_2():
    result = run_script("bench.py", "chess")
    assert result.returncode == 2 and "invalid choice" in result.stderr


@pytest.mark.parametrize("script", ["train.py", "demo.py"])
def test_a_reader_that_goes_away_gets_no_traceback(script):
    """`train.py --list | head -1`: the reader closed the pipe; exit 141 quietly, as shells do."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run([sys.executable, str(ROOT / "scripts" / script), "--list"], stdout=write_end,
                                stderr=subprocess.PIPE, text=True, timeout=120, cwd=ROOT)
    finally:
        os.close(write_end)
    assert result.returncode == 141
    assert result.stderr == ""
