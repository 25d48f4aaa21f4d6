"""Tabular RL (chapters 62-68) and the Blackjack Q-learning preset: the agents' arithmetic and
the issue's targets on the real presets."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from agents import runner
from agents.algorithms.tabular import QLearningAgent, QLearningConfig, ValueFunctionAgent, ValueFunctionConfig


def train(preset: str, tmp_path, *overrides: str, seed: int = 0, name: str = "run") -> dict:
    run_dir = tmp_path / name
    runner.train(preset, overrides=list(overrides), seed=seed, run_dir=str(run_dir), quiet=True)
    return json.loads((run_dir / "eval.json").read_text()) | {"_dir": run_dir}


def test_q_learning_update_is_the_chapter_68_formula():
    agent = QLearningAgent(2, QLearningConfig(gamma=0.8, alpha=0.5))
    agent.q[(1,)] = np.array([0.0, 10.0])
    td = agent.update((0,), 1, reward=2.0, next_observation=(1,), terminated=False)
    # Q(0,1) <- 0 + 0.5 * (2 + 0.8 * max(0, 10) - 0) = 5
    assert agent.q[(0,)][1] == pytest.approx(5.0) and td == pytest.approx(10.0)
    agent.update((0,), 1, reward=1.0, next_observation=(1,), terminated=True)  # no bootstrap
    assert agent.q[(0,)][1] == pytest.approx(5.0 + 0.5 * (1.0 - 5.0))


def test_visit_count_step_size_averages_targets():
    agent = QLearningAgent(1, QLearningConfig(gamma=1.0, alpha_schedule="visits"))
    for reward in (1.0, 2.0, 6.0):
        agent.update(0, 0, reward, 0, terminated=True)
    assert agent.q[0][0] == pytest.approx(3.0)  # 1/N step sizes give the sample mean


def test_masked_greedy_never_picks_a_wall():
    agent = QLearningAgent(3)
    agent.q[0] = np.array([5.0, 1.0, 2.0])
    assert agent.greedy(0, mask=np.array([0, 1, 1])) == 2
    assert all(agent.act(0, epsilon=1.0, mask=np.array([0, 1, 0])) == 1 for _ in range(20))


def test_value_function_backup_moves_towards_next_value():
    agent = ValueFunctionAgent(ValueFunctionConfig(alpha=0.5, symmetric=False))
    board = (1, 0, 0, 0, 2, 0, 0, 0, 0)
    agent._backup(board, 1.0)
    assert agent.value(board) == pytest.approx(0.5 + 0.5 * (1.0 - 0.5))
    assert agent.value((1, 1, 1, 2, 2, 0, 0, 0, 0)) == 1.0  # won boards are worth 1
    assert agent.value((2, 2, 2, 1, 1, 0, 1, 0, 0)) == 0.0  # lost boards 0


def test_rooms_q_matches_the_book_and_routes_are_shortest(tmp_path):
    result = train("rooms-q", tmp_path)
    assert result["all_routes_shortest"] is True
    q = np.array(result["q_normalised"])
    book = np.array([  # the book's normalised Q, rows 0-4 (row 5 is terminal here)
        [0, 0, 0, 0, 80, 0], [0, 0, 0, 64, 0, 100], [0, 0, 0, 64, 0, 0],
        [0, 80, 51, 0, 80, 0], [64, 0, 0, 64, 0, 100]])
    assert np.allclose(q[:5], book, atol=1.0)
    assert result["routes"]["2"] in ([2, 3, 1, 5], [2, 3, 4, 5])
    assert "R (reward matrix" in (result["_dir"] / "five_rooms.txt").read_text()


@pytest.mark.slow  # a full learning run (~20 s); `pytest -m slow`
def test_tictactoe_value_agent_rarely_loses_to_random(tmp_path):
    result = train("tictactoe-value", tmp_path)
    assert result["vs_random"]["loss_rate"] <= 0.02
    assert result["episodes"] == 1000


@pytest.mark.slow  # a full learning run (~20 s); `pytest -m slow`
def test_frozenlake_and_taxi_targets(tmp_path):
    assert train("frozenlake-q", tmp_path, name="fl")["success_rate"] >= 0.70
    assert train("taxi-q", tmp_path, name="taxi")["mean"] >= 7.0


def test_blackjack_q_outputs_and_determinism(tmp_path):
    first = train("blackjack-q", tmp_path, "total_episodes=5000", "evaluation.episodes=500", name="a")
    second = train("blackjack-q", tmp_path, "total_episodes=5000", "evaluation.episodes=500", name="b")
    strip = lambda r: {k: v for k, v in r.items() if k != "_dir"}
    assert strip(first) == strip(second)  # same seed, same numbers
    assert 0 <= first["regret"] < 0.2 and first["optimal_return"] == pytest.approx(-0.046556, abs=1e-6)
    rows = list(csv.DictReader(open(first["_dir"] / "policy.csv")))
    assert list(rows[0]) == ["player_sum", "dealer_card", "usable_ace", "action"]
    assert len(rows) == 18 * 10 * 2 and {r["action"] for r in rows} <= {"0", "1"}
    for name in ("policy.png", "state_values.png"):
        assert (first["_dir"] / "plots" / name).stat().st_size > 10_000


def test_tabular_checkpoint_round_trip_without_pickle(tmp_path):
    from lab.rundir import RunDir
    from agents.evaluation import load_run
    from agents.tasks import blackjack_exact

    result = train("blackjack-q", tmp_path, "total_episodes=3000", "evaluation.episodes=100")
    loaded = load_run(RunDir.open(result["_dir"]).path, "latest")
    assert loaded.state["episodes"] == 3000 and loaded.config.preset == "blackjack-q"
    assert blackjack_exact(loaded.learner.agent.greedy)["exact_return"] == pytest.approx(result["exact_return"])


def test_an_absurd_step_size_is_a_config_error(tmp_path):
    from lab.config import ConfigError

    with pytest.raises(ConfigError, match="agent.alpha"):
        runner.train("blackjack-q", overrides=["agent.alpha=1e9"], run_dir=str(tmp_path / "x"), quiet=True)
    assert not (tmp_path / "x").exists()  # nothing written before the config is valid


@pytest.mark.slow
def test_blackjack_q_regret_target_median_of_three_seeds(tmp_path):
    regrets = [train("blackjack-q", tmp_path, seed=s, name=f"s{s}")["regret"] for s in range(3)]
    assert float(np.median(regrets)) <= 0.002, regrets
