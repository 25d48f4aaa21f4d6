"""The Stable-Baselines3 bridge (chapters 69-75): the book's networks as SB3 features
extractors, SB3 DQN/PPO/A2C writing this project's run directory, and evaluate/record working
on those runs unchanged.

Training runs are a few hundred steps: they check files, formats and round trips, not skill
(the slow test checks that SB3 PPO solves CartPole).
"""

from __future__ import annotations

import csv
import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from gymnasium import spaces
from safetensors.torch import load_file

from agents import runner
from agents.sb3 import mapping as sb3_mapping
from agents.config import RunConfig
from agents.evaluation import evaluate_run, load_run
from agents.watch.recording import record_run
from lab.config import ConfigError
from lab.rundir import RunDir
from nets import NetError
from agents.sb3.extractors import EXTRACTOR_KINDS, NetsExtractor, policy_kwargs

EVAL_KEYS = {"episodes", "mean", "std", "median", "ci95", "protocol", "score"}
BLACKJACK_KEYS = {"exact_return", "optimal_return", "regret"}

# A few hundred steps each: cartpole in steps, blackjack in episodes (about 1.5 steps each).
SHORT = {
    "cartpole-dqn": ["total_steps=300", "agent.learning_starts=100", "evaluation.every=200",
                     "evaluation.episodes=3", "evaluation.final_episodes=5", "log_every=100",
                     "checkpoint_every=200", "record_episodes=0", "sb3.total_steps=300"],
    "blackjack-dqn": ["total_episodes=250", "agent.learning_starts=100", "evaluation.every=0",
                      "evaluation.final_episodes=200", "log_every=100", "record_episodes=0"],
}
# small rollouts so PPO and A2C update a few times within the budget
ON_POLICY = {"ppo": ["sb3.n_steps=16", "sb3.batch_size=32", "sb3.n_epochs=2"], "a2c": []}
BACKENDS = [("native", None), ("sb3", "dqn"), ("sb3", "ppo")]


