"""Stable-Baselines3 as a second backend for the book's deep RL tasks (chapters 69-75).

`scripts/train.py PRESET --backend sb3 [--algo dqn|ppo|a2c]` trains an SB3 algorithm on the
environment `envs.make` builds, with the preset's network from `nets` as SB3's features
extractor (nets.sb3), and writes the same run directory as this project's own DQN loop
(agents.deep_loop), so `evaluate.py`, `record.py` and TensorBoard treat both backends alike:

- config.yaml: the resolved preset plus `backend: sb3`, `sb3_algo` and `sb3:` (every SB3
  hyperparameter used; `--set sb3.KEY=VALUE` changes one);
- TensorBoard: the DESIGN.md tags (charts/episodic_return, charts/sps, losses/..., eval/...)
  through lab.logger, which also writes metrics.csv; SB3's own logger writes its familiar
  tags (rollout/ep_rew_mean, train/loss, ...) to the same folder;
- eval.json, policy.csv and the Blackjack heatmaps, recordings: agents.deep_loop's own
  evaluation and final report, playing through :class:`SB3Agent`;
- checkpoints/latest and best: the SB3 policy's state_dict as safetensors plus JSON
  (lab.checkpoint). SB3's own zip files are never written or read: they hold pickles.

How a preset maps to SB3:
- DQN: lr (linear to lr_end over the budget), gamma, batch_size, replay capacity,
  learning_starts, n_step, max_grad_norm, Adam eps (or the RMSprop of the Nature paper),
  one gradient step per `train_every` agent steps, hard target refresh every
  `target_period` gradient steps (or Polyak tau), reward clipping, and the preset's epsilon
  schedule over its budget (steps or episodes). SB3's DQN has no Double DQN, dueling head,
  MSE loss or prioritized replay: the summary names any of these the preset asks for.
- PPO and A2C: SB3's defaults, with RL-Zoo's tuned values where it has them (CartPole-v1);
  the preset's network is used for both the actor and the critic (one copy each).
The budget is the preset's (`total_steps` or `total_episodes`) unless `sb3.total_steps` sets
one (the tuned PPO/A2C entries do, as RL-Zoo's n_timesteps).

`SB3Agent.q_values` is what evaluation, recordings and the Blackjack reports read. For DQN it
is Q(s, .). For PPO/A2C it is V(s) + log pi(a|s) - max_a' log pi(a'|s): its argmax is the
policy's most probable action (the deterministic action), its maximum is the critic's V(s),
and the gaps between actions are the log-probability gaps.
"""

from __future__ import annotations

import inspect
import time
from typing import Any, Callable

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.vec_env import DummyVecEnv
from stable_baselines3.dqn.policies import DQNPolicy

import envs
import nets.sb3 as nets_sb3
from lab.checkpoint import load_checkpoint
from lab.cli import UsageError
from lab.config import ConfigError, from_dict, merge, to_dict
from lab.device import resolve_device
from lab.logger import Logger
from lab.progress import progress_bar
from lab.rundir import RunDir
from lab.seeding import seed_everything

from agents import deep_loop
from agents.deep_loop import DeepConfig
from agents.schedules import EpsilonSchedule, epsilon_greedy

SB3_ALGOS = ("dqn", "ppo", "a2c")
SB3_CONFIG_KEYS = ("backend", "sb3_algo", "sb3")  # what an SB3 run adds to a deep preset
ACTIVATION_FNS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "elu": torch.nn.ELU,
                  "leaky_relu": torch.nn.LeakyReLU, "gelu": torch.nn.GELU}
UNLIMITED_STEPS = 10**15  # SB3 needs a step budget; an episode budget stops from the callback

# RL-Zoo's tuned hyperparameters (rl-baselines3-zoo, hyperparams/*.yml) where it has them;
# "lin_X" there is X decaying linearly to 0, here X with an `_end` of 0.
TUNED = {
    ("ppo", "CartPole-v1"): dict(n_envs=8, total_steps=100_000, n_steps=32, batch_size=256,
                                 gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                                 learning_rate=1e-3, learning_rate_end=0.0,
                                 clip_range=0.2, clip_range_end=0.0),
    ("a2c", "CartPole-v1"): dict(n_envs=8, total_steps=500_000, ent_coef=0.0),
}

