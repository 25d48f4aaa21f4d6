"""Bad input as a hostile user types it, across the five scripts: each case must end with exit
status 2, exactly one line on stderr that names the bad value, and no file written, changed or
deleted (the working folder and an existing run are compared byte for byte)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from lab.cli import run_main

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPTS = {name: _script(name) for name in ("train", "evaluate", "record", "demo", "bench")}


@pytest.fixture(scope="module")
def places(tmp_path_factory, shared_runs):
    """A finished rooms-q run (seed 2), a file, an empty folder and a folder that is no run."""
    root = tmp_path_factory.mktemp("bad-input")
    run = shared_runs / "rooms"
    (root / "a-file").write_text("not a folder")
    (root / "empty").mkdir()
    (root / "not-a-run").mkdir()
    (root / "not-a-run" / "notes.txt").write_text("hello")
    return {"RUN": str(run), "FILE": str(root / "a-file"), "EMPTY": str(root / "empty"),
            "NOTARUN": str(root / "not-a-run"), "MISSING": str(root / "missing"), "ROOT": root}


def _snapshot(*folders: Path) -> dict:
    return {p: p.read_bytes() for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


CASES = [
    # train.py: presets, every config section's ranges, devices, seeds, run directories
    ("train", ["nosuch"], "nosuch"),
    ("train", ["Blackjack-DQN"], "did you mean blackjack-dqn"),
    ("train", ["cartpole-dqn", "--set", "agent.lr=-1"], "agent.lr"),
    ("train", ["cartpole-dqn", "--set", "agent.lr=.nan"], "agent.lr"),
    ("train", ["cartpole-dqn", "--set", "agent.lr=.inf"], "agent.lr"),
    ("train", ["cartpole-dqn", "--set", "agent.gamma=2"], "agent.gamma"),
    ("train", ["cartpole-dqn", "--set", "agent.n_step=0"], "agent.n_step"),
    ("train", ["cartpole-dqn", "--set", "agent.batch_size=0"], "agent.batch_size"),
    ("train", ["cartpole-dqn", "--set", "agent.train_every=0"], "agent.train_every"),
    ("train", ["cartpole-dqn", "--set", "agent.target_period=0"], "agent.target_period"),
    ("train", ["cartpole-dqn", "--set", "agent.tau=0"], "agent.tau"),
    ("train", ["cartpole-dqn", "--set", "agent.learning_starts=-1"], "agent.learning_starts"),
    ("train", ["cartpole-dqn", "--set", "agent.loss=l1"], "l1"),
    ("train", ["cartpole-dqn", "--set", "agent.target_update=sometimes"], "sometimes"),
    ("train", ["cartpole-dqn", "--set", "agent.optimizer=sgd"], "sgd"),
    ("train", ["cartpole-dqn", "--set", "agent.max_grad_norm=-3"], "agent.max_grad_norm"),
    ("train", ["cartpole-dqn", "--set", "agent.lr_end=0"], "agent.lr_end"),
    ("train", ["cartpole-dqn", "--set", "agent.double=maybe"], "maybe"),
    ("train", ["cartpole-dqn", "--set", "agent.bogus=1"], "agent.bogus"),
    ("train", ["cartpole-dqn", "--set", "bogus=1"], "bogus"),
    ("train", ["cartpole-dqn", "--set", "net.kind=nosuch"], "nosuch"),
    ("train", ["cartpole-dqn", "--set", "net.options.depth=3"], "depth"),
    ("train", ["cartpole-dqn", "--set", "replay.capacity=1000000000000"], "replay.capacity"),
    ("train", ["cartpole-dqn", "--set", "replay.capacity=0"], "replay.capacity"),
    ("train", ["cartpole-dqn", "--set", "replay.alpha=2"], "replay.alpha"),
    ("train", ["cartpole-dqn", "--set", "exploration.fraction=-1"], "exploration.fraction"),
    ("train", ["cartpole-dqn", "--set", "exploration.end=1.5"], "exploration.end"),
    ("train", ["cartpole-dqn", "--set", "exploration.schedule=cosine"], "cosine"),
    ("train", ["cartpole-dqn", "--set", "evaluation.episodes=0"], "evaluation.episodes"),
    ("train", ["cartpole-dqn", "--set", "evaluation.epsilon=2"], "evaluation.epsilon"),
    ("train", ["cartpole-dqn", "--set", "evaluation.every=-5"], "evaluation.every"),
    ("train", ["cartpole-dqn", "--set", "total_steps=-5"], "total_steps"),
    # a budget in the key the preset does not count, or one that ends before learning starts
    ("train", ["blackjack-dqn", "--set", "total_steps=1e3"], "in total_episodes (100000), not total_steps"),
    ("train", ["cartpole-dqn", "--set", "total_episodes=5"], "in total_steps (50000), not total_episodes"),
    ("train", ["--resume", "{RUN}", "--set", "total_steps=50"], "in total_episodes (30), not total_steps"),
    ("train", ["cartpole-dqn", "--set", "total_steps=500"], "total_steps=500 ends before agent.learning_starts=1000"),
    ("train", ["cartpole-dqn", "--set", "log_every=0"], "log_every"),
    ("train", ["cartpole-dqn", "--set", "checkpoint_every=0"], "checkpoint_every"),
    ("train", ["cartpole-dqn", "--set", "record_episodes=-1"], "record_episodes"),
    ("train", ["cartpole-dqn", "--set", "time_limit_minutes=-1"], "time_limit_minutes"),
    ("train", ["cartpole-dqn", "--set", "torch_threads=-2"], "torch_threads"),
    ("train", ["cartpole-dqn", "--set", "env.num_envs=0"], "env.num_envs"),
    ("train", ["cartpole-dqn", "--set", "env.name=nope"], "nope"),
    ("train", ["blackjack-q", "--set", "env.options.decks=6"], "decks"),
    ("train", ["blackjack-q", "--set", "agent.alpha=1e9"], "agent.alpha"),
    ("train", ["rooms-q", "--set", "agent.gamma=-0.5"], "agent.gamma"),
    ("train", ["rooms-q", "--set", "agent.alpha_schedule=often"], "often"),
    ("train", ["tictactoe-value", "--set", "agent.alpha=0"], "agent.alpha"),
    ("train", ["cartpole-dqn", "--set", "noequals"], "noequals"),
    ("train", ["cartpole-dqn", "--device", "tpu"], "tpu"),
    ("train", ["cartpole-dqn", "--device", "cuda"], "cuda"),
    ("train", ["cartpole-dqn", "--seed", "-1"], "-1"),
    ("train", ["cartpole-dqn", "--seed", "zero"], "zero"),
    ("train", ["cartpole-dqn", "--backend", "jax"], "jax"),
    ("train", ["cartpole-dqn", "--algo", "ppo"], "--algo"),
    ("train", ["rooms-q", "--backend", "sb3"], "sb3"),
    ("train", ["cartpole-dqn", "--run-dir", "{FILE}"], "a-file"),
    ("train", ["cartpole-dqn", "--run-dir", "{FILE}/below"], "a-file"),
    ("train", ["cartpole-dqn", "--run-dir", "{RUN}"], "--resume"),
    ("train", ["cartpole-dqn", "--run-dir", "{NOTARUN}"], "not-a-run"),
    ("train", ["--resume", "{MISSING}"], "missing"),
    ("train", ["--resume", "{EMPTY}"], "empty"),
    ("train", ["--resume", "{RUN}"], "already finished"),
    ("train", ["--resume", "{RUN}", "--seed", "5"], "--seed 5"),
    ("train", ["--resume", "{RUN}", "--set", "agent.alpha=7"], "agent.alpha"),
    # issue 28: each refused before a run folder is made, where torch or sb3-contrib crashed or
    # nonsense trained
    ("train", ["cartpole-novel-gru", "--set", "net.options.hidden_size=0"], "hidden_size"),
    ("train", ["cartpole-novel-transformer", "--set", "net.options.d_model=0"], "d_model"),
    ("train", ["cartpole-novel-transformer", "--set", "net.options.d_model=66"], "divisible by n_heads"),
    ("train", ["cartpole-novel-lstm", "--backend", "sb3", "--algo", "recurrent-ppo", "--set", "sb3.n_steps=0"],
     "sb3.n_steps"),
    ("train", ["cartpole-dqn", "--set", "replay.capacity=10"], "replay.capacity"),
    ("train", ["cartpole-dqn", "--set", "total_steps=1e18"], "total_steps"),
    # settings a flag gives are not --set keys (issue 28: --set seed=3 trained seed 0)
    ("train", ["cartpole-dqn", "--set", "seed=3"], "--seed N"),
    ("train", ["cartpole-dqn", "--set", "preset=rooms-q"], "PRESET"),
    ("train", ["cartpole-dqn", "--set", "backend=sb3"], "--backend"),
    ("train", ["--resume", "{RUN}", "--set", "seed=3"], "--seed N"),
    ("train", ["cartpole-dqn", "--backend", "sb3", "--algo", "ppo", "--set", "total_steps=500",
               "--set", "sb3.total_steps=600"], "two budgets"),
    # evaluate.py
    ("evaluate", ["{MISSING}"], "missing"),
    ("evaluate", ["{NOTARUN}"], "not-a-run"),
    ("evaluate", ["{RUN}", "--checkpoint", "oldest"], "oldest"),
    ("evaluate", ["{RUN}", "--episodes", "0"], "--episodes"),
    ("evaluate", ["{RUN}", "--episodes", "many"], "many"),
    ("evaluate", ["{RUN}", "--epsilon", "2"], "--epsilon"),
    ("evaluate", ["{RUN}", "--seed", "-1"], "--seed"),
    ("evaluate", ["{RUN}", "--device", "tpu"], "tpu"),
    # record.py
    ("record", ["{MISSING}"], "missing"),
    ("record", ["{RUN}", "--format", "avi"], "avi"),
    ("record", ["{RUN}", "--episodes", "0"], "--episodes"),
    ("record", ["{RUN}", "--fps", "0"], "--fps"),
    ("record", ["{RUN}", "--epsilon", "-0.1"], "--epsilon"),
    ("record", ["{RUN}", "--seed", "-1"], "--seed"),
    ("record", ["{RUN}", "--device", "tpu"], "tpu"),
    # demo.py
    ("demo", ["ch999"], "ch999"),
    ("demo", [], "--all"),
    ("demo", ["ch18", "--data", "nosuch"], "nosuch"),
    ("demo", ["ch18", "--device", "cuda"], "cuda"),
    ("demo", ["ch18", "--seed", "-1"], "--seed"),
    ("demo", ["ch18", "--run-dir", "{FILE}"], "a-file"),
    ("demo", ["ch18", "--run-dir", "{NOTARUN}"], "not-a-run"),
    ("demo", ["ch18", "--quick", "--set", "bogus=1"], "bogus"),
    ("demo", ["--all", "--quick", "--set", "bogus=1"], "bogus"),
    ("demo", ["ch18", "--quick", "--set", "epochs=many"], "epochs"),
    ("demo", ["ch84", "--quick", "--set", "steps=0"], "steps=0"),
    ("demo", ["ch83", "--quick", "--set", "batch=-2"], "batch=-2"),
    ("demo", ["ch76", "--quick", "--set", "steps=0"], "steps=0"),
    ("demo", ["ch85", "--quick", "--set", "hidden=0"], "hidden=0"),
    # demo settings are per demo: ch79_gpt.py reads iterations and fine_tune_steps for ch79/ch80 only
    ("demo", ["ch81", "--quick", "--set", "iterations=5"], "iterations"),
    ("demo", ["ch82", "--quick", "--set", "fine_tune_steps=3"], "fine_tune_steps"),
    ("demo", ["ch41", "--quick", "--set", "epochs=1"], "epochs"),
    ("demo", ["ch18", "--quick", "--set", "epochs=2.5"], "epochs=2.5"),
    ("demo", ["ch18", "--quick", "--set", "epochs=.nan"], "epochs"),
    ("demo", ["ch18", "--quick", "--set", "net.epochs=3"], "net.epochs"),
    ("demo", ["ch23", "--quick", "--set", "dropout=1"], "dropout=1"),
    ("demo", ["ch24", "--quick", "--set", "svm_gamma=fast"], "svm_gamma=fast"),
    ("demo", ["ch28", "--quick", "--set", "patience=0"], "patience=0"),
    ("demo", ["ch47", "--quick", "--set", "flip=maybe"], "flip=maybe"),
    ("demo", ["ch58", "--quick", "--set", "side=7"], "side=7"),
    ("demo", ["ch60", "--quick", "--set", "C=[0.1]"], "C="),
    ("demo", ["ch90", "--quick", "--set", "d_model=60"], "d_model=60"),
    ("demo", ["--all", "--quick", "--set", "iterations=0"], "iterations=0"),
    # names: the nearest demo suggested, the RL chapters pointed at train.py
    ("demo", ["ch9"], "did you mean ch08?"),
    ("demo", ["cha18"], "did you mean ch18"),
    ("demo", ["ch71"], "python scripts/train.py blackjack-dqn"),
    # bench.py
    ("bench", ["nosuch"], "nosuch"),
    ("bench", ["atari", "--steps", "0"], "--steps"),
    ("bench", ["atari", "--only", "speed"], "speed"),
    ("bench", ["blackjack", "--only", "env"], "--only"),
    ("bench", ["atari", "--device", "tpu"], "tpu"),
    ("bench", ["atari", "--seed", "-1"], "--seed"),
    ("bench", ["memory", "--seeds", "0,x"], "--seeds"),
    ("bench", ["memory", "--seeds", "1,1"], "--seeds"),
    ("bench", ["memory", "--only", "ppo"], "ppo"),
    ("bench", ["memory", "--workers", "0"], "--workers"),
    ("bench", ["atari", "--seeds", "0,1"], "--seeds"),
    ("bench", ["blackjack", "--workers", "2"], "--workers"),
]


@pytest.mark.parametrize("script, argv, named", CASES, ids=[f"{s}:{' '.join(a)}" for s, a, _ in CASES])
def test_bad_input_gets_one_line_exit_2_and_writes_nothing(script, argv, named, places, tmp_path, monkeypatch,
                                                           capsys):
    monkeypatch.chdir(tmp_path)  # where a default runs/ folder would appear
    argv = [a.format(**places) for a in argv]
    named = named.format(**places)
    before = _snapshot(tmp_path, places["ROOT"], Path(places["RUN"]))
    with pytest.raises(SystemExit) as stopped:
        run_main(SCRIPTS[script].main, argv)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert stopped.value.code == 2, captured.err
    assert len(lines) == 1, captured.err
    assert named in lines[0], lines[0]
    assert _snapshot(tmp_path, places["ROOT"], Path(places["RUN"])) == before


def test_there_are_at_least_sixty_cases_across_the_five_scripts():
    assert len(CASES) >= 60 and {script for script, _, _ in CASES} == set(SCRIPTS)