def _short(preset: str, backend: str, algo: str | None) -> list[str]:
    overrides = [o for o in SHORT[preset] if backend == "sb3" or not o.startswith("sb3.")]
    return overrides + ON_POLICY.get(algo, [])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short run per (preset, backend, algo), trained on first use and shared."""
    runs: dict[tuple, tuple[str, str]] = {}

    def get(preset: str, backend: str, algo: str | None):
        key = (preset, backend, algo)
        if key not in runs:
            path = tmp_path_factory.mktemp(f"{preset}-{backend}-{algo}") / "run"
            result = runner.train(preset, _short(preset, backend, algo), seed=0, device="cpu",
                                  run_dir=str(path), quiet=True, backend=backend, algo=algo)
            runs[key] = (str(path), result.summary())
        return runs[key]

    return get


def _metrics(path) -> list[dict]:
    with open(f"{path}/metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


# -- nets as features extractors -----------------------------------------------------------------
EXTRACTOR_CASES = [
    ("mlp", spaces.Box(-1, 1, (4,), np.float32), {"hidden": [32, 16]}, 16),
    ("mlp", spaces.Discrete(6), {}, 64),  # SB3 one-hot encodes discrete observations
    ("nature_cnn", spaces.Box(0, 255, (4, 84, 84), np.uint8), {}, 512),
    ("lenet", spaces.Box(0, 1, (784,), np.float32), {"maps": [4], "hidden": 16, "n_outputs": 12}, 12),
    ("transformer", spaces.Box(-1, 1, (44,), np.float32), {"d_model": 16, "n_heads": 2, "n_layers": 1}, 16),
    ("transformer", spaces.Box(0, 255, (4, 84, 84), np.uint8), {"d_model": 16, "n_heads": 2, "n_layers": 1}, 16),
]


@pytest.mark.parametrize("kind,space,options,features", EXTRACTOR_CASES,
                         ids=[f"{c[0]}-{c[1].shape or c[1].n}" for c in EXTRACTOR_CASES])
def test_extractor_output_shape_and_gradients(kind, space, options, features):
    from stable_baselines3.common.preprocessing import preprocess_obs

    torch.manual_seed(0)
    extractor = NetsExtractor(space, kind, options)
    assert extractor.features_dim == features
    space.seed(0)
    batch = torch.as_tensor(np.stack([np.asarray(space.sample()) for _ in range(3)]))
    out = extractor(preprocess_obs(batch, space))
    assert out.shape == (3, features) and torch.isfinite(out).all()
    out.pow(2).sum().backward()
    grads = [p.grad for p in extractor.parameters()]
    assert grads and all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)


def test_mlp_extractor_makes_sb3_dqn_the_same_network_as_ours():
    """net_arch=[] after the mlp extractor: obs -> 256 -> 256 -> Q, as agents.learners.dqn builds."""
    from stable_baselines3.dqn.policies import DQNPolicy

    space = spaces.Box(-1, 1, (4,), np.float32)
    policy = DQNPolicy(space, spaces.Discrete(2), lambda _: 1e-3,
                       **policy_kwargs("mlp", {"hidden": [256, 256]}, net_arch=[]))
    shapes = [tuple(p.shape) for p in policy.q_net.parameters()]
    assert shapes == [(256, 4), (256,), (256, 256), (256,), (2, 256), (2,)]


def test_extractor_errors_name_the_choices():
    with pytest.raises(NetError, match="mlp, nature_cnn, lenet, transformer"):
        NetsExtractor(spaces.Box(-1, 1, (4,)), "resnet")
    with pytest.raises(NetError, match="onehot"):
        NetsExtractor(spaces.Tuple((spaces.Discrete(32), spaces.Discrete(11))), "mlp")
    with pytest.raises(NetError, match="square"):
        NetsExtractor(spaces.Box(0, 255, (4, 84, 80), np.uint8), "nature_cnn")
    with pytest.raises(NetError, match="sizes"):
        NetsExtractor(spaces.Box(-1, 1, (4,)), "mlp", {"sizes": [4, 8]})
    assert EXTRACTOR_KINDS == ("mlp", "nature_cnn", "lenet", "transformer")


def test_import_nets_does_not_import_stable_baselines3():
    code = "import sys, nets; assert 'stable_baselines3' not in sys.modules, 'SB3 imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


# -- hyperparameters -------------------------------------------------------------------------------
def test_dqn_hyperparameters_follow_the_preset():
    from agents.presets import load
    from lab.config import merge

    agent = dict(train_every=2, target_period=250, lr=0.001, lr_end=0.00005, gamma=1.0, batch_size=128,
                 learning_starts=2000, double=True, loss="mse")
    config = RunConfig.parse(merge(load("blackjack-dqn"), {
        "env": {"num_envs": 8}, "agent": agent, "replay": {"capacity": 50_000}}))
    hyper = sb3_mapping.resolve_hyperparameters("dqn", config, {})
    # 8 envs, one gradient step per 2 agent steps -> 4 gradient steps per vector step;
    # target refresh every 250 gradient steps = 500 agent steps
    assert (hyper["train_freq"], hyper["gradient_steps"], hyper["target_update_interval"]) == (1, 4, 500)
    assert (hyper["learning_rate"], hyper["learning_rate_end"], hyper["gamma"]) == (0.001, 0.00005, 1.0)
    assert (hyper["batch_size"], hyper["buffer_size"], hyper["learning_starts"]) == (128, 50_000, 2000)
    assert sb3_mapping.unmapped_options("dqn", config) == [
        "double=true (SB3 DQN is not Double DQN)", "loss=mse (SB3 DQN uses the Huber loss)"]
    one_env = RunConfig.parse(merge(load("cartpole-dqn"), {"env": {"num_envs": 1}, "agent": {"train_every": 4}}))
    assert sb3_mapping.resolve_hyperparameters("dqn", one_env, {})["train_freq"] == 4


def test_ppo_cartpole_takes_rl_zoo_values_and_overrides_are_checked():
    from agents.presets import load

    config = RunConfig.parse(load("cartpole-dqn"))
    hyper = sb3_mapping.resolve_hyperparameters("ppo", config, {"n_epochs": 5})
    assert (hyper["n_envs"], hyper["n_steps"], hyper["batch_size"], hyper["gae_lambda"]) == (8, 32, 256, 0.8)
    assert (hyper["gamma"], hyper["n_epochs"], hyper["total_steps"]) == (0.98, 5, 100_000)
    with pytest.raises(ConfigError, match="sb3.n_epoch'.*allowed: n_envs"):
        sb3_mapping.resolve_hyperparameters("ppo", config, {"n_epoch": 5})
    with pytest.raises(ConfigError, match="activation_fn must be one of"):
        sb3_mapping.resolve_hyperparameters("ppo", config, {"policy": {"activation_fn": "swish"}})


@pytest.mark.parametrize("preset,algo", [("cartpole-dqn", "ppo"), ("cartpole-novel-lstm", "recurrent-ppo")])
def test_the_users_budget_wins_over_rl_zoos_tuned_one_and_the_summary_says_which(preset, algo):
    from lab.cli import UsageError

    tuned = runner.resolve_config(preset, [], backend="sb3", algo=algo)
    assert tuned.total_steps == 100_000 and tuned.sb3["total_steps"] == 100_000
    assert sb3_mapping.budget_line(algo, tuned).startswith("budget: 100,000 steps, RL-Zoo's tuned budget")
    mine = runner.resolve_config(preset, ["total_steps=2000"], backend="sb3", algo=algo)
    assert mine.total_steps == 2000 and mine.sb3["total_steps"] == 0
    assert sb3_mapping.budget_line(algo, mine).startswith("budget: 2,000 steps, as set (instead of RL-Zoo's "
                                                          "tuned 100,000 steps")
    with pytest.raises(UsageError, match="two budgets"):
        runner.resolve_config(preset, ["total_steps=2000", "sb3.total_steps=3000"], backend="sb3", algo=algo)


def test_bad_algo_tuple_blackjack_and_tabular_presets_are_one_line_errors(tmp_path):
    from lab.cli import UsageError

    with pytest.raises(UsageError, match="choose one of: dqn, ppo, a2c"):
        runner.train("cartpole-dqn", [], backend="sb3", algo="sac", run_dir=str(tmp_path / "a"), quiet=True)
    with pytest.raises(ConfigError, match="onehot"):
        runner.train("blackjack-dqn", ["env.options.observation=tuple"], backend="sb3", algo="dqn",
                     run_dir=str(tmp_path / "b"), quiet=True)
    with pytest.raises(ConfigError, match=r"deep presets \(algo dqn or r2d2\); rooms-q is q-learning"):
        runner.train("rooms-q", [], backend="sb3", run_dir=str(tmp_path / "c"), quiet=True)


def test_a_continuous_action_space_and_a_missing_sb3_contrib_are_one_line_in_portuguese(tmp_path, monkeypatch):
    from lab.i18n import set_language

    monkeypatch.setattr("lab.i18n._chosen", None)
    set_language("pt")
    with pytest.raises(ConfigError, match=r"SB3 ppo precisa de um espaço de ações Discrete, recebeu Box"):
        runner.train("cartpole-dqn", ["env.name=Pendulum-v1"], backend="sb3", algo="ppo",
                     run_dir=str(tmp_path / "a"), quiet=True)
    monkeypatch.setitem(sys.modules, "sb3_contrib", None)  # as if the memory extra were not installed
    with pytest.raises(ConfigError, match=r"--algo recurrent-ppo precisa do sb3-contrib: pip install"):
        runner.train("cartpole-dqn", [], backend="sb3", algo="recurrent-ppo", run_dir=str(tmp_path / "b"),
                     quiet=True)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# -- training, evaluating and recording with either backend --------------------------------------------
@pytest.mark.parametrize("preset", ["cartpole-dqn", "blackjack-dqn"])
@pytest.mark.parametrize("backend,algo", BACKENDS, ids=["native", "sb3-dqn", "sb3-ppo"])
def test_run_directory_then_evaluate_and_record_unchanged(trained, preset, backend, algo):
    path, summary = trained(preset, backend, algo)
    config = yaml.safe_load(open(f"{path}/config.yaml"))
    if backend == "sb3":
        assert (config["backend"], config["sb3_algo"]) == ("sb3", algo)
        assert f"Stable-Baselines3 {algo.upper()}" in summary
    rows = _metrics(path)
    assert rows and {"charts/episodic_return", "charts/sps", "eval/mean_return"} <= set(rows[0])
    assert any(row["charts/episodic_return"] for row in rows)
    assert list(RunDir(path).path.glob("events.out.tfevents.*"))
    for name in ("latest", "best"):
        assert {p.name for p in (RunDir(path).checkpoints / name).iterdir()} == {"model.safetensors", "state.json"}
    assert not list(RunDir(path).path.rglob("*.zip"))
    result = json.load(open(f"{path}/eval.json"))
    assert EVAL_KEYS <= set(result)
    if preset == "blackjack-dqn":
        assert BLACKJACK_KEYS <= set(result) and result["regret"] >= -1e-9
        assert result["score"] == result["exact_return"]
        assert (RunDir(path).path / "policy.csv").is_file() and (RunDir(path).plots / "policy.png").is_file()

    report = evaluate_run(path, checkpoint="latest", episodes=4, quiet=True)
    assert "mean return" in report and "eval.json, kept" in report.splitlines()[-1]
    evaluated = json.load(open(f"{path}/eval-s12345-n4-latest.json"))
    assert evaluated["episodes"] == 4 and evaluated["checkpoint"]["name"] == "latest"
    assert json.load(open(f"{path}/eval.json")) == result  # the training's own evaluation is kept
    if preset == "blackjack-dqn":  # the exact figures depend on the policy only: reproduced
        assert evaluated["regret"] == pytest.approx(result["regret"], abs=1e-12)
    videos = record_run(path, episodes=1, fmt="gif", checkpoint="latest")
    assert len(videos) == 1 and videos[0].stat().st_size > 1000


@pytest.mark.parametrize("algo", ["dqn", "ppo"])
def test_loaded_agent_reproduces_the_final_evaluation(trained, algo):
    """The final evaluation (seed 10000 + seed) replayed from checkpoints/latest gives the
    same mean: the weights round-trip exactly through safetensors."""
    path, _ = trained("cartpole-dqn", "sb3", algo)
    train_eval = [r for r in _metrics(path) if r.get("eval/mean_return")][-1]
    evaluate_run(path, checkpoint="latest", episodes=5, epsilon=0.0, seed=10_000, quiet=True)
    again = json.load(open(f"{path}/eval-s10000-n5-latest.json"))
    assert again["mean"] == pytest.approx(float(train_eval["eval/mean_return"]), abs=1e-9)


def test_loading_never_unpickles(trained, monkeypatch):
    path, _ = trained("blackjack-dqn", "sb3", "dqn")

    def refuse(*args, **kwargs):
        raise AssertionError("load_run tried to unpickle")

    for module, name in ((pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (torch, "load")):
        monkeypatch.setattr(module, name, refuse)
    loaded = load_run(path, "latest", "cpu")
    assert loaded.state["backend"] == "sb3" and loaded.config.sb3_algo == "dqn"
    assert loaded.learner.agent.q_values(np.zeros((3, 44), np.float32)).shape == (3, 2)


def test_q_values_mean_what_the_docstring_says(trained):
    """DQN: the Q-network's output. PPO: argmax = SB3's deterministic action and max = V(s)."""
    from envs.blackjack import encode

    observations = np.stack([encode((s, d, a)) for s in (12, 16, 20) for d in (2, 7, 10) for a in (0, 1)])
    dqn = load_run(trained("blackjack-dqn", "sb3", "dqn")[0], "latest", "cpu").learner.agent
    q = dqn.q_values(observations)
    with torch.no_grad():
        expected = dqn.policy.q_net(torch.as_tensor(observations)).numpy()
    np.testing.assert_allclose(q, expected)
    np.testing.assert_array_equal(dqn.act(observations, 0.0), q.argmax(axis=1))

    ppo = load_run(trained("blackjack-dqn", "sb3", "ppo")[0], "latest", "cpu").learner.agent
    preferences = ppo.q_values(observations)
    actions, _ = ppo.policy.predict(observations, deterministic=True)
    with torch.no_grad():
        values = ppo.policy.predict_values(torch.as_tensor(observations)).numpy()[:, 0]
    np.testing.assert_array_equal(preferences.argmax(axis=1), actions)
    np.testing.assert_allclose(preferences.max(axis=1), values, rtol=1e-5, atol=1e-6)
    explored = ppo.act(np.repeat(observations[:1], 400, axis=0), 1.0)
    assert set(explored.tolist()) == {0, 1}


def test_sb3_dqn_metrics_use_our_tags(trained):
    path, _ = trained("cartpole-dqn", "sb3", "dqn")
    rows = _metrics(path)
    training = [r for r in rows if r.get("charts/sps")]
    assert [int(r["step"]) for r in training] == [100, 200, 300]
    assert float(training[0]["charts/epsilon"]) <= 1.0 and training[-1]["losses/td_loss"]
    assert float(training[-1]["charts/episodes"]) > 5
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = set()
    for events in RunDir(path).path.glob("events.out.tfevents.*"):
        tags |= set(EventAccumulator(str(events)).Reload().Tags()["scalars"])
    # ours (lab.logger) and SB3's own logger, side by side in the run directory
    assert {"charts/episodic_return", "losses/td_loss", "eval/mean_return"} <= tags
    assert {"train/loss", "rollout/ep_rew_mean", "time/fps"} <= tags


def test_resume_is_refused_with_a_clear_message(trained):
    from lab.cli import UsageError

    path, _ = trained("cartpole-dqn", "sb3", "dqn")
    with pytest.raises(UsageError, match="--resume is not supported with --backend sb3"):
        runner.train("cartpole-dqn", [], resume=path, backend="sb3", algo="dqn", quiet=True)


def test_same_seed_same_weights(tmp_path):
    overrides = _short("cartpole-dqn", "sb3", "dqn") + ["evaluation.every=0"]
    weights = []
    for name in ("a", "b"):
        runner.train("cartpole-dqn", overrides, seed=3, device="cpu", run_dir=str(tmp_path / name),
                     quiet=True, backend="sb3", algo="dqn")
        weights.append(load_file(str(tmp_path / name / "checkpoints" / "latest" / "model.safetensors")))
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_boxing_sb3_dqn_with_the_nature_cnn(tmp_path):
    """Boxing through SB3: boxing-colour lanes for training, our native vector env to evaluate."""
    path = tmp_path / "boxing"
    summary = runner.train("boxing-tiny", ["total_steps=120", "evaluation.every=0", "evaluation.episodes=1"],
                           seed=0, device="cpu", run_dir=str(path), quiet=True, backend="sb3", algo="dqn").summary()
    assert "dueling=true" in summary  # named as having no SB3 counterpart
    result = json.load(open(path / "eval.json"))
    assert "human_normalised" in result and result["episodes"] == 1
    agent = load_run(path, "latest", "cpu").learner.agent
    assert type(agent.policy.q_net.features_extractor.body).__name__ == "NatureCNN"
    assert agent.q_values(np.zeros((2, 4, 84, 84), np.uint8)).shape == (2, 18)


@pytest.mark.slow
def test_sb3_ppo_solves_cartpole(tmp_path):
    """RL-Zoo's CartPole PPO settings (100k steps, 8 envs) reach the 475 target."""
    runner.train("cartpole-dqn", ["record_episodes=0"], seed=0, device="cpu", run_dir=str(tmp_path / "ppo"),
                 quiet=True, backend="sb3", algo="ppo")
    result = json.load(open(tmp_path / "ppo" / "eval.json"))
    assert result["episodes"] == 20 and result["mean"] >= 475


def test_a_preset_that_saves_its_replay_still_runs_on_sb3_and_a_user_asking_for_it_is_refused():
    resolve_config = runner.resolve_config
    assert resolve_config("boxing-100k", []).replay.saved  # the preset keeps its replay in checkpoints
    assert not resolve_config("boxing-100k", [], backend="sb3").replay.saved  # SB3 has its own buffer
    with pytest.raises(ConfigError, match=r"replay.saved \(--save-replay\)"):
        resolve_config("boxing-100k", ["replay.saved=true"], backend="sb3")
