"""What a script can answer without an agent answers without PyTorch (docs/design.md:
command-line conventions): every --help, the --list of presets and demos, an unknown preset or
demo, a RUN_DIR (or sweep folder) that is not one, and a bad option of evaluate.py, record.py or
play.py given with a finished run. Each command runs in its own Python, as a
user runs it, and says at its end whether `torch` was imported; no timing is measured (a loaded
machine would make one flaky), the import is what costs the seconds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: runs a script as `python scripts/X.py ...` does, then says on stderr whether torch was imported
PROBE = ("import runpy, sys\n"
         "sys.argv = sys.argv[1:]\n"
         "try:\n"
         "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
         "finally:\n"
         "    print('torch imported:', 'torch' in sys.modules, file=sys.stderr)\n")
MISSING, EMPTY = "MISSING", "EMPTY"  # a folder that does not exist; an empty one (no run, no sweep)
RUN = "RUN"  # a finished run (the finished_run fixture, trained only when a command names it)

SCRIPTS = ("train", "demo", "sweep", "bench", "evaluate", "record", "play")
COMMANDS = [
    *[([f"{script}.py", "--help"], 0, f"usage: {script}.py ") for script in SCRIPTS],
    (["train.py", "--list"], 0, "blackjack-dqn "),
    (["demo.py", "--list"], 0, "ch06 "),
    (["train.py", "nope"], 2, "error: unknown preset 'nope'"),
    (["sweep.py", "nope"], 2, "error: unknown preset 'nope'"),
    (["sweep.py"], 2, "error: give a PRESET"),
    (["demo.py", "ch6x"], 2, "error: unknown demo 'ch6x'; did you mean"),
    (["demo.py", "ch70"], 2, "error: chapter 70 is reinforcement learning"),
    (["bench.py", "nope"], 2, "bench.py: error: argument suite: invalid choice: 'nope'"),
    (["sweep.py", "--resume", MISSING], 2, "error: sweep directory MISSING: no such folder"),
    (["sweep.py", "--resume", EMPTY], 2, "error: sweep directory EMPTY: no sweep.json here"),
    *[([f"{script}.py", MISSING], 2, "error: run directory MISSING: no such folder")
      for script in ("evaluate", "record", "play")],
    *[([f"{script}.py", EMPTY], 2, "error: run directory EMPTY: no config.yaml here")
      for script in ("evaluate", "record", "play")],
    (["evaluate.py", RUN, "--seed", "-1"], 2, "error: --seed must be >= 0, got -1"),
    (["evaluate.py", RUN, "--episodes", "0"], 2, "error: --episodes must be a positive integer, got 0"),
    (["evaluate.py", RUN, "--epsilon", "2"], 2, "error: --epsilon must be between 0 and 1, got 2.0"),
    (["play.py", RUN, "--mode", "bogus"], 2, "error: --mode 'bogus' is not valid; choose one of: watch, play, beside"),
    (["play.py", RUN, "--delay", "99"], 2, "error: --delay must be between 0 and 60 seconds, got 99.0"),
    (["record.py", RUN, "--episodes", "0"], 2, "error: --episodes must be a positive integer, got 0"),
    (["record.py", RUN, "--fps", "0"], 2, "error: --fps must be a positive integer, got 0"),
    (["record.py", RUN, "--seed", "-1"], 2, "error: --seed must be >= 0, got -1"),
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> str:
    """A short Blackjack Q-learning run, trained as a user trains one."""
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "train.py"), "blackjack-q", "--set",
                             "total_episodes=2000", "--run-dir", str(run_dir), "--quiet"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", LANGUAGE="en"))
    assert result.returncode == 0 and (run_dir / "checkpoints" / "best").is_dir(), result.stderr[-2000:]
    return str(run_dir)


@pytest.mark.parametrize("argv, status, first_line", COMMANDS, ids=[" ".join(c[0]) for c in COMMANDS])
def test_the_command_answers_without_importing_torch(argv, status, first_line, tmp_path, request):
    (tmp_path / "empty").mkdir()
    folders = {MISSING: str(tmp_path / "nope"), EMPTY: str(tmp_path / "empty")}
    if RUN in argv:
        folders[RUN] = request.getfixturevalue("finished_run")
    argv = [folders.get(word, word) for word in argv]
    for name, folder in folders.items():
        first_line = first_line.replace(name, folder)
    result = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "scripts" / argv[0]), *argv[1:]],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, PYTHONPATH=str(ROOT), LANGUAGE="en"))
    said = (result.stdout if status == 0 else result.stderr).splitlines()
    assert result.returncode == status, result.stderr[-2000:]
    assert said and said[0].startswith(first_line), said[:3]
    errors = result.stderr.splitlines()
    assert errors[-1] == "torch imported: False", result.stderr[-2000:]
    assert status == 0 or len(errors) == 2  # a refusal is one line (then the probe's)


def test_an_agent_that_only_plays_makes_no_optimiser():
    """evaluate.py, record.py and play.py load a DQN agent only to play it: its optimiser (whose
    making imports torch._dynamo, seconds) is made at the first step that needs it."""
    check = ("import sys, numpy as np, torch\n"
             "from agents.algorithms.dqn import DQNAgent\n"
             "before = 'torch._dynamo' in sys.modules\n"
             "agent = DQNAgent(torch.nn.Linear(4, 2), 2)\n"
             "agent.act(np.zeros((3, 4), np.float32), 0.0)\n"
             "weights = {'online': agent.online.state_dict(), 'target': agent.target.state_dict()}\n"
             "agent.load_state_dict(weights, weights_only=True)  # what loading a checkpoint to play does\n"
             "print(('torch._dynamo' in sys.modules) == before, type(agent.optimizer).__name__)\n")
    result = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "Adam"]
