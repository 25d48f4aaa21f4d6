"""The two replay memories and their `replay:` section (docs/design.md: rooms; chapter 70)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from lab.checks import at_least, within

from agents.replay.interface import check_int
from agents.replay.lanes import LaneReplay


@dataclasses.dataclass
class ReplayConfig:
    """The `replay:` section of a deep preset; the memories' defaults come from here."""

    capacity: int = 100_000
    prioritized: bool = False
    alpha: float = 0.6  # priority exponent
    beta_start: float = 0.4  # importance-sampling exponent, annealed to 1 over the budget
    saved: bool = False  # stored with each checkpoint (train.py --save-replay): a resumed run learns from it

    def __post_init__(self) -> None:
        at_least("replay.capacity", self.capacity, 1)
        within("replay.alpha", self.alpha, 0, 1)
        within("replay.beta_start", self.beta_start, 0, 1)


class ReplayMemory(LaneReplay):
    """Replay of whole observations (any shape, e.g. Blackjack's state vector).

    ``capacity`` counts stored observations: an episode of ``T`` steps takes ``T + 1`` (its
    final observation is stored too).  Bytes per slot: ``obs`` plus 11 bytes of fields plus
    16-32 bytes of sum tree (the tree's leaf count is rounded up to a power of two).
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...],
        obs_dtype: Any = np.float32,
        n_envs: int = 1,
        gamma: float = 0.99,
        n_step: int = 1,
        prioritized: bool = ReplayConfig.prioritized,
        alpha: float = ReplayConfig.alpha,
        beta: float = ReplayConfig.beta_start,
        eps: float = 1e-6,
        seed: int = 0,
        autoreset_mode: Any = "next_step",
    ) -> None:
        if isinstance(obs_shape, (int, np.integer)):
            obs_shape = (obs_shape,)
        shape = tuple(int(d) for d in obs_shape)
        super().__init__(
            capacity=capacity,
            frame_shape=shape,
            frame_dtype=obs_dtype,
            stack=1,
            obs_shape=shape,
            n_envs=n_envs,
            gamma=gamma,
            n_step=n_step,
            prioritized=prioritized,
            alpha=alpha,
            beta=beta,
            eps=eps,
            seed=seed,
            autoreset_mode=autoreset_mode,
        )

    def _to_frames(self, obs: np.ndarray) -> np.ndarray:
        return obs[:, None]

    def _from_frames(self, frames: np.ndarray) -> np.ndarray:
        return frames[:, 0]


class FrameReplayMemory(LaneReplay):
    """Replay of stacked frames that stores each frame once (Atari: ``(4, 84, 84) uint8``).

    ``capacity`` counts stored frames: an episode of ``T`` steps takes ``T + stack``.  At
    84x84 a slot costs 7,056 bytes of pixels, 11 bytes of fields and 16-32 bytes of sum tree:
    7,084 bytes per transition at ``capacity=1_000_000`` (7.08 GB in all).
    """

    def __init__(
        self,
        capacity: int,
        frame_shape: tuple[int, ...] = (84, 84),
        stack: int = 4,
        n_envs: int = 1,
        gamma: float = 0.99,
        n_step: int = 1,
        prioritized: bool = ReplayConfig.prioritized,
        alpha: float = ReplayConfig.alpha,
        beta: float = ReplayConfig.beta_start,
        eps: float = 1e-6,
        seed: int = 0,
        autoreset_mode: Any = "next_step",
        frame_dtype: Any = np.uint8,
    ) -> None:
        stack = check_int("stack", stack, 1)
        super().__init__(
            capacity=capacity,
            frame_shape=tuple(frame_shape),
            frame_dtype=frame_dtype,
            stack=stack,
            obs_shape=(stack, *frame_shape),
            n_envs=n_envs,
            gamma=gamma,
            n_step=n_step,
            prioritized=prioritized,
            alpha=alpha,
            beta=beta,
            eps=eps,
            seed=seed,
            autoreset_mode=autoreset_mode,
        )

    def _to_frames(self, obs: np.ndarray) -> np.ndarray:
        return obs

    def _from_frames(self, frames: np.ndarray) -> np.ndarray:
        return frames