# SB3 logger keys -> DESIGN.md tags
LOSS_TAGS = {
    "dqn": {"train/loss": "losses/td_loss"},
    "ppo": {"train/policy_gradient_loss": "losses/policy_loss", "train/value_loss": "losses/value_loss",
            "train/entropy_loss": "losses/entropy_loss", "train/approx_kl": "losses/approx_kl"},
    "a2c": {"train/policy_loss": "losses/policy_loss", "train/value_loss": "losses/value_loss",
            "train/entropy_loss": "losses/entropy_loss"},
}


# -- hyperparameters -------------------------------------------------------------------------
def default_hyperparameters(algo: str, config: DeepConfig) -> dict:
    """Every SB3 hyperparameter of `algo` for this preset, before `sb3:` overrides."""
    a = config.agent
    n_envs = config.env.num_envs
    if algo == "dqn":
        # ours: one gradient step per `train_every` agent steps, n_envs agent steps per env.step
        if n_envs >= a.train_every:
            train_freq, gradient_steps = 1, max(1, round(n_envs / a.train_every))
        else:
            train_freq, gradient_steps = max(1, round(a.train_every / n_envs)), 1
        hard = a.target_update == "hard"
        return dict(
            n_envs=n_envs, total_steps=0, learning_rate=a.lr, learning_rate_end=a.lr_end,
            gamma=a.gamma, batch_size=a.batch_size, buffer_size=config.replay.capacity,
            learning_starts=a.learning_starts, train_freq=train_freq, gradient_steps=gradient_steps,
            n_steps=a.n_step,
            # SB3 counts the target period in agent steps; ours in gradient steps
            target_update_interval=a.target_period * a.train_every if hard else a.train_every,
            tau=1.0 if hard else a.tau,
            max_grad_norm=a.max_grad_norm if a.max_grad_norm else 1e9,  # SB3 always clips
            optimizer=a.optimizer, adam_eps=a.adam_eps, clip_rewards=a.clip_rewards,
            policy=dict(net_arch=[], activation_fn="relu"),
        )
    on_policy = dict(policy=dict(net_arch=[], activation_fn="tanh", share_features_extractor=False,
                                 ortho_init=True))
    if algo == "ppo":
        values = dict(n_envs=n_envs, total_steps=0, learning_rate=3e-4, learning_rate_end=None,
                      n_steps=2048, batch_size=64, n_epochs=10, gamma=a.gamma, gae_lambda=0.95,
                      clip_range=0.2, clip_range_end=None, ent_coef=0.0, vf_coef=0.5,
                      max_grad_norm=0.5, normalize_advantage=True, **on_policy)
    elif algo == "a2c":
        values = dict(n_envs=n_envs, total_steps=0, learning_rate=7e-4, learning_rate_end=None,
                      n_steps=5, gamma=a.gamma, gae_lambda=1.0, ent_coef=0.0, vf_coef=0.5,
                      max_grad_norm=0.5, use_rms_prop=True, rms_prop_eps=1e-5,
                      normalize_advantage=False, **on_policy)
    else:
        raise UsageError(f"--algo {algo!r} is not valid; choose one of: {', '.join(SB3_ALGOS)}")
    return merge(values, TUNED.get((algo, config.env.name), {}))


def resolve_hyperparameters(algo: str, config: DeepConfig, overrides: dict | None) -> dict:
    """Defaults merged with the config's `sb3:` section; an unknown key is a ConfigError."""
    defaults = default_hyperparameters(algo, config)
    overrides = dict(overrides or {})
    for key, value in overrides.items():
        if key not in defaults:
            raise ConfigError(f"config: unknown key 'sb3.{key}' for SB3 {algo}; "
                              f"allowed: {', '.join(defaults)}")
        if key == "policy":
            if not isinstance(value, dict):
                raise ConfigError(f"config: sb3.policy must be a mapping, got {value!r}")
            for sub in value:
                if sub not in defaults["policy"]:
                    raise ConfigError(f"config: unknown key 'sb3.policy.{sub}' for SB3 {algo}; "
                                      f"allowed: {', '.join(defaults['policy'])}")
    values = merge(defaults, overrides)
    if values["policy"]["activation_fn"] not in ACTIVATION_FNS:
        raise ConfigError(f"config: sb3.policy.activation_fn must be one of: {', '.join(ACTIVATION_FNS)}; "
                          f"got {values['policy']['activation_fn']!r}")
    if int(values["n_envs"]) < 1:
        raise ConfigError(f"config: sb3.n_envs must be >= 1, got {values['n_envs']!r}")
    return values


