"""Stable-Baselines3 as a learner (docs/design.md: learner contract; chapters 69-75).

`scripts/train.py PRESET --backend sb3 [--algo dqn|ppo|a2c|recurrent-ppo]` trains an SB3 algorithm on the
environment `envs.make` builds, with the preset's network from `nets` as SB3's features
extractor (agents.sb3.extractors) and the hyperparameters of agents.sb3.mapping. The engine
runs it like any learner: one `advance` is a chunk of SB3's own `learn` (`log_every` agent
steps, continued with `reset_num_timesteps=False`), so the budget, evaluations with
checkpoints/best, checkpoints, the report and the recording are the engine's.

The run directory is `runs/<preset>-sb3-<algo>/...`; config.yaml holds `backend: sb3`,
`sb3_algo` and `sb3:` (every SB3 hyperparameter used; `--set sb3.KEY=VALUE` changes one).
TensorBoard gets the docs/design.md tags through lab.logger, and SB3's own logger writes its
familiar tags (rollout/ep_rew_mean, train/loss, ...) to the same folder. Checkpoints hold the
SB3 policy's state_dict as safetensors plus JSON: SB3's own zips (pickles) are never written.

`SB3Agent.q_values` is what evaluation, recordings and the Blackjack reports read: Q(s, .) for
DQN; for PPO/A2C V(s) + log pi(a|s) - max_a' log pi(a'|s), whose argmax is the policy's most
probable action and whose maximum is the critic's V(s).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

import envs
from lab.checkpoint import check_tensors
from lab.checks import require
from lab.config import ConfigError
from lab.rundir import RunDir
from lab.i18n import tr

from agents.config import RunConfig
from agents.contract import Experience, Learner
from agents.learners.dqn import EVAL_LANES
from agents.playing import play_agent
from agents.sb3 import extractors
from agents.sb3.mapping import (LOSS_TAGS, budget_line, policy_class, policy_kwargs, resolve_hyperparameters,
                                unmapped_options)
from agents.schedules import epsilon_greedy
from agents.tasks import task_for


class SB3Agent:
    """An SB3 policy behind the DQNAgent interface: `q_values`, `act`, `rng`, `state_dict`."""

    def __init__(self, policy, algo: str, n_actions: int, seed: int = 0) -> None:
        self.policy, self.algo, self.n_actions = policy, algo, int(n_actions)
        self.rng = np.random.default_rng(seed)

    def _tensor(self, observations) -> torch.Tensor:
        self.policy.set_training_mode(False)
        return torch.as_tensor(np.asarray(observations), device=self.policy.device)

    @torch.no_grad()
    def q_values(self, observations: np.ndarray) -> np.ndarray:
        """(batch, n_actions): Q(s, .) for DQN; V(s) + log pi(.|s) - max log pi for PPO/A2C."""
        x = self._tensor(observations)
        if self.algo == "dqn":
            return self.policy.q_net(x).float().cpu().numpy()
        log_probs = self.policy.get_distribution(x).distribution.logits  # normalised by torch
        preferences = self.policy.predict_values(x) + log_probs - log_probs.max(dim=1, keepdim=True).values
        return preferences.float().cpu().numpy()

    @torch.no_grad()
    def greedy_actions(self, observations: np.ndarray) -> np.ndarray:
        """argmax of q_values, without the critic's forward pass for PPO/A2C."""
        x = self._tensor(observations)
        scores = self.policy.q_net(x) if self.algo == "dqn" else self.policy.get_distribution(x).distribution.logits
        return scores.argmax(dim=1).cpu().numpy()

    def act(self, observations: np.ndarray, epsilon: float) -> np.ndarray:
        return epsilon_greedy(observations, epsilon, self.rng, self.n_actions, self.greedy_actions)

    def state_dict(self) -> dict:
        return {"policy": self.policy.state_dict(), "optimizer": self.policy.optimizer.state_dict(),
                "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict, weights_only: bool = False) -> None:
        check_tensors(state["policy"], self.policy.state_dict(), "SB3 policy")
        self.policy.load_state_dict(state["policy"])
        if not weights_only:
            self.policy.optimizer.load_state_dict(state["optimizer"])
            self.rng.bit_generator.state = state["rng"]


def single_env_factory(config: RunConfig, clip_rewards: bool = False) -> Callable[[], Any]:
    """A function making one training environment, with SB3's Monitor recording raw returns.

    An env with only a native vector form (Atari `boxing`) trains on its task's single-env twin
    (`boxing-colour`), which gives the same observations (tested in test_atari_env.py).
    """
    name, options = config.env.name, dict(config.env.options)
    twin = task_for(name).record_env
    if twin is not None:
        accepted = envs.accepted_options(twin) - {"seed", "render_mode", "clip_rewards"}
        clip_rewards = clip_rewards or bool(options.get("clip_rewards", False))
        single = {k: v for k, v in options.items() if k in accepted}
        make = lambda: envs.make(twin, render_mode=None, clip_rewards=False, **single)  # noqa: E731
    else:
        make = lambda: envs.make(name, **options)  # noqa: E731

    def factory():
        env = Monitor(make())  # inside any reward clipping: info["episode"] holds raw returns
        return gymnasium.wrappers.TransformReward(env, np.sign) if clip_rewards else env

    return factory


class SB3Learner(Learner):
    """An SB3 model on a DummyVecEnv of the preset's env, advanced a chunk of steps at a time."""

    cadence_unit = "steps"

    @classmethod
    def configure(cls, config: RunConfig) -> None:
        """The SB3 hyperparameters resolved into `config.sb3` (agents.sb3.mapping, the one mapping)."""
        config.sb3 = resolve_hyperparameters(config.sb3_algo, config, config.sb3)
        config.env.num_envs = int(config.sb3["n_envs"])  # evaluation plays as many lanes
        if config.sb3["total_steps"]:  # RL-Zoo's tuned budgets are in steps
            config.total_steps, config.total_episodes = int(config.sb3["total_steps"]), 0

    def __init__(self, config: RunConfig, device: torch.device, train: bool = True) -> None:
        self.config, self.algo, hyper = config, config.sb3_algo, config.sb3
        self.backend_label = f"Stable-Baselines3 {self.algo.upper()}"
        self.steps = self.episodes = 0
        self.schedule = config.exploration.over(config.budget)
        factory = single_env_factory(config, clip_rewards=bool(hyper.get("clip_rewards", False)))
        self.vec_env = DummyVecEnv([factory for _ in range(int(hyper["n_envs"]) if train else 1)])
        try:
            extractors.preprocessed_shape(self.vec_env.observation_space)
            require(isinstance(self.vec_env.action_space, spaces.Discrete),
                    tr("SB3 {algo} here needs a Discrete action space, got {space}").format(
                        algo=self.algo, space=self.vec_env.action_space))
            self.model = self._build_model(hyper, str(device))
        except ValueError as err:
            self.vec_env.close()
            raise ConfigError(tr("config: env: {err}").format(err=err)) from None
        self.agent = SB3Agent(self.model.policy, self.algo, int(self.vec_env.action_space.n), seed=config.seed)
        if self.algo == "recurrent-ppo":  # plays with LSTM states per lane (agents.sb3.recurrent)
            from agents.sb3.recurrent import RecurrentSB3Agent

            self.agent = RecurrentSB3Agent(self.agent)
        self.callback = _Counter(self)

    def report_lines(self) -> list[str]:
        missing = unmapped_options(self.algo, self.config)
        return [budget_line(self.algo, self.config)] + (
            ["preset options SB3 has no counterpart for (ignored): " + "; ".join(missing)] if missing else [])

    @property
    def updates(self) -> int:
        return int(self.model._n_updates)  # SB3 keeps it on the model; no public accessor

    def fraction(self) -> float:
        c = self.config
        return min(1.0, (self.episodes if c.budget_in_episodes else self.steps) / c.budget)

    def _linear(self, start: float, end: float | None) -> Callable[[float], float]:
        """An SB3 schedule (its own progress argument ignored): start -> end over our budget."""
        if end is None:
            return lambda _remaining: float(start)
        return lambda _remaining: float(start + self.fraction() * (end - start))

    def _build_model(self, hyper: dict, device: str):
        c = self.config
        common = dict(policy=policy_class(self.algo), env=self.vec_env, gamma=hyper["gamma"],
                      learning_rate=self._linear(hyper["learning_rate"], hyper["learning_rate_end"]),
                      policy_kwargs=policy_kwargs(self.algo, hyper, c), seed=c.seed, device=device, verbose=0)
        if self.algo == "dqn":
            e = c.exploration
            model = DQN(**common, buffer_size=hyper["buffer_size"], learning_starts=hyper["learning_starts"],
                        batch_size=hyper["batch_size"], tau=hyper["tau"], train_freq=(hyper["train_freq"], "step"),
                        gradient_steps=hyper["gradient_steps"],
                        target_update_interval=hyper["target_update_interval"], max_grad_norm=hyper["max_grad_norm"],
                        exploration_initial_eps=e.start, exploration_final_eps=e.end, exploration_fraction=e.fraction,
                        # n-step returns arrived in SB3 2.6; the keyword is left out when unused
                        **({"n_steps": hyper["n_steps"]} if hyper["n_steps"] != 1 else {}))
            # the preset's epsilon schedule over its own budget (steps or episodes), as our DQN does
            model.exploration_schedule = lambda _remaining: self.schedule(
                self.episodes if c.budget_in_episodes else self.steps)
            return model
        on_policy = dict(n_steps=hyper["n_steps"], gae_lambda=hyper["gae_lambda"], ent_coef=hyper["ent_coef"],
                         vf_coef=hyper["vf_coef"], max_grad_norm=hyper["max_grad_norm"],
                         normalize_advantage=hyper["normalize_advantage"])
        if self.algo == "recurrent-ppo":
            from agents.sb3.recurrent import build_recurrent_ppo

            frames = len(self.vec_env.observation_space.shape) == 3
            return build_recurrent_ppo(hyper, common, self._linear(hyper["clip_range"], hyper["clip_range_end"]),
                                       frames)
        if self.algo == "ppo":
            return PPO(**common, **on_policy, batch_size=hyper["batch_size"], n_epochs=hyper["n_epochs"],
                       clip_range=self._linear(hyper["clip_range"], hyper["clip_range_end"]))
        return A2C(**common, **on_policy, use_rms_prop=hyper["use_rms_prop"], rms_prop_eps=hyper["rms_prop_eps"])

    def advance(self, epsilon: float) -> Experience:
        before, counter = self.steps, self.callback
        counter.returns, counter.lengths = [], []
        self.model.learn(total_timesteps=self.config.log_every, reset_num_timesteps=False, callback=counter,
                         log_interval=None, progress_bar=False)
        recorded = self.model.logger.name_to_value  # what SB3's train() recorded since the last dump
        losses = {tag.split("/", 1)[1]: float(recorded[key])
                  for key, tag in LOSS_TAGS[self.algo].items() if key in recorded}
        self._dump_sb3_logs()
        used = float(self.model.exploration_rate) if self.algo == "dqn" else None
        return Experience(self.steps - before, counter.returns, counter.lengths, losses, used)

    def _dump_sb3_logs(self) -> None:
        sb3_logger, episodes = self.model.logger, self.model.ep_info_buffer
        if episodes:
            sb3_logger.record("rollout/ep_rew_mean", float(np.mean([e["r"] for e in episodes])))
            sb3_logger.record("rollout/ep_len_mean", float(np.mean([e["l"] for e in episodes])))
        sb3_logger.record("time/fps", int(self.steps / max(time.perf_counter() - self.started, 1e-9)))
        sb3_logger.dump(step=self.steps)

    def play(self, episodes: int, epsilon: float, seed: int, env_options: dict | None = None,
             quiet: bool = True) -> tuple[list[float], list[dict]]:
        options = self.config.env.options if env_options is None else env_options
        lanes = min(int(self.config.sb3["n_envs"]), EVAL_LANES)
        if self.algo == "recurrent-ppo":
            returns = self.agent.play(self.config.env.name, options, episodes, epsilon, seed, lanes, quiet=quiet)
        else:
            returns = play_agent(self.agent, self.config.env.name, options, episodes, epsilon, seed,
                                 lanes=lanes, quiet=quiet)
        return returns, [{} for _ in returns]

    def q_values(self, observations: Sequence) -> np.ndarray:
        return self.agent.q_values(np.stack([np.asarray(o) for o in observations]))

    def decide(self, observation, info, env) -> tuple[np.ndarray, int]:
        if self.algo == "recurrent-ppo":
            return self.agent.decide(observation)
        values = self.q_values([observation])[0]
        return values, int(np.argmax(values))

    def begin_episode(self) -> None:
        """A recording starts a new episode: a recurrent policy forgets the last one."""
        if self.algo == "recurrent-ppo":
            self.agent.watching = None

    def state_dict(self) -> dict:
        return {"sb3": self.agent.state_dict()}

    def load_state_dict(self, state: dict, weights_only: bool = False) -> None:
        self.agent.load_state_dict(state["sb3"], weights_only=weights_only)

    def start(self, run: RunDir, resumed_at: int | None) -> None:
        self.model.set_logger(configure(str(run.path), ["tensorboard"]))  # SB3's own tags, same folder
        self.started = time.perf_counter()

    def close(self) -> None:
        self.vec_env.close()
        self.model.logger.close()


class _Counter(BaseCallback):
    """Called by SB3 after every vector step: counts steps and finished episodes, and ends a
    `learn` chunk when the engine's budget is reached."""

    def __init__(self, learner: SB3Learner) -> None:
        super().__init__()
        self.learner = learner
        self.returns: list[float] = []
        self.lengths: list[int] = []

    def _on_step(self) -> bool:
        learner, c = self.learner, self.learner.config
        learner.steps = int(self.model.num_timesteps)
        for done, info in zip(self.locals["dones"], self.locals["infos"]):
            if done:
                learner.episodes += 1
                if "episode" in info:  # Monitor's raw return, before any reward clipping
                    self.returns.append(float(info["episode"]["r"]))
                    self.lengths.append(int(info["episode"]["l"]))
        return not ((c.total_episodes > 0 and learner.episodes >= c.total_episodes)
                    or (c.total_steps > 0 and learner.steps >= c.total_steps))
