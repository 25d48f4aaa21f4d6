"""scripts/evaluate.py and agents.evaluation (chapter 75's evaluation, chapter 69's Atari
protocol): eval.json contents, checkpoints, defaults from the preset, one-line errors."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from agents.config import RunConfig
from agents.engine import Engine
from agents.evaluation import evaluate_run, load_run
from agents.runner import build_learner, train
from lab.checkpoint import CheckpointError
from lab.cli import UsageError
from lab.config import to_dict
from lab.rundir import RunDir

ROOT = Path(__file__).resolve().parents[1]


def make_deep_run(path: Path, raw_config: dict) -> Path:
    """A DQN run directory as train.py leaves it (config.yaml, checkpoints/best and latest),
    with an untrained network: evaluation only needs a valid run, not a good agent."""
    config = RunConfig.parse({"algo": "dqn", **raw_config})
    run = RunDir.create(config.preset, 0, path=path)
    run.write_config(to_dict(config))
    engine = Engine(config, build_learner(config, torch.device("cpu"), train=False), run, quiet=True)
    engine.steps, engine.episodes, engine.best_score = 100, 80, -0.2
    engine.save("best", score=-0.2)
    engine.steps, engine.episodes = 400, 300
    engine.save("latest")
    return path


def evaluation_of(run: Path, episodes: int, seed: int = 12345, checkpoint: str = "best") -> dict:
    """What evaluate_run wrote beside the training's own eval.json."""
    return json.loads((run / f"eval-s{seed}-n{episodes}-{checkpoint}.json").read_text())


@pytest.fixture(scope="module")
def blackjack_dqn_run(tmp_path_factory) -> Path:
    return make_deep_run(tmp_path_factory.mktemp("eval") / "blackjack-dqn", {
        "preset": "blackjack-dqn", "env": {"name": "blackjack", "options": {"observation": "onehot"}},
        "total_episodes": 300, "net": {"kind": "mlp", "options": {"hidden": [16]}},
        "evaluation": {"episodes": 20, "final_episodes": 50, "epsilon": 0.0},
    })


@pytest.fixture(scope="module")
def rooms_run(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("eval") / "rooms-q"
    train("rooms-q", overrides=["total_episodes=60", "evaluation.episodes=30"], run_dir=str(path), quiet=True)
    return path


@pytest.fixture(scope="module")
def boxing_run(tmp_path_factory) -> Path:
    """Boxing with short bouts (400 emulator frames): the Atari protocol path."""
    return make_deep_run(tmp_path_factory.mktemp("eval") / "boxing", {
        "preset": "boxing-test",
        "env": {"name": "boxing", "options": {"max_episode_frames": 400}, "record_env": "boxing-colour"},
        "total_steps": 8, "net": {"kind": "nature_cnn"},
        "evaluation": {"episodes": 1, "epsilon": 0.05},
    })


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / args[0]), *args[1:]],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_blackjack_eval_json_has_the_statistics_exact_figures_and_checkpoint(blackjack_dqn_run):
    report = evaluate_run(blackjack_dqn_run, episodes=40, seed=3, quiet=True)
    result = evaluation_of(blackjack_dqn_run, 40, seed=3)
    for key in ("mean", "std", "median", "ci95", "episodes", "protocol", "checkpoint",
                "exact_return", "optimal_return", "regret"):
        assert key in result, key
    assert result["episodes"] == 40
    assert result["ci95"] == pytest.approx(1.96 * result["std"] / math.sqrt(40))
    assert result["regret"] == pytest.approx(result["optimal_return"] - result["exact_return"])
    assert result["optimal_return"] == pytest.approx(-0.0466, abs=5e-4)  # the DP optimum of these rules
    assert result["protocol"]["epsilon"] == 0.0 and result["protocol"]["seed"] == 3
    assert result["checkpoint"]["name"] == "best"
    assert f"{result['mean']:.4f} +- {result['ci95']:.4f} (95% CI)" in report
    assert "std" in report and f"regret {result['regret']:.5f}" in report


def test_same_seed_gives_the_same_eval_json(blackjack_dqn_run):
    written = blackjack_dqn_run / "eval-s5-n30-best.json"
    evaluate_run(blackjack_dqn_run, episodes=30, seed=5, quiet=True)
    first = written.read_text()
    evaluate_run(blackjack_dqn_run, episodes=30, seed=5, quiet=True)
    assert written.read_text() == first