def unmapped_options(algo: str, config: DeepConfig) -> list[str]:
    """Preset options SB3's algorithm has no counterpart for (named in the summary)."""
    if algo != "dqn":
        return []
    a, missing = config.agent, []
    if a.double:
        missing.append("double=true (SB3 DQN is not Double DQN)")
    if a.dueling:
        missing.append("dueling=true (SB3 DQN has no dueling head)")
    if a.loss != "huber":
        missing.append(f"loss={a.loss} (SB3 DQN uses the Huber loss)")
    if config.replay.prioritized:
        missing.append("replay.prioritized=true (SB3 has no prioritized replay)")
    return missing


def policy_class(algo: str):
    return DQNPolicy if algo == "dqn" else ActorCriticPolicy


def policy_kwargs(algo: str, hyper: dict, config: DeepConfig) -> dict:
    """SB3 policy_kwargs: the preset's network as features extractor, then SB3's heads."""
    policy = hyper["policy"]
    net_arch = policy["net_arch"]
    kwargs = nets_sb3.policy_kwargs(
        config.net.kind, config.net.options,
        net_arch=dict(net_arch) if isinstance(net_arch, dict) else list(net_arch),
        activation_fn=ACTIVATION_FNS[policy["activation_fn"]],
    )
    if algo == "dqn":
        if hyper["optimizer"] == "rmsprop":  # the Nature paper's, as agents.dqn builds it
            kwargs |= dict(optimizer_class=torch.optim.RMSprop,
                           optimizer_kwargs=dict(alpha=0.95, eps=0.01, centered=True))
        else:
            kwargs["optimizer_kwargs"] = dict(eps=hyper["adam_eps"])
    else:
        kwargs |= dict(share_features_extractor=bool(policy["share_features_extractor"]),
                       ortho_init=bool(policy["ortho_init"]))
    return kwargs


def deep_config_of(raw: dict) -> DeepConfig:
    """The DeepConfig inside an SB3 run's config (without the SB3 keys)."""
    if raw.get("algo", "dqn") != "dqn":
        raise ConfigError(f"config: --backend sb3 trains the deep presets (algo: dqn); "
                          f"this one has algo {raw.get('algo')!r}")
    return from_dict(DeepConfig, {k: v for k, v in raw.items() if k not in SB3_CONFIG_KEYS})


# -- environments ------------------------------------------------------------------------------
def single_env_factory(config: DeepConfig, clip_rewards: bool = False) -> Callable[[], Any]:
    """A function making one training environment, with SB3's Monitor recording raw returns.

    Atari `boxing` is a native vector env with no single form; each SB3 lane is `boxing-colour`,
    which gives the same 4x84x84 observations (tested in test_atari_env.py).
    """
    name, options = config.env.name, dict(config.env.options)
    if name == "boxing":
        from envs.atari import make_boxing_colour, resolve_protocol

        protocol_clips = resolve_protocol(options.get("protocol", "machado")).clip_rewards
        env_clips = options.get("clip_rewards")
        clip_rewards = clip_rewards or (protocol_clips if env_clips is None else bool(env_clips))
        accepted = set(inspect.signature(make_boxing_colour).parameters) - {"seed", "render_mode", "clip_rewards"}
        single = {k: v for k, v in options.items() if k in accepted}

        def make():
            return envs.make("boxing-colour", render_mode=None, clip_rewards=False, **single)
    else:
        def make():
            return envs.make(name, **options)

    def factory():
        env = Monitor(make())  # inside any reward clipping: info["episode"] holds raw returns
        return gymnasium.wrappers.TransformReward(env, np.sign) if clip_rewards else env

    return factory


def _check_spaces(env, algo: str) -> None:
    try:
        nets_sb3.preprocessed_shape(env.observation_space)
    except ValueError as err:
        raise ConfigError(f"config: env: {err}") from None
    if not isinstance(env.action_space, spaces.Discrete):
        raise ConfigError(f"config: env: SB3 {algo} here needs a Discrete action space, "
                          f"got {env.action_space}")


