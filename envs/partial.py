"""Partially observed tasks: environments that only an agent with memory can solve (beyond the
book: the recurrent and transformer Q-networks of the memory agents; chapters 48-53's LSTM and
GRU and chapters 76-90's attention, put to work on chapter 70's DQN).

Two families, made by name through ``envs.make``:

* ``cartpole-novel`` -- Gymnasium's CartPole-v1 with the two velocities hidden: the agent sees
  the cart position and the pole angle only (the classic check of Hausknecht & Stone's DRQN and
  of RL-Zoo's ``CartPoleNoVel-v1``, which zeroes the same two entries). A memory-less policy
  cannot tell which way the pole is falling. ``frame_stack=k`` hands a memory-less agent the
  last k observations flattened (oldest first, zeros before the episode's start), so the same
  task measures what a frame stack buys and what a learned memory buys.
* ``popgym`` -- a task of POPGym (Morad et al. 2023, ``pip install popgym``: the ``memory``
  extra), ``task=`` one of its environments (``RepeatPrevious``, ``StatelessCartPole`` -- the
  paper's name for popgym 1.0's ``PositionOnlyCartPole`` -- ``HigherLower``, ...) at
  ``level=`` easy, medium or hard. POPGym scales each task's rewards so that an episode's
  return lies in [-1, 1]: that *is* the normalised return its paper reports. Discrete
  observations are one-hot encoded (MultiDiscrete as concatenated one-hots) and, as in the
  paper's baselines, the previous action is appended one-hot (``previous_action=True``).
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from lab.checks import one_of, unknown, whole
from lab.i18n import tr

CARTPOLE_VISIBLE = (0, 2)  # cart position and pole angle; 1 and 3 are the velocities
POPGYM_LEVELS = ("easy", "medium", "hard")
#: The paper's task names that popgym 1.0 renamed.
POPGYM_ALIASES = {"StatelessCartPole": "PositionOnlyCartPole",
                  "NoisyStatelessCartPole": "NoisyPositionOnlyCartPole"}


class HideVelocities(gymnasium.ObservationWrapper):
    """CartPole's observation without its two velocities: (position, angle)."""

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)
        low, high = env.observation_space.low, env.observation_space.high
        visible = list(CARTPOLE_VISIBLE)
        self.observation_space = spaces.Box(low[visible], high[visible], dtype=np.float32)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return np.asarray(observation, dtype=np.float32)[list(CARTPOLE_VISIBLE)]


class StackFlat(gymnasium.Wrapper):
    """The last ``k`` vector observations, flattened oldest first; zeros before the start."""

    def __init__(self, env: gymnasium.Env, k: int) -> None:
        super().__init__(env)
        self.k = k
        box = env.observation_space
        self.width = int(np.prod(box.shape))
        self.observation_space = spaces.Box(np.tile(np.minimum(box.low.ravel(), 0), k),
                                            np.tile(np.maximum(box.high.ravel(), 0), k), dtype=np.float32)
        self.stack = np.zeros(k * self.width, dtype=np.float32)

    def _push(self, observation: np.ndarray) -> np.ndarray:
        self.stack = np.roll(self.stack, -self.width)
        self.stack[-self.width:] = np.asarray(observation, dtype=np.float32).ravel()
        return self.stack.copy()

    def reset(self, **kwargs):
        observation, info = self.env.reset(**kwargs)
        self.stack[:] = 0.0
        return self._push(observation), info

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        return self._push(observation), reward, terminated, truncated, info


def make_cartpole_novel(frame_stack: int = 1, render_mode: str | None = None) -> gymnasium.Env:
    """CartPole-v1 (500-step cap) observing (position, angle); ``frame_stack`` of them."""
    frame_stack = whole("frame_stack", frame_stack, 1)
    env = HideVelocities(gymnasium.make("CartPole-v1", render_mode=render_mode))
    return StackFlat(env, frame_stack) if frame_stack > 1 else env


# -- POPGym --------------------------------------------------------------------------------------
def one_hot_width(space: spaces.Space) -> int:
    """Width of the float vector that encodes an observation of ``space``."""
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, spaces.MultiDiscrete):
        return int(np.sum(space.nvec))
    if isinstance(space, spaces.Box):
        return int(np.prod(space.shape))
    if isinstance(space, spaces.Tuple):
        return sum(one_hot_width(s) for s in space.spaces)
    raise ValueError(f"observation space {space} cannot be encoded as a vector")


