"""Atari Boxing DQN end to end (chapters 69-70): the boxing-tiny preset trains in seconds,
writes the run directory of docs/design.md, its checkpoints load, and the Nature protocol learns
from clipped rewards while logging and evaluating raw game scores."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from agents import runner
from agents.engine import Engine
from agents.watch.finish import finish_run
from agents.evaluation import load_run
from agents.tasks import task_for
import envs
from lab.checkpoint import load_checkpoint
from lab.config import to_dict
from lab.rundir import RunDir
from lab.seeding import seed_everything

SEED = 0


REWARD_SCALE = 3  # Boxing's points are 1 or 2 per punch; x3 makes raw and clipped always differ


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Train boxing-tiny once with a learner the test holds, recording what its training env
    returned (rewards scaled by REWARD_SCALE) and what its replay memory was given."""
    env_steps, stored_rewards = [], []
    config = runner.resolve_config("boxing-tiny", [], seed=SEED)
    seed_everything(SEED)
    learner = runner.build_learner(config, torch.device("cpu"))
    env, memory = learner.env, learner.memory
    step, add = env.step, memory.add

    def recorded_step(actions):
        obs, rewards, terminated, truncated, info = step(actions)
        rewards = rewards * REWARD_SCALE
        env_steps.append((rewards.copy(), terminated.copy(), truncated.copy()))
        return obs, rewards, terminated, truncated, info

    def recorded_add(obs, actions, rewards, next_obs, terminated, truncated):
        stored_rewards.append(np.array(rewards, dtype=np.float64))
        add(obs, actions, rewards, next_obs, terminated, truncated)

    env.step, memory.add = recorded_step, recorded_add
    run = RunDir.create("boxing-tiny", SEED, path=tmp_path_factory.mktemp("boxing") / "run")
    run.write_config(to_dict(config))
    result = Engine(config, learner, run, quiet=True, finish=finish_run).run_to_end()
    return {"dir": run.path, "result": result, "env_steps": env_steps, "stored_rewards": stored_rewards,
            "training_env": env}