# -- the agent interface evaluation and recording use ----------------------------------------
class SB3Agent:
    """An SB3 policy behind the interface of agents.dqn.DQNAgent: `q_values`, `act`, `rng`,
    `state_dict`. See the module docstring for what `q_values` means for PPO/A2C."""

    def __init__(self, policy, algo: str, n_actions: int, seed: int = 0) -> None:
        self.policy = policy
        self.algo = algo
        self.n_actions = int(n_actions)
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
        values = self.policy.predict_values(x)
        preferences = values + log_probs - log_probs.max(dim=1, keepdim=True).values
        return preferences.float().cpu().numpy()

    @torch.no_grad()
    def greedy_actions(self, observations: np.ndarray) -> np.ndarray:
        """argmax of q_values, without the critic's forward pass for PPO/A2C."""
        x = self._tensor(observations)
        if self.algo == "dqn":
            scores = self.policy.q_net(x)
        else:
            scores = self.policy.get_distribution(x).distribution.logits
        return scores.argmax(dim=1).cpu().numpy()

    def act(self, observations: np.ndarray, epsilon: float) -> np.ndarray:
        """One action per row: random with probability epsilon, else the greedy action."""
        return epsilon_greedy(observations, epsilon, self.rng, self.n_actions, self.greedy_actions)

    def state_dict(self) -> dict:
        return {"policy": self.policy.state_dict(), "optimizer": self.policy.optimizer.state_dict(),
                "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict, weights_only: bool = False) -> None:
        self.policy.load_state_dict(state["policy"])
        if not weights_only:
            self.policy.optimizer.load_state_dict(state["optimizer"])
            self.rng.bit_generator.state = state["rng"]


def load_agent(run: RunDir, checkpoint: str = "best", device: str = "auto") -> tuple[SB3Agent, DeepConfig, dict]:
    """(agent, config, checkpoint state) of an SB3 run, rebuilt from config.yaml and the
    safetensors weights: the policy is constructed fresh and its state_dict loaded; nothing is
    unpickled."""
    raw = run.read_config()
    if raw.get("backend") != "sb3":
        raise ConfigError(f"run directory {run.path}: not a Stable-Baselines3 run (config.yaml has no backend: sb3)")
    algo = raw.get("sb3_algo")
    if algo not in SB3_ALGOS:
        raise ConfigError(f"run directory {run.path}: sb3_algo must be one of {', '.join(SB3_ALGOS)}, got {algo!r}")
    config = deep_config_of(raw)
    hyper = resolve_hyperparameters(algo, config, raw.get("sb3"))
    probe = single_env_factory(config)()
    observation_space, action_space = probe.observation_space, probe.action_space
    probe.close()
    policy = policy_class(algo)(observation_space, action_space, lambda _: 0.0,
                                **policy_kwargs(algo, hyper, config)).to(resolve_device(device))
    state = load_checkpoint(run.checkpoints / checkpoint)
    agent = SB3Agent(policy, algo, int(action_space.n), seed=config.seed)
    agent.load_state_dict(state["agent"], weights_only=True)
    return agent, config, state


# -- training --------------------------------------------------------------------------------
class _Budget:
    """Where training stands against the budget, in steps or in episodes (the preset's)."""

    def __init__(self, total_steps: int, total_episodes: int) -> None:
        self.total_steps, self.total_episodes = int(total_steps), int(total_episodes)
        self.in_episodes = self.total_steps <= 0
        self.steps = self.episodes = 0

    @property
    def size(self) -> int:
        return self.total_episodes if self.in_episodes else self.total_steps

    def progress(self) -> int:
        return self.episodes if self.in_episodes else self.steps

    def fraction(self) -> float:
        return min(1.0, self.progress() / max(self.size, 1))

    def finished(self) -> bool:
        return (self.total_episodes > 0 and self.episodes >= self.total_episodes) or \
               (self.total_steps > 0 and self.steps >= self.total_steps)


def _linear(start: float, end: float | None, budget: _Budget) -> Callable[[float], float]:
    """A schedule for SB3 (called with its own progress, ignored): start -> end over our budget."""
    if end is None:
        return lambda _progress_remaining: float(start)
    return lambda _progress_remaining: float(start + budget.fraction() * (end - start))


def _build_model(algo: str, hyper: dict, config: DeepConfig, vec_env, budget: _Budget, seed: int, device):
    common = dict(policy=policy_class(algo), env=vec_env, gamma=hyper["gamma"],
                  learning_rate=_linear(hyper["learning_rate"], hyper["learning_rate_end"], budget),
                  policy_kwargs=policy_kwargs(algo, hyper, config), seed=seed, device=device, verbose=0)
    if algo == "dqn":
        e = config.exploration
        model = DQN(**common, buffer_size=hyper["buffer_size"], learning_starts=hyper["learning_starts"],
                    batch_size=hyper["batch_size"], tau=hyper["tau"], train_freq=(hyper["train_freq"], "step"),
                    gradient_steps=hyper["gradient_steps"],
                    target_update_interval=hyper["target_update_interval"], max_grad_norm=hyper["max_grad_norm"],
                    exploration_initial_eps=e.start, exploration_final_eps=e.end, exploration_fraction=e.fraction,
                    # n-step returns arrived in SB3 2.6; the keyword is left out when unused
                    **({"n_steps": hyper["n_steps"]} if hyper["n_steps"] != 1 else {}))
        # the preset's epsilon schedule over its own budget (steps or episodes), as our DQN does
        schedule = EpsilonSchedule(e.schedule, e.start, e.end, max(1, int(e.fraction * budget.size)))
        model.exploration_schedule = lambda _progress_remaining: schedule(budget.progress())
        return model
    on_policy = dict(n_steps=hyper["n_steps"], gae_lambda=hyper["gae_lambda"], ent_coef=hyper["ent_coef"],
                     vf_coef=hyper["vf_coef"], max_grad_norm=hyper["max_grad_norm"],
                     normalize_advantage=hyper["normalize_advantage"])
    if algo == "ppo":
        return PPO(**common, **on_policy, batch_size=hyper["batch_size"], n_epochs=hyper["n_epochs"],
                   clip_range=_linear(hyper["clip_range"], hyper["clip_range_end"], budget))
    return A2C(**common, **on_policy, use_rms_prop=hyper["use_rms_prop"], rms_prop_eps=hyper["rms_prop_eps"])


class _RunCallback(BaseCallback):
    """Called by SB3 after every vector step: counts, logs our tags, evaluates (keeping
    checkpoints/best), checkpoints, and stops at the budget."""

    def __init__(self, algo: str, run: RunDir, agent: SB3Agent, config: DeepConfig, hyper: dict,
                 budget: _Budget, counters: dict, logger: Logger, bar, seed: int) -> None:
        super().__init__()
        self.algo, self.run, self.agent, self.config, self.hyper = algo, run, agent, config, hyper
        self.budget, self.counters, self.run_logger, self.bar, self.seed = budget, counters, logger, bar, seed
        self.returns: list[float] = []
        self.lengths: list[int] = []
        self.started = time.perf_counter()
        self.next_log = config.log_every
        self.next_checkpoint = config.checkpoint_every
        self.next_eval = config.evaluation.every or None

    def _on_training_start(self) -> None:
        self.started = time.perf_counter()

    def _on_step(self) -> bool:
        budget, config = self.budget, self.config
        steps = int(self.model.num_timesteps)
        new_steps, budget.steps = steps - budget.steps, steps
        finished_now = 0
        for done, info in zip(self.locals["dones"], self.locals["infos"]):
            if done:
                finished_now += 1
                if "episode" in info:  # Monitor's raw return, before any reward clipping
                    self.returns.append(float(info["episode"]["r"]))
                    self.lengths.append(int(info["episode"]["l"]))
        budget.episodes += finished_now
        self.counters.update(steps=steps, episodes=budget.episodes, updates=int(self.model._n_updates))
        self.bar.update(finished_now if budget.in_episodes else new_steps)
        if steps >= self.next_log:
            self.next_log += config.log_every
            self.log()
        if self.next_eval is not None and steps >= self.next_eval:
            self.next_eval += config.evaluation.every
            deep_loop._evaluate_and_keep_best(self.run, self.agent, config, self.counters, self.run_logger, self.seed)
        if steps >= self.next_checkpoint:
            self.next_checkpoint += config.checkpoint_every
            deep_loop.save(self.run, "latest", self.agent, config, self.counters)
        return not budget.finished()

    def log(self) -> None:
        """Our tags via lab.logger (TensorBoard + metrics.csv); SB3's through its own logger."""
        budget, sb3_logger = self.budget, self.model.logger
        sps = budget.steps / max(time.perf_counter() - self.started, 1e-9)
        values = {"charts/sps": sps, "charts/episodes": budget.episodes}
        if self.algo == "dqn":
            before_learning = budget.steps < self.hyper["learning_starts"]
            values["charts/epsilon"] = 1.0 if before_learning else float(self.model.exploration_rate)
        if self.returns:
            values |= {"charts/episodic_return": float(np.mean(self.returns)),
                       "charts/episodic_length": float(np.mean(self.lengths))}
            self.bar.set_postfix(ret=f"{np.mean(self.returns):.3f}", sps=f"{sps:.0f}")
        recorded = sb3_logger.name_to_value  # what SB3's train() recorded since the last dump
        values |= {tag: float(recorded[key]) for key, tag in LOSS_TAGS[self.algo].items() if key in recorded}
        self.run_logger.scalars(budget.steps, values)
        self.returns.clear()
        self.lengths.clear()
        episodes = self.model.ep_info_buffer
        if episodes:
            sb3_logger.record("rollout/ep_rew_mean", float(np.mean([e["r"] for e in episodes])))
            sb3_logger.record("rollout/ep_len_mean", float(np.mean([e["l"] for e in episodes])))
        sb3_logger.record("time/fps", int(sps))
        sb3_logger.dump(step=budget.steps)


def train(raw_config: dict, seed: int, device: str, run_dir: str | None, quiet: bool,
          algo: str = "dqn", run: RunDir | None = None) -> str:
    """Train the preset with SB3's `algo` and return the summary to print (see module doc)."""
    if algo not in SB3_ALGOS:
        raise UsageError(f"--algo {algo!r} is not valid; choose one of: {', '.join(SB3_ALGOS)}")
    if run is not None:
        raise UsageError("--resume is not supported with --backend sb3 (SB3 keeps no resumable state "
                         "outside its pickled zips); start a new run")
    raw_config = dict(raw_config)
    overrides = raw_config.get("sb3")
    config = deep_config_of(raw_config)
    config.seed = seed
    hyper = resolve_hyperparameters(algo, config, overrides)
    config.env.num_envs = int(hyper["n_envs"])  # evaluation plays as many lanes as training did
    if hyper["total_steps"]:
        budget = _Budget(int(hyper["total_steps"]), 0)
    else:
        budget = _Budget(config.total_steps, config.total_episodes)

    seed_everything(seed)
    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)
    torch_device = resolve_device(device)
    factory = single_env_factory(config, clip_rewards=bool(hyper.get("clip_rewards", False)))
    vec_env = DummyVecEnv([factory for _ in range(config.env.num_envs)])
    try:
        _check_spaces(vec_env, algo)
    except ConfigError:
        vec_env.close()
        raise
    model = _build_model(algo, hyper, config, vec_env, budget, seed, str(torch_device))

    run = RunDir.create(f"{config.preset}-sb3-{algo}", seed, path=run_dir)
    run.write_config(to_dict(config) | {"backend": "sb3", "sb3_algo": algo, "sb3": hyper})
    model.set_logger(configure(str(run.path), ["tensorboard"]))  # SB3's own tags, same folder
    logger = Logger(run.path)
    agent = SB3Agent(model.policy, algo, int(vec_env.action_space.n), seed=seed)
    counters = {"steps": 0, "episodes": 0, "updates": 0, "best_score": -float("inf"),
                "backend": "sb3", "sb3_algo": algo}
    bar = progress_bar(budget.size, f"{config.preset} [sb3 {algo}]", quiet=quiet,
                       unit="ep" if budget.in_episodes else "step")
    callback = _RunCallback(algo, run, agent, config, hyper, budget, counters, logger, bar, seed)
    started = time.perf_counter()
    try:
        model.learn(total_timesteps=budget.total_steps if not budget.in_episodes else UNLIMITED_STEPS,
                    callback=callback, log_interval=None, progress_bar=False)
        if callback.returns:  # episodes finished since the last log row
            callback.log()
    finally:
        bar.close()
        vec_env.close()
    elapsed = time.perf_counter() - started

    final_episodes = config.evaluation.final_episodes or config.evaluation.episodes
    last_eval = deep_loop._evaluate_and_keep_best(run, agent, config, counters, logger, seed, final_episodes)
    deep_loop.save(run, "latest", agent, config, counters)
    last_eval |= {"backend": "sb3", "sb3_algo": algo}
    lines = deep_loop._final_report(run, agent, config, last_eval, logger, counters)
    logger.hparams({"preset": config.preset, "backend": "sb3", "algo": algo, "lr": hyper["learning_rate"],
                    "gamma": hyper["gamma"], "seed": seed}, {"hparam/score": float(last_eval["score"])})
    logger.close()
    model.logger.close()
    head = (f"{config.preset} (Stable-Baselines3 {algo.upper()}): {counters['steps']} steps, "
            f"{counters['episodes']} episodes, {counters['updates']} updates in {elapsed:.1f} s "
            f"({counters['steps'] / max(elapsed, 1e-9):.0f} steps/s, seed {seed})")
    missing = unmapped_options(algo, config)
    if missing:
        lines.insert(0, "preset options SB3 has no counterpart for (ignored): " + "; ".join(missing))
    return "\n".join([head, *lines, f"run directory: {run.path}", "watch: tensorboard --logdir runs"])
