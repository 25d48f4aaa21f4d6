"""The DQN as a learner of the run engine (docs/design.md: learner contract; chapters 69-75):
act, step, store, learn.

One `advance` is one step of N environments stepping together (Atari's in native threads):
every transition goes to the replay memory and `agent.updates_per_step` gradient steps are
taken per agent step (1 / `train_every`, or `replay_ratio`) once the memory is warm. The
Q-network is `nets.build(net.kind, ...)` (an MLP for vectors, the Nature CNN for frames) with a
Q, dueling or C51 distributional head.

Resume: networks, optimizer, counters and the agent's RNG come back from checkpoints/latest;
the replay memory too when the run was started with --save-replay, otherwise it is refilled
(learning pauses until `learning_starts` new transitions are stored). Emulator state is not
saved: resumed training starts new episodes.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

import envs
import nets
from lab.checkpoint import load_checkpoint, save_checkpoint
from lab.config import ConfigError
from lab.device import available_memory_bytes
from lab.rundir import RunDir
from lab.i18n import tr

from agents.algorithms.dqn import DQNAgent
from agents.config import RunConfig
from agents.contract import Experience, Learner
from agents.playing import play_agent
from agents.replay import FrameReplayMemory, ReplayMemory, future_steps
from agents.schedules import anneal_horizon_and_discount

EVAL_LANES = 8  # at most this many parallel envs play an evaluation


def build_q_network(config: RunConfig, observation_space, n_actions: int) -> torch.nn.Module:
    """nets.build(kind, ...) with a Q (or dueling) head of `n_actions` outputs."""
    options = dict(config.net.options)
    if config.net.kind == "mlp":
        sizes = options.pop("hidden", [64, 64])
        if not isinstance(sizes, (list, tuple)):
            raise nets.NetError(tr("net 'mlp': option hidden must be a list of layer sizes, e.g. [64, 64]; got "
                                   "{sizes}").format(sizes=repr(sizes)))
        options.setdefault("sizes", [int(np.prod(observation_space.shape)), *sizes])
        options.setdefault("activation", "relu")
        options.setdefault("init", "default")
    elif config.net.kind == "nature_cnn":
        options.setdefault("in_channels", int(observation_space.shape[0]))
    a = config.agent
    if a.distributional:  # C51, dueling over the atoms' logits when asked
        options["head_options"] = {"atoms": a.atoms, "v_min": a.v_min, "v_max": a.v_max, "dueling": a.dueling}
        return nets.build(config.net.kind, head="distributional", n_outputs=n_actions, **options)
    return nets.build(config.net.kind, head="dueling" if a.dueling else "q", n_outputs=n_actions, **options)


def stored_step(observation_space) -> tuple[bool, tuple[int, ...], int]:
    """How a replay stores one step's observation: whether it is a stack of uint8 frames (kept
    once per step, the newest frame only), the shape kept, and its bytes."""
    shape = observation_space.shape
    frames = len(shape) == 3 and observation_space.dtype == np.uint8
    kept = tuple(shape[1:] if frames else shape)
    return frames, kept, int(np.prod(kept)) * np.dtype(observation_space.dtype).itemsize


def check_replay_fits(capacity: int, bytes_per_step: float, message: str) -> None:
    """Refuse a replay capacity that needs more memory than this machine has available;
    `message` (translated) names {capacity}, {value} (GiB needed) and {value2} (GiB available)."""
    needed, available = capacity * bytes_per_step, available_memory_bytes()
    if needed > available:
        raise ConfigError(message.format(capacity=capacity, value=needed / 2**30, value2=available / 2**30))


def build_memory(config: RunConfig, observation_space, num_envs: int, autoreset_mode: str):
    """Frames (uint8, stack x H x W) go to the frame-once memory; anything else whole."""
    shape, r = observation_space.shape, config.replay
    frames, kept, step_bytes = stored_step(observation_space)
    # pixels (or the observation) + action, reward and flags (11 bytes) + sum tree (<= 32 bytes)
    check_replay_fits(r.capacity, step_bytes + 43, tr(
        "config: replay.capacity={capacity} needs {value:,.1f} GiB for the replay memory but "
        "{value2:,.1f} GiB are available; lower replay.capacity"))
    common = dict(n_envs=num_envs, gamma=config.agent.gamma, n_step=config.agent.longest_n_step,
                  prioritized=r.prioritized, alpha=r.alpha, beta=r.beta_start, seed=config.seed,
                  autoreset_mode=autoreset_mode)
    if frames:
        return FrameReplayMemory(r.capacity, frame_shape=kept, stack=shape[0], **common)
    return ReplayMemory(r.capacity, shape, obs_dtype=observation_space.dtype, **common)


class DQNLearner(Learner):
    """A DQNAgent, its vector env and its replay memory, driven by the engine."""

    cadence_unit = "steps"

    def __init__(self, config: RunConfig, device: torch.device, train: bool = True) -> None:
        self.config, self.cfg = config, config.agent
        n = config.env.num_envs if train else 1
        self.env = envs.make_vector(config.env.name, num_envs=n, seed=config.seed, **config.env.options)
        space = self.env.single_observation_space
        self.n_actions = int(self.env.single_action_space.n)
        self.agent = self.make_agent(space, device)
        self.memory, self.training = None, train
        if train:
            mode = getattr(self.env, "autoreset_mode", "next_step")
            mode = mode.name.lower() if hasattr(mode, "name") else str(mode)
            self.memory = self.make_memory(space, n, mode)
            self.obs, _ = self.env.reset(seed=config.seed)
        else:
            self.env.close()
        self.steps = self.episodes = 0
        self.learn_from, self.update_credit = 0, 0.0
        self.running_return, self.running_length = np.zeros(n), np.zeros(n, dtype=np.int64)
        self.ended = np.zeros(n, dtype=bool)

    # -- what a subclass (agents.learners.recurrent) changes -----------------------------------------
    def make_agent(self, space, device: torch.device) -> DQNAgent:
        if self.cfg.augmentation != "none" and len(space.shape) != 3:
            raise ConfigError(tr("config: agent.augmentation={value} shifts images (channels, height, width); "
                                 "{env} gives observations of shape {shape}").format(
                value=self.cfg.augmentation, env=self.config.env.name, shape=space.shape))
        if self.cfg.spr_weight and self.config.net.kind != "nature_cnn":
            raise ConfigError(tr("config: agent.spr_weight needs a Q-network with a convolutional encoder "
                                 "(net.kind nature_cnn), not {kind}").format(kind=self.config.net.kind))

        def build() -> torch.nn.Module:
            return build_q_network(self.config, space, self.n_actions)

        return DQNAgent(build(), self.n_actions, self.cfg, device=device, seed=self.config.seed,
                        build_network=build)

    def make_memory(self, space, lanes: int, autoreset_mode: str):
        return build_memory(self.config, space, lanes, autoreset_mode)

    def act(self, epsilon: float) -> tuple[np.ndarray, dict]:
        """The lanes' actions, and what the memory stores beside each step (keyword arguments of
        its ``add``)."""
        return self.agent.act(self.obs, epsilon), {}

    def lanes_ended(self, ended: np.ndarray) -> None:
        """Called after each step with the lanes whose episode just ended."""

    def ready_to_learn(self) -> bool:
        return len(self.memory) >= self.cfg.batch_size

    @property
    def updates(self) -> int:
        return self.agent.updates

    def budget_fraction(self) -> float:
        c = self.config
        return min(1.0, (self.episodes if c.budget_in_episodes else self.steps) / c.budget)

    def advance(self, epsilon: float) -> Experience:
        a, memory = self.cfg, self.memory
        if self.steps < a.learning_starts:
            epsilon = 1.0  # random play fills the memory first
        actions, stored = self.act(epsilon)
        next_obs, rewards, terminated, truncated, _ = self.env.step(actions)
        memory.add(self.obs, actions, np.sign(rewards) if a.clip_rewards else rewards, next_obs, terminated,
                   truncated, **stored)
        active = ~self.ended  # a lane that ended last step is resetting now: not an agent step
        new_steps = int(active.sum())
        self.steps += new_steps
        self.running_return[active] += rewards[active]
        self.running_length[active] += 1
        self.ended = (terminated | truncated) & active
        self.lanes_ended(self.ended)
        returns, lengths = [], []
        for i in np.flatnonzero(self.ended):
            returns.append(float(self.running_return[i]))
            lengths.append(int(self.running_length[i]))
            self.running_return[i], self.running_length[i] = 0.0, 0
        self.episodes += len(returns)
        self.obs = next_obs
        losses = {}
        # learn: `updates_per_step` gradient steps per agent step once the memory is warm
        if self.steps >= max(a.learning_starts, self.learn_from) and self.ready_to_learn():
            self.update_credit += new_steps * a.updates_per_step
            while self.update_credit >= 1.0:
                self.update_credit -= 1.0
                losses = self.learn_once()
        return Experience(new_steps, returns, lengths, losses, epsilon)

    def learn_once(self) -> dict[str, float]:
        a, replay, memory = self.cfg, self.config.replay, self.memory
        if a.lr_end is not None:
            for group in self.agent.optimizer.param_groups:
                group["lr"] = a.lr + self.budget_fraction() * (a.lr_end - a.lr)
        if replay.prioritized:  # anneal beta to 1 over the budget
            memory.beta = replay.beta_start + (1 - replay.beta_start) * self.budget_fraction()
        if a.n_step_start is not None or a.gamma_start is not None:  # BBF, after each reset
            memory.horizon, memory.gamma = anneal_horizon_and_discount(
                self.agent.updates_since_reset, a.anneal_updates, a.n_step_start or a.n_step, a.n_step,
                a.gamma if a.gamma_start is None else a.gamma_start, a.gamma)
        elif a.longest_n_step > a.n_step:  # the memory keeps more steps than n, for SPR
            memory.horizon = a.n_step
        batch = memory.sample(a.batch_size)
        if a.spr_weight:
            batch = batch._replace(**future_steps(memory, batch.indices, a.spr_steps))
        learned = self.agent.learn(batch)
        if replay.prioritized:
            memory.update_priorities(batch.indices, learned["td_errors"])
        return {name: learned[name] for name in ("td_loss", "q_values", "spr_loss") if name in learned}

    # -- playing with the trained network ----------------------------------------------------------
    def play(self, episodes: int, epsilon: float, seed: int, env_options: dict | None = None,
             quiet: bool = True) -> tuple[list[float], list[dict]]:
        options = self.config.env.options if env_options is None else env_options
        returns = play_agent(self.agent, self.config.env.name, options, episodes, epsilon, seed,
                             lanes=min(self.config.env.num_envs, EVAL_LANES), quiet=quiet)
        return returns, [{} for _ in returns]

    def q_values(self, observations: Sequence) -> np.ndarray:
        return self.agent.q_values(np.stack([np.asarray(o) for o in observations]))

    def decide(self, observation, info, env) -> tuple[np.ndarray, int]:
        values = self.q_values([observation])[0]
        return values, int(np.argmax(values))

    # -- checkpoints -------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"dqn": self.agent.state_dict(), "steps": self.steps, "episodes": self.episodes,
                "learn_from": self.learn_from, "update_credit": self.update_credit}

    def load_state_dict(self, state: dict, weights_only: bool = False) -> None:
        self.agent.load_state_dict(state["dqn"], weights_only=weights_only)
        if not weights_only:
            self.steps, self.episodes = int(state["steps"]), int(state["episodes"])
            self.learn_from, self.update_credit = int(state["learn_from"]), float(state["update_credit"])

    def on_checkpoint(self, run: RunDir, steps: int) -> None:
        if self.config.replay.saved:  # the memory first: `latest` must never point at a newer replay
            save_checkpoint(run.checkpoints / "replay", {"memory": self.memory.state_dict(), "steps": steps})

    def start(self, run: RunDir, resumed_at: int | None) -> None:
        if resumed_at is None:
            return
        steps = resumed_at
        replay_dir = run.checkpoints / "replay"
        replay = load_checkpoint(replay_dir) if replay_dir.exists() else {}  # read once: up to GBs
        if replay.get("steps") == steps:
            self.memory.load_state_dict(replay["memory"], adopt=True)
        else:  # refill before learning again
            self.learn_from = steps + self.cfg.learning_starts
        del replay
        self.obs, _ = self.env.reset(seed=self.config.seed + self.episodes)

    def close(self) -> None:
        if self.training:
            self.env.close()
