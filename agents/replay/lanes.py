"""The lanes behind both replay memories (docs/design.md: rooms; chapter 70): circular time
series per environment, n-step targets, optional priorities. See the package docstring for the
layout."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from lab.checks import require
from lab.i18n import tr

from agents.replay.interface import Batch, check_float, check_int, resolve_autoreset
from agents.replay.sum_tree import SumTree

# Lane phases: what the next ``add`` means for a lane.
_FRESH = 0  # no episode yet: ``obs`` of the next add starts one
_RUNNING = 1  # inside an episode: ``obs`` of the next add is the stored newest observation
_ENDED = 2  # the previous add ended an episode



class LaneReplay:
    """Lanes of circular time series with n-step targets and optional priorities.

    Subclasses only say how an observation maps to its stored frames (:meth:`_to_frames`) and
    how rebuilt frames map back to observations (:meth:`_from_frames`).
    """

    # The storage arrays, each held as ``self._<name>``: what nbytes counts and a state holds.
    _ARRAYS = ("frames", "actions", "rewards", "terminated", "truncated", "valid",
               "cursor", "episode_start", "phase")

    def __init__(
        self,
        capacity: int,
        frame_shape: tuple[int, ...],
        frame_dtype: Any,
        stack: int,
        obs_shape: tuple[int, ...],
        n_envs: int,
        gamma: float,
        n_step: int,
        prioritized: bool,
        alpha: float,
        beta: float,
        eps: float,
        seed: int,
        autoreset_mode: Any,
    ) -> None:
        self.n_envs = check_int("n_envs", n_envs, 1)
        self.stack = check_int("stack", stack, 1)
        self.n_step = check_int("n_step", n_step, 1)
        self.gamma = check_float("gamma", gamma, 0.0, 1.0)
        # Steps summed into a sampled return, <= n_step; public (like gamma and beta) so that an
        # agent can anneal it (BBF's n 10 -> 3): the memory keeps n_step steps ahead regardless.
        self.horizon = self.n_step
        self.alpha = check_float("alpha", alpha, 0.0)
        self.beta = check_float("beta", beta, 0.0)
        self.eps = check_float("eps", eps, 0.0)
        self.prioritized = bool(prioritized)
        self.next_step_autoreset = resolve_autoreset(autoreset_mode)
        self.frame_shape = tuple(int(d) for d in frame_shape)
        self.frame_dtype = np.dtype(frame_dtype)
        self.obs_shape = tuple(int(d) for d in obs_shape)
        capacity = check_int("capacity", capacity, 1)
        # One add can write stack + 1 slots and invalidate stack - 1 more ahead of them; the
        # newest n_step transitions (and their stacks) are still waiting for their future and
        # must not be reached by that.
        min_lane = 3 * self.stack + 2 * self.n_step + 2
        require(capacity // self.n_envs >= min_lane, tr("capacity {capacity} is too small: need at least {per_env} "
                                                        "slots per env ({total} for n_envs={n_envs})").format(
            capacity=capacity, per_env=min_lane, total=min_lane * self.n_envs, n_envs=self.n_envs))
        self.lane_capacity = capacity // self.n_envs
        self.capacity = self.lane_capacity * self.n_envs

        slots = self.capacity
        self._frames = np.zeros((slots, *self.frame_shape), dtype=self.frame_dtype)
        self._actions = np.zeros(slots, dtype=np.int32)
        self._rewards = np.zeros(slots, dtype=np.float32)
        self._terminated = np.zeros(slots, dtype=bool)
        self._truncated = np.zeros(slots, dtype=bool)
        self._valid = np.zeros(slots, dtype=bool)
        self._tree = SumTree(slots)
        # Per lane: absolute write position (slot = position % lane_capacity), the absolute
        # position of the current episode's first observation, and the lane's phase.
        self._cursor = np.zeros(self.n_envs, dtype=np.int64)
        self._episode_start = np.full(self.n_envs, -1, dtype=np.int64)
        self._phase = np.full(self.n_envs, _FRESH, dtype=np.int8)
        self._num_valid = 0
        self._max_priority = 1.0
        self._rng = np.random.default_rng(seed)
        self._lane_base = np.arange(self.n_envs, dtype=np.int64) * self.lane_capacity
        # Sum-tree changes collected during one add and applied together.
        self._pending_indices: list[np.ndarray] = []
        self._pending_values: list[np.ndarray] = []

    # ----------------------------------------------------------------- subclass hooks
    def _to_frames(self, obs: np.ndarray) -> np.ndarray:
        """``(n, *obs_shape)`` observations -> ``(n, stack, *frame_shape)`` frames."""
        raise NotImplementedError

    def _from_frames(self, frames: np.ndarray) -> np.ndarray:
        """``(B, stack, *frame_shape)`` rebuilt frames -> ``(B, *obs_shape)`` observations."""
        raise NotImplementedError

    # ----------------------------------------------------------------- sizes
    def __len__(self) -> int:
        """Number of transitions that can be sampled now."""
        return self._num_valid

    @property
    def nbytes(self) -> int:
        """Bytes held by the storage arrays (frames, per-slot fields, sum tree, lane state)."""
        arrays = [getattr(self, f"_{name}") for name in self._ARRAYS] + [self._tree.nodes]
        return int(sum(array.nbytes for array in arrays))

    def priorities(self, indices: np.ndarray) -> np.ndarray:
        """Current sampling weights ``(priority + eps) ** alpha`` of slots (0 if not sampleable)."""
        return self._tree.leaves(np.asarray(indices, dtype=np.int64))

    def sampleable_indices(self) -> np.ndarray:
        """Indices of every transition that can be sampled now (for checks and tests)."""
        return np.flatnonzero(self._valid)

    @property
    def bytes_per_transition(self) -> float:
        """``nbytes / capacity``: the memory cost of one stored step."""
        return self.nbytes / self.capacity

    # ----------------------------------------------------------------- adding
    def _batched(self, name: str, value: Any, dtype: Any) -> np.ndarray:
        array = np.asarray(value, dtype=dtype)
        if array.size != self.n_envs:
            raise ValueError(
                f"{name} must have {self.n_envs} entries (one per env), got shape {array.shape}"
            )
        return array.reshape(self.n_envs)

    def _batched_obs(self, name: str, value: Any) -> np.ndarray:
        array = np.asarray(value)
        if array.shape == self.obs_shape and self.n_envs == 1:
            array = array[None]
        if array.shape != (self.n_envs, *self.obs_shape):
            raise ValueError(
                f"{name} must have shape {(self.n_envs, *self.obs_shape)}, got {array.shape}"
            )
        return array

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> None:
        """Store one vector-env step (see the module docstring for episode ends)."""
        obs_frames = self._to_frames(self._batched_obs("obs", obs))
        next_frames = self._to_frames(self._batched_obs("next_obs", next_obs))
        actions = self._batched("actions", actions, np.int64)
        rewards = self._batched("rewards", rewards, np.float32)
        terminated = self._batched("terminated", terminated, bool)
        truncated = self._batched("truncated", truncated, bool)

        ended = self._phase == _ENDED
        reset_step = ended & self.next_step_autoreset
        starts_with_obs = (self._phase == _FRESH) | (ended & ~self.next_step_autoreset)
        # Episode starts are rare (once per episode per lane), so a loop over them is cheap.
        for lane in np.flatnonzero(starts_with_obs):
            self._begin_episode(int(lane), obs_frames[lane])
        for lane in np.flatnonzero(reset_step):
            self._begin_episode(int(lane), next_frames[lane])

        lanes = np.flatnonzero(~reset_step)
        if lanes.size:
            position = self._cursor[lanes] - 1  # the slot of ``obs``, written earlier
            flat = self._lane_base[lanes] + position % self.lane_capacity
            self._write_frames(lanes, next_frames[lanes, -1])
            # Written after the frames: writing a slot clears its fields.
            self._actions[flat] = actions[lanes]
            self._rewards[flat] = rewards[lanes]
            self._terminated[flat] = terminated[lanes]
            self._truncated[flat] = truncated[lanes]
            done = terminated[lanes] | truncated[lanes]
            self._complete_transitions(lanes, position, done)
            self._phase[lanes] = np.where(done, _ENDED, _RUNNING)
        self._flush_tree()

    def _begin_episode(self, lane: int, frames: np.ndarray) -> None:
        """Write all frames of an episode's first observation; it becomes the lane's newest."""
        lane_array = np.array([lane])
        for frame in frames:
            self._write_frames(lane_array, frame[None])
        self._episode_start[lane] = self._cursor[lane] - 1
        self._phase[lane] = _RUNNING

    def _write_frames(self, lanes: np.ndarray, frames: np.ndarray) -> None:
        """Write one frame at the cursor of each lane, retiring what it overwrites."""
        position = self._cursor[lanes]
        # The overwritten slot and the stack - 1 slots after it lose (part of) their history.
        ahead = (position[:, None] + np.arange(self.stack)) % self.lane_capacity
        self._invalidate((self._lane_base[lanes, None] + ahead).ravel())
        flat = self._lane_base[lanes] + position % self.lane_capacity
        self._frames[flat] = frames
        self._actions[flat] = 0
        self._rewards[flat] = 0.0
        self._terminated[flat] = False
        self._truncated[flat] = False
        self._cursor[lanes] += 1

    def _invalidate(self, flat: np.ndarray) -> None:
        flat = flat[self._valid[flat]]
        if flat.size:
            flat = np.unique(flat)
            self._valid[flat] = False
            self._num_valid -= int(flat.size)
            self._pending_indices.append(flat)
            self._pending_values.append(np.zeros(flat.size))

    def _complete_transitions(
        self, lanes: np.ndarray, position: np.ndarray, done: np.ndarray
    ) -> None:
        """Make sampleable the transitions whose n-step future is now stored.

        The transition ``n_step - 1`` steps back now has all its ``n_step`` successors; when the
        episode just ended, every not yet sampleable transition of it is complete too.
        """
        back = np.arange(self.n_step)
        start = position[:, None] - back[None, :]
        wanted = (start >= self._episode_start[lanes, None]) & (
            done[:, None] | (back[None, :] == self.n_step - 1)
        )
        flat = (self._lane_base[lanes, None] + start % self.lane_capacity)[wanted]
        flat = flat[~self._valid[flat]]
        if flat.size:
            self._valid[flat] = True
            self._num_valid += int(flat.size)
            priority = self._max_priority if self.prioritized else 1.0
            self._pending_indices.append(flat)
            self._pending_values.append(np.full(flat.size, priority))

    def _flush_tree(self) -> None:
        if self._pending_indices and self.prioritized:  # uniform sampling needs no tree
            self._tree.set(
                np.concatenate(self._pending_indices), np.concatenate(self._pending_values)
            )
        self._pending_indices = []
        self._pending_values = []

    # ----------------------------------------------------------------- sampling
    def _stacks(self, flat: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Rebuild the observations ``offsets`` steps after the slots ``flat``."""
        base = flat - flat % self.lane_capacity
        newest = flat % self.lane_capacity + offsets
        history = np.arange(1 - self.stack, 1)
        slots = base[:, None] + (newest[:, None] + history[None, :]) % self.lane_capacity
        return self._from_frames(self._frames[slots])

    def transitions(self, indices: np.ndarray) -> Batch:
        """The transitions stored at ``indices`` (sampleable ones), with unit weights."""
        flat = np.asarray(indices, dtype=np.int64).reshape(-1)
        if flat.size and (flat.min() < 0 or flat.max() >= self.capacity):
            raise ValueError(
                f"indices must lie in [0, {self.capacity}), got {flat.min()}..{flat.max()}"
            )
        if not 1 <= self.horizon <= self.n_step:
            raise ValueError(f"horizon must be in [1, n_step={self.n_step}], got {self.horizon}")
        base = flat - flat % self.lane_capacity
        steps = np.arange(self.horizon)
        window = base[:, None] + (flat[:, None] % self.lane_capacity + steps) % self.lane_capacity
        rewards = self._rewards[window]
        terminated = self._terminated[window]
        ended = terminated | self._truncated[window]
        # Step k counts if no earlier step of the window ended the episode.
        counts = np.ones_like(ended)
        counts[:, 1:] = np.cumprod(~ended[:, :-1], axis=1)
        steps_taken = counts.sum(axis=1)
        returns = (rewards * counts * self.gamma ** steps).sum(axis=1, dtype=np.float64)
        terminated_within = (terminated & counts).any(axis=1)
        discounts = np.where(terminated_within, 0.0, self.gamma**steps_taken)
        return Batch(
            obs=self._stacks(flat, np.zeros_like(flat)),
            actions=self._actions[flat].astype(np.int64),
            returns=returns.astype(np.float32),
            next_obs=self._stacks(flat, steps_taken),
            discounts=discounts.astype(np.float32),
            weights=np.ones(flat.size, dtype=np.float32),
            indices=flat,
        )

    def sample(self, batch_size: int) -> Batch:
        """Draw ``batch_size`` transitions (uniformly, or by priority)."""
        batch_size = check_int("batch_size", batch_size, 1)
        if self._num_valid == 0:
            raise ValueError("cannot sample from a replay memory with no complete transition yet")
        if not self.prioritized:
            return self.transitions(self._uniform_indices(batch_size))
        total = self._tree.total
        targets = (np.arange(batch_size) + self._rng.random(batch_size)) * (total / batch_size)
        flat = self._tree.find(np.minimum(targets, np.nextafter(total, 0.0)))
        batch = self.transitions(flat)
        if self.prioritized:
            probabilities = self._tree.leaves(flat) / total
            weights = (self._num_valid * probabilities) ** (-self.beta)
            batch = batch._replace(weights=(weights / weights.max()).astype(np.float32))
        return batch

    def _uniform_indices(self, batch_size: int) -> np.ndarray:
        """Uniform draws among sampleable slots: random slots, keeping the valid ones (cheap
        once the memory is warm); a scan of the valid flags when too few were hit."""
        candidates = self._rng.integers(self.capacity, size=4 * batch_size)
        hits = candidates[self._valid[candidates]]
        if hits.size >= batch_size:
            return hits[:batch_size]
        valid = np.flatnonzero(self._valid)
        return valid[self._rng.integers(valid.size, size=batch_size)]

    def update_priorities(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        """Set the priorities (e.g. absolute TD errors) of sampled transitions.

        Indices that stopped being sampleable since they were drawn are skipped.  Without
        prioritization this only checks its input.
        """
        flat = np.asarray(indices, dtype=np.int64).reshape(-1)
        values = np.asarray(priorities, dtype=np.float64).reshape(-1)
        if flat.shape != values.shape:
            raise ValueError(
                f"indices and priorities must match, got {flat.shape} and {values.shape}"
            )
        if not np.all(np.isfinite(values)):
            raise ValueError("priorities must be finite numbers")
        if flat.size and (flat.min() < 0 or flat.max() >= self.capacity):
            raise ValueError(f"indices must lie in [0, {self.capacity})")
        if not self.prioritized:
            return
        keep = self._valid[flat]
        scaled = (np.abs(values[keep]) + self.eps) ** self.alpha
        if scaled.size:
            self._tree.set(flat[keep], scaled)
            self._max_priority = max(self._max_priority, float(scaled.max()))

    # ----------------------------------------------------------------- saving
    def _config(self) -> dict[str, Any]:
        return {
            "kind": type(self).__name__,
            "capacity": self.capacity,
            "n_envs": self.n_envs,
            "stack": self.stack,
            "frame_shape": list(self.frame_shape),
            "frame_dtype": self.frame_dtype.str,
            "n_step": self.n_step,
            "prioritized": self.prioritized,
            "next_step_autoreset": self.next_step_autoreset,
        }

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: numpy arrays and JSON-able scalars only."""
        return {
            **self._config(),
            **{name: getattr(self, f"_{name}") for name in self._ARRAYS},
            "priorities": self._tree.nodes[self._tree.size : self._tree.size + self.capacity],
            "max_priority": self._max_priority,
            "rng_state": json.dumps(self._rng.bit_generator.state),
        }

    def load_state_dict(self, state: dict[str, Any], adopt: bool = False) -> None:
        """Restore :meth:`state_dict` output into a memory built with the same layout.

        ``gamma``, ``alpha``, ``beta`` and ``eps`` stay as this memory was built (returns are
        computed at sample time, so ``gamma`` may change between runs). With ``adopt=True``
        the memory keeps the arrays of ``state`` (no copy) where their dtype allows: for a
        state freshly read from disk that nobody else holds, since the two would share them.
        """
        for key, expected in self._config().items():
            found = state.get(key)
            if isinstance(expected, list):
                found = [int(d) for d in found] if found is not None else None
            if found != expected:
                raise ValueError(f"replay state has {key}={found!r}, this memory has {expected!r}")
        for key in self._ARRAYS:
            target, source = getattr(self, f"_{key}"), np.asarray(state[key])
            if source.shape != target.shape:
                raise ValueError(
                    f"replay state {key} has shape {source.shape}, expected {target.shape}"
                )
            if adopt and source.dtype == target.dtype and source.flags.writeable and source.flags.c_contiguous:
                # A 1M-frame memory is 7 GB: a copy would hold it twice while resuming. The
                # unwritten zeros it replaces were never backed by RAM.
                setattr(self, f"_{key}", source)
            else:
                target[...] = source
        self._tree.rebuild(np.asarray(state["priorities"], dtype=np.float64))
        self._num_valid = int(self._valid.sum())
        self._max_priority = float(state["max_priority"])
        self._rng.bit_generator.state = json.loads(state["rng_state"])
