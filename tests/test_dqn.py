"""DQN (chapter 70) and the Blackjack DQN project (chapters 71-75)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from agents import runner
from agents.algorithms.dqn import DQNAgent, DQNConfig
from agents.replay import Batch

ROOT = Path(__file__).resolve().parents[1]
TINY_BLACKJACK = [
    "total_episodes=400", "agent.learning_starts=100", "evaluation.every=0",
    "evaluation.episodes=100", "evaluation.final_episodes=100", "env.num_envs=2", "record_episodes=0",
]


class FixedQ(torch.nn.Module):
    """Q(s, .) = s @ W: a linear net whose Q-values a test can write down."""

    def __init__(self, weights: list[list[float]]):
        super().__init__()
        self.linear = torch.nn.Linear(len(weights), len(weights[0]), bias=False)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor(weights).T)

    def forward(self, x):
        return self.linear(x.float())


def _batch(obs, actions, returns, next_obs, discounts) -> Batch:
    n = len(actions)
    return Batch(np.array(obs, np.float32), np.array(actions), np.array(returns, np.float32),
                 np.array(next_obs, np.float32), np.array(discounts, np.float32), np.ones(n, np.float32),
                 np.arange(n))


def _target_of(agent: DQNAgent, batch: Batch) -> float:
    """Recover the TD target from the reported |TD error| of a one-sample batch."""
    q_taken = agent.q_values(batch.obs)[0, batch.actions[0]]
    info = agent.learn(batch)
    return float(q_taken + info["td_errors"][0])  # target >= q_taken in these cases


def test_dqn_and_double_dqn_targets():
    # online: next state's Q = (1, 3) -> argmax 1; target net after perturbation differs
    weights = [[1.0, 3.0], [0.0, 0.0]]
    for double, expected in ((False, 0.5 + 0.9 * 5.0), (True, 0.5 + 0.9 * 2.0)):
        agent = DQNAgent(FixedQ(weights), 2, DQNConfig(double=double, loss="mse", lr=1e-12, target_period=10**9))
        with torch.no_grad():  # target net values the next state at (5, 2): max 5, but online picks 1
            agent.target.linear.weight.copy_(torch.tensor([[5.0, 0.0], [2.0, 0.0]]))
        batch = _batch(obs=[[0.0, 1.0]], actions=[0], returns=[0.5], next_obs=[[1.0, 0.0]], discounts=[0.9])
        assert _target_of(agent, batch) == pytest.approx(expected)
    # a terminated transition (discount 0) does not bootstrap
    agent = DQNAgent(FixedQ(weights), 2, DQNConfig(loss="mse", lr=1e-12))
    batch = _batch(obs=[[0.0, 1.0]], actions=[0], returns=[1.0], next_obs=[[1.0, 0.0]], discounts=[0.0])
    assert _target_of(agent, batch) == pytest.approx(1.0)


def test_hard_and_soft_target_updates():
    agent = DQNAgent(FixedQ([[1.0, 0.0]]), 2, DQNConfig(lr=0.1, target_update="hard", target_period=2, loss="mse"))
    batch = _batch(obs=[[1.0]], actions=[0], returns=[5.0], next_obs=[[1.0]], discounts=[0.0])
    agent.learn(batch)
    assert not torch.equal(agent.online.linear.weight, agent.target.linear.weight)
    agent.learn(batch)
    assert torch.equal(agent.online.linear.weight, agent.target.linear.weight)
    soft = DQNAgent(FixedQ([[1.0, 0.0]]), 2, DQNConfig(lr=0.1, target_update="soft", tau=0.5, loss="mse"))
    before = soft.target.linear.weight.clone()
    soft.learn(batch)
    expected = before + 0.5 * (soft.online.linear.weight - before)
    assert torch.allclose(soft.target.linear.weight, expected)


def test_epsilon_greedy_acting():
    agent = DQNAgent(FixedQ([[0.0, 1.0, 0.0]]), 3, seed=1)
    obs = np.ones((200, 1), np.float32)
    assert (agent.act(obs, epsilon=0.0) == 1).all()
    explored = agent.act(obs, epsilon=1.0)
    assert set(np.unique(explored)) == {0, 1, 2}


def test_blackjack_dqn_is_deterministic_and_writes_the_project_outputs(tmp_path):
    for name in ("a", "b"):
        runner.train("blackjack-dqn", overrides=TINY_BLACKJACK, seed=3, run_dir=str(tmp_path / name), quiet=True)
    first, second = (json.loads((tmp_path / n / "eval.json").read_text()) for n in ("a", "b"))
    assert first == second
    assert {"exact_return", "optimal_return", "regret", "mean", "ci95"} <= set(first)
    run = tmp_path / "a"
    assert (run / "policy.csv").read_text().splitlines()[0] == "player_sum,dealer_card,usable_ace,action"
    assert (run / "plots" / "policy.png").is_file() and (run / "checkpoints" / "best" / "model.safetensors").is_file()
    header = (run / "metrics.csv").read_text().splitlines()[0]
    for tag in ("charts/episodic_return", "charts/epsilon", "charts/sps", "losses/td_loss", "eval/mean_return"):
        assert tag in header


def test_a_learning_rate_must_be_positive_and_finite():
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="agent.lr"):
            DQNConfig(lr=bad)


def test_main_job_defaults_to_blackjack_dqn(tmp_path):
    args = [a for o in TINY_BLACKJACK for a in ("--set", o)]
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "train.py"), "--quiet",
                             "--run-dir", str(tmp_path / "main"), *args],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("blackjack-dqn:")
    # outside runs/, the TensorBoard command names the run's own directory
    assert "regret" in result.stdout and f"tensorboard --logdir {tmp_path / 'main'}" in result.stdout


@pytest.mark.slow
def test_cartpole_dqn_reaches_475(tmp_path):
    runner.train("cartpole-dqn", seed=0, run_dir=str(tmp_path / "cp"), quiet=True)
    assert json.loads((tmp_path / "cp" / "eval.json").read_text())["mean"] >= 475


@pytest.mark.slow
def test_blackjack_dqn_regret_target_median_of_three_seeds(tmp_path):
    regrets = []
    for seed in range(3):
        runner.train("blackjack-dqn", seed=seed, run_dir=str(tmp_path / f"s{seed}"), quiet=True,
                     overrides=["record_episodes=0"])
        regrets.append(json.loads((tmp_path / f"s{seed}" / "eval.json").read_text())["regret"])
    assert float(np.median(regrets)) <= 0.003, regrets