def test_defaults_come_from_the_preset(blackjack_dqn_run, rooms_run):
    evaluate_run(blackjack_dqn_run, quiet=True)
    assert evaluation_of(blackjack_dqn_run, 50)["episodes"] == 50  # final_episodes
    training = (rooms_run / "eval.json").read_text()
    report = evaluate_run(rooms_run, quiet=True)
    result = evaluation_of(rooms_run, 30)
    assert result["episodes"] == 30 and result["protocol"]["epsilon"] == 0.0  # evaluation.episodes, greedy
    assert result["protocol"]["source"] == "scripts/evaluate.py"
    # the training's own final evaluation is kept, and the report ends on it
    assert (rooms_run / "eval.json").read_text() == training
    assert report.splitlines()[-1].startswith("the training's final evaluation (eval.json, kept): 30 episodes")


def test_latest_checkpoint_is_loaded_when_asked(blackjack_dqn_run):
    assert load_run(blackjack_dqn_run, "latest", "cpu").state["episodes"] == 300
    evaluate_run(blackjack_dqn_run, checkpoint="latest", episodes=10, quiet=True)
    result = evaluation_of(blackjack_dqn_run, 10, checkpoint="latest")
    assert result["checkpoint"] == {"name": "latest", "steps": 400, "episodes": 300}
    report = evaluate_run(blackjack_dqn_run, episodes=10, quiet=True)
    assert evaluation_of(blackjack_dqn_run, 10)["checkpoint"]["episodes"] == 80
    assert "checkpoint best (steps 100, episodes 80)" in report


def test_epsilon_one_plays_at_random(rooms_run):
    # a greedy rooms agent always gets out (+100); a random walker is truncated sometimes
    report = evaluate_run(rooms_run, episodes=30, epsilon=1.0, quiet=True)
    result = json.loads((rooms_run / "eval-s12345-n30-best-eps1.json").read_text())
    assert result["protocol"]["epsilon"] == 1.0 and "eval-s12345-n30-best-eps1.json" in report
    evaluate_run(rooms_run, episodes=30, epsilon=0.0, quiet=True)  # the protocol's epsilon: no suffix
    assert evaluation_of(rooms_run, 30)["mean"] == pytest.approx(100.0)
    # the two evaluations differ only in epsilon and both are kept
    assert json.loads((rooms_run / "eval-s12345-n30-best-eps1.json").read_text())["protocol"]["epsilon"] == 1.0


def test_atari_protocol_defaults_and_human_normalised_score(boxing_run):
    report = evaluate_run(boxing_run, episodes=1, device="cpu", quiet=True)
    result = evaluation_of(boxing_run, 1)
    assert result["protocol"]["epsilon"] == 0.05  # the preset's evaluation epsilon
    atari = result["atari"]  # the Atari protocol the episodes were played under
    assert atari["max_episode_frames"] == 400 and atari["noop_max"] == 30
    assert atari["repeat_action_probability"] == 0.25  # the default Machado protocol
    assert result["human_normalised"] == pytest.approx((result["mean"] - 0.1) / (12.1 - 0.1))
    assert "human-normalised score" in report and "protocol: machado" in report


def test_user_mistakes_are_usage_errors(tmp_path, rooms_run):
    with pytest.raises(UsageError, match="no such folder"):
        evaluate_run(tmp_path / "nowhere")
    with pytest.raises(UsageError, match="no config.yaml"):
        evaluate_run(tmp_path)
    with pytest.raises(UsageError, match="--epsilon"):
        evaluate_run(rooms_run, epsilon=1.5)
    with pytest.raises(UsageError, match="--episodes"):
        evaluate_run(rooms_run, episodes=0)
    with pytest.raises(UsageError, match="choose one of: best, latest"):
        evaluate_run(rooms_run, checkpoint="newest")
    copy = tmp_path / "copy"
    shutil.copytree(rooms_run, copy)
    shutil.rmtree(copy / "checkpoints" / "best")
    with pytest.raises(UsageError, match="checkpoints/best does not exist; available: latest"):
        evaluate_run(copy)


def test_a_damaged_checkpoint_is_a_checkpoint_error(tmp_path, rooms_run):
    copy = tmp_path / "copy"
    shutil.copytree(rooms_run, copy)
    weights = copy / "checkpoints" / "best" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8])
    with pytest.raises(CheckpointError):
        evaluate_run(copy)


def test_script_prints_mean_std_and_ci(blackjack_dqn_run):
    result = run_script("evaluate.py", str(blackjack_dqn_run), "--episodes", "20", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "20 episodes" in result.stdout and "std" in result.stdout and "(95% CI)" in result.stdout
    assert evaluation_of(blackjack_dqn_run, 20)["episodes"] == 20


def test_script_bogus_run_dir_is_one_line_exit_2(tmp_path):
    result = run_script("evaluate.py", str(tmp_path / "not-a-run"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: run directory") and "Traceback" not in result.stderr