def _metrics(run_dir) -> list[dict]:
    with open(run_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_boxing_tiny_trains_end_to_end(tiny_run):
    run_dir, config, result = tiny_run["dir"], runner.resolve_config("boxing-tiny", []), tiny_run["result"]
    assert result.steps == config.total_steps and result.updates > 0
    assert result.summary().startswith(f"boxing-tiny: {config.total_steps:,} steps")
    assert list(run_dir.glob("events.out.tfevents.*")), "no TensorBoard event file"
    rows = _metrics(run_dir)
    assert any(row.get("losses/td_loss") for row in rows), "no gradient step was logged"
    assert any(row.get("charts/episodic_return") for row in rows)
    assert any(row.get("eval/mean_return") for row in rows)

    result = RunDir.open(run_dir).read_json("eval.json")
    assert result["episodes"] == config.evaluation.episodes
    assert result["protocol"]["epsilon"] == 0.05
    assert result["human_normalised"] == pytest.approx((result["mean"] - 0.1) / (12.1 - 0.1))
    assert (run_dir / "plots" / "learning_curve.png").stat().st_size > 10_000
    assert f"learning curve: {run_dir / 'plots' / 'learning_curve.png'}" in tiny_run["result"].summary()


def test_checkpoints_load_with_trained_weights(tiny_run):
    for name in ("latest", "best"):
        loaded = load_run(tiny_run["dir"], name, device="cpu")
        assert loaded.state["preset"] == "boxing-tiny" and loaded.state["updates"] > 0
    assert loaded.state["steps"] >= 200  # best was kept at an evaluation, every 200 steps

    loaded = load_run(tiny_run["dir"], "latest", device="cpu")
    agent, config = loaded.learner.agent, loaded.config
    assert loaded.state["steps"] == config.total_steps
    saved = load_checkpoint(RunDir.open(tiny_run["dir"]).checkpoints / "latest")["agent"]["dqn"]["online"]
    for key, value in agent.online.state_dict().items():
        assert torch.equal(value, saved[key])

    # the network the run started from (same seed, same construction order) is not the one saved
    seed_everything(SEED)
    initial = runner.build_learner(config, torch.device("cpu"), train=False).agent
    env = envs.make_vector("boxing", num_envs=1, seed=SEED, **config.env.options)
    observation, _ = env.reset(seed=SEED)
    env.close()
    assert not np.allclose(initial.q_values(observation), agent.q_values(observation))
    assert agent.q_values(observation).shape == (1, 18)


def test_nature_protocol_learns_clipped_rewards_but_logs_raw_returns(tiny_run):
    # the preset's Nature env hands out raw points (clipping is the agent's job)
    assert tiny_run["training_env"].clip_rewards is False
    raw = np.stack([rewards for rewards, _, _ in tiny_run["env_steps"]]).astype(np.float64)
    stored = np.stack(tiny_run["stored_rewards"])
    assert np.abs(raw).max() >= REWARD_SCALE, "no point was scored: nothing to tell raw from clipped"
    np.testing.assert_array_equal(stored, np.sign(raw))  # the memory learns from sign(r)

    # Replay the loop's episode accounting on the recorded raw rewards (next-step autoreset:
    # the step after an episode's end is the reset step, no agent step) to get what should
    # be logged at each log step.
    config = runner.resolve_config("boxing-tiny", [])
    log_every, lanes = config.log_every, config.env.num_envs
    expected_raw, expected_clipped = {}, {}
    running, running_clipped = np.zeros(lanes), np.zeros(lanes)
    ended = np.zeros(lanes, dtype=bool)
    window, window_clipped, steps, next_log = [], [], 0, log_every
    for rewards, terminated, truncated in tiny_run["env_steps"]:
        active = ~ended
        steps += int(active.sum())
        running[active] += rewards[active]
        running_clipped[active] += np.sign(rewards[active])
        ended = (terminated | truncated) & active
        for lane in np.flatnonzero(ended):
            window.append(running[lane])
            window_clipped.append(running_clipped[lane])
            running[lane] = running_clipped[lane] = 0.0
        if steps >= next_log:
            next_log += log_every
            if window:
                expected_raw[steps], expected_clipped[steps] = np.mean(window), np.mean(window_clipped)
            window, window_clipped = [], []

    logged = {int(row["step"]): float(row["charts/episodic_return"])
              for row in _metrics(tiny_run["dir"]) if row.get("charts/episodic_return")}
    assert logged and set(logged) == set(expected_raw)
    for step, value in logged.items():
        assert value == pytest.approx(expected_raw[step])
    assert any(expected_raw[s] != pytest.approx(expected_clipped[s]) for s in logged)

    # evaluation plays raw scores too, whatever the training env's clipping
    evaluation_env = envs.make_vector("boxing", num_envs=1, seed=0,
                                      **task_for("boxing").eval_options(config.env.options | {"clip_rewards": True}))
    assert evaluation_env.clip_rewards is False
    evaluation_env.close()


def test_bench_replay_line_compares_bytes_per_transition():
    from agents.bench import suites
    memory = suites.replay_bytes()
    assert memory["ours"] <= 7200  # the <= 7.2 KB target, at a 1M capacity
    # SB3 stores (4, 84, 84) uint8 obs and next_obs (optimized: obs only) + action, reward, flags
    assert memory["sb3"] == 2 * 4 * 84 * 84 + 8 + 4 + 4 + 4
    assert memory["sb3_optimized"] == 4 * 84 * 84 + 8 + 4 + 4 + 4
    table = suites.run("atari", only="replay", quiet=True)
    assert "(c) replay bytes/transition" in table and f"{memory['ours'] / memory['sb3']:.2f}" in table
    with pytest.raises(suites.BenchError, match="env, train, replay"):
        suites.run("atari", only="speed")
