"""The agents with memory as a learner (docs/design.md: agents with memory; chapters 48-53, 69-70):
the R2D2-style recurrent DQN and the windowed-transformer Q-network, beyond the book.

`algo: r2d2` with `net.kind` lstm, gru or transformer: the same learner, replay and targets,
only the memory swapped (nets.memory_q). One `advance` is one step of N environment lanes; each
lane carries its recurrent state, reset to zeros when its episode ends; every step goes to the
sequence replay with the state the lane had before it, and one gradient step on a batch of
sequences is taken per `train_every` agent steps once the memory is warm. Evaluation, recordings
and `decide` play with a state of their own, so they never disturb the training lanes.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

import nets
from lab.config import ConfigError
from lab.i18n import tr

from agents.algorithms.r2d2 import R2D2Agent
from agents.config import RunConfig
from agents.learners.dqn import EVAL_LANES, DQNLearner, check_replay_fits, stored_step
from agents.playing import play_vector_episodes
from agents.replay import SequenceReplay


def build_memory_q_network(config: RunConfig, observation_space, n_actions: int) -> torch.nn.Module:
    """nets.build("memory_q", memory=net.kind, ...) with a Q (or dueling) head; a bounded vector
    observation is scaled by 1 / its bound (CartPole's angle limit is 0.21 rad)."""
    options = dict(config.net.options)
    high = np.asarray(getattr(observation_space, "high", np.inf), dtype=np.float64)
    if observation_space.dtype != np.uint8 and np.all(np.isfinite(high)) and np.all(high > 0):
        options.setdefault("input_scale", (1.0 / high).ravel().tolist())
    return nets.build("memory_q", memory=config.net.kind, obs_shape=observation_space.shape, n_outputs=n_actions,
                      head="dueling" if config.agent.dueling else "q", **options)


def build_sequence_memory(config: RunConfig, observation_space, num_envs: int, state_size: int,
                          autoreset_mode: str) -> SequenceReplay:
    """Frames (uint8, stack x H x W) stored one per step; vectors whole; states as asked."""
    a, r, shape = config.agent, config.replay, observation_space.shape
    frames, kept, step_bytes = stored_step(observation_space)
    check_replay_fits(r.capacity, step_bytes + 45 + 8 * state_size / max(1, a.sequence_length), tr(
        "config: replay.capacity={capacity} needs {value:,.1f} GiB for the sequence replay but "
        "{value2:,.1f} GiB are available; lower replay.capacity"))
    try:
        return SequenceReplay(r.capacity, obs_shape=shape, frame_shape=kept if frames else None,
                              stack=shape[0] if frames else 1, obs_dtype=observation_space.dtype,
                              sequence_length=a.sequence_length, burn_in=a.burn_in, state_size=state_size,
                              n_envs=num_envs, gamma=a.gamma, n_step=a.n_step, prioritized=r.prioritized,
                              alpha=r.alpha, beta=r.beta_start, seed=config.seed, autoreset_mode=autoreset_mode)
    except ValueError as err:
        raise ConfigError(tr("config: replay: {err}").format(err=err)) from None


def stored_state_size(config: RunConfig, network: torch.nn.Module) -> int:
    """Floats of recurrent state the replay keeps per sequence: R2D2's stored state, or none for
    a zero start (`agent.store_state: false`) or the transformer, whose burn-in rebuilds its window."""
    return network.state_size if (config.agent.store_state and network.stores_state) else 0


class LaneStates:
    """One recurrent state per lane under next-step autoreset: a lane that ended an episode plays
    one reset step (its action ignored), after which its state goes back to zeros."""

    def __init__(self, agent: R2D2Agent, lanes: int) -> None:
        self.agent, self.state = agent, agent.initial_state(lanes)
        self.resetting = np.zeros(lanes, dtype=bool)

    def act(self, observations: np.ndarray, epsilon: float) -> tuple[np.ndarray, torch.Tensor]:
        """Actions, and the states the lanes had before this step (what the replay stores)."""
        before = self.state
        actions, self.state = self.agent.act(observations, self.state, epsilon)
        return actions, before

    def after_step(self, ended: np.ndarray) -> None:
        if self.resetting.any():  # these lanes now hold their new episode's first observation
            self.state[torch.as_tensor(self.resetting, device=self.state.device)] = 0.0
        self.resetting = np.asarray(ended, dtype=bool).copy()


class RecurrentLearner(DQNLearner):
    """An R2D2Agent, its vector env, per-lane states and its sequence replay."""

    def __init__(self, config: RunConfig, device: torch.device, train: bool = True) -> None:
        super().__init__(config, device, train)
        self.lanes = LaneStates(self.agent, len(self.ended))
        self.watching: torch.Tensor | None = None  # decide()'s state, for recordings

    def make_agent(self, space, device: torch.device) -> R2D2Agent:
        network = build_memory_q_network(self.config, space, self.n_actions)
        return R2D2Agent(network, self.n_actions, self.cfg, device=device, seed=self.config.seed)

    def make_memory(self, space, lanes: int, autoreset_mode: str):
        stored = stored_state_size(self.config, self.agent.online)
        return build_sequence_memory(self.config, space, lanes, stored, autoreset_mode)

    def act(self, epsilon: float) -> tuple[np.ndarray, dict]:
        actions, before = self.lanes.act(self.obs, epsilon)
        return actions, {"states": before.cpu().numpy() if self.memory.state_size else None}

    def lanes_ended(self, ended: np.ndarray) -> None:
        self.lanes.after_step(ended)

    def ready_to_learn(self) -> bool:
        return len(self.memory) >= 1  # sequences are drawn with replacement

    # -- playing with the trained network ----------------------------------------------------------
    def play(self, episodes: int, epsilon: float, seed: int, env_options: dict | None = None,
             quiet: bool = True) -> tuple[list[float], list[dict]]:
        options = self.config.env.options if env_options is None else env_options
        agent = self.agent
        lanes = min(self.config.env.num_envs, EVAL_LANES, episodes)
        playing = LaneStates(agent, max(1, lanes))
        training_rng, agent.rng = agent.rng, np.random.default_rng(seed)
        try:
            returns = play_vector_episodes(lambda obs: playing.act(obs, epsilon)[0], self.config.env.name,
                                           options, episodes, seed, lanes=max(1, lanes), quiet=quiet,
                                           after_step=playing.after_step)
        finally:
            agent.rng = training_rng
        return returns, [{} for _ in returns]

    def q_values(self, observations: Sequence) -> np.ndarray:
        """Each observation as the first step of an episode (a memory has nothing else to go on)."""
        return self.agent.q_values(np.stack([np.asarray(o) for o in observations]))

    def begin_episode(self) -> None:
        """Forget what `decide` saw: the recording starts a new episode."""
        self.watching = None

    def decide(self, observation, info, env) -> tuple[np.ndarray, int]:
        """Q-values of the recorded episode's step, remembering its earlier steps."""
        if self.watching is None:
            self.watching = self.agent.initial_state(1)
        values, self.watching = self.agent.step(np.asarray(observation)[None], self.watching)
        return values[0], int(np.argmax(values[0]))

    def memory_note(self) -> str:
        """What the memory holds after the last `decide`, for recordings' overlays: the norm of
        the recurrent state, or the transformer's attention of the newest step over its window
        (percent, oldest first; masked steps before the episode's start get 0)."""
        network = self.agent.online
        if self.watching is None:
            return ""
        if network.kind != "transformer":
            return f"|h| {float(self.watching.norm()):.2f}"
        weights = network.memory.attention()
        if weights is None:
            return ""
        shares = weights[-1].mean(dim=0)  # this step's query, averaged over heads
        return "attention % " + " ".join(f"{round(100 * float(w))}" for w in shares)

    def start(self, run, resumed_at: int | None) -> None:
        super().start(run, resumed_at)
        if resumed_at is not None:  # resumed training starts new episodes: fresh memories
            self.lanes = LaneStates(self.agent, len(self.ended))
            self.ended[:] = False