def encoded_bounds(space: spaces.Space) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest value of each entry of :func:`encode`'s vector (one-hots: 0 and 1)."""
    if isinstance(space, spaces.Box):
        return (np.asarray(space.low, dtype=np.float32).ravel(), np.asarray(space.high, dtype=np.float32).ravel())
    if isinstance(space, spaces.Tuple):
        parts = [encoded_bounds(s) for s in space.spaces]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    width = one_hot_width(space)
    return np.zeros(width, dtype=np.float32), np.ones(width, dtype=np.float32)


def encode(space: spaces.Space, observation: Any) -> np.ndarray:
    """One-hot for Discrete, concatenated one-hots for MultiDiscrete, floats for Box."""
    if isinstance(space, spaces.Discrete):
        vector = np.zeros(int(space.n), dtype=np.float32)
        vector[int(observation) - int(space.start)] = 1.0
        return vector
    if isinstance(space, spaces.MultiDiscrete):
        nvec = np.asarray(space.nvec).ravel()
        vector = np.zeros(int(nvec.sum()), dtype=np.float32)
        vector[np.concatenate(([0], np.cumsum(nvec)[:-1])) + np.asarray(observation).ravel()] = 1.0
        return vector
    if isinstance(space, spaces.Box):
        return np.asarray(observation, dtype=np.float32).ravel()
    return np.concatenate([encode(s, o) for s, o in zip(space.spaces, observation)])


class VectorObservation(gymnasium.Wrapper):
    """A POPGym task as a Box observation: the encoded observation, then (optionally) the
    previous action one-hot (zeros on an episode's first step)."""

    def __init__(self, env: gymnasium.Env, previous_action: bool) -> None:
        super().__init__(env)
        if not isinstance(env.action_space, spaces.Discrete):
            raise ValueError(tr("this POPGym task acts in {space}; the Q-learning agents need a Discrete action "
                                "space").format(space=env.action_space))
        self.inner_space = env.observation_space
        self.n_actions = int(env.action_space.n) if previous_action else 0
        low, high = encoded_bounds(self.inner_space)
        self.observation_space = spaces.Box(np.concatenate([low, np.zeros(self.n_actions, np.float32)]),
                                            np.concatenate([high, np.ones(self.n_actions, np.float32)]),
                                            dtype=np.float32)

    def _vector(self, observation: Any, action: int | None) -> np.ndarray:
        previous = np.zeros(self.n_actions, dtype=np.float32)
        if action is not None and self.n_actions:
            previous[int(action)] = 1.0
        return np.concatenate([encode(self.inner_space, observation), previous])

    def reset(self, **kwargs):
        observation, info = self.env.reset(**kwargs)
        return self._vector(observation, None), info

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        return self._vector(observation, action), float(reward), terminated, truncated, info


def popgym_class_name(task: str, level: str) -> str:
    """The popgym class of a task and level, e.g. ('StatelessCartPole', 'easy') ->
    'PositionOnlyCartPoleEasy'."""
    one_of(tr("POPGym level"), level, POPGYM_LEVELS)
    return POPGYM_ALIASES.get(task, task) + level.capitalize()


def popgym_classes() -> dict[str, type]:
    """popgym's environment classes by name; a clear error when popgym is not installed."""
    try:
        envs_module = importlib.import_module("popgym.envs")
    except ModuleNotFoundError:
        raise ValueError(tr("POPGym tasks need the popgym package: pip install -e '.[memory]'")) from None
    return {cls.__name__: cls for cls in envs_module.ALL}


def make_popgym(task: str = "RepeatPrevious", level: str = "easy", previous_action: bool = True,
                max_episode_steps: int | None = None, render_mode: str | None = None) -> gymnasium.Env:
    """A POPGym task with vector observations (see the module docstring).

    ``max_episode_steps`` caps the episode (truncation) for tasks without their own limit.
    ``render_mode`` is accepted for recordings; most POPGym tasks have none.
    """
    classes = popgym_classes()
    name = popgym_class_name(task, level)
    if name not in classes:
        tasks = sorted({n[: -len(lv)] for n in classes for lv in ("Easy", "Medium", "Hard") if n.endswith(lv)})
        raise ValueError(unknown(tr("POPGym task"), task, [*tasks, "StatelessCartPole"]))
    cls = classes[name]
    modes = getattr(cls, "metadata", {}).get("render_modes", [])
    env = cls(render_mode=render_mode) if render_mode in modes and render_mode else cls()
    env = VectorObservation(env, bool(previous_action))
    if max_episode_steps:
        env = gymnasium.wrappers.TimeLimit(env, int(max_episode_steps))
    return env
