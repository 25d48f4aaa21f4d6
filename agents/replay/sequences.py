"""Sequence replay for the agents with memory (docs/design.md: agents with memory; chapter 70):
R2D2's (Kapturowski et al. 2019, on Hausknecht & Stone's DRQN), beyond the book, built on
chapter 70's replay memory.

A recurrent Q-network learns from *sequences*, not single transitions: its hidden state must be
rebuilt step by step before a Q-value means anything. This memory keeps chapter 70's lane layout
(:class:`agents.replay.LaneReplay`: every step's observation or frame stored **once**, in a
circular time series per environment lane) and samples fixed-length windows of it by index:

* A *sequence* is ``sequence_length`` (L) loss steps starting at ``u = e + j * L/2``
  (``e`` the episode's first step, j = 0, 1, ...): sequences overlap by half and every step of
  an episode is in the loss part of one or two of them.
* Before its loss part comes a *burn-in* prefix of up to ``burn_in`` (B) steps (fewer near the
  episode's start, where the zero state is exact): the network is unrolled over it without a
  loss, to refresh the stored recurrent state (R2D2's burn-in). B is a multiple of L/2, so
  every burn-in starts at an episode start or at a step whose recurrent state was stored.
* The recurrent state the actor had *before* each step ``e + k * L/2`` (k >= 1) is stored once,
  in a bucket ``slot // (L/2)`` (two such steps are at least L/2 apart, so buckets never
  collide); states at episode starts are zeros and not stored. ``state_size=0`` stores none
  (R2D2's "zero start state", the transformer's case: its burn-in is its window).
* A sampled window covers ``W = B + L + n_step`` steps from its burn-in start, so every loss
  step's n-step target lies inside it. Steps past the episode's end (the next episode, or not
  yet written) are masked: ``has_action`` (an action was taken in this episode at this step),
  ``loss_mask`` (a loss step). A window never crosses an episode reset unmasked.
* n-step double-Q targets are prepared here, per loss step k: ``returns[k]`` (discounted sum of
  up to n rewards, stopping at the episode's end), ``discounts[k]`` (``gamma ** m`` for the m
  steps taken, 0 if the episode terminated) and ``bootstrap[k]`` (the window index k + m of the
  observation to bootstrap from); the agent adds ``discounts * Q_target(bootstrap, argmax_a
  Q_online(bootstrap, a))``.
* Prioritized sequences (one priority per sequence, R2D2's eta * max + (1 - eta) * mean of the
  loss steps' |TD errors|: :func:`sequence_priority`), with the sum tree and importance weights
  of the flat memory.

Memory: per stored step the same as the flat memory (observation or frame, 11 bytes of fields,
16-32 bytes of sum tree) plus 2 bytes (where the sequence's burn-in starts) plus the recurrent state
spread over L/2 steps: ``4 * state_size / (L/2)`` bytes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from lab.checks import at_most, require
from lab.i18n import tr

from agents.replay.interface import check_float, check_int
from agents.replay.lanes import LaneReplay

_RUNNING = 1  # LaneReplay's phase of a lane inside an episode


class SequenceBatch(NamedTuple):
    """Sampled windows; leading axes (batch, W) or (batch,)."""

    obs: np.ndarray  # (B, W, *obs_shape)
    actions: np.ndarray  # (B, W) int64
    returns: np.ndarray  # (B, W) float32, n-step discounted rewards
    discounts: np.ndarray  # (B, W) float32, gamma ** m or 0 after a termination
    bootstrap: np.ndarray  # (B, W) int64, window index of the bootstrap observation
    has_action: np.ndarray  # (B, W) bool, an action of this episode was taken at this step
    loss_mask: np.ndarray  # (B, W) bool, steps whose TD error counts
    burn_in: np.ndarray  # (B,) int64, steps before the loss part
    states: np.ndarray  # (B, state_size) float32, recurrent state at the window's start
    weights: np.ndarray  # (B,) float32 importance-sampling weights
    indices: np.ndarray  # (B,) int64 sequence keys, for update_priorities


def sequence_priority(td_errors: np.ndarray, mask: np.ndarray, eta: float = 0.9) -> np.ndarray:
    """R2D2's priority of each sequence: eta * max_k |d_k| + (1 - eta) * mean_k |d_k| over its
    masked steps (rows without a masked step get 0)."""
    errors = np.abs(np.asarray(td_errors, dtype=np.float64))
    mask = np.asarray(mask, dtype=bool)
    counts = mask.sum(axis=1)
    largest = np.where(mask, errors, 0.0).max(axis=1, initial=0.0)
    mean = np.where(mask, errors, 0.0).sum(axis=1) / np.maximum(counts, 1)
    return eta * largest + (1.0 - eta) * mean


class SequenceReplay(LaneReplay):
    """Lanes of stored steps sampled as burn-in + L + n windows (see the module docstring).

    ``frame_shape``/``stack``: as :class:`agents.replay.FrameReplayMemory` for stacked frames
    (each frame once); for vector observations ``frame_shape = obs_shape`` and ``stack = 1``.
    """

    _ARRAYS = LaneReplay._ARRAYS + ("states", "burn")

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], sequence_length: int = 20,
                 burn_in: int = 10, state_size: int = 0, obs_dtype: Any = np.float32,
                 frame_shape: tuple[int, ...] | None = None, stack: int = 1, n_envs: int = 1,
                 gamma: float = 0.99, n_step: int = 1, prioritized: bool = False, alpha: float = 0.6,
                 beta: float = 0.4, eps: float = 1e-6, seed: int = 0, autoreset_mode: Any = "next_step") -> None:
        self.sequence_length = check_int("sequence_length", sequence_length, 2)
        # each burn-in starts where a recurrent state was stored: every sequence_length / 2 steps
        check_sequence_options(self.sequence_length, burn_in, 0.0, prefix="")
        self.period = self.sequence_length // 2
        self.burn_in = at_most("burn_in", check_int("burn_in", burn_in, 0), np.iinfo(np.int16).max)
        self.state_size = check_int("state_size", state_size, 0)
        n_envs, n_step, stack = check_int("n_envs", n_envs, 1), check_int("n_step", n_step, 1), check_int("stack", stack, 1)
        self.window = self.burn_in + self.sequence_length + n_step
        # A lane must hold the windows still being filled, the ones an add invalidates ahead of
        # the writer, and one free bucket; it is a whole number of buckets.
        min_lane = 2 * (self.window + stack) + 4 * self.period + 2
        lane = check_int("capacity", capacity, 1) // n_envs // self.period * self.period
        require(lane >= min_lane, tr("capacity {capacity} is too small: need at least {per_env} steps per env "
                                     "({total} for n_envs={n_envs}) for windows of {window} steps").format(
            capacity=capacity, per_env=min_lane, total=min_lane * n_envs, n_envs=n_envs, window=self.window))
        obs_shape = (obs_shape,) if isinstance(obs_shape, (int, np.integer)) else tuple(int(d) for d in obs_shape)
        frame_shape = obs_shape if frame_shape is None else tuple(int(d) for d in frame_shape)
        super().__init__(capacity=lane * n_envs, frame_shape=frame_shape, frame_dtype=obs_dtype, stack=stack,
                         obs_shape=obs_shape, n_envs=n_envs, gamma=gamma, n_step=n_step,
                         prioritized=prioritized, alpha=alpha, beta=beta, eps=eps, seed=seed,
                         autoreset_mode=autoreset_mode)
        self.buckets = self.lane_capacity // self.period
        self._states = np.zeros((self.buckets * self.n_envs, self.state_size), dtype=np.float32)
        self._burn = np.zeros(self.capacity, dtype=np.int16)
        self._frame_axes = len(self.obs_shape) - len(self.frame_shape)  # 1 for stacked frames

    # ----------------------------------------------------------------- observations <-> frames
    def _to_frames(self, obs: np.ndarray) -> np.ndarray:
        return obs if self._frame_axes else obs[:, None]

    def _from_frames(self, frames: np.ndarray) -> np.ndarray:
        return frames if self._frame_axes else frames[:, 0]

    def _config(self) -> dict[str, Any]:
        return super()._config() | {"sequence_length": self.sequence_length, "burn_in": self.burn_in,
                                    "state_size": self.state_size}

    # ----------------------------------------------------------------- adding
    def add(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_obs: np.ndarray,
            terminated: np.ndarray, truncated: np.ndarray, states: np.ndarray | None = None) -> None:
        """Store one vector-env step as :meth:`LaneReplay.add`; ``states`` (n_envs, state_size)
        is each lane's recurrent state *before* it read ``obs`` (needed when state_size > 0)."""
        if self.state_size:
            if states is None:
                raise ValueError(f"states must be given: this memory stores recurrent states of size {self.state_size}")
            states = np.asarray(states, dtype=np.float32).reshape(self.n_envs, self.state_size)
            # A lane inside an episode acts on its newest stored step; the state is kept when that
            # step starts a burn-in (k * L/2 steps into the episode, k >= 1).
            running = self._phase == _RUNNING
            position = self._cursor - 1
            into = position - self._episode_start
            keep = running & (into > 0) & (into % self.period == 0)
            lanes = np.flatnonzero(keep)
            if lanes.size:
                self._states[self._bucket(lanes, position[lanes])] = states[lanes]
        super().add(obs, actions, rewards, next_obs, terminated, truncated)

    def _bucket(self, lanes: np.ndarray, position: np.ndarray) -> np.ndarray:
        return lanes * self.buckets + (position % self.lane_capacity) // self.period

    def _invalidate(self, flat: np.ndarray) -> None:
        # Overwriting slot p loses the history of the steps p .. p+stack-1, and a state stored
        # at p takes the bucket of the older steps up to p+L/2-1; every sequence whose burn-in
        # starts there (keys up to burn_in steps later) goes.
        reach = np.arange(self.burn_in + self.period + self.stack)
        ahead = (flat[:, None] % self.lane_capacity + reach) % self.lane_capacity
        super()._invalidate(np.unique(((flat - flat % self.lane_capacity)[:, None] + ahead).ravel()))

    def _complete_transitions(self, lanes: np.ndarray, position: np.ndarray, done: np.ndarray) -> None:
        """Make sampleable the sequences whose window is now stored: the one whose last loss
        step's n-step future just arrived, and, when the episode ended, all of its others."""
        start = self._episode_start[lanes]
        key = position - (self.sequence_length + self.n_step - 2)
        due = (key >= start) & ((key - start) % self.period == 0)
        keys, starts = [key[due]], [start[due]]
        lane_of = [lanes[due]]
        for i in np.flatnonzero(done):  # episode ends: once per episode per lane
            ending = np.arange(start[i], position[i] + 1, self.period)
            keys.append(ending)
            starts.append(np.full(ending.size, start[i]))
            lane_of.append(np.full(ending.size, lanes[i]))
        key, start, lane = np.concatenate(keys), np.concatenate(starts), np.concatenate(lane_of)
        flat, first = np.unique(self._lane_base[lane] + key % self.lane_capacity, return_index=True)
        fresh = ~self._valid[flat]
        flat, key, start = flat[fresh], key[first][fresh], start[first][fresh]
        if flat.size:
            # steps from the episode's start, capped at burn_in + 1: more than burn_in means the
            # burn-in starts at a stored state, otherwise at the episode's start (zero state)
            self._burn[flat] = np.minimum(self.burn_in + 1, key - start)
            self._valid[flat] = True
            self._num_valid += int(flat.size)
            self._pending_indices.append(flat)
            self._pending_values.append(np.full(flat.size, self._max_priority if self.prioritized else 1.0))

    # ----------------------------------------------------------------- sampling
    def transitions(self, indices: np.ndarray) -> SequenceBatch:
        """The windows of the sequences keyed at ``indices`` (sampleable ones), unit weights."""
        flat = np.asarray(indices, dtype=np.int64).reshape(-1)
        if flat.size and (flat.min() < 0 or flat.max() >= self.capacity):
            raise ValueError(f"indices must lie in [0, {self.capacity}), got {flat.min()}..{flat.max()}")
        lane = flat // self.lane_capacity
        into = self._burn[flat].astype(np.int64)
        burn = np.minimum(into, self.burn_in)
        begin = flat % self.lane_capacity - burn  # burn-in start, within the lane (may be < 0)
        n, width = self.n_step, self.window
        offsets = np.arange(width + n)
        slots = (lane * self.lane_capacity)[:, None] + (begin[:, None] + offsets) % self.lane_capacity
        ended = self._terminated[slots] | self._truncated[slots]
        has_action = np.ones_like(ended)
        has_action[:, 1:] = np.cumprod(~ended[:, :-1], axis=1)
        rewards = np.where(has_action, self._rewards[slots], 0.0)
        terminated = self._terminated[slots] & has_action
        # n-step targets for every step k of the window: steps k .. k+n-1 that are still in it
        steps = offsets[:width, None] + np.arange(n)  # (W, n)
        counted = has_action[:, steps]  # (B, W, n), a prefix of True along n
        taken = counted.sum(axis=2)
        discount = self.gamma ** np.arange(n)
        returns = (rewards[:, steps] * counted * discount).sum(axis=2)
        stopped = (terminated[:, steps] & counted).any(axis=2)
        loss = (offsets[None, :width] >= burn[:, None]) & (offsets[None, :width] < burn[:, None] + self.sequence_length)
        states = np.zeros((flat.size, self.state_size), dtype=np.float32)
        stored = into > self.burn_in  # otherwise the burn-in starts at the episode's start: zeros
        if self.state_size and stored.any():
            position = (begin[stored] % self.lane_capacity)
            states[stored] = self._states[self._bucket(lane[stored], position)]
        window = slots[:, :width]
        history = np.arange(1 - self.stack, 1)
        frame_slots = ((lane * self.lane_capacity)[:, None, None]
                       + (begin[:, None, None] + offsets[None, :width, None] + history) % self.lane_capacity)
        frames = self._frames[frame_slots]  # (B, W, stack, *frame_shape)
        obs = frames if self._frame_axes else frames[:, :, 0]
        return SequenceBatch(
            obs=obs,
            actions=self._actions[window].astype(np.int64),
            returns=returns.astype(np.float32),
            discounts=np.where(stopped, 0.0, self.gamma ** taken).astype(np.float32),
            bootstrap=offsets[None, :width] + taken,
            has_action=has_action[:, :width],
            loss_mask=loss & has_action[:, :width],
            burn_in=burn,
            states=states,
            weights=np.ones(flat.size, dtype=np.float32),
            indices=flat,
        )

    def sample(self, batch_size: int) -> SequenceBatch:
        """Draw ``batch_size`` sequences (uniformly, or by priority)."""
        return super().sample(batch_size)

    def memory_cost(self) -> dict[str, float]:
        """Bytes per stored step: in all, and of the recurrent states alone."""
        return {"bytes_per_step": self.nbytes / self.capacity, "state_bytes_per_step": self._states.nbytes / self.capacity}


def check_sequence_options(sequence_length: int, burn_in: int, eta: float, prefix: str = "agent.") -> None:
    """The agent section's sequence settings (keys named `prefix` + name), checked before anything is built."""
    check_int(f"{prefix}sequence_length", sequence_length, 2)
    require(sequence_length % 2 == 0, tr("{key} must be even (sequences overlap by half), got {value}").format(
        key=f"{prefix}sequence_length", value=sequence_length))
    check_int(f"{prefix}burn_in", burn_in, 0)
    require(burn_in % (sequence_length // 2) == 0, tr("{key} must be a multiple of {length}/2 = {period}, got "
                                                      "{value}").format(
        key=f"{prefix}burn_in", length=f"{prefix}sequence_length", period=sequence_length // 2, value=burn_in))
    check_float(f"{prefix}priority_eta", eta, 0, 1)
